/**
 * Running the reference dmraid (../shared/tools/dmraid-ref) and our CLI on the same images, with stdout,
 * stderr and exit status kept apart, so outputs compare byte for byte.
 */
import { spawn } from 'node:child_process';
import { loadHandlers, run, type LoadedHandler } from '@dmraid/cli';
import { referenceTool } from './env.js';

export interface CommandResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly status: number;
}

export interface RunOptions {
  readonly cwd: string;
  readonly stdin?: string;
}

const letters = 'abcdefghijklmnopqrstuvwxyz';

/**
 * The environment for the reference: npm puts node_modules/.bin first on PATH, where our own `dmraid`
 * lives, and the reference script runs whatever `dmraid` PATH finds.
 */
export function referenceEnv(): NodeJS.ProcessEnv {
  const path = (process.env.PATH ?? '').split(':').filter((p) => p && !p.includes('node_modules'));
  return { ...process.env, PATH: [...path, '/usr/sbin', '/sbin'].join(':') };
}

/** Run the reference on `images` (`PATH[:SERIAL]`, shown to it as /dev/sda, /dev/sdb ...). */
export function runReference(images: readonly string[], args: readonly string[], options: RunOptions): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(referenceTool, ['--keep-names', ...images, '--', ...args], {
      cwd: options.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: referenceEnv(),
    });
    let stdout = '';
    let stderr = '';
    // The reference can loop forever printing (its -E prompt at end of input): cap what is kept.
    const LIMIT = 4 << 20;
    const keep = (d: string, into: 'out' | 'err') => {
      if (into === 'out') stdout += d;
      else stderr += d;
      if (stdout.length + stderr.length > LIMIT) child.kill('SIGKILL');
    };
    child.stdout.setEncoding('latin1').on('data', (d: string) => keep(d, 'out'));
    child.stderr.setEncoding('latin1').on('data', (d: string) => keep(d, 'err'));
    child.on('error', reject);
    child.stdin.end(options.stdin ?? '');
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      const paths = images.map((s) => s.split(':')[0]!);
      const rename = (text: string) =>
        text.replace(/\/dev\/sd([a-z])\b/g, (m, l: string) => paths[letters.indexOf(l)] ?? m);
      resolve({ stdout: rename(stdout), stderr: rename(stderr), status: code ?? 128 });
    });
  });
}

let installed: Promise<LoadedHandler[]> | undefined;

/**
 * The installed handlers that load; packages that fail to load are left out here (the plugin tests cover
 * their error lines), so one broken package in the workspace does not change every other format's output.
 */
export function installedHandlers(): Promise<LoadedHandler[]> {
  installed ??= loadHandlers().then((scan) => scan.handlers);
  return installed;
}

/** Run our CLI in-process with `--devices` for the images. */
export async function runOurs(
  images: readonly string[],
  args: readonly string[],
  options: RunOptions & { readonly handlers?: readonly LoadedHandler[] },
): Promise<CommandResult> {
  let stdout = '';
  let stderr = '';
  const input = (options.stdin ?? '').split('\n');
  const hasInput = options.stdin !== undefined && options.stdin !== '';
  let next = 0;
  const status = await run(
    [...images.flatMap((i) => ['--devices', i]), ...args],
    {
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
      readLine: async () => (hasInput && next < input.length - (options.stdin!.endsWith('\n') ? 1 : 0) ? input[next++]! : null),
      cwd: options.cwd,
    },
    { handlers: options.handlers ?? (await installedHandlers()) },
  );
  return { stdout, stderr, status };
}

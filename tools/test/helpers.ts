import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

export const repoRoot = resolve(import.meta.dirname, '..', '..');
export const tmp = (label: string) => mkdtempSync(join(tmpdir(), `dmraid-${label}-`));


export interface Ran {
  readonly stdout: string;
  readonly stderr: string;
  readonly status: number;
}

/** Run a command; never throws on a non-zero exit (the status says it). */
export async function sh(cmd: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Ran> {
  try {
    const r = await promisify(execFile)(cmd, args, { cwd, env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
    return { stdout: r.stdout, stderr: r.stderr, status: 0 };
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string; code?: number | string };
    return { stdout: x.stdout ?? '', stderr: x.stderr ?? String(e), status: typeof x.code === 'number' ? x.code : 1 };
  }
}

/** Fails with the reason when a package has not been built (the root `npm test` builds first). */
export function requireBuilt(dir: string, entry = 'dist/index.js'): void {
  if (!existsSync(join(dir, entry))) throw new Error(`${join(dir, entry)} is missing: build first (npm run build, or npx tsup in ${dir})`);
}

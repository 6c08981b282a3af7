/**
 * Running our CLI and the reference in ../shared/tools/dm-vm (a VM whose kernel has device-mapper).
 * The VM has no node: a shared directory gets this machine's node with the libraries ldd names (hard
 * links, same file system, else copies) and every built @dmraid package (package.json + dist), laid out
 * as node_modules so the CLI finds its handlers. Inside, `$DMRAID` runs our CLI:
 * `/share/lib/ld-linux-x86-64.so.2 --library-path /share/lib /share/node /share/app/node_modules/@dmraid/cli/dist/bin.js`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { repoRoot, sharedDir, type Requirement } from '@dmraid/testkit';

export const dmVm = join(sharedDir, 'tools', 'dm-vm', 'dm-vm');

let checked: Requirement | undefined;
/** Whether dm-vm can boot here (qemu installed, cache built): one `dm-vm run -- true`, remembered. */
export function vmAvailable(): Requirement {
  if (checked) return checked;
  const name = 'dm-vm';
  if (!existsSync(dmVm)) return (checked = { name, available: false, reason: `${dmVm} is missing` });
  if (process.getuid?.() !== 0) return (checked = { name, available: false, reason: 'dm-vm needs root' });
  if (!existsSync('/usr/bin/node')) return (checked = { name, available: false, reason: '/usr/bin/node is missing (the VM runs it)' });
  try {
    execFileSync(dmVm, ['run', '--timeout', '120', '--', 'true'], { stdio: 'ignore', timeout: 180_000 });
    checked = { name, available: true, reason: '' };
  } catch (e) {
    checked = { name, available: false, reason: `dm-vm does not boot here: ${(e as Error).message.split('\n')[0]}` };
  }
  return checked;
}

async function linkOrCopy(from: string, to: string) {
  await fs.link(from, to).catch(() => fs.copyFile(from, to));
}

async function copyTree(from: string, to: string) {
  await fs.mkdir(to, { recursive: true });
  for (const e of await fs.readdir(from, { withFileTypes: true })) {
    if (e.isDirectory()) await copyTree(join(from, e.name), join(to, e.name));
    else if (e.isFile()) await linkOrCopy(join(from, e.name), join(to, e.name));
  }
}

/** The shared directory with node, its libraries and the built packages; built once per process. */
let bundle: Promise<string> | undefined;
export function vmBundle(): Promise<string> {
  bundle ??= (async () => {
    const dir = await fs.mkdtemp(join(tmpdir(), 'dmraid-vm-share-'));
    await fs.mkdir(join(dir, 'lib'));
    await linkOrCopy('/usr/bin/node', join(dir, 'node'));
    const ldd = execFileSync('ldd', ['/usr/bin/node'], { encoding: 'utf8' });
    for (const m of ldd.matchAll(/(\/\S+\.so[.\d]*)/g)) {
      const real = await fs.realpath(m[1]!);
      await linkOrCopy(real, join(dir, 'lib', basename(m[1]!))).catch(() => undefined);
    }
    const scope = join(dir, 'app', 'node_modules', '@dmraid');
    for (const pkg of await fs.readdir(join(repoRoot, 'packages'))) {
      const src = join(repoRoot, 'packages', pkg);
      const manifest = JSON.parse(await fs.readFile(join(src, 'package.json'), 'utf8').catch(() => '{}')) as { name?: string; private?: boolean };
      if (!manifest.name?.startsWith('@dmraid/') || manifest.private || !existsSync(join(src, 'dist'))) continue;
      const to = join(scope, manifest.name.slice('@dmraid/'.length));
      await fs.mkdir(to, { recursive: true });
      await linkOrCopy(join(src, 'package.json'), join(to, 'package.json'));
      await copyTree(join(src, 'dist'), join(to, 'dist'));
    }
    return dir;
  })();
  return bundle;
}

/** The command line that runs our CLI inside the VM (the bundle shared at /share). */
export const VM_DMRAID = '/share/lib/ld-linux-x86-64.so.2 --library-path /share/lib /share/node /share/app/node_modules/@dmraid/cli/dist/bin.js';

export interface VmDisk {
  readonly file: string;
  readonly serial?: string;
}

export interface VmResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

/**
 * Boot the VM with `disks` (sda, sdb, ... in order), the bundle at /share (or `share`), `$DMRAID` set to our
 * CLI, and run `commands` in bash.
 */
export async function runInVm(options: { disks: readonly VmDisk[]; commands: string; share?: string; timeoutSeconds?: number; snapshot?: boolean }): Promise<VmResult> {
  const share = options.share ?? (await vmBundle());
  const args = ['run', '--timeout', String(options.timeoutSeconds ?? 300), '--share', share];
  if (options.snapshot) args.push('--snapshot');
  for (const d of options.disks) args.push('--disk', d.serial ? `${d.file}:${d.serial}` : d.file);
  args.push('--', `export DMRAID="${VM_DMRAID}"\n${options.commands}`);
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    const child = spawn(dmVm, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (e) => resolve({ stdout, stderr: stderr + e.message, code: 127 }));
    child.on('close', (code) => resolve({ stdout, stderr, code: code ?? 128 }));
  });
}

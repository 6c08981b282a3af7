/**
 * Running our CLI and the reference in ../shared/tools/dm-vm (a VM whose kernel has device-mapper).
 * The VM has no node: a shared directory gets this machine's node with the libraries ldd names (hard
 * links, same file system, else copies) and every built @dmraid package (package.json + dist), laid out
 * as node_modules so the CLI finds its handlers. Inside, `$DMRAID` runs our CLI:
 * `/share/lib/ld-linux-x86-64.so.2 --library-path /share/lib /share/node /share/app/node_modules/@dmraid/cli/dist/bin.js`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { dmVmBoots, repoRoot, runDmVm, type Requirement, type VmResult } from '@dmraid/testkit';

/** dm-vm boots here (testkit's probe), and this machine's node is there to share into the VM. */
export async function vmAvailable(): Promise<Requirement> {
  if (!existsSync('/usr/bin/node')) return { name: 'dm-vm', available: false, reason: '/usr/bin/node is missing (the VM runs it)' };
  return dmVmBoots();
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

/** Remove the shared directory (the test file's afterAll). */
export async function removeVmBundle(): Promise<void> {
  const dir = await bundle?.catch(() => undefined);
  bundle = undefined;
  if (dir) await fs.rm(dir, { recursive: true, force: true });
}

/** The command line that runs our CLI inside the VM (the bundle shared at /share). */
export const VM_DMRAID = '/share/lib/ld-linux-x86-64.so.2 --library-path /share/lib /share/node /share/app/node_modules/@dmraid/cli/dist/bin.js';

export interface VmDisk {
  readonly file: string;
  readonly serial?: string;
}

/**
 * Boot the VM with `disks` (sda, sdb, ... in order), the bundle at /share (or `share`), `$DMRAID` set to our
 * CLI, and run `commands` in bash.
 */
export async function runInVm(options: { disks: readonly VmDisk[]; commands: string; share?: string; timeoutSeconds?: number; snapshot?: boolean }): Promise<VmResult> {
  const disks = options.disks.map((d) => (d.serial ? `${d.file}:${d.serial}` : d.file));
  return runDmVm(disks, `export DMRAID="${VM_DMRAID}"\n${options.commands}`, {
    share: options.share ?? (await vmBundle()),
    timeout: options.timeoutSeconds ?? 300,
    snapshot: options.snapshot,
  });
}

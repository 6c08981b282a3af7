/**
 * The real kernel's device-mapper and md, through ../shared/tools/dm-vm (a qemu VM with dmsetup, the reference
 * dmraid and mdadm): the requirements for tests that use it, and the one call that runs commands there, with
 * one timeout and retry policy. With `ours`, our CLI runs inside too: the VM has no node, so a shared directory
 * gets this machine's node with the libraries ldd names (hard links, same file system, else copies) and every
 * built @dmraid package (package.json + dist), laid out as node_modules so the CLI finds its handlers; `$DMRAID`
 * runs it.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { repoRoot, sharedDir, type Requirement } from './env.js';

export const dmVmTool = join(sharedDir, 'tools', 'dm-vm', 'dm-vm');

/** dm-vm is there and can run: qemu installed (`dm-vm build` installs it; .ci/run does that), root or KVM. */
export function dmVm(): Requirement {
  const name = 'dm-vm (qemu VM with device-mapper and mdadm)';
  if (!existsSync(dmVmTool)) return { name, available: false, reason: `${dmVmTool} is missing` };
  try {
    execFileSync('sh', ['-c', 'command -v qemu-system-x86_64'], { stdio: 'ignore' });
  } catch {
    return { name, available: false, reason: `qemu-system-x86_64 is not installed (run ${dmVmTool} build)` };
  }
  if (!existsSync('/dev/kvm') && process.getuid?.() !== 0) return { name, available: false, reason: 'dm-vm needs root here' };
  return { name, available: true, reason: '' };
}

/** The node binary shared into the VM for `ours` (the VM has the same glibc as this machine's Debian). */
const NODE = '/usr/bin/node';

let boots: Promise<Requirement> | undefined;
/**
 * dmVm(), and the VM boots here: one `dm-vm run -- true` per process, remembered. With `ours`: and this
 * machine's node is there to share into the VM.
 */
export async function dmVmBoots(options: { ours?: boolean } = {}): Promise<Requirement> {
  if (options.ours && !existsSync(NODE)) return { name: 'dm-vm', available: false, reason: `${NODE} is missing (the VM runs it)` };
  boots ??= (async () => {
    const req = dmVm();
    if (!req.available) return req;
    const r = await runDmVm([], 'true', { timeout: 120 });
    if (r.status === 0) return req;
    const said = r.stderr.split('\n').find((l) => l.startsWith('dm-vm: ')) ?? `exit ${r.status}`;
    return { ...req, available: false, reason: `the VM does not boot here (${said})` };
  })();
  return boots;
}

export interface VmResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A disk: an image file, and the serial number the VM's SCSI disk reports (dmraid and mdadm read it). */
export interface VmDisk {
  readonly file: string;
  readonly serial?: string | undefined;
}

export interface VmOptions {
  /** Writes go to an overlay; the image files stay as they are. */
  readonly snapshot?: boolean;
  /** Seconds before the VM is stopped (exit 124); DEFAULT_VM_TIMEOUT unless the script's work needs more. */
  readonly timeout?: number;
  /** A host directory mounted at /share in the VM (with `ours`: the bundle's place instead of a fresh one). */
  readonly share?: string;
  /** Our CLI in the VM as `$DMRAID` (the built packages with node, shared at /share). */
  readonly ours?: boolean;
  readonly extraArgs?: readonly string[];
}

/** Seconds a VM run gets unless its caller says more: a boot, a few activations and hashes of small images. */
export const DEFAULT_VM_TIMEOUT = 300;

/** The command line that runs our CLI inside the VM (the bundle shared at /share). */
export const VM_DMRAID = '/share/lib/ld-linux-x86-64.so.2 --library-path /share/lib /share/node /share/app/node_modules/@dmraid/cli/dist/bin.js';

/**
 * Run a bash script in the VM with these disks (`IMG[:SERIAL]` or {file, serial}; /dev/sda... in order). A VM
 * that failed to boot (status 125: under load its timer calibration can panic) is started once more; a timeout
 * (124) is not, the script's time was spent.
 */
export async function runDmVm(disks: readonly (string | VmDisk)[], script: string, options: VmOptions = {}): Promise<VmResult> {
  const specs = disks.map((d) => (typeof d === 'string' ? d : d.serial ? `${d.file}:${d.serial}` : d.file));
  const share = options.ours ? (options.share ?? (await vmBundle())) : options.share;
  const body = options.ours ? `export DMRAID="${VM_DMRAID}"\n${script}` : script;
  const first = await runOnce(specs, body, { ...options, share });
  return first.status === 125 ? runOnce(specs, body, { ...options, share }) : first;
}

function runOnce(disks: readonly string[], script: string, options: VmOptions): Promise<VmResult> {
  const args = [
    'run',
    ...(options.snapshot ? ['--snapshot'] : []),
    '--timeout', String(options.timeout ?? DEFAULT_VM_TIMEOUT),
    ...(options.share ? ['--share', options.share] : []),
    ...(options.extraArgs ?? []),
    ...disks.flatMap((d) => ['--disk', d]),
    '--',
    script,
  ];
  return new Promise((resolve) => {
    execFile(dmVmTool, args, { maxBuffer: 64 << 20, encoding: 'latin1' }, (error, stdout, stderr) => {
      if (!error) return resolve({ status: 0, stdout, stderr });
      // No exit status: dm-vm did not start, or its output outgrew maxBuffer.
      if (typeof error.code !== 'number') return resolve({ status: 1, stdout, stderr: `${stderr}${error.message}\n` });
      resolve({ status: error.code, stdout, stderr });
    });
  });
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
    await linkOrCopy(NODE, join(dir, 'node'));
    const ldd = execFileSync('ldd', [NODE], { encoding: 'utf8' });
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

/** Remove the shared directory (the afterAll of a test file that ran with `ours`). */
export async function removeVmBundle(): Promise<void> {
  const dir = await bundle?.catch(() => undefined);
  bundle = undefined;
  if (dir) await fs.rm(dir, { recursive: true, force: true });
}

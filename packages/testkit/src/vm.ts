/**
 * The real kernel's device-mapper and md, through ../shared/tools/dm-vm (a qemu VM with dmsetup, the reference
 * dmraid and mdadm): the requirements for tests that use it, and the one call that runs commands there.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { sharedDir, type Requirement } from './env.js';

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

let boots: Promise<Requirement> | undefined;
/** dmVm(), and the VM boots here: one `dm-vm run -- true` per process, remembered. */
export function dmVmBoots(): Promise<Requirement> {
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

export interface VmOptions {
  /** Writes go to an overlay; the image files stay as they are. */
  readonly snapshot?: boolean;
  /** Seconds before the VM is stopped (exit 124). */
  readonly timeout?: number;
  /** A host directory mounted at /share in the VM. */
  readonly share?: string;
  readonly extraArgs?: readonly string[];
}

/**
 * Run a bash script in the VM with these disks (`IMG[:SERIAL]`, /dev/sda... in order). A VM that failed to
 * boot (status 125: under load its timer calibration can panic) is started once more.
 */
export async function runDmVm(disks: readonly string[], script: string, options: VmOptions = {}): Promise<VmResult> {
  const first = await runOnce(disks, script, options);
  return first.status === 125 ? runOnce(disks, script, options) : first;
}

function runOnce(disks: readonly string[], script: string, options: VmOptions): Promise<VmResult> {
  const args = [
    'run',
    ...(options.snapshot ? ['--snapshot'] : []),
    '--timeout', String(options.timeout ?? 240),
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

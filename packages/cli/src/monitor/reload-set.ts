/**
 * A live volume brought to what its metadata now says: planned as -ay plans it, and every device whose
 * live table maps other devices reloaded in place (activation's reloadChanged: suspend --noflush). Shared by
 * the monitor and the kernel half of -R.
 */
import type { RaidSet } from '@dmraid/core';
import type { DmInfo, KernelActivator, ReloadStep } from '@dmraid/activation';
import { volumesOf } from './model.js';

export interface SetReload {
  readonly steps: readonly ReloadStep[];
  /** Planning problems (`ERROR:` texts): nothing was reloaded then. */
  readonly problems: readonly string[];
}

/** A set's device as ours and the reference's -ay create it: uuid `DMRAID-<name>`. */
export const isSetDevice = (i: DmInfo) => i.uuid === `DMRAID-${i.name}`;

/** What a failed step of a reload did, for an error line. */
export const stepFailure = (step: ReloadStep) =>
  `${step.action === 'created' ? 'creating' : step.action === 'removed' ? 'removing' : 'reloading'} "${step.name}": ${step.error}`;

/**
 * The device-mapper devices of top-level set `top`: its volumes, the devices their plans name, and the live
 * devices named after a volume (`<volume>-...`: subsets, offset helpers). A disk held only by these is the
 * set's own to write metadata to.
 */
export async function ownDevices(top: RaidSet, info: readonly DmInfo[]): Promise<Set<string>> {
  const vols = volumesOf([top]).map((v) => v.volume);
  const own = new Set<string>(vols.map((v) => v.name));
  for (const v of vols) for (const n of await planNames(v)) own.add(n);
  for (const i of info) if (vols.some((v) => i.name.startsWith(`${v.name}-`))) own.add(i.name);
  return own;
}

export async function planNames(volume: RaidSet): Promise<string[]> {
  const { planActivation } = await import('@dmraid/activation');
  return planActivation([volume], { partitions: false }).plan.devices.map((d) => d.name);
}

export async function reloadVolume(kernel: KernelActivator, volume: RaidSet, previous: readonly string[]): Promise<SetReload> {
  const { planActivation, reloadChanged } = await import('@dmraid/activation');
  const planned = planActivation([volume], { partitions: false });
  // A degraded mirror's "creating degraded mirror mapping" is a notice here, not a reason to stop.
  const blocking = planned.problems.filter((p) => !p.text.startsWith('creating degraded mirror mapping'));
  if (blocking.length > 0 || planned.plan.devices.length === 0) {
    return { steps: [], problems: blocking.length > 0 ? blocking.map((p) => p.text) : [`no mapping possible for RAID set ${volume.name}`] };
  }
  return { steps: await reloadChanged(kernel, planned.plan.devices, previous), problems: [] };
}

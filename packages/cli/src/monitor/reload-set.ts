/**
 * A live volume brought to what its metadata now says: planned as -ay plans it, and every device whose
 * live table maps other devices reloaded in place (activation's reloadChanged: suspend --noflush). Shared by
 * the monitor and the kernel half of -R.
 */
import type { RaidSet } from '@dmraid/core';
import type { KernelActivator, ReloadStep } from '@dmraid/activation';

export interface SetReload {
  readonly steps: readonly ReloadStep[];
  /** Planning problems (`ERROR:` texts): nothing was reloaded then. */
  readonly problems: readonly string[];
  /** The device names of the plan (the set's own device-mapper devices). */
  readonly names: readonly string[];
}

export async function planNames(volume: RaidSet): Promise<string[]> {
  const { planActivation } = await import('@dmraid/activation');
  return planActivation([volume], { partitions: false }).plan.devices.map((d) => d.name);
}

export async function reloadVolume(kernel: KernelActivator, volume: RaidSet, previous: readonly string[]): Promise<SetReload> {
  const { planActivation, reloadChanged } = await import('@dmraid/activation');
  const planned = planActivation([volume], { partitions: false });
  const names = planned.plan.devices.map((d) => d.name);
  // A degraded mirror's "creating degraded mirror mapping" is a notice here, not a reason to stop.
  const blocking = planned.problems.filter((p) => !p.text.startsWith('creating degraded mirror mapping'));
  if (blocking.length > 0 || planned.plan.devices.length === 0) {
    return { steps: [], problems: blocking.length > 0 ? blocking.map((p) => p.text) : [`no mapping possible for RAID set ${volume.name}`], names };
  }
  return { steps: await reloadChanged(kernel, planned.plan.devices, previous), problems: [], names };
}

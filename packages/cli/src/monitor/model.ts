/**
 * The sets as the monitor sees them: the volumes (sets with a table of their own) of the top-level sets
 * discovery found, which member a rebuild targets, and which spare could take a failed member's place.
 */
import { allDevices, setFormat, type BlockDevice, type RaidDevice, type RaidSet } from '@dmraid/core';

export interface Volume {
  /** The set with a device-mapper device of its own (a group's volume, or a top-level set). */
  readonly volume: RaidSet;
  /** The top-level set it belongs to: what the handlers' failed/rebuild/rebuilt take. */
  readonly top: RaidSet;
}

/** Every volume, or those `names` names (a volume's name, or its top-level set's). */
export function volumesOf(sets: readonly RaidSet[], names: readonly string[] = []): Volume[] {
  const out: Volume[] = [];
  for (const top of sets) {
    if (top.type === 'spare') continue;
    const vols = top.type === 'group' ? top.sets.filter((s) => s.type !== 'group' && s.type !== 'spare') : [top];
    for (const volume of vols) {
      if (names.length === 0 || names.includes(volume.name) || names.includes(top.name)) out.push({ volume, top });
    }
  }
  return out;
}

export const findVolume = (sets: readonly RaidSet[], name: string) => volumesOf(sets).find((v) => v.volume.name === name);

/** The member the metadata has as a rebuild's target. */
export const rebuilding = (volume: RaidSet): RaidDevice | undefined => allDevices(volume).find((rd) => rd.outOfSync !== undefined);

/** A volume short of a member with nothing rebuilding: a spare would restore it. */
export const wantsSpare = (volume: RaidSet) => (volume.status === 'inconsistent' || volume.status === 'undef') && rebuilding(volume) === undefined;

/**
 * A spare for `top`: a dedicated one in the set, else a global spare set of the same format. None of the
 * set's own members.
 */
export function spareFor(top: RaidSet, sets: readonly RaidSet[]): BlockDevice | undefined {
  const volumes = top.type === 'group' ? top.sets : [top];
  const members = new Set(volumes.flatMap(allDevices).filter((rd) => rd.type !== 'spare').map((rd) => rd.device.path));
  const dedicated = allDevices(top).find((rd) => rd.type === 'spare' && !members.has(rd.device.path));
  if (dedicated) return dedicated.device as BlockDevice;
  // A disk of the set's container that no volume uses (ddf1: a Global Spare PD of the container).
  if (top.type === 'group') {
    const free = top.devs.find((rd) => !members.has(rd.device.path));
    if (free) return free.device as BlockDevice;
  }
  const format = setFormat(top);
  // A global spare is a set of type spare, at the top or in a group of its own (isw).
  const walk = (s: RaidSet): BlockDevice | undefined => {
    if (s.type === 'spare' && setFormat(s) === format) {
      const rd = allDevices(s).find((d) => !members.has(d.device.path));
      if (rd) return rd.device as BlockDevice;
    }
    for (const sub of s.sets) {
      const found = walk(sub);
      if (found) return found;
    }
    return undefined;
  };
  for (const s of sets) {
    if (s === top) continue;
    const found = walk(s);
    if (found) return found;
  }
  return undefined;
}

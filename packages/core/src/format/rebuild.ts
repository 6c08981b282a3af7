/**
 * The checks a handler's `rebuild` makes before it looks at its own metadata, in dmraid's words: the set has
 * members present, its level can rebuild one, a drive was given and is not a member already.
 */
import type { BlockDevice } from '../device/device.js';
import { allDevices, type RaidDevice, type RaidSet } from '../model/raid.js';
import type { WriteContext } from './context.js';

/**
 * The members present and the drive to rebuild onto, or undefined when a check failed (said through
 * `ctx.error`, nothing written). `redundant` tells, from the first member, whether the level can rebuild one.
 */
export function rebuildTarget(
  set: RaidSet,
  device: BlockDevice | undefined,
  ctx: Pick<WriteContext, 'error'>,
  redundant: (first: RaidDevice) => boolean,
): { members: RaidDevice[]; device: BlockDevice } | undefined {
  const members = allDevices(set);
  if (members.length === 0) {
    ctx.error(`failed to find a raid device in RS ${set.name}`);
    return undefined;
  }
  if (!redundant(members[0]!)) {
    ctx.error(`cannot rebuild RAID set "${set.name}": its level (${set.type}) has no redundancy to rebuild a member from`);
    return undefined;
  }
  if (!device) {
    ctx.error('no drive to rebuild');
    return undefined;
  }
  if (members.some((rd) => rd.device.path === device.path)) {
    ctx.error(`${device.path} is a member of RAID set "${set.name}" already`);
    return undefined;
  }
  return { members, device };
}

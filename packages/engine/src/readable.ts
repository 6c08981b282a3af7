/**
 * Which sets the members present give the volume of. Recovery keeps the sets dmraid drops as inconsistent
 * (a RAID5 with a member missing), but not one whose volume the members present cannot give (a stripe short
 * of a member, a RAID5 short of two): mapped from what is there, it would be another, wrong volume.
 */
import { typeDisplay, type RaidSet } from '@dmraid/core';

/**
 * Why the members present cannot give a set's volume, or undefined when they can: a stripe or a span needs
 * every member, a mirror one leg (or one readable half), RAID4/5 all but one, RAID6 all but two.
 */
export function whyUnreadable(set: RaidSet): string | undefined {
  const expected = set.foundDevs;
  const missing = Math.max(0, expected - set.totalDevs);
  const halves = set.sets.map(whyUnreadable);
  const broken = halves.filter((h) => h !== undefined).length;
  const members = (n: number) => `${n} of its ${expected} members ${n === 1 ? 'is' : 'are'} missing`;
  switch (set.type) {
    case 'raid1':
      if (set.sets.length > 0 && broken === set.sets.length) return `no half of the mirror can be read (${halves[0]})`;
      return undefined;
    case 'raid0':
    case 'linear':
      if (broken > 0) return `a half of the ${typeDisplay(set.type)} cannot be read (${halves.find((h) => h !== undefined)})`;
      return missing > 0 ? `${members(missing)}, and a ${typeDisplay(set.type)} has no redundancy` : undefined;
    case 'raid4':
    case 'raid5_ls':
    case 'raid5_rs':
    case 'raid5_la':
    case 'raid5_ra':
      return missing > 1 ? `${members(missing)}; ${typeDisplay(set.type)} rebuilds one` : undefined;
    case 'raid6':
      return missing > 2 ? `${members(missing)}; raid6 rebuilds two` : undefined;
    default:
      return undefined;
  }
}

/** The sets (a group's volumes one by one) whose volume the members present give; `refuse` hears of the others. */
export function readableSets(sets: readonly RaidSet[], refuse: (set: string, why: string) => void): RaidSet[] {
  const out: RaidSet[] = [];
  for (const set of sets) {
    if (set.type === 'group') {
      const volumes = readableSets(set.sets, refuse);
      if (volumes.length > 0) out.push({ ...set, sets: volumes });
      continue;
    }
    const why = whyUnreadable(set);
    if (why === undefined) out.push(set);
    else refuse(set.name, why);
  }
  return out;
}

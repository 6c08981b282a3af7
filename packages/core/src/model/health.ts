/**
 * A set's health as `dmraid -s --test` and the monitor report it, the three answers of `mdadm --detail --test`:
 * every member there and in sync (ok), the volume readable from the members present but not whole (degraded:
 * a member missing, failed, rebuilding, or the metadata not in sync), or the volume not readable (unusable).
 * One definition, so the CLI's exit status, its JSON and the monitor never disagree.
 */
import { type RaidDevice, type RaidSet } from './raid.js';
import { isParity } from './types.js';

export type Health = 'ok' | 'degraded' | 'unusable';

const RANK: Record<Health, number> = { ok: 0, degraded: 1, unusable: 2 };

export const worseHealth = (a: Health, b: Health): Health => (RANK[a] >= RANK[b] ? a : b);

/**
 * What a member is to its set: `active` holds the set's data, `rebuilding` is the target of a rebuild (its data
 * is not yet the set's), `failed` is recorded broken, `spare` waits to be rebuilt onto, `stale` holds an older
 * copy of the metadata and was set aside, `superseded` is the metadata of a format that lost its disk to another's.
 */
export type MemberState = 'active' | 'rebuilding' | 'failed' | 'spare' | 'stale' | 'superseded';

export function memberState(rd: RaidDevice, set?: RaidSet): MemberState {
  if (rd.supersededBy !== undefined) return 'superseded';
  if (rd.stale !== undefined) return 'stale';
  if (rd.type === 'spare') return 'spare';
  if (rd.outOfSync !== undefined) return 'rebuilding';
  // In a set short of members the count check marks every member broken (dmraid's check_raid_set): that is the
  // set's state, not the member's. Only in a set with all its members is a broken one recorded failed.
  if (rd.status === 'broken' && !(set && isShort(set))) return 'failed';
  return 'active';
}

const isShort = (set: RaidSet) => set.devs.filter((rd) => rd.type !== 'spare').length < set.foundDevs;

export interface SetHealth {
  readonly health: Health;
  /** Non-spare member slots the metadata asks for (summed over subsets and volumes). */
  readonly expected: number;
  /** Non-spare members present (stale ones are not). */
  readonly found: number;
  /** Why the set is not ok; undefined when it is. */
  readonly reason?: string;
}

/** How many members of a leaf set may be missing while its volume can still be read. */
function redundancy(set: RaidSet, expected: number): number {
  if (set.type === 'raid1') return Math.max(0, expected - 1);
  if (set.type === 'raid6') return 2;
  if (isParity(set.type)) return 1;
  return 0;
}

function leafHealth(set: RaidSet): SetHealth {
  const members = set.devs.filter((rd) => rd.type !== 'spare');
  const found = members.length;
  // foundDevs is what the metadata expects (dmraid's found_devs); a handler that records no count leaves 0.
  const expected = Math.max(set.foundDevs, found);
  if (set.type === 'spare') return { health: 'ok', expected: 0, found: 0 };
  const readable = members.filter((rd) => memberState(rd, set) === 'active').length;
  const missing = expected - readable;
  const short = `${readable} of ${expected} members readable`;
  if (readable === 0 || missing > redundancy(set, expected)) return { health: 'unusable', expected, found, reason: short };
  if (missing > 0) return { health: 'degraded', expected, found, reason: short };
  return statusHealth(set, { health: 'ok', expected, found });
}

/** A set whose members are all there may still be short of ok in its metadata: nosync, inconsistent, broken. */
function statusHealth(set: RaidSet, h: SetHealth): SetHealth {
  if (h.health !== 'ok' || set.status === 'ok') return h;
  return { ...h, health: 'degraded', reason: `status ${set.status}` };
}

/** A stacked set: a mirror of stripes reads while one half does, a stripe of mirrors needs every half. */
function stackedHealth(set: RaidSet): SetHealth {
  const halves = set.sets.map(setHealth);
  const expected = halves.reduce((n, h) => n + h.expected, 0);
  const found = halves.reduce((n, h) => n + h.found, 0);
  const bad = halves.filter((h) => h.health !== 'ok');
  const lost = halves.filter((h) => h.health === 'unusable').length;
  const why = bad.map((h) => h.reason).find((r) => r !== undefined);
  const mirror = set.type === 'raid1';
  if (mirror ? lost === halves.length : lost > 0) return { health: 'unusable', expected, found, reason: why ?? 'no readable half' };
  if (bad.length > 0) return { health: 'degraded', expected, found, reason: why };
  // A stripe kept broken with its halves sound has lost a half that is not listed (hpt37x raid01).
  if (!mirror && set.status === 'broken') return { health: 'unusable', expected, found, reason: 'a half of the stripe is missing' };
  // A mirror of one half: the other half is gone, not listed (hpt37x keeps such a set broken).
  if (mirror && halves.length < 2) return { health: 'degraded', expected, found, reason: 'one half of the mirror is missing' };
  return statusHealth(set, { health: 'ok', expected, found });
}

/** The health of a set: a group is as healthy as its least healthy volume; a group of none is ok. */
export function setHealth(set: RaidSet): SetHealth {
  if (set.type === 'group') {
    let health: Health = 'ok';
    let reason: string | undefined;
    let expected = 0;
    let found = 0;
    for (const v of set.sets.map(setHealth)) {
      if (RANK[v.health] > RANK[health]) [health, reason] = [v.health, v.reason];
      expected += v.expected;
      found += v.found;
    }
    return { health, expected, found, ...(reason !== undefined ? { reason } : {}) };
  }
  if (set.sets.length > 0) return stackedHealth(set);
  if (set.devs.length === 0) return { health: 'unusable', expected: set.foundDevs, found: 0, reason: 'no members' };
  return leafHealth(set);
}

/**
 * Members read but in no set: their set could not be built, or was removed as inconsistent (a stripe short of a
 * member) — a set that exists on disk and is unusable. Spares are never grouped by some formats and do not count;
 * `wanted` limits it to the members of the sets named.
 */
export function unassembledMembers(raidDevices: readonly RaidDevice[], sets: readonly RaidSet[], wanted?: readonly string[]): RaidDevice[] {
  const placed = new Set<RaidDevice>();
  const walk = (s: RaidSet) => {
    for (const rd of [...s.devs, ...(s.stale ?? [])]) placed.add(rd);
    s.sets.forEach(walk);
  };
  sets.forEach(walk);
  const volumes = new Set(raidDevices.map((rd) => rd.volumeOf).filter((d) => d !== undefined));
  return raidDevices.filter(
    (rd) => rd.type !== 'spare' && rd.type !== 'group' && !placed.has(rd) && !volumes.has(rd) && (wanted === undefined || wanted.includes(rd.name)),
  );
}

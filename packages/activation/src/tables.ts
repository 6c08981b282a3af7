/**
 * Device-mapper tables from the core model, as dmraid 1.0.0.rc16 (Debian's build, whose raid4/5 tables use
 * the mainline `raid` target) builds them in lib/activate/activate.c; dmraid-behaviour.md §8 has the rules.
 * Where the reference produces a table the kernel refuses or none at all, we do better (docs/activation.md):
 * - raid4/5 region_size is at least the chunk (dm-raid refuses a smaller one);
 * - raid4/5 members with a data offset get linear helper devices underneath (`raid` has no per-device offset);
 * - a degraded raid4/5 gets `- -` for each missing member (the reference creates an error-target device,
 *   even under -t);
 * - raid6 is mapped (the reference refuses it) where the set names its dm-raid layout (RaidSet.raid6Layout),
 *   as raid4/5 are, with up to two members missing;
 * - a mirror with one valid leg or half maps it alone (the reference concatenates every member, the broken
 *   ones as /dev/zero, which the kernel refuses, and at the wrong size for a stacked mirror).
 */
import { allDevices, mappedRef, memberRef, renderTable, roundDownMask, setFormat, setTypeDisplay, tableTextProblem, totalSectors, ZERO_PATH, ZERO_REF, type DeviceRef, type RaidDevice, type RaidSet, type TableArg, type TableTarget } from '@dmraid/core';
import { isRaid5, RAID_TYPES } from '@dmraid/core';
import { dmDevice, type ActivationPlan, type DmDevice } from './plan.js';

/** dmraid's error path: an invalid member is mapped to this device. */
export const ERROR_PATH = ZERO_PATH;
export const mapperPath = (name: string) => `/dev/mapper/${name}`;

/** A subset as a device argument: its mapped device, or /dev/zero where it is not valid. */
const subsetRef = (r: RaidSet): DeviceRef => (validRs(r) ? mappedRef(r.name) : ZERO_REF);
/** A member as a device argument: its path, or /dev/zero where it is not valid. */
const memberOf = (rd: RaidDevice): DeviceRef => (validRd(rd) ? memberRef(rd.device.path) : ZERO_REF);
const target = (start: number, length: number, type: string, ...args: TableArg[]): TableTarget => ({ start, length, type, args });

/** A problem as dmraid reports it: `ERROR: <text>` on stderr. */
export interface Problem {
  readonly level: 'error';
  readonly text: string;
  readonly set: string;
}

export interface TableOptions {
  /**
   * The member's position (0-based) in its set, where the format knows it; used to place `- -` for
   * missing raid4/5 members. By default the RAID device's own `position`; without either a degraded
   * raid4/5 cannot be mapped.
   */
  readonly memberIndex?: (rd: RaidDevice, set: RaidSet) => number | undefined;
  /**
   * Byte-identical reference behaviour: raid4/5 tables as the reference builds them (region below the chunk,
   * no offset helpers, no degraded set), and a mirror with one leg left mapped as every member one after the
   * other (the valid one by path, the others as /dev/zero), which for a RAID10 short of a half is the wrong
   * size, its data behind a half of zeros (dmraid-behaviour.md §8.3). Without it, that mirror is its one leg
   * (or half) alone: `0 <leg length> linear <leg> <offset>`. It also keeps a mirror's legs in the members'
   * order where the first is the target of a rebuild (RaidDevice.outOfSync), which `sync` would copy over
   * the others; without it an in-sync leg comes first.
   */
  readonly reference?: boolean;
}

/** One set's mapping: the table (undefined: dmraid's `(null)`) as data and as text, helper devices below it, problems. */
export interface SetTable {
  readonly targets: readonly TableTarget[] | undefined;
  readonly table: string | undefined;
  readonly ok: boolean;
  readonly helpers: readonly DmDevice[];
  readonly problems: readonly Problem[];
}

const validStatus = (s: string) => s === 'ok' || s === 'inconsistent' || s === 'nosync';
export const validRd = (rd: RaidDevice) => validStatus(rd.status) && rd.type !== 'spare';
export const validRs = (rs: RaidSet) => validStatus(rs.status) && rs.type !== 'spare';
const needSync = (rs: RaidSet) => rs.status === 'inconsistent' || rs.status === 'nosync';
/** A member the metadata records as the target of a rebuild: its data is not (yet) the set's. */
const outOfSync = (rd: RaidDevice) => rd.outOfSync !== undefined;

/** dmraid's _smallest: the smallest subset/device length above `min` (0 when none). */
function smallest(rs: RaidSet, min: number): number {
  let ret = Infinity;
  const take = (sectors: number) => {
    if (sectors > min) ret = Math.min(ret, sectors);
  };
  for (const r of rs.sets) take(totalSectors(r));
  for (const rd of rs.devs) if (rd.type !== 'spare') take(rd.sectors);
  return ret === Infinity ? 0 : ret;
}

/** dmraid's calc_region_size: half the first power of two from 128 up that reaches sectors/1024 (capped). */
export function regionSize(sectors: number): number {
  const max = Math.min(Math.floor(sectors / 1024), 128 * 2 * 1024);
  let region = 128;
  while (region < max) region *= 2;
  return region / 2;
}

/** A set's table as targets; `trailingNewline`: dmraid's text ends in a newline (an empty `-t` line). */
interface Built {
  readonly targets: TableTarget[];
  readonly trailingNewline?: boolean;
}

function linearTable(rs: RaidSet): Built | undefined {
  const targets: TableTarget[] = [];
  let start = 0;
  // dmraid tests the subset's own list for the end, so a newline always follows a subset line; a device
  // line is followed by one unless it is the list's last (a spare last leaves the one before it).
  let trailingNewline = false;
  for (const r of rs.sets) {
    if (r.type === 'spare') continue;
    const sectors = totalSectors(r);
    targets.push(target(start, sectors, 'linear', subsetRef(r), '0'));
    trailingNewline = true;
    start += sectors;
  }
  rs.devs.forEach((rd, i) => {
    if (rd.type === 'spare') return;
    targets.push(target(start, rd.sectors, 'linear', memberOf(rd), String(rd.offset)));
    trailingNewline = i < rs.devs.length - 1;
    start += rd.sectors;
  });
  return targets.length ? { targets, trailingNewline } : undefined;
}

function raid0Table(rs: RaidSet): Built | undefined {
  const min = smallest(rs, 0);
  if (!min) return undefined;
  const len = roundDownMask(min, rs.stride);
  const n = rs.sets.filter((r) => r.type !== 'spare' && totalSectors(r) > 0).length + rs.devs.filter((rd) => rd.type !== 'spare' && rd.sectors > 0).length;
  const args: TableArg[] = n > 1 ? [String(n), String(rs.stride)] : [];
  let stripes = 0;
  for (const r of rs.sets) {
    if (totalSectors(r) <= 0) continue;
    args.push(subsetRef(r), '0');
    stripes++;
  }
  for (const rd of rs.devs) {
    if (rd.type !== 'spare' && rd.sectors > 0) args.push(memberOf(rd), String(rd.offset));
    stripes++;
  }
  return stripes ? { targets: [target(0, len * n, n > 1 ? 'striped' : 'linear', ...args)] } : undefined;
}

function raid1Table(rs: RaidSet, problems: Problem[], options: TableOptions): Built | undefined {
  const mirrors = rs.sets.filter(validRs).length + rs.devs.filter(validRd).length;
  if (mirrors === 0) return undefined;
  if (mirrors === 1) {
    problems.push({ level: 'error', text: `creating degraded mirror mapping for "${rs.name}"`, set: rs.name });
    if (options.reference) return linearTable(rs);
    const half = rs.sets.find(validRs);
    const leg = rs.devs.find(validRd);
    const behind = half ? allDevices(half).find(outOfSync) : leg && outOfSync(leg) ? leg : undefined;
    if (behind) {
      // The one leg left is a rebuild's target: its data is not (yet) the set's, there is nothing to copy from.
      problems.push({ level: 'error', text: `the only mirror leg of RAID set "${rs.name}" is being rebuilt (${behind.device.path}: ${behind.outOfSync})`, set: rs.name });
      return undefined;
    }
    // The leg's own length: a broken half's (what its members present add up to) says nothing of the volume.
    return { targets: [half ? target(0, totalSectors(half), 'linear', mappedRef(half.name), '0') : target(0, leg!.sectors, 'linear', memberRef(leg!.device.path), String(leg!.offset))] };
  }
  const sectors = smallest(rs, 0);
  if (!sectors) {
    problems.push({ level: 'error', text: "can't find smallest mirror!", set: rs.name });
    return undefined;
  }
  const legs = [
    ...rs.sets.filter(validRs).map((r) => ({ ref: mappedRef(r.name), offset: 0, behind: allDevices(r).some(outOfSync) })),
    ...rs.devs.filter(validRd).map((rd) => ({ ref: memberRef(rd.device.path), offset: rd.offset, behind: outOfSync(rd) })),
  ];
  // dm-raid1 under `sync` copies its first leg (the default mirror) over the others: a leg the metadata
  // records as the target of a rebuild must not be that source (the reference takes the members' order).
  if (!options.reference) legs.sort((a, b) => Number(a.behind) - Number(b.behind));
  const sync = needSync(rs) || (!options.reference && legs.some((l) => l.behind));
  const args: TableArg[] = ['core', '2', String(regionSize(sectors)), sync ? 'sync' : 'nosync', String(mirrors)];
  for (const leg of legs) args.push(leg.ref, String(leg.offset));
  return { targets: [target(0, sectors, 'mirror', ...args, '1', 'handle_errors')] };
}

const raidLevel = (rs: RaidSet) => (rs.type === 'raid6' ? rs.raid6Layout! : rs.type === 'raid4' ? 'raid4' : RAID_TYPES[rs.type].display);

/** raid4/5 (one parity chunk per stripe) and raid6 (two): dm-raid's `raid` target, one `<meta> <data>` pair per member. */
function parityTable(rs: RaidSet, options: TableOptions, problems: Problem[], helpers: DmDevice[]): Built | undefined | null {
  // Slots in member order; undefined = missing member.
  // A hot spare kept in the set (nvidia's) has no slot in the layout.
  const devs = options.reference ? rs.devs : rs.devs.filter((rd) => rd.type !== 'spare');
  let slots: ({ ref: DeviceRef; rd?: RaidDevice } | undefined)[] = [
    ...rs.sets.map((r) => ({ ref: subsetRef(r) })),
    ...devs.map((rd) => ({ ref: memberOf(rd), rd })),
  ];
  // foundDevs is the count the metadata expects (dmraid's found_devs).
  if (slots.length !== rs.foundDevs && rs.sets.length === 0) {
    if (options.reference) return null;
    const positions = devs.map((rd) => (options.memberIndex ? options.memberIndex(rd, rs) : rd.position));
    const expected = rs.foundDevs;
    if (slots.length > expected || positions.some((p) => p === undefined || p < 0 || p >= expected) || new Set(positions).size !== positions.length) {
      problems.push({ level: 'error', text: `cannot tell the positions of the members of degraded RAID set "${rs.name}"`, set: rs.name });
      return undefined;
    }
    const placed: typeof slots = Array.from({ length: expected }, () => undefined);
    devs.forEach((rd, i) => (placed[positions[i]!] = slots[i]));
    slots = placed;
  }
  const members = slots.length;
  const min = smallest(rs, 0);
  if (!min) {
    problems.push({ level: 'error', text: "can't find smallest RAID4/5 member!", set: rs.name });
    return undefined;
  }
  if (!rs.stride) {
    problems.push({ level: 'error', text: `RAID set "${rs.name}" has no stride`, set: rs.name });
    return undefined;
  }
  const parity = rs.type === 'raid6' ? 2 : 1;
  const missing = slots.filter((slot) => !slot).length;
  if (missing > parity) {
    problems.push({ level: 'error', text: `RAID set "${rs.name}" misses ${missing} of its ${members} members, more than its ${parity} parity chunk${parity > 1 ? 's' : ''} can stand in for`, set: rs.name });
    return undefined;
  }
  const sectors = Math.floor(min / rs.stride) * rs.stride * (members - parity);
  const devCount = rs.sets.filter((r) => r.type !== 'spare' && totalSectors(r) > 0).length + rs.devs.filter((rd) => rd.type !== 'spare' && rd.sectors > 0).length;
  let region = regionSize(devCount ? Math.floor(totalSectors(rs) / devCount) : 0);
  if (!options.reference) {
    // dm-raid refuses a region smaller than the chunk (dmraid-behaviour.md §8.4).
    while (region < rs.stride) region *= 2;
  }
  // A member the metadata has as a rebuild's target is rebuilt from the others (`rebuild <idx>`); `sync`
  // would recompute parity over its stale data instead. dm-raid takes `rebuild` without sync/nosync.
  const rebuilding = options.reference ? [] : [...slots.entries()].filter(([, slot]) => slot?.rd !== undefined && outOfSync(slot.rd)).map(([k]) => k);
  // dm-raid refuses `nosync` for raid6 ("Invalid flags combination", RAID6_INVALID_FLAGS, seen in dm-vm): an
  // in-sync raid6 gets no flag, and md's initial resync rewrites the parity it already holds.
  const inSync = rs.type === 'raid6' ? [] : ['nosync'];
  const flags = rebuilding.length > 0 ? rebuilding.flatMap((k) => ['rebuild', String(k)]) : needSync(rs) ? ['sync'] : inSync;
  const args: TableArg[] = [raidLevel(rs), String(3 + flags.length), String(rs.stride), ...flags, 'region_size', String(region), String(members)];
  for (const [k, slot] of slots.entries()) {
    if (!slot) {
      args.push('-', '-');
      continue;
    }
    const rd = slot.rd;
    if (rd && rd.offset !== 0 && slot.ref.kind === 'member') {
      if (options.reference) {
        problems.push({ level: 'error', text: 'dm_raid: allocating', set: rs.name });
        return undefined;
      }
      // The `raid` target has no per-device offset: a linear device shifts the member's data to sector 0.
      const name = `${rs.name}-d${k}`;
      helpers.push(dmDevice({ name, targets: [target(0, rd.sectors, 'linear', slot.ref, String(rd.offset))], dependsOn: [], set: rs.name, role: 'helper' }));
      args.push('-', mappedRef(name));
      continue;
    }
    args.push('-', slot.ref);
  }
  return { targets: [target(0, sectors, 'raid', ...args)] };
}

/** The table dmraid builds for one (non-group) set: libdmraid_make_table. */
export function setTable(rs: RaidSet, options: TableOptions = {}): SetTable {
  const problems: Problem[] = [];
  const helpers: DmDevice[] = [];
  const fail = (...texts: string[]): SetTable => ({
    targets: undefined,
    table: undefined,
    ok: false,
    helpers: [],
    problems: [...problems, ...texts.map((text) => ({ level: 'error' as const, text, set: rs.name })), { level: 'error', text: `no mapping possible for RAID set ${rs.name}`, set: rs.name }],
  });
  // The format knows what its metadata describes that no target lays out: its words, not "Undefined RAID type".
  if (rs.unsupported !== undefined && !options.reference) return fail(`${setFormat(rs) ?? 'unknown format'}: set ${rs.name}: ${rs.unsupported}`);
  let built: Built | undefined | null;
  switch (rs.type) {
    case 'partition':
    case 'linear':
      built = linearTable(rs);
      break;
    case 'raid0':
      built = raid0Table(rs);
      break;
    case 'raid1':
      built = raid1Table(rs, problems, options);
      break;
    case 'raid4':
    case 'raid5_ls':
    case 'raid5_rs':
    case 'raid5_la':
    case 'raid5_ra':
      built = parityTable(rs, options, problems, helpers);
      break;
    case 'spare':
      return fail(`spare set "${rs.name}" cannot be activated`);
    case 'raid6':
      // The reference maps no raid6; without a layout the metadata names, the set's bytes would be guessed.
      if (options.reference || !rs.raid6Layout) return fail(`Unsupported RAID type ${setTypeDisplay(rs)}[${RAID_TYPES[rs.type].value}] on ${rs.name}`);
      built = parityTable(rs, options, problems, helpers);
      break;
    default:
      return fail(`Undefined RAID type ${setTypeDisplay(rs)}[${RAID_TYPES[rs.type].value}] on ${rs.name}`);
  }
  // dmraid returns success without a table for a degraded raid4/5 it cannot patch: `-t` prints "(null)".
  if (built === null) return { targets: undefined, table: undefined, ok: true, helpers: [], problems };
  if (built === undefined) return fail();
  // A path a table line cannot hold would be printed as another path, or the table cut in two.
  const unwritable = tableTextProblem(built.targets);
  if (unwritable !== undefined) return fail(`cannot write the table of RAID set "${rs.name}": ${unwritable}`);
  return { targets: built.targets, table: renderTable(built.targets) + (built.trailingNewline ? '\n' : ''), ok: true, helpers, problems };
}

export { isRaid5 };
export type { ActivationPlan };

/**
 * Device-mapper tables from the core model, as dmraid 1.0.0.rc16 (Debian's build, whose raid4/5 tables use
 * the mainline `raid` target) builds them in lib/activate/activate.c; dmraid-behaviour.md §8 has the rules.
 * Where the reference produces a table the kernel refuses or none at all, we do better (docs/activation.md):
 * - raid4/5 region_size is at least the chunk (dm-raid refuses a smaller one);
 * - raid4/5 members with a data offset get linear helper devices underneath (`raid` has no per-device offset);
 * - a degraded raid4/5 gets `- -` for each missing member (the reference creates an error-target device,
 *   even under -t);
 * - a mirror with one valid leg or half maps it alone (the reference concatenates every member, the broken
 *   ones as /dev/zero, which the kernel refuses, and at the wrong size for a stacked mirror).
 */
import { roundDownMask, setTypeDisplay, totalSectors, type RaidDevice, type RaidSet } from '@dmraid/core';
import { isRaid5, RAID_TYPES } from '@dmraid/core';
import type { ActivationPlan, DmDevice } from './plan.js';

/** dmraid's error path: an invalid member is mapped to this device. */
export const ERROR_PATH = '/dev/zero';
export const mapperPath = (name: string) => `/dev/mapper/${name}`;

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
   * (or half) alone: `0 <leg length> linear <leg> <offset>`.
   */
  readonly reference?: boolean;
}

/** One set's mapping: the table (undefined: dmraid's `(null)`), helper devices below it, problems. */
export interface SetTable {
  readonly table: string | undefined;
  readonly ok: boolean;
  readonly helpers: readonly DmDevice[];
  readonly problems: readonly Problem[];
}

const validStatus = (s: string) => s === 'ok' || s === 'inconsistent' || s === 'nosync';
export const validRd = (rd: RaidDevice) => validStatus(rd.status) && rd.type !== 'spare';
export const validRs = (rs: RaidSet) => validStatus(rs.status) && rs.type !== 'spare';
const needSync = (rs: RaidSet) => rs.status === 'inconsistent' || rs.status === 'nosync';

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

function linearTable(rs: RaidSet): string | undefined {
  let table = '';
  let start = 0;
  let segments = 0;
  for (const r of rs.sets) {
    if (r.type === 'spare') continue;
    const sectors = totalSectors(r);
    table += `${start} ${sectors} linear ${validRs(r) ? mapperPath(r.name) : ERROR_PATH} 0`;
    // dmraid tests the subset's own list for the end, so a newline always follows a subset line.
    table += '\n';
    segments++;
    start += sectors;
  }
  rs.devs.forEach((rd, i) => {
    if (rd.type === 'spare') return;
    table += `${start} ${rd.sectors} linear ${validRd(rd) ? rd.device.path : ERROR_PATH} ${rd.offset}`;
    if (i < rs.devs.length - 1) table += '\n';
    segments++;
    start += rd.sectors;
  });
  return segments ? table : undefined;
}

function raid0Table(rs: RaidSet): string | undefined {
  const min = smallest(rs, 0);
  if (!min) return undefined;
  const len = roundDownMask(min, rs.stride);
  const n = rs.sets.filter((r) => r.type !== 'spare' && totalSectors(r) > 0).length + rs.devs.filter((rd) => rd.type !== 'spare' && rd.sectors > 0).length;
  let table = n > 1 ? `0 ${len * n} striped ${n} ${rs.stride}` : `0 ${len * n} linear`;
  let stripes = 0;
  for (const r of rs.sets) {
    if (totalSectors(r) <= 0) continue;
    table += ` ${validRs(r) ? mapperPath(r.name) : ERROR_PATH} 0`;
    stripes++;
  }
  for (const rd of rs.devs) {
    if (rd.type !== 'spare' && rd.sectors > 0) table += ` ${validRd(rd) ? rd.device.path : ERROR_PATH} ${rd.offset}`;
    stripes++;
  }
  return stripes ? table : undefined;
}

function raid1Table(rs: RaidSet, problems: Problem[], options: TableOptions): string | undefined {
  const mirrors = rs.sets.filter(validRs).length + rs.devs.filter(validRd).length;
  if (mirrors === 0) return undefined;
  if (mirrors === 1) {
    problems.push({ level: 'error', text: `creating degraded mirror mapping for "${rs.name}"`, set: rs.name });
    if (options.reference) return linearTable(rs);
    const half = rs.sets.find(validRs);
    const leg = rs.devs.find(validRd);
    // The leg's own length: a broken half's (what its members present add up to) says nothing of the volume.
    return half ? `0 ${totalSectors(half)} linear ${mapperPath(half.name)} 0` : `0 ${leg!.sectors} linear ${leg!.device.path} ${leg!.offset}`;
  }
  const sectors = smallest(rs, 0);
  if (!sectors) {
    problems.push({ level: 'error', text: "can't find smallest mirror!", set: rs.name });
    return undefined;
  }
  let table = `0 ${sectors} mirror core 2 ${regionSize(sectors)} ${needSync(rs) ? 'sync' : 'nosync'} ${mirrors}`;
  for (const r of rs.sets) if (validRs(r)) table += ` ${mapperPath(r.name)} 0`;
  for (const rd of rs.devs) if (validRd(rd)) table += ` ${rd.device.path} ${rd.offset}`;
  return `${table} 1 handle_errors`;
}

const raidLevel = (rs: RaidSet) => (rs.type === 'raid4' ? 'raid4' : RAID_TYPES[rs.type].display);

function raid45Table(rs: RaidSet, options: TableOptions, problems: Problem[], helpers: DmDevice[]): string | undefined | null {
  // Slots in member order; undefined = missing member.
  let slots: ({ path: string; rd?: RaidDevice } | undefined)[] = [
    ...rs.sets.map((r) => ({ path: validRs(r) ? mapperPath(r.name) : ERROR_PATH })),
    ...rs.devs.map((rd) => ({ path: validRd(rd) ? rd.device.path : ERROR_PATH, rd })),
  ];
  // foundDevs is the count the metadata expects (dmraid's found_devs).
  if (slots.length !== rs.foundDevs && rs.sets.length === 0) {
    if (options.reference) return null;
    const positions = rs.devs.map((rd) => (options.memberIndex ? options.memberIndex(rd, rs) : rd.position));
    const expected = rs.foundDevs;
    if (slots.length > expected || positions.some((p) => p === undefined || p < 0 || p >= expected) || new Set(positions).size !== positions.length) {
      problems.push({ level: 'error', text: `cannot tell the positions of the members of degraded RAID set "${rs.name}"`, set: rs.name });
      return undefined;
    }
    const placed: typeof slots = Array.from({ length: expected }, () => undefined);
    rs.devs.forEach((rd, i) => (placed[positions[i]!] = slots[i]));
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
  const sectors = Math.floor(min / rs.stride) * rs.stride * (members - 1);
  const devCount = rs.sets.filter((r) => r.type !== 'spare' && totalSectors(r) > 0).length + rs.devs.filter((rd) => rd.type !== 'spare' && rd.sectors > 0).length;
  let region = regionSize(devCount ? Math.floor(totalSectors(rs) / devCount) : 0);
  if (!options.reference) {
    // dm-raid refuses a region smaller than the chunk (dmraid-behaviour.md §8.4).
    while (region < rs.stride) region *= 2;
  }
  const words: string[] = [];
  for (const [k, slot] of slots.entries()) {
    if (!slot) {
      words.push('- -');
      continue;
    }
    const rd = slot.rd;
    if (rd && rd.offset !== 0 && slot.path !== ERROR_PATH) {
      if (options.reference) {
        problems.push({ level: 'error', text: 'dm_raid: allocating', set: rs.name });
        return undefined;
      }
      // The `raid` target has no per-device offset: a linear device shifts the member's data to sector 0.
      const name = `${rs.name}-d${k}`;
      helpers.push({ name, table: `0 ${rd.sectors} linear ${rd.device.path} ${rd.offset}`, dependsOn: [], set: rs.name, role: 'helper' });
      words.push(`- ${mapperPath(name)}`);
      continue;
    }
    words.push(`- ${slot.path}`);
  }
  return `0 ${sectors} raid ${raidLevel(rs)} 4 ${rs.stride} ${needSync(rs) ? 'sync' : 'nosync'} region_size ${region} ${members} ${words.join(' ')}`;
}

/** The table dmraid builds for one (non-group) set: libdmraid_make_table. */
export function setTable(rs: RaidSet, options: TableOptions = {}): SetTable {
  const problems: Problem[] = [];
  const helpers: DmDevice[] = [];
  const fail = (...texts: string[]): SetTable => ({
    table: undefined,
    ok: false,
    helpers: [],
    problems: [...problems, ...texts.map((text) => ({ level: 'error' as const, text, set: rs.name })), { level: 'error', text: `no mapping possible for RAID set ${rs.name}`, set: rs.name }],
  });
  let table: string | undefined | null;
  switch (rs.type) {
    case 'partition':
    case 'linear':
      table = linearTable(rs);
      break;
    case 'raid0':
      table = raid0Table(rs);
      break;
    case 'raid1':
      table = raid1Table(rs, problems, options);
      break;
    case 'raid4':
    case 'raid5_ls':
    case 'raid5_rs':
    case 'raid5_la':
    case 'raid5_ra':
      table = raid45Table(rs, options, problems, helpers);
      // dmraid returns success without a table for a degraded set it cannot patch: `-t` prints "(null)".
      if (table === null) return { table: undefined, ok: true, helpers: [], problems };
      break;
    case 'spare':
      return fail(`spare set "${rs.name}" cannot be activated`);
    case 'raid6':
      return fail(`Unsupported RAID type ${setTypeDisplay(rs)}[${RAID_TYPES[rs.type].value}] on ${rs.name}`);
    default:
      return fail(`Undefined RAID type ${setTypeDisplay(rs)}[${RAID_TYPES[rs.type].value}] on ${rs.name}`);
  }
  if (table === undefined) return fail();
  return { table, ok: true, helpers, problems };
}

export { isRaid5 };
export type { ActivationPlan };

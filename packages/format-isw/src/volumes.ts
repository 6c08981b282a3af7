/**
 * The volumes of a disk group: one RAID device per volume a disk carries (formats.md §8), where each goes
 * in the family's group (a set, or a raid0-of-raid1 superset for RAID10), how a leaf set is checked, and
 * which members newer metadata supersedes.
 */
import {
  byName,
  cString,
  countDevs,
  exactNumber,
  newRaidSet,
  setStatusFromParts,
  statusForCount,
  tooLarge,
  totalSectors,
  type Before,
  type CheckContext,
  type GroupContext,
  type RaidDevice,
  type RaidSet,
  type RaidStatus,
} from '@dmraid/core';
import {
  FAILED_DISK,
  IMSM_ORD_REBUILD,
  ISW_T_MIGR_STATE_MIGRATING,
  ISW_T_MIGR_TYPE_REBUILDING,
  ISW_T_STATE_DEGRADED,
  ISW_T_STATE_FAILED,
  ORD_INDEX,
  SPARE_DISK,
} from './layout.js';
import { blocksPerMember, blocksPerMemberExact, pbaOfLba0, pbaOfLba0Exact, type Mpb, type MpbVolume } from './mpb.js';
import {
  NAME,
  diskIndexBySerial,
  diskIndicesBySerial,
  failedOutBySerial,
  groupName,
  isRaid10,
  positionCandidates,
  volumeIndexByName,
  volumeName,
  volumeSetName,
  volumeType,
} from './names.js';
import type { IswMeta } from './probe.js';

const meta = (rd: RaidDevice) => rd.meta as IswMeta;

/** A spare disk's MPB: its one disk entry marked spare, no volume of its own. */
const spareMpb = (mpb: Mpb) => (mpb.disks[0]?.disk.status ?? 0) & SPARE_DISK;

/**
 * The RAID devices of the volumes a disk carries (after the disk's own), or of it as a spare. A volume dmraid
 * cannot set up fails the whole disk (dmraid's isw_group): none, and the reason kept for grouping.
 */
export function volumeDevices(disk: RaidDevice<IswMeta>): RaidDevice<IswMeta>[] {
  const m = disk.meta;
  const { mpb } = m;
  const base = { device: disk.device, format: NAME, status: 'ok' as RaidStatus, areas: disk.areas };
  if (spareMpb(mpb)) {
    const sectors = disk.device.sizeSectors - (2 * m.unit) / 512;
    return [{ ...base, name: `${groupName(mpb)}_${disk.device.path}`, type: 'spare', offset: 0, sectors, meta: { ...m }, volumeOf: disk }];
  }
  const out: RaidDevice<IswMeta>[] = [];
  for (const [i, v] of mpb.volumes.entries()) {
    const map = v.maps[0]!.map;
    const type = volumeType(v);
    const name = volumeSetName(mpb, m.diskIndex, v);
    let failure: string | undefined;
    if (map.map_state > ISW_T_STATE_FAILED) {
      failure = `${NAME}: unsupported map state 0x${map.map_state.toString(16)} on ${disk.device.path} for ${volumeName(mpb, v)}`;
    } else if (type === 'undef') failure = `${NAME}: RAID type ${map.raid_level} not supported`;
    else if (name === undefined) failure = '';
    else if (blocksPerMember(map) === 0) failure = `${NAME}: zero sectors on ${disk.device.path}`;
    else {
      // From 2^53 sectors on (the *_hi words of a corrupted MPB) no number holds the value exactly.
      const scale = BigInt(m.unit / 512);
      const offset = pbaOfLba0Exact(map) * scale;
      const sectors = blocksPerMemberExact(map) * scale;
      if (exactNumber(offset) === undefined) failure = `${NAME}: ${tooLarge('data offset (pba_of_lba0_hi:pba_of_lba0)', offset, disk.device.path)}`;
      else if (exactNumber(sectors) === undefined) failure = `${NAME}: ${tooLarge('member length (blocks_per_member_hi:blocks_per_member)', sectors, disk.device.path)}`;
    }
    if (failure !== undefined) {
      m.failure = failure;
      return [];
    }
    // On 4096-byte-sector disks the MPB counts 4 KiB blocks (mdadm's convert_to_4k); the model counts 512.
    const scale = m.unit / 512;
    // The disk's place in the volume: its entry in the map's disk order table (low 24 bits: the disk index).
    const slot = v.maps[0]!.ord.findIndex((o) => (o & ORD_INDEX) === m.diskIndex);
    const outOfSync = slot >= 0 ? rebuildTarget(v, slot) : undefined;
    out.push({
      ...base,
      name: name!,
      type,
      offset: pbaOfLba0(map) * scale,
      sectors: blocksPerMember(map) * scale,
      meta: { ...m, volume: i },
      volumeOf: disk,
      ...(slot >= 0 ? { position: slot } : {}),
      ...(outOfSync !== undefined ? { outOfSync } : {}),
    });
  }
  return out;
}

/**
 * Why the member in `slot` of volume `v` is being rebuilt, or undefined: its disk_ord_tbl entry carries the
 * out-of-sync mark in either map (mdadm marks the slot it recovers so, in the migration map), or the volume
 * migrates (rebuilding) and map 0 names the slot as its failed disk (the option ROM's record of a rebuild).
 */
function rebuildTarget(v: MpbVolume, slot: number): string | undefined {
  if (v.maps.some((m) => ((m.ord[slot] ?? 0) & IMSM_ORD_REBUILD) !== 0)) return `slot ${slot} is marked for rebuild (IMSM_ORD_REBUILD)`;
  const { vol } = v.dev;
  if (vol.migr_state === ISW_T_MIGR_STATE_MIGRATING && vol.migr_type === ISW_T_MIGR_TYPE_REBUILDING && v.maps[0]!.map.failed_disk_num === slot) {
    return `the volume is rebuilding onto slot ${slot} (failed_disk_num)`;
  }
  return undefined;
}

/** Member order: by disk-table index in the arriving member's MPB (dmraid's dev_sort). */
const devSort: Before<RaidDevice> = (added, existing) => {
  const a = meta(added);
  const b = meta(existing);
  if (a.byPosition || b.byPosition) return a.diskIndex < b.diskIndex;
  const mine = diskIndexBySerial(a.mpb, added.device.serial);
  const theirs = diskIndexBySerial(a.mpb, existing.device.serial);
  return theirs >= 0 && mine < theirs;
};

/** Reassign a position-matched disk to the first entry of its size no earlier member took. */
function claimPosition(rd: RaidDevice<IswMeta>, group: RaidSet): void {
  const taken = new Set(group.devs.map((d) => meta(d).diskIndex));
  const free = positionCandidates(rd.meta.mpb, rd.device.sizeSectors, rd.meta.unit).find((i) => !taken.has(i));
  if (free !== undefined) rd.meta.diskIndex = free;
}

/**
 * A disk joins its family's group (made on the first). It fails, as in dmraid's isw_group, when one of its
 * volumes failed at read, or a position-matched disk's new table index gives a RAID10 volume no mirror name.
 */
export function groupDisk(rd: RaidDevice<IswMeta>, ctx: GroupContext): RaidSet | undefined {
  const m = rd.meta;
  const gname = groupName(m.mpb);
  if (m.failure !== undefined) {
    if (m.failure) ctx.log('error', m.failure);
    return undefined;
  }
  let group = ctx.findSet(gname, false);
  if (!group) {
    group = newRaidSet(gname, 'group');
    ctx.addTopLevelSorted(group);
  }
  group.type = 'group';
  if (m.byPosition) {
    claimPosition(rd, group);
    ctx.log('notice', `${NAME}: ${rd.device.path} takes the place of disk[${m.diskIndex}] "${cString(m.mpb.disks[m.diskIndex]!.disk.serial)}"`);
  }
  ctx.addDevice(group, rd, devSort);
  if (m.byPosition && !spareMpb(m.mpb) && m.mpb.volumes.some((v) => volumeSetName(m.mpb, m.diskIndex, v) === undefined)) return undefined;
  return group;
}

/** A volume's member joins its set in the group its disk joined just before. */
export function groupVolume(rd: RaidDevice<IswMeta>, ctx: GroupContext): RaidSet | undefined {
  const m = rd.meta;
  const group = ctx.findSet(groupName(m.mpb), false);
  if (!group) return undefined;
  const v = m.volume === undefined ? undefined : m.mpb.volumes[m.volume];
  // A position-matched disk got its table index at grouping: the RAID10 mirror index follows it.
  const disk = meta(rd.volumeOf!);
  if (v && disk.byPosition) rd.name = volumeSetName(disk.mpb, disk.diskIndex, v)!;
  const stride = v ? v.maps[0]!.map.blocks_per_strip * (m.unit / 512) : 0;
  let parent = group;
  if (v && isRaid10(v)) {
    const superName = `${group.name}_${volumeName(m.mpb, v)}`;
    let superset = ctx.findSet(superName);
    if (!superset) {
      superset = newRaidSet(superName, 'raid0');
      superset.stride = stride;
    }
    ctx.linkSubset(group, superset, byName);
    parent = superset;
  }
  let set = ctx.findSet(rd.name);
  if (!set) {
    set = newRaidSet(rd.name, rd.type);
    set.stride = stride;
  }
  ctx.linkSubset(parent, set, byName);
  set.status = 'ok';
  ctx.addDevice(set, rd, devSort);
  return group;
}

/**
 * isw's number_disks_status + get_rs_status for one leaf set: the last member's count decides whether the
 * volume's own state (rebuilding, degraded) then sets every member's status.
 */
function checkLeaf(set: RaidSet, error: (text: string) => void): void {
  const present = countDevs(set, 'dev');
  set.totalDevs = present;
  const sectors = totalSectors(set);
  let status: RaidStatus = 'undef';
  for (const rd of set.devs) {
    const m = meta(rd);
    const map = m.volume === undefined ? undefined : m.mpb.volumes[m.volume]?.maps[0]?.map;
    let expected = rd.type !== 'spare' && map ? map.num_members : 0;
    if (set.type === 'raid1' && expected === 4 && map && map.num_domains) expected = Math.floor(expected / map.num_domains);
    set.foundDevs = expected;
    if (present === expected) status = 'ok';
    else {
      error(`wrong number of devices in RAID set "${set.name}" [${present}/${expected}] on ${rd.device.path}`);
      status = statusForCount(set, rd, present, expected, sectors, () => true, error);
    }
    rd.status = status;
  }
  if (status !== 'ok') return;
  for (const rd of set.devs) {
    const { mpb } = meta(rd);
    const idx = volumeIndexByName(mpb, rd.name);
    if (idx < 0) return;
    const v = mpb.volumes[idx]!;
    if (v.dev.vol.migr_state === ISW_T_MIGR_STATE_MIGRATING && v.dev.vol.migr_type === ISW_T_MIGR_TYPE_REBUILDING) rd.status = 'nosync';
    else if (v.maps[0]!.map.map_state === ISW_T_STATE_DEGRADED) rd.status = 'inconsistent';
    else rd.status = 'ok';
  }
}

function checkTree(set: RaidSet, error: (text: string) => void): void {
  for (const s of set.sets) checkTree(s, error);
  if (set.type !== 'group' && set.devs.length > 0) checkLeaf(set, error);
  setStatusFromParts(set);
}

/** A group is checked volume by volume; it is never dropped for one of them. */
export function checkGroup(set: RaidSet, ctx: CheckContext): boolean {
  if (set.type !== 'group') return false;
  for (const s of set.sets) checkTree(s, ctx.error);
  return true;
}

/**
 * Newest metadata wins: among the disks of a family, the MPB with the highest generation_num is the record
 * (mdmon bumps it on every update and stops writing to a disk it failed out; it also renames a failed disk's
 * serial to `<serial>:0`). A disk is stale when its own MPB is older, or the newest one lists it failed, or
 * not at all; a volume's member is stale when the newest MPB has no such volume or leaves the disk out of
 * its disk order tables. Spares are left alone: they hold no volume data.
 */
export function staleMembers(rds: readonly RaidDevice<IswMeta>[]): { rd: RaidDevice<IswMeta>; reason: string }[] {
  const disks = rds.filter((rd) => !rd.volumeOf && rd.type !== 'spare');
  const families = new Map<number, RaidDevice<IswMeta>[]>();
  for (const d of disks) {
    const f = d.meta.mpb.header.family_num;
    families.set(f, [...(families.get(f) ?? []), d]);
  }
  const out: { rd: RaidDevice<IswMeta>; reason: string }[] = [];
  for (const members of families.values()) {
    const newest = members.reduce((a, b) => (b.meta.mpb.header.generation_num > a.meta.mpb.header.generation_num ? b : a));
    const top = newest.meta.mpb;
    const generation = top.header.generation_num;
    const newer = `the metadata on ${newest.device.path} (generation ${generation})`;
    for (const d of members) {
      if (d === newest) continue;
      const own = d.meta.mpb.header.generation_num;
      // A disk matched by position has no serial to look up: only its generation tells. A serial can be in the
      // table twice (a disk rebuilt onto itself: the new entry, and the old one appended failed).
      const indices = d.meta.byPosition ? [d.meta.diskIndex] : diskIndicesBySerial(top, d.device.serial);
      const entries = indices.map((i) => top.disks[i]!.disk);
      const failed = entries.length ? entries.every((e) => (e.status & FAILED_DISK) !== 0) : failedOutBySerial(top, d.device.serial);
      const verdict = d.meta.byPosition ? undefined : failed ? 'records it failed' : !entries.length ? 'does not list it' : undefined;
      if (own < generation) {
        out.push({ rd: d, reason: `its metadata (generation ${own}) is older than ${newer}${verdict ? `, which ${verdict}` : ''}` });
        continue;
      }
      if (verdict) {
        out.push({ rd: d, reason: `${newer} ${verdict}` });
        continue;
      }
      for (const v of rds) {
        if (v.volumeOf !== d) continue;
        const mine = v.meta.volume === undefined ? undefined : d.meta.mpb.volumes[v.meta.volume];
        if (!mine) continue;
        const name = volumeName(d.meta.mpb, mine);
        const current = top.volumes.find((x) => volumeName(top, x) === name);
        if (!current) out.push({ rd: v, reason: `${newer} has no volume "${name}"` });
        // While migrating (a rebuild) the disk being rebuilt is in one of the two maps.
        else if (!current.maps.some((m) => m.ord.some((o) => indices.includes(o & 0xffffff)))) {
          out.push({ rd: v, reason: `${newer} does not list it in volume "${name}"` });
        }
      }
    }
  }
  return out;
}

/**
 * Intel Software RAID (IMSM): RAID0, RAID1, RAID10 (shown as raid01), RAID5 (raid5_la), spares, up to
 * two volumes ("Matrix") per disk group. Facts from dmraid's isw.c as the Debian rc16 binary behaves
 * (formats.md §8): probes at N-2, the $GAFR HPA pointer and N-2115; disks matched by serial; one group set
 * per family holding the disks, one set (or raid0-of-raid1 superset) per volume inside it.
 */
import {
  allDevices,
  cString,
  countDevs,
  defineFormat,
  exactNumber,
  hex,
  latin1,
  logLine,
  mkAlpha,
  newRaidSet,
  setStatusFromParts,
  tooLarge,
  writeAreas,
  type BlockDevice,
  type Before,
  type FormatHandlerV1,
  type GroupContext,
  type MetadataArea,
  type RaidDevice,
  type RaidSet,
  type RaidStatus,
  type RaidType,
  type ReadContext,
} from '@dmraid/core';
import {
  CONFIGURED_DISK,
  FAILED_DISK,
  ISW10_SIGNATURE,
  ISW_FALLBACK_END_OFFSET,
  ISW_T_MIGR_STATE_MIGRATING,
  ISW_T_MIGR_TYPE_REBUILDING,
  IMSM_ORD_REBUILD,
  ORD_INDEX,
  ISW_T_RAID0,
  ISW_T_RAID1,
  ISW_T_RAID10,
  ISW_T_RAID5,
  ISW_T_SPARE,
  ISW_T_STATE_DEGRADED,
  ISW_T_STATE_FAILED,
  MAX_RAID_SERIAL_LEN,
  MPB_VERSION_LAST,
  SPARE_DISK,
  UNKNOWN_SCSI_ID,
  USABLE_DISK,
  isw10Layout,
  iswDevLayout,
  iswDiskLayout,
  iswHeaderLayout,
  iswMapLayout,
  iswVolLayout,
  type IswDev,
} from './layout.js';
import {
  blocksPerMember,
  blocksPerMemberExact,
  bytesAt,
  cStringAt,
  decodeMpb,
  diskTotalBlocks,
  hasSignature,
  mpbBlocks,
  mpbChecksum,
  pbaOfLba0,
  pbaOfLba0Exact,
  toDiskOrder,
  versionNewer,
  type Mpb,
  type MpbVolume,
  mpbSizeOf,
} from './mpb.js';

import { createSet, makeSpare, rebuildSet, removeSet } from './ops.js';

const NAME = 'isw';
/**
 * How much of an MPB is kept in memory: more than decoding can reach (header, 255 disk entries, 255 volumes
 * of two maps of 255 members: about 572 KiB). The reference allocates and reads all of mpb_size (up to
 * 4 GiB, from the disk's own metadata); a longer MPB is read in pieces of this size for its checksum only.
 */
const MPB_KEPT_BYTES = 1 << 20;

export interface IswMeta {
  readonly mpb: Mpb;
  /** Logical block size the MPB was located with (the device's sector size). */
  readonly unit: number;
  /** Byte offset of the probe that found the header block (N-2, HPA or N-2115). */
  readonly probeOffset: number;
  /** Index of this disk in the disk table; reassigned at grouping when matched by position. */
  diskIndex: number;
  /** Matched by the disk table's order and size, not by serial (match=position). */
  readonly byPosition: boolean;
  /** For a volume's RAID device: which volume. */
  readonly volume?: number;
  /** A volume dmraid cannot set up: the message printed when the disk is grouped ('' = none). */
  failure?: string;
}

/**
 * The volumes' RAID devices of each disk. dmraid groups a disk and all its volumes in one call; core
 * drops a group that has no subsets right after a member joins it, so the volumes join with the disk.
 */
const volumesOf = new WeakMap<RaidDevice, RaidDevice<IswMeta>[]>();

const meta = (rd: RaidDevice) => rd.meta as IswMeta;

/** dmraid's dev_info_serial_to_isw: whitespace removed, ':' → ';', the last 16 characters. */
export function serialToIsw(serial: string): string {
  const s = serial.replace(/\s+/g, '').replace(/:/g, ';');
  return s.length > MAX_RAID_SERIAL_LEN ? s.slice(-MAX_RAID_SERIAL_LEN) : s;
}

/** The disk-table index for a serial, scanning from the last entry as dmraid does; -1 if none. */
export function diskIndexBySerial(mpb: Mpb, serial: string | undefined): number {
  if (serial === undefined) return -1;
  const want = serialToIsw(serial);
  for (let i = mpb.disks.length - 1; i >= 0; i--) if (cString(mpb.disks[i]!.disk.serial) === want) return i;
  return -1;
}

const diskUsable = (status: number) => (status & (CONFIGURED_DISK | USABLE_DISK)) !== 0 && (status & FAILED_DISK) === 0;

/** match=position: entries of this disk's size in table order that are usable; the first not yet taken. */
function positionCandidates(mpb: Mpb, sizeSectors: number, unit: number): number[] {
  return mpb.disks.flatMap((d, i) => (diskTotalBlocks(d.disk) * (unit / 512) === sizeSectors && diskUsable(d.disk.status) ? [i] : []));
}

export const groupName = (mpb: Mpb) => `isw_${mkAlpha(String(mpb.header.family_num))}`;

/** The volume name as dmraid uses it: a C string from the record, running on past 16 bytes without a NUL. */
export const volumeName = (mpb: Mpb, v: MpbVolume) => cStringAt(mpb.bytes, v.offset);

/** RAID10: raid_level 2, or a RAID1 of 4 or more members (how dmraid's own create writes RAID10). */
export const isRaid10 = (dev: { maps: MpbVolume['maps'] }) => {
  const m = dev.maps[0]!.map;
  return m.raid_level === ISW_T_RAID10 || (m.raid_level === ISW_T_RAID1 && m.num_members >= 4);
};

function volumeType(v: MpbVolume): RaidType {
  if (isRaid10(v)) return 'raid1';
  switch (v.maps[0]!.map.raid_level) {
    case ISW_T_RAID0:
      return 'raid0';
    case ISW_T_RAID1:
      return 'raid1';
    case ISW_T_RAID5:
      return 'raid5_la';
    case ISW_T_SPARE:
      return 'spare';
    default:
      return 'undef';
  }
}

/** Set name of a volume's member: isw_<fam>_<volume>, for RAID10 with the mirror index -<disk index / 2>. */
function volumeSetName(m: IswMeta, v: MpbVolume): string | undefined {
  const base = `${groupName(m.mpb)}_${volumeName(m.mpb, v)}`;
  if (!isRaid10(v)) return base;
  // dmraid only looks among the first four table entries for the mirror index.
  return m.diskIndex < 4 ? `${base}-${Math.floor(m.diskIndex / 2)}` : undefined;
}

interface Probe {
  readonly mpb: Mpb;
  /** The MPB's blocks on the disk (mpb.bytes may hold only the first MPB_KEPT_BYTES of them). */
  readonly blocks: number;
  /** The checksum computed over all of mpb_size (dmraid's _checksum). */
  readonly checksum: number;
  readonly offset: number;
  readonly diskIndex: number;
  readonly byPosition: boolean;
}

async function probeAt(device: BlockDevice, ctx: ReadContext, offset: number, unit: number): Promise<Probe | undefined> {
  const first = await ctx.read(device, offset, unit);
  if (!first || !hasSignature(first)) return undefined;
  if (versionNewer(first, MPB_VERSION_LAST)) {
    ctx.log('print', `${NAME}: untested metadata version ${cStringAt(first, 24)} found on ${device.path}`);
  }
  const mpbSize = mpbSizeOf(first);
  const blocks = mpbBlocks(mpbSize, unit);
  let bytes = first;
  let checksum: number | undefined;
  if (blocks > 1) {
    const extOffset = offset - (blocks - 1) * unit;
    const kept = Math.min(blocks * unit, MPB_KEPT_BYTES);
    const ext = await ctx.read(device, extOffset, kept - unit);
    if (!ext) {
      ctx.log('error', `isw metadata, but extended read failed at ${offset}`);
      return undefined;
    }
    bytes = new Uint8Array(kept);
    bytes.set(first);
    bytes.set(ext, unit);
    if (kept < blocks * unit) {
      checksum = await longChecksum(device, ctx, bytes, extOffset + kept - unit, mpbSize);
      if (checksum === undefined) {
        ctx.log('error', `isw metadata, but extended read failed at ${offset}`);
        return undefined;
      }
    }
  }
  const mpb = decodeMpb(bytes);
  let diskIndex = diskIndexBySerial(mpb, device.serial);
  let byPosition = false;
  if (diskIndex < 0 && ctx.options.get('match') === 'position') {
    diskIndex = positionCandidates(mpb, device.sizeSectors, unit)[0] ?? -1;
    byPosition = diskIndex >= 0;
  }
  if (diskIndex < 0) {
    ctx.error(`Could not find disk ${device.path} in the metadata`);
    return undefined;
  }
  if (!diskUsable(mpb.disks[diskIndex]!.disk.status)) return undefined;
  return { mpb, blocks, checksum: checksum ?? mpbChecksum(bytes, mpbSize), offset, diskIndex, byPosition };
}

/**
 * The whole MPB in on-disk order, where it really starts (dmraid keeps the probe sector here). Of one longer
 * than what is kept: the kept part of the extended blocks where they start, and the header block.
 */
function mpbAreas(mpb: Mpb, unit: number, blocks: number, first: number, probeOffset: number): MetadataArea[] {
  if (mpb.bytes.length === blocks * unit || blocks === 1) {
    return [{ offsetSectors: first / 512, size: mpb.bytes.length, data: toDiskOrder(mpb.bytes, unit) }];
  }
  const ext = mpb.bytes.slice(unit);
  return [
    { offsetSectors: first / 512, size: ext.length, data: ext },
    { offsetSectors: probeOffset / 512, size: unit, data: mpb.bytes.slice(0, unit) },
  ];
}

/**
 * dmraid's _checksum of an MPB longer than what is kept: the kept bytes (memory order), then the rest of the
 * extended blocks from `restOffset` on, read a piece at a time, up to mpb_size. Undefined after a read error.
 */
async function longChecksum(device: BlockDevice, ctx: ReadContext, kept: Uint8Array, restOffset: number, mpbSize: number): Promise<number | undefined> {
  // mpbChecksum subtracts check_sum once; the pieces after the kept bytes only add.
  let sum = mpbChecksum(kept, kept.length);
  const end = Math.floor(mpbSize / 4) * 4;
  for (let at = kept.length; at < end; at += MPB_KEPT_BYTES) {
    const length = Math.min(MPB_KEPT_BYTES, end - at);
    const piece = await ctx.read(device, restOffset + (at - kept.length), length);
    if (!piece) return undefined;
    const view = new DataView(piece.buffer, piece.byteOffset, piece.byteLength);
    for (let i = 0; i + 4 <= length; i += 4) sum = (sum + view.getUint32(i, true)) >>> 0;
  }
  return sum;
}

async function findMpb(device: BlockDevice, ctx: ReadContext, unit: number): Promise<Probe | undefined> {
  const size = device.sizeSectors * 512;
  const lastBlocks = Math.floor(size / unit);
  const found = await probeAt(device, ctx, (lastBlocks - 2) * unit, unit);
  if (found) return found;
  const tail = await ctx.read(device, (lastBlocks - 1) * unit, isw10Layout.size);
  if (tail) {
    const isw10 = isw10Layout.decodeFrom(tail);
    if (latin1(isw10.sig) === ISW10_SIGNATURE && isw10.offset + 2 <= lastBlocks) {
      const hpa = await probeAt(device, ctx, (lastBlocks - (isw10.offset + 2)) * unit, unit);
      if (hpa) return hpa;
    }
  }
  return probeAt(device, ctx, (lastBlocks - ISW_FALLBACK_END_OFFSET) * unit, unit);
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

function volumeDevices(disk: RaidDevice<IswMeta>): RaidDevice<IswMeta>[] {
  const m = disk.meta;
  const { mpb } = m;
  const base = { device: disk.device, format: NAME, status: 'ok' as RaidStatus, areas: disk.areas };
  if (mpb.disks[0] && mpb.disks[0].disk.status & SPARE_DISK) {
    const sectors = disk.device.sizeSectors - (2 * m.unit) / 512;
    return [{ ...base, name: `${groupName(mpb)}_${disk.device.path}`, type: 'spare', offset: 0, sectors, meta: { ...m }, volumeOf: disk }];
  }
  const out: RaidDevice<IswMeta>[] = [];
  for (const [i, v] of mpb.volumes.entries()) {
    const map = v.maps[0]!.map;
    const type = volumeType(v);
    const name = volumeSetName(m, v);
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
      // A volume that fails takes the whole disk with it, as in dmraid's isw_group().
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

/** The volume record a member of set `name` belongs to: the last whose name is a substring of it. */
function volumeIndexByName(mpb: Mpb, name: string): number {
  for (let i = mpb.volumes.length - 1; i >= 0; i--) if (name.includes(volumeName(mpb, mpb.volumes[i]!))) return i;
  return -1;
}

/** isw's number_disks_status + get_rs_status for one leaf set. */
function checkLeaf(set: RaidSet, error: (text: string) => void): void {
  const present = countDevs(set, 'dev');
  set.totalDevs = present;
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
      switch (set.type) {
        case 'linear':
        case 'raid0':
          status = 'broken';
          break;
        case 'raid1':
          status = present >= 1 ? 'inconsistent' : 'broken';
          break;
        case 'raid5_la':
          status = (present === expected - 1 && present > 1) || present > expected ? 'inconsistent' : 'broken';
          break;
        case 'spare':
          status = 'broken';
          break;
        default:
          status = 'undef';
      }
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

/** Reassign a position-matched disk to the first entry of its size no earlier member took. */
function claimPosition(rd: RaidDevice<IswMeta>, group: RaidSet): void {
  const taken = new Set(group.devs.map((d) => meta(d).diskIndex));
  const free = positionCandidates(rd.meta.mpb, rd.device.sizeSectors, rd.meta.unit).find((i) => !taken.has(i));
  if (free !== undefined) rd.meta.diskIndex = free;
}

const byName: Before<RaidSet> = (a, b) => a.name < b.name;

function linkSorted(parent: RaidSet, child: RaidSet): void {
  if (parent.sets.includes(child)) return;
  const at = parent.sets.findIndex((s) => byName(child, s));
  parent.sets.splice(at < 0 ? parent.sets.length : at, 0, child);
}

function placeVolume(rd: RaidDevice<IswMeta>, group: RaidSet, ctx: GroupContext): boolean {
  const m = rd.meta;
  const gname = group.name;
  const v = m.volume === undefined ? undefined : m.mpb.volumes[m.volume];
  // A position-matched disk got its table index at grouping: the RAID10 mirror index follows it.
  const disk = meta(rd.volumeOf!);
  if (v && disk.byPosition) {
    const name = volumeSetName(disk, v);
    if (name === undefined) return false;
    rd.name = name;
  }
  const stride = v ? v.maps[0]!.map.blocks_per_strip * (m.unit / 512) : 0;
  let parent = group;
  if (v && isRaid10(v)) {
    const superName = `${gname}_${volumeName(m.mpb, v)}`;
    let superset = ctx.findSet(superName);
    if (!superset) {
      superset = newRaidSet(superName, 'raid0');
      superset.stride = stride;
    }
    linkSorted(group, superset);
    parent = superset;
  }
  let set = ctx.findSet(rd.name);
  if (!set) {
    set = newRaidSet(rd.name, rd.type);
    set.stride = stride;
  }
  linkSorted(parent, set);
  set.status = 'ok';
  ctx.addDevice(set, rd, devSort);
  return true;
}

/** Every disk-table index holding this serial. */
function diskIndicesBySerial(mpb: Mpb, serial: string | undefined): number[] {
  if (serial === undefined) return [];
  const want = serialToIsw(serial);
  return mpb.disks.flatMap(({ disk }, i) => (cString(disk.serial) === want ? [i] : []));
}

/**
 * mdadm renames the serial of a disk it fails out to `<serial>:<n>` (the last 16 characters of it, as every
 * serial), so that the slot no longer matches the disk: such an entry, marked failed, is that disk.
 */
function failedOutBySerial(mpb: Mpb, serial: string | undefined): boolean {
  if (serial === undefined) return false;
  const want = serialToIsw(serial);
  return mpb.disks.some(({ disk }) => {
    const s = cString(disk.serial);
    const n = /:(\d+)$/.exec(s)?.[1];
    return (disk.status & FAILED_DISK) !== 0 && n !== undefined && s === `${want}:${n}`.slice(-MAX_RAID_SERIAL_LEN);
  });
}

/**
 * Newest metadata wins: among the disks of a family, the MPB with the highest generation_num is the record
 * (mdmon bumps it on every update and stops writing to a disk it failed out; it also renames a failed disk's
 * serial to `<serial>:0`). A disk is stale when its own MPB is older, or the newest one lists it failed, or
 * not at all; a volume's member is stale when the newest MPB has no such volume or leaves the disk out of
 * its disk order tables. Spares are left alone: they hold no volume data.
 */
function staleMembers(rds: readonly RaidDevice<IswMeta>[]): { rd: RaidDevice<IswMeta>; reason: string }[] {
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
      for (const v of volumesOf.get(d) ?? []) {
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

// -n: dmraid's _isw_log, field by field; offsets are from the start of the MPB.
function logLines(rd: RaidDevice<IswMeta>): string[] {
  const { mpb, diskIndex } = rd.meta;
  const buf = mpb.bytes;
  const h = mpb.header;
  const out: string[] = [`${rd.device.path} (${NAME}):`];
  const line = (off: number, text: string) => out.push(logLine(off, text));
  const str = (off: number, width: number) => `"${cStringAt(buf, off).padStart(width)}"`;
  line(0, `sig: ${str(0, 32)}`);
  for (const f of ['check_sum', 'mpb_size', 'family_num', 'generation_num', 'error_log_size', 'attributes', 'num_disks', 'num_raid_devs', 'error_log_pos', 'cache_size', 'orig_family_num', 'power_cycle_count', 'bbm_log_size'] as const) {
    line(iswHeaderLayout.offsetOf(f), `${f}: ${h[f]}`);
  }
  h.filler.forEach((x, i) => x && line(iswHeaderLayout.offsetOf('filler') + 4 * i, `filler[${i}]: ${x}`));
  mpb.disks.forEach(({ offset, disk }, d) => {
    if (!disk.totalBlocks) return;
    const at = (f: keyof typeof disk) => offset + iswDiskLayout.offsetOf(f);
    line(offset, `disk[${d}].serial: ${str(offset, 16)}`);
    line(at('totalBlocks'), `disk[${d}].totalBlocks: ${disk.totalBlocks}`);
    // dmraid overwrites the matching entry's scsiId with the device's SCSI address (none for images).
    line(at('scsiId'), `disk[${d}].scsiId: ${hex(d === diskIndex ? UNKNOWN_SCSI_ID : disk.scsiId)}`);
    line(at('status'), `disk[${d}].status: ${hex(disk.status)}`);
    line(at('owner_cfg_num'), `disk[${d}].owner_cfg_num: ${hex(disk.owner_cfg_num)}`);
    disk.filler.forEach((x, i) => x && line(at('filler') + 4 * i, `disk[${d}].filler[${i}]: ${x}`));
  });
  mpb.volumes.forEach((v, d) => {
    const dev = v.dev;
    const at = (f: keyof IswDev) => v.offset + iswDevLayout.offsetOf(f);
    const p = `isw_dev[${d}]`;
    line(v.offset, `${p}.volume: ${str(v.offset, 16)}`);
    line(at('SizeHigh'), `${p}.SizeHigh: ${dev.SizeHigh}`);
    line(at('SizeLow'), `${p}.SizeLow: ${dev.SizeLow}`);
    line(at('status'), `${p}.status: ${hex(dev.status)}`);
    for (const f of ['reserved_blocks', 'migr_priority', 'num_sub_vol', 'tid', 'cng_master_disk', 'cache_policy', 'cng_state', 'cng_sub_state'] as const) {
      line(at(f), `${p}.${f}: ${dev[f]}`);
    }
    dev.filler.forEach((x, i) => x && line(at('filler') + 4 * i, `${p}.filler[${i}]: ${x}`));
    const vol = at('vol');
    for (const f of ['curr_migr_unit', 'check_point_id', 'migr_state', 'migr_type', 'dirty', 'fs_state', 'verify_errors', 'verify_bad_blocks'] as const) {
      line(vol + iswVolLayout.offsetOf(f), `${p}.vol.${f}: ${dev.vol[f]}`);
    }
    dev.vol.filler.forEach((x, i) => x && line(vol + iswVolLayout.offsetOf('filler') + 4 * i, `${p}.vol.filler[${i}]: ${x}`));
    v.maps.forEach(({ offset, map, ord }, k) => {
      const q = `${p}.vol.map[${k}]`;
      for (const f of ['pba_of_lba0', 'blocks_per_member', 'num_data_stripes', 'blocks_per_strip', 'map_state', 'raid_level', 'num_members', 'num_domains', 'failed_disk_num', 'ddf'] as const) {
        line(offset + iswMapLayout.offsetOf(f), `${q}.${f}: ${map[f]}`);
      }
      map.filler.forEach((x, i) => x && line(offset + iswMapLayout.offsetOf('filler') + 4 * i, `${q}.filler[${i}]: ${x}`));
      ord.forEach((x, i) => line(offset + 0x30 + 4 * i, `${q}.disk_ord_tbl[${i}]: ${hex(x)}`));
    });
  });
  return out;
}

export const isw: FormatHandlerV1<IswMeta> = defineFormat<IswMeta>({
  apiVersion: 1,
  name: NAME,
  description: 'Intel Software RAID',
  levels: '0,1,5,01',
  sectorSizes: [512, 4096],

  async read(device, ctx) {
    const unit = device.sectorSize > 512 && device.sectorSize % 512 === 0 ? device.sectorSize : 512;
    const probe = await findMpb(device, ctx, unit);
    if (!probe) return [];
    const { mpb } = probe;
    if (probe.byPosition) {
      // Core has no warning level shown by default (warn is -vvv); a plain line the user sees, worded as one.
      const serial = device.serial === undefined ? 'no serial' : `serial "${serialToIsw(device.serial)}"`;
      ctx.log('warning', `${NAME}: ${device.path} (${serial}) is not in the disk table of ${groupName(mpb)}: matched by position and size (--isw-match=position)`);
    }
    if (mpb.header.check_sum !== probe.checksum) {
      ctx.error(`extended superblock for ${device.path} has wrong checksum`);
      ctx.setupFailed(device);
      return [];
    }
    const sectors = probe.offset / 512;
    if (!sectors) {
      ctx.error(`zero sectors on ${device.path}`);
      ctx.setupFailed(device);
      return [];
    }
    const { blocks } = probe;
    const first = probe.offset - (blocks - 1) * unit;
    const disk: RaidDevice<IswMeta> = {
      device,
      format: NAME,
      name: groupName(mpb),
      type: mpb.disks[probe.diskIndex]!.disk.status & SPARE_DISK ? 'spare' : 'group',
      status: 'ok',
      offset: 0,
      sectors,
      areas: mpbAreas(mpb, unit, blocks, first, probe.offset),
      meta: { mpb, unit, probeOffset: probe.offset, diskIndex: probe.diskIndex, byPosition: probe.byPosition },
    };
    const volumes = volumeDevices(disk);
    volumesOf.set(disk, volumes);
    return [disk, ...volumes];
  },

  group(rd, ctx) {
    const m = meta(rd);
    const gname = groupName(m.mpb);
    if (rd.volumeOf) return ctx.findSet(gname, false);
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
      claimPosition(rd as RaidDevice<IswMeta>, group);
      ctx.log('notice', `${NAME}: ${rd.device.path} takes the place of disk[${m.diskIndex}] "${cString(m.mpb.disks[m.diskIndex]!.disk.serial)}"`);
    }
    ctx.addDevice(group, rd, devSort);
    for (const v of volumesOf.get(rd) ?? []) if (!placeVolume(v, group, ctx)) return undefined;
    return group;
  },

  check(set, ctx) {
    if (set.type !== 'group') return false;
    for (const s of set.sets) checkTree(s, ctx.error);
    return true;
  },

  log: logLines,

  stale: staleMembers,

  dump(rd) {
    // An MPB longer than what is kept has two areas (mpbAreas): a file each.
    if (rd.areas.length > 1) return rd.areas.map((a, k) => ({ suffix: `_${k}`, data: a.data, offsetBytes: a.offsetSectors * 512 }));
    const area = rd.areas[0]!;
    return [{ suffix: '', data: area.data, offsetBytes: area.offsetSectors * 512 }];
  },

  async write(rd, device, ctx, erase) {
    return writeAreas(device, rd.areas, ctx, erase);
  },

  create: (request, ctx): Promise<boolean> => createSet(isw, request, ctx),
  spare: (device, set, ctx) => makeSpare(device, set, ctx),
  rebuild: (set, device, ctx) => rebuildSet(set, device, ctx),
  remove: (set, ctx) => removeSet(set, ctx),

  canActivate(set, ctx) {
    const first = allDevices(set)[0];
    if (first && meta(first).mpb.header.bbm_log_size !== 0) {
      ctx.log('error', 'BBM entries detected!');
      return false;
    }
    return true;
  },
});


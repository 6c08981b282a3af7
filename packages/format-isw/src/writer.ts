/**
 * Building isw metadata: new MPBs as dmraid's create writes them (formats.md §8 Create), the edits of
 * delete, spare and rebuild, and whole groups in any state for the testbed. All pure: parts in, bytes out.
 */
import { IMSM_ORD_REBUILD, iswDevLayout, iswDiskLayout, iswHeaderLayout, iswMapLayout, ORD_INDEX } from './layout.js';
import {
  CLAIMED_DISK,
  CONFIGURED_DISK,
  CONFIG_ON_DISK,
  DETECTED_DISK,
  DISK_RESERVED_BLOCKS,
  DISK_SMART_EVENT_SUPPORTED,
  FAILED_DISK,
  ISW_DEV_NONE_FAILED,
  ISW_DEV_READ_COALESCING,
  ISW_DEV_WRITE_COALESCING,
  ISW_T_MIGR_STATE_MIGRATING,
  ISW_T_MIGR_TYPE_INITIALIZING,
  ISW_T_MIGR_TYPE_REBUILDING,
  ISW_T_RAID0,
  ISW_T_RAID1,
  ISW_T_RAID10,
  ISW_T_RAID5,
  ISW_T_STATE_DEGRADED,
  ISW_T_STATE_FAILED,
  ISW_T_STATE_NORMAL,
  ISW_T_STATE_UNINITIALIZED,
  MIGR_OPT_SPACE,
  MPB_ATTRIB_CHECKSUM_VERIFY,
  MPB_VERSIONS,
  RAID_DS_JOURNAL,
  SPARE_DISK,
  UNKNOWN_SCSI_ID,
  USABLE_DISK,
  type IswDev,
  type IswDisk,
  type IswMap,
} from './layout.js';
import {
  blocksPerMember,
  cloneValue,
  encodeMpb,
  mapSize,
  mpbBlocks,
  mpbChecksum,
  mpbVersion,
  partsOf,
  pbaOfLba0,
  setDiskTotalBlocks,
  setMapSizes,
  setVolumeSize,
  signatureBytes,
  toDiskOrder,
  type Mpb,
  type MpbParts,
} from './mpb.js';
import { serialToIsw } from './names.js';
import { cString, toBytes } from '@dmraid/core';

/** The smallest volume dmraid creates (100 MB). */
export const MIN_VOLUME_SIZE = 204800;

export type IswLevel = '0' | '1' | '5' | '01' | 'spare';

interface LevelFacts {
  readonly raidLevel: number;
  readonly min: number;
  readonly max: number;
  /** Stripe sizes offered: the first is the default, the rest the choices (dmraid's _get_stride_size). */
  readonly strips: readonly number[];
  /** blocks_per_member factor and parity members (dmraid's _find_factors). */
  readonly div: number;
  readonly sub: number;
}

const LEVELS: Record<Exclude<IswLevel, 'spare'>, LevelFacts> = {
  '0': { raidLevel: ISW_T_RAID0, min: 2, max: 6, strips: [256, 8, 16, 32, 64, 128, 256], div: 1, sub: 0 },
  '1': { raidLevel: ISW_T_RAID1, min: 2, max: 2, strips: [128, 128], div: 2, sub: 0 },
  '01': { raidLevel: ISW_T_RAID10, min: 4, max: 4, strips: [128, 8, 16, 32, 64, 128, 256], div: 2, sub: 0 },
  '5': { raidLevel: ISW_T_RAID5, min: 3, max: 6, strips: [128, 32, 64, 128, 256], div: 1, sub: 1 },
};

/** A requested stripe size rounds up to the next offered one (the largest if beyond). */
export function stripFor(level: Exclude<IswLevel, 'spare'>, requested?: number): number {
  const s = LEVELS[level].strips;
  if (!requested) return s[0]!;
  let i = 1;
  while (i + 1 < s.length && requested > s[i]!) i++;
  return s[i]!;
}

export interface NewDisk {
  readonly serial: string;
  readonly sizeSectors: number;
}

export interface CreateSpec {
  readonly name: string;
  readonly level: IswLevel;
  readonly sizeSectors?: number;
  readonly stripSectors?: number;
  readonly disks: readonly NewDisk[];
  /** time(NULL) of the create; the family number is the MPB checksum plus this. */
  readonly time: number;
  /** The group's MPB when adding a second volume to it. */
  readonly existing?: Mpb;
}

export type Built = { readonly bytes: Uint8Array; readonly error?: undefined } | { readonly bytes?: undefined; readonly error: string };

const fail = (error: string): Built => ({ error });

/** Usable blocks per member for a new volume (dmraid's _cal_array_size): 1 means "no room". */
function maxVolumeSize(disks: readonly NewDisk[], f: LevelFacts, first?: IswMap): number {
  let min = Math.min(...disks.map((d) => d.sizeSectors));
  if (min < DISK_RESERVED_BLOCKS) return 0;
  min -= DISK_RESERVED_BLOCKS;
  if (first) {
    if (pbaOfLba0(first) === 0) {
      const used = blocksPerMember(first) + DISK_RESERVED_BLOCKS;
      if (min > used) min -= used;
      else return 1;
    } else if (pbaOfLba0(first) >= RAID_DS_JOURNAL + MIGR_OPT_SPACE) min = pbaOfLba0(first) - (RAID_DS_JOURNAL + MIGR_OPT_SPACE);
    else return 1;
  } else if (min > DISK_RESERVED_BLOCKS) min -= DISK_RESERVED_BLOCKS;
  else return 1;
  return Math.floor((min * (disks.length - f.sub)) / f.div);
}

function newMap(f: LevelFacts, members: number, size: number, first: number, strip: number): { map: IswMap; ord: number[] } {
  const map = iswMapLayout.zero();
  const stripes = Math.floor((Math.floor(size / strip) + members - f.sub - 1) / (members - f.sub));
  setMapSizes(map, first, strip * stripes * f.div + RAID_DS_JOURNAL, stripes);
  map.blocks_per_strip = strip;
  map.map_state = ISW_T_STATE_NORMAL;
  // dmraid writes its RAID10 as a 4-member RAID1 with two domains.
  map.raid_level = f.raidLevel === ISW_T_RAID10 ? ISW_T_RAID1 : f.raidLevel;
  map.num_members = members;
  map.num_domains = f.raidLevel === ISW_T_RAID1 || f.raidLevel === ISW_T_RAID10 ? 2 : 1;
  map.failed_disk_num = ISW_DEV_NONE_FAILED;
  map.ddf = 1;
  return { map, ord: Array.from({ length: members }, (_, i) => i) };
}

function newVolume(spec: CreateSpec, f: LevelFacts, size: number, first: number) {
  const dev = iswDevLayout.zero();
  dev.volume = toBytes(spec.name, 16);
  setVolumeSize(dev, size);
  dev.status = ISW_DEV_READ_COALESCING | ISW_DEV_WRITE_COALESCING;
  const n = spec.disks.length;
  const strip = stripFor(spec.level as Exclude<IswLevel, 'spare'>, spec.stripSectors);
  const maps = [newMap(f, n, size, first, strip)];
  // RAID5 over more than four disks starts out initialising, with a second (uninitialised) map.
  if (n > 4 && f.raidLevel === ISW_T_RAID5) {
    dev.vol.migr_state = ISW_T_MIGR_STATE_MIGRATING;
    const second = newMap(f, n, size, 0, strip);
    second.map.map_state = ISW_T_STATE_UNINITIALIZED;
    maps.push(second);
  } else if (f.raidLevel !== ISW_T_RAID0) {
    // The members' contents differ: a new redundant volume is not in sync until it is initialised. mdadm's
    // create writes it so (super-intel.c, init_super_imsm_volume: map_state uninitialised unless
    // --assume-clean) and mdmon then has md resync it; dmraid writes it normal, a sync that never happened.
    maps[0]!.map.map_state = ISW_T_STATE_UNINITIALIZED;
  }
  return { dev, maps };
}

/** dmraid's _isw_get_version for a new volume. */
function versionFor(level: IswLevel, disks: number, second: boolean): string {
  if (disks === 5 || disks === 6) return MPB_VERSIONS.fiveOrSixDisks;
  if (level === '5') return MPB_VERSIONS.raid5;
  if (disks === 3 || disks === 4) return MPB_VERSIONS.threeOrFourDisks;
  if (second) return MPB_VERSIONS.multipleVolumes;
  if (level === '1') return MPB_VERSIONS.raid1;
  return MPB_VERSIONS.raid0;
}

/** Names dmraid accepts: 1-15 characters, a letter or digit first, then letters, digits, '_' or '-'. */
export const validVolumeName = (name: string) => /^[A-Za-z0-9][A-Za-z0-9_-]{0,14}$/.test(name);

export function newDiskEntry(d: NewDisk, spare: boolean): IswDisk {
  const disk = iswDiskLayout.zero();
  disk.serial = toBytes(serialToIsw(d.serial), 16);
  setDiskTotalBlocks(disk, d.sizeSectors);
  disk.scsiId = UNKNOWN_SCSI_ID;
  disk.status = CLAIMED_DISK | CONFIG_ON_DISK | DETECTED_DISK | USABLE_DISK | DISK_SMART_EVENT_SUPPORTED | (spare ? SPARE_DISK : CONFIGURED_DISK);
  return disk;
}

/**
 * A new MPB for `-C` (first volume, or a second one in `existing`) or for a spare (`level: 'spare'`, one
 * disk, no volume). Errors carry dmraid's messages (without the `isw: ` prefix).
 */
export function createMpb(spec: CreateSpec): Built {
  const spare = spec.level === 'spare';
  const f = spare ? undefined : LEVELS[spec.level as Exclude<IswLevel, 'spare'>];
  if (!spare && !f) return fail('unsupported raid level');
  const n = spec.disks.length;
  const [min, max] = f ? [f.min, f.max] : [1, 1];
  if (n < min) return fail(`the RAID set cannot have less than ${min} hard drives`);
  if (n > max) return fail(`the RAID set cannot have more than ${max} hard drives`);
  if (!spare && !validVolumeName(spec.name)) return fail(`invalid RAID set name "${spec.name}"`);

  if (spec.existing) {
    if (spare) return fail('SPARE disk must use all space on the disk');
    const old = spec.existing;
    if (old.header.num_raid_devs >= 2) return fail('only two volumes allowed per array');
    const first = old.volumes[0];
    if (!first) return fail('failed to get the first volume info');
    const total = maxVolumeSize(spec.disks, f!, first.maps[0]!.map);
    if (total < MIN_VOLUME_SIZE) return fail('either not enough disk space or the requested volume size is too small');
    const start = pbaOfLba0(first.maps[0]!.map) === 0 ? blocksPerMember(first.maps[0]!.map) + MIGR_OPT_SPACE : 0;
    const vol = newVolume(spec, f!, total, start);
    if (start === 0 && blocksPerMember(vol.maps[0]!.map) + MIGR_OPT_SPACE > pbaOfLba0(first.maps[0]!.map)) {
      return fail('not enough space to create requested volume');
    }
    const parts = partsOf(old);
    const version = versionFor(spec.level, n, true);
    if (mpbVersion(old.bytes) < version) parts.header.sig = signatureBytes(version);
    parts.header.generation_num = (parts.header.generation_num + 1) >>> 0;
    parts.header.attributes = MPB_ATTRIB_CHECKSUM_VERIFY;
    parts.header.bbm_log_size = 0;
    parts.volumes.push(vol);
    return { bytes: encodeMpb(parts) };
  }

  const total = f ? maxVolumeSize(spec.disks, f) : 0;
  const size = spec.sizeSectors ? Math.max(spec.sizeSectors, MIN_VOLUME_SIZE) : total;
  if (f && size > total) return fail(`the size exceeds the max ${Math.floor(total / 2048 / 1024)}G (${total} blocks)`);
  const header = iswHeaderLayout.zero();
  header.sig = signatureBytes(versionFor(spec.level, n, false));
  header.attributes = MPB_ATTRIB_CHECKSUM_VERIFY;
  const parts: MpbParts = {
    header,
    disks: spec.disks.map((d) => newDiskEntry(d, spare)),
    volumes: f ? [newVolume(spec, f, size, 0)] : [],
  };
  // family_num = orig_family_num = checksum of the new MPB (family 0) + time(NULL).
  const family = (mpbChecksum(encodeMpb(parts)) + spec.time) >>> 0;
  header.family_num = family;
  header.orig_family_num = family;
  return { bytes: encodeMpb(parts) };
}

/**
 * Delete one of two volumes (`-x` of a Matrix volume): the MPB keeps only `keep`; the version drops to
 * 1.1.00 for a remaining RAID1, 1.0.00 for a remaining RAID0 of fewer than 3 disks (isw_remove_dev).
 */
export function removeVolume(mpb: Mpb, keep: number): Uint8Array {
  const parts = partsOf(mpb);
  const vol = parts.volumes[keep]!;
  const map = vol.maps[0]!.map;
  if (map.raid_level === ISW_T_RAID1) parts.header.sig = signatureBytes(MPB_VERSIONS.raid1);
  if (map.raid_level === ISW_T_RAID0 && map.num_members < 3) parts.header.sig = signatureBytes(MPB_VERSIONS.raid0);
  parts.volumes = [vol];
  return encodeMpb(parts);
}

/**
 * Start a rebuild onto a new disk: the missing disk `failed` (its disk-table index) is replaced in the table
 * by the new one and appended at the end marked failed; every volume migrates (rebuilding) as mdadm marks
 * a rebuild (super-intel.c: migrate() and the activate-spare update): map 0 the target state (normal), map 1
 * the state now (degraded) with the new disk's slot marked out of sync (IMSM_ORD_REBUILD), the checkpoint at
 * 0. mdadm then has md recover that slot from the start; the option ROM rebuilds it likewise. dmraid's
 * update_metadata writes no out-of-sync mark, so mdadm assembles its result as in sync over a blank disk.
 * A volume without redundancy (RAID0) cannot be rebuilt: the caller refuses those (`unrebuildable`).
 */
export function startRebuild(mpb: Mpb, failed: number, replacement: NewDisk): Uint8Array {
  const parts = partsOf(mpb);
  const old = parts.disks[failed]!;
  const fresh = newDiskEntry(replacement, false);
  fresh.scsiId = UNKNOWN_SCSI_ID;
  parts.disks[failed] = fresh;
  // The missing disk stays in the table, appended and marked failed (dmraid marks it, then appends a copy
  // as merely configured: a disk that is gone must not read as a working one). The same disk coming back
  // (its serial) just takes its old entry: two entries with one serial would hide it behind the failed one.
  if (cString(fresh.serial) !== cString(old.serial)) {
    const gone = cloneValue(old);
    gone.scsiId = UNKNOWN_SCSI_ID;
    gone.status = ((old.status & ~USABLE_DISK) | CONFIGURED_DISK | FAILED_DISK) >>> 0;
    parts.disks.push(gone);
  }
  for (const v of parts.volumes) {
    const m0 = v.maps[0]!;
    const ord = m0.ord.map((o) => (o & ORD_INDEX) >>> 0);
    const slot = ord.indexOf(failed);
    if (slot < 0) continue;
    v.dev.vol.migr_state = ISW_T_MIGR_STATE_MIGRATING;
    v.dev.vol.migr_type = ISW_T_MIGR_TYPE_REBUILDING;
    // The checkpoint (curr_migr_unit; its high word is filler[0] for mdadm) at 0: recovery from the start.
    v.dev.vol.curr_migr_unit = 0;
    v.dev.vol.filler[0] = 0;
    m0.map.map_state = ISW_T_STATE_NORMAL;
    m0.map.failed_disk_num = slot;
    m0.ord = ord;
    const m1 = { map: cloneValue(m0.map), ord: ord.map((o, i) => (i === slot ? (o | IMSM_ORD_REBUILD) >>> 0 : o)) };
    m1.map.map_state = ISW_T_STATE_DEGRADED;
    v.maps = [m0, m1];
  }
  parts.header.generation_num = (parts.header.generation_num + 1) >>> 0;
  return encodeMpb(parts);
}

/** Volumes that lose their data with disk `failed` (no redundancy): nothing to rebuild them from. */
export function unrebuildable(mpb: Mpb, failed: number): number[] {
  return mpb.volumes.flatMap((v, i) =>
    v.maps[0]!.map.raid_level === ISW_T_RAID0 && v.maps[0]!.ord.some((o) => (o & ORD_INDEX) === failed) ? [i] : [],
  );
}

/**
 * End a rebuild of volume `index` (dmraid's update_metadata_after_rebuild): its migration ends, no disk is
 * failed, and once no volume migrates any more the failed disk appended at the end of the table goes.
 */
export function finishRebuild(mpb: Mpb, index: number): Uint8Array {
  const parts = partsOf(mpb);
  const v = parts.volumes[index]!;
  v.dev.vol.migr_type = 0;
  v.dev.vol.migr_state = 0;
  v.maps[0]!.map.failed_disk_num = ISW_DEV_NONE_FAILED;
  v.maps = v.maps.slice(0, 1);
  const [v0, v1] = parts.volumes;
  const removeDisk = v0 && !v0.dev.vol.migr_type && v1 ? !v1.dev.vol.migr_type : true;
  if (removeDisk && ((parts.disks.at(-1)?.status ?? 0) & FAILED_DISK)) parts.disks.pop();
  parts.header.generation_num = (parts.header.generation_num + 1) >>> 0;
  return encodeMpb(parts);
}

// ---- a member's failure, as mdmon records it ----

/** mdadm's MIGR_GEN_MIGR: a reshape or level migration (super-intel.c). */
const MIGR_GEN_MIGR = 3;

type Volume = ReturnType<typeof partsOf>['volumes'][number];

const isFailedDisk = (disks: readonly IswDisk[], ord: number) => {
  const disk = disks[ord & ORD_INDEX];
  return !disk || (disk.status & FAILED_DISK) !== 0 || (ord & IMSM_ORD_REBUILD) !== 0;
};

/** mdadm's imsm_count_failed over map[0]: slots whose disk is gone, failed, or out of sync. */
const countFailed = (disks: readonly IswDisk[], v: Volume) => v.maps[0]!.ord.filter((o) => isFailedDisk(disks, o)).length;

/** mdadm's imsm_check_degraded: the state map[0] has with `failed` slots out. */
function degradedState(disks: readonly IswDisk[], v: Volume, failed: number): number {
  const map = v.maps[0]!.map;
  if (!failed) return map.map_state === ISW_T_STATE_UNINITIALIZED ? ISW_T_STATE_UNINITIALIZED : ISW_T_STATE_NORMAL;
  if (map.raid_level === ISW_T_RAID0) return ISW_T_STATE_FAILED;
  if (map.raid_level === ISW_T_RAID10 || (map.raid_level === ISW_T_RAID1 && map.num_members > 2)) {
    // Slots 2k and 2k+1 mirror each other: the volume is lost once both of a pair are.
    const ord = v.maps[0]!.ord;
    for (let i = 0; i + 1 < ord.length; i += 2) if (isFailedDisk(disks, ord[i]!) && isFailedDisk(disks, ord[i + 1]!)) return ISW_T_STATE_FAILED;
    return ISW_T_STATE_DEGRADED;
  }
  if (map.raid_level === ISW_T_RAID1) return failed < map.num_members ? ISW_T_STATE_DEGRADED : ISW_T_STATE_FAILED;
  if (map.raid_level === ISW_T_RAID5) return failed < 2 ? ISW_T_STATE_DEGRADED : ISW_T_STATE_FAILED;
  return map.map_state;
}

/** mdadm's is_rebuilding: a rebuild migration from a degraded map[1]. */
const isRebuilding = (v: Volume) =>
  v.dev.vol.migr_state !== 0 && v.dev.vol.migr_type === ISW_T_MIGR_TYPE_REBUILDING && v.maps[1]?.map.map_state === ISW_T_STATE_DEGRADED;

/**
 * mdadm's end_migration: the volume stops migrating in `state`. When that is not the state the migration
 * aimed at, the out-of-sync marks of map[1] carry over into map[0] and the state is counted again.
 */
function endMigration(disks: readonly IswDisk[], v: Volume, state: number): void {
  const m0 = v.maps[0]!;
  const prev = v.dev.vol.migr_state ? (v.maps[1] ?? m0) : m0;
  let final = state;
  if (state !== m0.map.map_state && v.dev.vol.migr_type !== MIGR_GEN_MIGR && prev.map.map_state !== ISW_T_STATE_UNINITIALIZED) {
    for (const o of prev.ord) {
      const j = m0.ord.findIndex((p) => (p & ORD_INDEX) === (o & ORD_INDEX));
      if (j >= 0) m0.ord[j] = (m0.ord[j]! | o) >>> 0;
    }
    final = degradedState(disks, v, countFailed(disks, v));
  }
  v.dev.vol.migr_state = 0;
  v.dev.vol.migr_type = 0;
  v.dev.vol.curr_migr_unit = 0;
  v.dev.vol.filler[0] = 0;
  m0.map.map_state = final;
  v.maps = [m0];
}

/**
 * mdadm's mark_failure: `<serial>:0`, of which the last 15 characters when it is longer, so that the entry
 * no longer matches the disk should it come back.
 */
export function failedSerial(serial: Uint8Array): Uint8Array {
  const text = `${cString(serial)}:0`;
  const kept = text.length >= 16 ? text.slice(text.length - 15) : text;
  const out = new Uint8Array(serial);
  out.set(toBytes(kept, kept.length + 1).subarray(0, Math.min(16, kept.length + 1)));
  return out;
}

/**
 * Record that disk `failed` (its disk-table index) failed, as mdmon does on md's faulty event (super-intel.c
 * mark_failure, then imsm_set_disk's state transition, then write_super_imsm's generation): the disk entry
 * FAILED_DISK (CONFIGURED_DISK kept) under a `:0` serial; in every volume on it the slot's ord entry
 * IMSM_ORD_REBUILD (map[1]'s too while migrating); failed_disk_num that slot unless one is already
 * recorded; map_state degraded, or failed where the volume lost its data (RAID0, both halves of a
 * mirror, two RAID5 members), a migration ending as mdmon ends it; the generation up by one.
 * Undefined when the MPB already records all of it (a second report of the same failure).
 * mdadm renames the serial once per volume it marks (`:0:0` with two volumes); the serial here takes
 * one `:0`, which every reader (mdadm, dmraid, ours) treats the same.
 */
export function markFailed(mpb: Mpb, failed: number): Uint8Array | undefined {
  const parts = partsOf(mpb);
  const before = encodeMpb(parts);
  const disk = parts.disks[failed];
  if (!disk) return undefined;
  for (const v of parts.volumes) {
    const m0 = v.maps[0]!;
    const slot = m0.ord.findIndex((o) => (o & ORD_INDEX) === failed);
    if (slot < 0) continue;
    if ((disk.status & FAILED_DISK) === 0) {
      disk.serial = failedSerial(disk.serial);
      disk.status = (disk.status | FAILED_DISK) >>> 0;
    }
    m0.ord[slot] = (failed | IMSM_ORD_REBUILD) >>> 0;
    const m1 = v.dev.vol.migr_state ? v.maps[1] : undefined;
    const slot1 = m1 ? m1.ord.findIndex((o) => (o & ORD_INDEX) === failed) : -1;
    if (m1 && slot1 >= 0) m1.ord[slot1] = (failed | IMSM_ORD_REBUILD) >>> 0;
    if (m0.map.failed_disk_num === ISW_DEV_NONE_FAILED || (!isRebuilding(v) && m0.map.failed_disk_num > slot)) m0.map.failed_disk_num = slot;

    const state = degradedState(parts.disks, v, countFailed(parts.disks, v));
    const migrating = v.dev.vol.migr_state !== 0;
    const general = migrating && v.dev.vol.migr_type === MIGR_GEN_MIGR;
    if (state === ISW_T_STATE_DEGRADED) {
      if (m0.map.map_state !== state && !migrating) m0.map.map_state = state;
      // The disk being rebuilt onto failing ends the rebuild; another one failing leaves it degraded.
      else if (isRebuilding(v)) {
        if (slot === m0.map.failed_disk_num) endMigration(parts.disks, v, state);
        else m0.map.map_state = state;
      } else if (general || (migrating && v.dev.vol.migr_type === ISW_T_MIGR_TYPE_INITIALIZING && m1?.map.map_state === ISW_T_STATE_UNINITIALIZED)) {
        m0.map.map_state = state;
      }
    } else if (state === ISW_T_STATE_FAILED) {
      if (general) m0.map.map_state = state;
      else if (m0.map.map_state !== state) endMigration(parts.disks, v, state);
    }
  }
  const after = encodeMpb(parts);
  if (after.length === before.length && after.every((b, i) => b === before[i])) return undefined;
  parts.header.generation_num = (parts.header.generation_num + 1) >>> 0;
  return encodeMpb(parts);
}

/** Where an MPB goes on a disk: header block at N-2, extension blocks before it. */
export function mpbArea(mpb: Uint8Array, sizeSectors: number, unit = 512): { offsetBytes: number; data: Uint8Array } {
  const blocks = mpbBlocks(mpb.length, unit);
  const last = Math.floor((sizeSectors * 512) / unit);
  return { offsetBytes: (last - 1 - blocks) * unit, data: toDiskOrder(mpb, unit) };
}

// ---- whole groups in any state, for the testbed and tests ----

export interface VolumeSpec {
  readonly name: string;
  readonly level: Exclude<IswLevel, 'spare'>;
  /** Blocks per member (default: what fits in the disks after the previous volume). */
  readonly perMember?: number;
  readonly strip?: number;
  readonly mapState?: number;
  readonly migrating?: { readonly type: number; readonly secondMapState?: number };
  readonly failedDisk?: number;
  /** raid_level 2 instead of dmraid's RAID1-with-4-members for RAID10. */
  readonly raid10Level2?: boolean;
}

export interface GroupSpec {
  readonly family: number;
  readonly version?: string;
  readonly disks: readonly (NewDisk & { readonly status?: number })[];
  readonly volumes: readonly VolumeSpec[];
  readonly generation?: number;
  readonly bbmLogSize?: number;
}

/** An MPB for a whole group as the Intel option ROM would leave it. */
export function buildGroupMpb(spec: GroupSpec): Uint8Array {
  const header = iswHeaderLayout.zero();
  header.sig = signatureBytes(spec.version ?? (spec.volumes.length > 1 ? MPB_VERSIONS.multipleVolumes : MPB_VERSIONS.raid0));
  header.family_num = spec.family;
  header.orig_family_num = spec.family;
  header.generation_num = spec.generation ?? 7;
  header.attributes = MPB_ATTRIB_CHECKSUM_VERIFY;
  header.bbm_log_size = spec.bbmLogSize ?? 0;
  const disks = spec.disks.map((d) => {
    const e = newDiskEntry(d, false);
    if (d.status !== undefined) e.status = d.status;
    return e;
  });
  const smallest = Math.min(...spec.disks.map((d) => d.sizeSectors));
  let start = 0;
  const volumes = spec.volumes.map((v) => {
    const f = LEVELS[v.level];
    const strip = v.strip ?? f.strips[0]!;
    const n = spec.disks.length;
    const room = smallest - DISK_RESERVED_BLOCKS - start;
    const perMember = v.perMember ?? Math.floor(room / strip) * strip;
    const dataMembers = (n - f.sub) / f.div;
    const dev = iswDevLayout.zero();
    dev.volume = toBytes(v.name, 16);
    setVolumeSize(dev, perMember * dataMembers);
    dev.status = ISW_DEV_READ_COALESCING | ISW_DEV_WRITE_COALESCING;
    dev.tid = 1;
    const map = iswMapLayout.zero();
    setMapSizes(map, start, perMember, Math.floor(perMember / strip));
    map.blocks_per_strip = strip;
    map.map_state = v.mapState ?? ISW_T_STATE_NORMAL;
    map.raid_level = v.level === '01' ? (v.raid10Level2 ? ISW_T_RAID10 : ISW_T_RAID1) : f.raidLevel;
    map.num_members = n;
    map.num_domains = v.level === '1' || v.level === '01' ? 2 : 1;
    map.failed_disk_num = v.failedDisk ?? ISW_DEV_NONE_FAILED;
    map.ddf = 1;
    const ord = Array.from({ length: n }, (_, i) => i);
    const maps = [{ map, ord }];
    if (v.migrating) {
      dev.vol.migr_state = ISW_T_MIGR_STATE_MIGRATING;
      dev.vol.migr_type = v.migrating.type;
      const second = { map: cloneValue(map), ord: [...ord] };
      second.map.map_state = v.migrating.secondMapState ?? ISW_T_STATE_DEGRADED;
      maps.push(second);
    }
    start += perMember + MIGR_OPT_SPACE;
    return { dev, maps };
  });
  return encodeMpb({ header, disks, volumes });
}

/**
 * Intel Matrix Storage (IMSM, dmraid's "isw") metadata: the MPB ("metadata parameter block") at the end of
 * the disk. Structures as in dmraid's isw.h; the *_hi words that newer MPBs keep in fillers are named in
 * mpb.ts. Offsets are relative to each structure; the MPB lays them out back to back:
 * header (0xD8) · disk[num_disks] (48 each) · isw_dev[num_raid_devs] (variable: 0x70 + map(s)).
 */
import { array, bytes, struct, u8, u16le, u32le, type StructValue } from '@dmraid/core';

export const MPB_SIGNATURE = 'Intel Raid ISM Cfg Sig. ';
export const MPB_VERSION_LENGTH = 6;
/** The newest version dmraid rc16 knows; a greater one is reported as untested. */
export const MPB_VERSION_LAST = '1.3.00';
export const MPB_VERSIONS = {
  raid0: '1.0.00',
  raid1: '1.1.00',
  multipleVolumes: '1.2.00',
  threeOrFourDisks: '1.2.01',
  raid5: '1.2.02',
  fiveOrSixDisks: '1.2.04',
  attributes: '1.3.00',
} as const;

/** The HPA marker in sector N-1: `$GAFR\x10` and how many sectors back the real metadata ends. */
export const ISW10_SIGNATURE = '$GAFR\x10';
/** The third place dmraid (Debian) probes for an MPB, in sectors from the end. */
export const ISW_FALLBACK_END_OFFSET = 2115;

/** disk.status bits */
export const SPARE_DISK = 0x01;
export const CONFIGURED_DISK = 0x02;
export const FAILED_DISK = 0x04;
export const USABLE_DISK = 0x08;
export const DETECTED_DISK = 0x10;
export const CLAIMED_DISK = 0x20;
export const CONFIG_ON_DISK = 0x100;
export const DISK_SMART_EVENT_SUPPORTED = 0x400;

/** isw_dev.status bits */
export const ISW_DEV_READ_COALESCING = 0x04;
export const ISW_DEV_WRITE_COALESCING = 0x08;

/** map.map_state */
export const ISW_T_STATE_NORMAL = 0;
export const ISW_T_STATE_UNINITIALIZED = 1;
export const ISW_T_STATE_DEGRADED = 2;
export const ISW_T_STATE_FAILED = 3;

/** map.raid_level */
export const ISW_T_RAID0 = 0;
export const ISW_T_RAID1 = 1;
export const ISW_T_RAID10 = 2;
export const ISW_T_RAID5 = 5;
export const ISW_T_SPARE = 8;

/** vol.migr_state / migr_type */
export const ISW_T_MIGR_STATE_NORMAL = 0;
export const ISW_T_MIGR_STATE_MIGRATING = 1;
export const ISW_T_MIGR_TYPE_INITIALIZING = 0;
export const ISW_T_MIGR_TYPE_REBUILDING = 1;

export const ISW_DEV_NONE_FAILED = 255;

/**
 * The out-of-sync mark on a disk_ord_tbl entry (high byte; the disk index is the low 24 bits). mdadm starts
 * md's recovery of a slot from this mark in the migration map (super-intel.c: container_content_imsm).
 */
export const IMSM_ORD_REBUILD = 0x01000000;
export const ORD_INDEX = 0x00ffffff;
export const MPB_ATTRIB_CHECKSUM_VERIFY = 0x80000000;
/** Blocks dmraid's create reserves after a volume's data (the "journal"), and between two volumes. */
export const RAID_DS_JOURNAL = 264;
export const MIGR_OPT_SPACE = 4096;
export const RAID_DISK_RESERVED_BLOCKS = 417;
export const DISK_RESERVED_BLOCKS = RAID_DISK_RESERVED_BLOCKS + RAID_DS_JOURNAL + MIGR_OPT_SPACE;
export const UNKNOWN_SCSI_ID = 0xffffffff;
export const MAX_RAID_SERIAL_LEN = 16;

export const iswHeaderLayout = struct(
  {
    sig: bytes(32).at(0x000),
    check_sum: u32le.at(0x020),
    mpb_size: u32le.at(0x024),
    family_num: u32le.at(0x028),
    generation_num: u32le.at(0x02c),
    error_log_size: u32le.at(0x030),
    attributes: u32le.at(0x034),
    num_disks: u8.at(0x038),
    num_raid_devs: u8.at(0x039),
    error_log_pos: u8.at(0x03a),
    fill: u8.at(0x03b),
    cache_size: u32le.at(0x03c),
    orig_family_num: u32le.at(0x040),
    power_cycle_count: u32le.at(0x044),
    bbm_log_size: u32le.at(0x048),
    filler: array(u32le, 35).at(0x04c),
  },
  { size: 0xd8, name: 'isw' },
);

/** One disk table entry. mdadm keeps total_blocks_hi in filler[0] (super-intel.c struct imsm_disk). */
export const iswDiskLayout = struct(
  {
    serial: bytes(16).at(0x00),
    totalBlocks: u32le.at(0x10),
    scsiId: u32le.at(0x14),
    status: u32le.at(0x18),
    owner_cfg_num: u32le.at(0x1c),
    filler: array(u32le, 4).at(0x20),
  },
  { size: 0x30, name: 'isw_disk' },
);

export const iswVolLayout = struct(
  {
    curr_migr_unit: u32le.at(0x00),
    check_point_id: u32le.at(0x04),
    migr_state: u8.at(0x08),
    migr_type: u8.at(0x09),
    dirty: u8.at(0x0a),
    fs_state: u8.at(0x0b),
    verify_errors: u16le.at(0x0c),
    verify_bad_blocks: u16le.at(0x0e),
    filler: array(u32le, 4).at(0x10),
  },
  { size: 0x20, name: 'isw_vol' },
);

/** isw_dev up to its first map (vol.map[0] starts at 0x70). */
export const iswDevLayout = struct(
  {
    volume: bytes(16).at(0x00),
    SizeLow: u32le.at(0x10),
    SizeHigh: u32le.at(0x14),
    status: u32le.at(0x18),
    reserved_blocks: u32le.at(0x1c),
    migr_priority: u8.at(0x20),
    num_sub_vol: u8.at(0x21),
    tid: u8.at(0x22),
    cng_master_disk: u8.at(0x23),
    cache_policy: u16le.at(0x24),
    cng_state: u8.at(0x26),
    cng_sub_state: u8.at(0x27),
    filler: array(u32le, 10).at(0x28),
    vol: iswVolLayout.at(0x50),
  },
  { size: 0x70, name: 'isw_dev' },
);

/**
 * isw_map without its disk_ord_tbl[num_members] (u32 each, at 0x30). mdadm keeps pba_of_lba0_hi,
 * blocks_per_member_hi and num_data_stripes_hi in filler[0..2] (super-intel.c struct imsm_map).
 */
export const iswMapLayout = struct(
  {
    pba_of_lba0: u32le.at(0x00),
    blocks_per_member: u32le.at(0x04),
    num_data_stripes: u32le.at(0x08),
    blocks_per_strip: u16le.at(0x0c),
    map_state: u8.at(0x0e),
    raid_level: u8.at(0x0f),
    num_members: u8.at(0x10),
    num_domains: u8.at(0x11),
    failed_disk_num: u8.at(0x12),
    ddf: u8.at(0x13),
    filler: array(u32le, 7).at(0x14),
  },
  { size: 0x30, name: 'isw_map' },
);

/** Sector N-1 of a disk with a host protected area set up by the Intel option ROM. */
export const isw10Layout = struct({ sig: bytes(6).at(0), offset: u32le.at(6) }, { size: 10, name: 'isw10' });

export const ISW_DEV_OFFSET_MAP = 0x70;
export const ISW_MAP_OFFSET_ORD = 0x30;

export type IswHeader = StructValue<typeof iswHeaderLayout>;
export type IswDisk = StructValue<typeof iswDiskLayout>;
export type IswDev = StructValue<typeof iswDevLayout>;
export type IswVol = StructValue<typeof iswVolLayout>;
export type IswMap = StructValue<typeof iswMapLayout>;

/**
 * Highpoint HPT37x metadata: one 512-byte block in sector 9 (dmraid's hpt37x.h, after FreeBSD's ata-raid).
 */
import { array, bytes, struct, u8, u32le, type StructValue } from '@dmraid/core';

export const HPT37X_MAGIC_OK = 0x5a7816f0;
export const HPT37X_MAGIC_BAD = 0x5a7816fd;
/** The metadata sector, counted from the start of the disk. */
export const HPT37X_CONFIG_SECTOR = 9;
/** Where the data of every member but disk 0 starts, in sectors (disk 0's data covers the metadata). */
export const HPT37X_DATA_OFFSET = 10;
/** dmraid ignores disks whose disk_number is at least this. */
export const HPT37X_MAX_DISKS = 8;
export const HPT37X_MAX_ERRORLOG = 32;

export const HPT37X_T_RAID0 = 0;
export const HPT37X_T_RAID1 = 1;
/** A stripe set that is one half of a RAID0+1. */
export const HPT37X_T_RAID01_RAID0 = 2;
export const HPT37X_T_SPAN = 3;
export const HPT37X_T_RAID3 = 4;
export const HPT37X_T_RAID5 = 5;
export const HPT37X_T_SINGLEDISK = 6;
/** A mirror set that is one part of a RAID0+1. */
export const HPT37X_T_RAID01_RAID1 = 7;

/** Bits of `order` on a real controller (it doubles as the RAID0+1 half index). */
export const HPT_O_MIRROR = 0x01;
export const HPT_O_STRIPE = 0x02;
export const HPT_O_OK = 0x04;

/** Error log `reason` values. */
export const HPT_R_REMOVED = 0xfe;
export const HPT_R_BROKEN = 0xff;

export const hpt37xErrorLogLayout = struct(
  {
    timestamp: u32le.at(0x00),
    reason: u8.at(0x04),
    disk: u8.at(0x05),
    status: u8.at(0x06),
    sectors: u8.at(0x07),
    lba: u32le.at(0x08),
  },
  { size: 12, name: 'hpt37x_errorlog' },
);

export const hpt37xLayout = struct(
  {
    filler1: bytes(32).at(0x000),
    magic: u32le.at(0x020),
    magic_0: u32le.at(0x024),
    magic_1: u32le.at(0x028),
    order: u32le.at(0x02c),
    raid_disks: u8.at(0x030),
    raid0_shift: u8.at(0x031),
    type: u8.at(0x032),
    disk_number: u8.at(0x033),
    total_secs: u32le.at(0x034),
    disk_mode: u32le.at(0x038),
    boot_mode: u32le.at(0x03c),
    boot_disk: u8.at(0x040),
    boot_protect: u8.at(0x041),
    error_log_entries: u8.at(0x042),
    error_log_index: u8.at(0x043),
    errorlog: array(hpt37xErrorLogLayout, HPT37X_MAX_ERRORLOG).at(0x044),
    filler: bytes(60).at(0x1c4),
  },
  { size: 512, name: 'hpt37x' },
);

export type Hpt37x = StructValue<typeof hpt37xLayout>;
export type Hpt37xErrorLog = StructValue<typeof hpt37xErrorLogLayout>;

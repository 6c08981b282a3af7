/**
 * Highpoint HPT45x metadata: one 48-byte block in sector N-11 (dmraid's hpt45x.h; offsets checked, the
 * header's comments for magic_1 and total_secs are wrong).
 */
import { array, struct, u8, u32le, type StructValue } from '@dmraid/core';

export const HPT45X_MAGIC_OK = 0x5a7816f3;
export const HPT45X_MAGIC_BAD = 0x5a7816fd;
/** Sectors from the end of the disk to the metadata sector. */
export const HPT45X_END_OFFSET = 11;

export const HPT45X_T_SPAN = 4;
export const HPT45X_T_RAID0 = 5;
export const HPT45X_T_RAID1 = 6;

export const hpt45xLayout = struct(
  {
    magic: u32le.at(0x00),
    magic_0: u32le.at(0x04),
    magic_1: u32le.at(0x08),
    total_secs: u32le.at(0x0c),
    type: u8.at(0x10),
    raid_disks: u8.at(0x11),
    disk_number: u8.at(0x12),
    raid0_shift: u8.at(0x13),
    dummy: array(u32le, 3).at(0x14),
    raid1_type: u8.at(0x20),
    raid1_raid_disks: u8.at(0x21),
    raid1_disk_number: u8.at(0x22),
    raid1_shift: u8.at(0x23),
    dummy1: array(u32le, 3).at(0x24),
  },
  { size: 0x30, name: 'hpt45x' },
);

export type Hpt45x = StructValue<typeof hpt45xLayout>;

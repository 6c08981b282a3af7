/**
 * VIA V-RAID metadata: one 51-byte block in the last sector (dmraid's via.h; packed, offsets checked).
 */
import { array, struct, u8, u16le, u32le, type StructValue } from '@dmraid/core';

/** Sectors from the end of the disk to the metadata sector. */
export const VIA_END_OFFSET = 1;
export const VIA_SIGNATURE = 0xaa55;
export const VIA_MAX_DISKS = 8;
/** Bytes covered by the checksum (the checksum byte follows them). */
export const VIA_CHECKSUM_BYTES = 50;

/** disk.raid_type */
export const VIA_T_RAID0 = 0;
export const VIA_T_RAID1 = 1;
export const VIA_T_SPAN = 8;
/** A stripe set that is one half of a mirror (RAID 0+1). */
export const VIA_T_RAID01 = 9;

export const viaArrayLayout = struct(
  {
    /** A 16-bit bit field, see viaDiskBits. */
    disk: u16le.at(0x00),
    /** Bits 0-2 number of disks, bits 4-7 stride code (stride = 8 << code sectors). */
    disk_array_ex: u8.at(0x02),
    capacity_low: u32le.at(0x03),
    capacity_high: u32le.at(0x07),
    serial_checksum: u32le.at(0x0b),
  },
  { size: 0x0f, name: 'array' },
);

export const viaLayout = struct(
  {
    signature: u16le.at(0x00),
    version_number: u8.at(0x02),
    array: viaArrayLayout.at(0x03),
    serial_checksum: array(u32le, VIA_MAX_DISKS).at(0x12),
    checksum: u8.at(0x32),
  },
  { size: 0x33, name: 'via' },
);

export type Via = StructValue<typeof viaLayout>;

/** `struct disk`'s bit fields, least significant bit first (GCC on x86): [first bit, width]. */
export const VIA_DISK_BITS = {
  bootable: [0, 1],
  enable_enhanced: [1, 1],
  in_disk_array: [2, 1],
  raid_type: [3, 4],
  array_index: [7, 3],
  raid_type_info: [10, 5],
  tolerance: [15, 1],
} as const;

export type ViaDisk = { -readonly [K in keyof typeof VIA_DISK_BITS]: number };

export function viaDiskBits(disk: number): ViaDisk {
  const out = {} as ViaDisk;
  for (const [name, [at, width]] of Object.entries(VIA_DISK_BITS)) out[name as keyof ViaDisk] = (disk >> at) & ((1 << width) - 1);
  return out;
}

export function viaDiskWord(bits: Partial<ViaDisk>): number {
  let word = 0;
  for (const [name, [at, width]] of Object.entries(VIA_DISK_BITS)) {
    word |= ((bits[name as keyof ViaDisk] ?? 0) & ((1 << width) - 1)) << at;
  }
  return word & 0xffff;
}

/** raid_type_info: member index (span, RAID0, RAID0+1). */
export const raidIndex = (info: number) => info & 0x7;
/** raid_type_info of RAID1: 0 source, 1 spare, 2 mirror. */
export const raid1Role = (info: number) => info & 0x3;
/** raid_type_info of RAID0+1: which mirror half. */
export const raid01Mirror = (info: number) => (info & 0x8) >> 3;
export const raid01Dirty = (info: number) => (info & 0x10) >> 4;

export const viaRaidDisks = (via: Via) => via.array.disk_array_ex & 0x7;
export const viaStride = (via: Via) => 8 << ((via.array.disk_array_ex & 0xf0) >> 4);

/** The 8-bit sum of the first 50 bytes, which byte 50 must equal. */
export function viaChecksum(raw: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < VIA_CHECKSUM_BYTES && i < raw.length; i++) sum = (sum + raw[i]!) & 0xff;
  return sum;
}

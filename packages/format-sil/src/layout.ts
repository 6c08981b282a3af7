/**
 * Silicon Image Medley metadata: one 512-byte block kept in four copies at sectors N-1, N-513, N-1025 and
 * N-1537 (dmraid's sil.h; offsets checked against it). Byte 0x128 is read as FreeBSD's ata-raid.h reads it
 * (member status, bit 0 = ready).
 */
import { bytes, i8, join64, struct, u8, u16le, u32le, type StructValue } from '@dmraid/core';

export const SIL_AREAS = 4;
export const SIL_BLOCK_SIZE = 512;
/** Copy i (0..3) is at sector N - 1 - SIL_AREA_STEP * i. */
export const SIL_AREA_STEP = 512;

/** Low 26 bits of `magic`. */
export const SIL_MAGIC = 0x3000000;
export const SIL_MAGIC_MASK = 0x3ffffff;

export const SIL_T_RAID0 = 0;
export const SIL_T_RAID1 = 1;
export const SIL_T_RAID10 = 2;
export const SIL_T_SPARE = 3;
export const SIL_T_RAID5 = 16;
export const SIL_T_JBOD = 255;

/** member_status bit 0 (FreeBSD's SII_S_READY). */
export const SIL_MEMBER_READY = 0x01;

export const silLayout = struct(
  {
    unknown0: bytes(0x2e).at(0x000),
    ascii_version: bytes(8).at(0x02e),
    diskname: bytes(32).at(0x036),
    unknown1: bytes(10).at(0x056),
    magic: u32le.at(0x060),
    unknown1a: bytes(8).at(0x064),
    array_sectors_low: u32le.at(0x06c),
    array_sectors_high: u32le.at(0x070),
    unknown2: bytes(4).at(0x074),
    thisdisk_sectors: u32le.at(0x078),
    product_id: u16le.at(0x104),
    vendor_id: u16le.at(0x106),
    minor_ver: u16le.at(0x108),
    major_ver: u16le.at(0x10a),
    seconds: u8.at(0x10c),
    minutes: u8.at(0x10d),
    hour: u8.at(0x10e),
    day: u8.at(0x10f),
    month: u8.at(0x110),
    year: u8.at(0x111),
    raid0_stride: u16le.at(0x112),
    disk_number: u8.at(0x116),
    type: u8.at(0x117),
    drives_per_striped_set: i8.at(0x118),
    striped_set_number: i8.at(0x119),
    drives_per_mirrored_set: i8.at(0x11a),
    mirrored_set_number: i8.at(0x11b),
    rebuild_ptr_low: u32le.at(0x11c),
    rebuild_ptr_high: u32le.at(0x120),
    incarnation_no: u32le.at(0x124),
    member_status: u8.at(0x128),
    mirrored_set_state: u8.at(0x129),
    reported_device_location: u8.at(0x12a),
    idechannel: u8.at(0x12b),
    auto_rebuild: u8.at(0x12c),
    unknown8: u8.at(0x12d),
    text_type: bytes(16).at(0x12e),
    checksum1: u16le.at(0x13e),
    checksum2: u16le.at(0x1fe),
  },
  { size: SIL_BLOCK_SIZE, name: 'sil' },
);

export type Sil = StructValue<typeof silLayout>;

/**
 * checksum1: the negated 16-bit sum of the 159 words before it. (checksum2's rule is unknown; dmraid does
 * not check it.)
 */
export function silChecksum1(block: Uint8Array): number {
  const end = silLayout.offsetOf('checksum1');
  const view = new DataView(block.buffer, block.byteOffset, end);
  let sum = 0;
  for (let at = 0; at < end; at += 2) sum += view.getUint16(at, true);
  return -sum & 0xffff;
}

export const isSilMagic = (sil: Pick<Sil, 'magic' | 'disk_number'>) => (sil.magic & SIL_MAGIC_MASK) === SIL_MAGIC && sil.disk_number < 8;

/** Array size: array_sectors_high:array_sectors_low. */
export const arraySectors = (sil: Sil) => join64(sil.array_sectors_high, sil.array_sectors_low);

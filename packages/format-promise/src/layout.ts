/**
 * Promise FastTrak metadata: 2048-byte blocks near the end of the disk, one per array the disk belongs to
 * (dmraid's pdc.h; offsets checked against it). The per-disk table entries and `raid.unknown_0` flag bits are
 * named as FreeBSD's ata-raid.h reads them.
 */
import { array, bytes, struct, u8, u16le, u32le, type StructValue } from '@dmraid/core';

export const PDC_MAGIC = 'Promise Technology, Inc.';
export const PDC_ID_LENGTH = 24;
export const PDC_BLOCK_SIZE = 2048;
/** Further blocks (one per further array on the disk) follow every 14 sectors, at most 4 in all. */
export const PDC_META_OFFSET = 14;
export const PDC_MAX_META_AREAS = 4;
/** total_disks must be below this. */
export const PDC_MAXDISKS = 8;

/**
 * Sectors from the end of the disk where the first block may be, in the order the reference binary
 * (Debian's rc16) probes them; 911 and 951 are Debian additions, 3087 (later upstream) is not probed.
 */
export const PDC_END_OFFSETS: readonly number[] = [63, 255, 256, 16, 399, 591, 675, 735, 974, 991, 911, 951];
/** Absolute sector tried when no end offset matched (large disks, 28-bit LBA limit). */
export const PDC_BEGIN_SECTOR = 268435377;

export const PDC_T_RAID0 = 0x0;
export const PDC_T_RAID1 = 0x1;
/** dmraid's own value for a RAID1 over more than three disks (Promise stores those as RAID1). */
export const PDC_T_RAID10 = 0x2;
export const PDC_T_SPAN = 0x8;

/**
 * raid.unknown_0 bits (FreeBSD's PR_F_* / PROMISE_F_*): the member's own state. The same bits are the low byte
 * of every raid.disk[i].unknown_0, the state of member i as this block records it (FreeBSD's md_promise.c reads
 * the u16 as flags, then position).
 */
export const PDC_F_VALID = 0x01;
export const PDC_F_ONLINE = 0x02;
export const PDC_F_ASSIGNED = 0x04;
/** A hot spare's own flags (FreeBSD's promise_meta_write_spare: SPARE|ONLINE|VALID, in no array). */
export const PDC_F_SPARE = 0x08;
/**
 * Set with DOWN on a failed member (FreeBSD's md_promise.c, g_raid_md_fail_disk_promise); set with ONLINE
 * (not DOWN), the member is being rebuilt, from its own block's raid.unknown_3 (FreeBSD's disk_rebuild) on.
 */
export const PDC_F_REDIR = 0x20;
export const PDC_F_DOWN = 0x40;
/** The flag bits in a raid.disk[i].unknown_0 (the high byte is the member's position). */
export const PDC_DISK_FLAGS = 0xff;

/** raid.status bit (FreeBSD's PROMISE_S_DEGRADED): the array runs without a member. */
export const PDC_S_DEGRADED = 0x10;

export const pdcDiskLayout = struct(
  {
    unknown_0: u16le.at(0x0),
    channel: u8.at(0x2),
    device: u8.at(0x3),
    magic_0: u32le.at(0x4),
    disk_number: u32le.at(0x8),
  },
  { size: 12, name: 'pdc_disk' },
);

export const pdcRaidLayout = struct(
  {
    flags: u32le.at(0x00),
    unknown_0: u8.at(0x04),
    disk_number: u8.at(0x05),
    channel: u8.at(0x06),
    device: u8.at(0x07),
    magic_0: u32le.at(0x08),
    unknown_1: u32le.at(0x0c),
    start: u32le.at(0x10),
    disk_secs: u32le.at(0x14),
    unknown_3: u32le.at(0x18),
    /** FreeBSD's `generation`: raised by every metadata update; the highest one is current. */
    unknown_4: u16le.at(0x1c),
    /** Array state bits (FreeBSD's PROMISE_S_*); dmraid ignores them. */
    status: u8.at(0x1e),
    type: u8.at(0x1f),
    total_disks: u8.at(0x20),
    raid0_shift: u8.at(0x21),
    raid0_disks: u8.at(0x22),
    array_number: u8.at(0x23),
    total_secs: u32le.at(0x24),
    cylinders: u16le.at(0x28),
    heads: u8.at(0x2a),
    sectors: u8.at(0x2b),
    magic_1: u32le.at(0x2c),
    unknown_5: u32le.at(0x30),
    disk: array(pdcDiskLayout, 8).at(0x34),
  },
  { size: 0x94, name: 'pdc.raid' },
);

export const pdcLayout = struct(
  {
    promise_id: bytes(PDC_ID_LENGTH).at(0x000),
    unknown_0: u32le.at(0x018),
    magic_0: u32le.at(0x01c),
    unknown_1: u32le.at(0x020),
    magic_1: u32le.at(0x024),
    unknown_2: u16le.at(0x028),
    raid: pdcRaidLayout.at(0x200),
    /** The array's label, space padded (FreeBSD's promise_raid_conf `name`); dmraid does not read it. */
    name: bytes(32).at(0x294),
    /** The high half of raid.unknown_3, the rebuild position (FreeBSD's disk_rebuild_high); all ones on a spare. */
    disk_rebuild_high: u32le.at(0x37a),
    checksum: u32le.at(0x7fc),
  },
  { size: PDC_BLOCK_SIZE, name: 'pdc' },
);

export type Pdc = StructValue<typeof pdcLayout>;

/** Offset of the checksum: the sum covers the 511 dwords before it. */
const CHECKSUM_AT = pdcLayout.offsetOf('checksum');

/** Wrapping sum of the 511 little-endian dwords before the checksum field. */
export function pdcChecksum(block: Uint8Array): number {
  const view = new DataView(block.buffer, block.byteOffset, CHECKSUM_AT);
  let sum = 0;
  for (let at = 0; at < CHECKSUM_AT; at += 4) sum = (sum + view.getUint32(at, true)) >>> 0;
  return sum;
}

export const pdcChecksumOk = (block: Uint8Array) => pdcChecksum(block) === pdcLayout.decodeFrom(block).checksum;

export function hasPdcSignature(block: Uint8Array): boolean {
  if (block.length < PDC_ID_LENGTH) return false;
  for (let i = 0; i < PDC_ID_LENGTH; i++) if (block[i] !== PDC_MAGIC.charCodeAt(i)) return false;
  return true;
}

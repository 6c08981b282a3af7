/**
 * Made-up metadata, to be replaced by your vendor's structure: one 64-byte block at the start of sector N-2 (N = disk size in
 * sectors), little-endian. Replace it with your vendor's structure; keep the field names the vendor's
 * (or dmraid's C member names) so the layout reads against the header line by line.
 */
import { array, bytes, struct, u8, u32le, type StructValue } from '@dmraid/core';

/** "DMRAIDTP": a signature no real controller writes. */
export const TEMPLATE_SIGNATURE = new Uint8Array([0x44, 0x4d, 0x52, 0x41, 0x49, 0x44, 0x54, 0x50]);
/** Sectors from the end of the disk to the metadata sector. */
export const TEMPLATE_END_OFFSET = 2;

export const TEMPLATE_T_RAID0 = 0;
export const TEMPLATE_T_RAID1 = 1;

export const templateLayout = struct(
  {
    signature: bytes(8).at(0x00),
    /** Makes the 32-bit little-endian words of the block sum to zero. */
    checksum: u32le.at(0x08),
    set_id: u32le.at(0x0c),
    level: u8.at(0x10),
    disks: u8.at(0x11),
    disk_number: u8.at(0x12),
    /** Stripe size as a power of two in sectors. */
    stripe_shift: u8.at(0x13),
    /** Data sectors on this member, from sector 0. */
    data_sectors: u32le.at(0x14),
    reserved: array(u32le, 2).at(0x18),
    label: bytes(16).at(0x20),
  },
  { size: 0x40, name: 'template' },
);

export type TemplateMetadata = StructValue<typeof templateLayout>;

/** The value `checksum` must hold for the block's words to sum to zero (mod 2^32). */
export function templateChecksum(block: Uint8Array): number {
  const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
  let sum = 0;
  for (let o = 0; o + 4 <= templateLayout.size; o += 4) {
    if (o !== templateLayout.offsetOf('checksum')) sum = (sum + view.getUint32(o, true)) >>> 0;
  }
  return (0x100000000 - sum) >>> 0;
}

/**
 * NVIDIA MediaShield metadata: one 120-byte block (30 dwords) in sector N-2 (dmraid's nv.h; offsets
 * checked here, the header's own comments agree).
 */
import { array, bytes, struct, u8, u16le, u32le, type StructValue } from '@dmraid/core';

/** Sectors from the end of the disk to the metadata sector. */
export const NV_END_OFFSET = 2;
export const NV_ID_STRING = 'NVIDIA';
export const NV_VERSION = 100;
/** `size` of a valid block: the structure's length in dwords. */
export const NV_SIZE_DWORDS = 30;

/** array.raidLevel */
export const NV_LEVEL_UNKNOWN = 0x00;
export const NV_LEVEL_JBOD = 0xff;
export const NV_LEVEL_0 = 0x80;
export const NV_LEVEL_1 = 0x81;
export const NV_LEVEL_3 = 0x83;
export const NV_LEVEL_5 = 0x85;
export const NV_LEVEL_10 = 0x8a;
/** A stripe set that is one half of a mirror (RAID 1+0). */
export const NV_LEVEL_1_0 = 0x8180;
export const NV_LEVEL_5_SYM = 0x95;

/** array.raidJobCode */
export const NV_IDLE = 0;
export const NV_SCDB_INIT_RAID = 2;
export const NV_SCDB_REBUILD_RAID = 3;
export const NV_SCDB_UPGRADE_RAID = 4;
export const NV_SCDB_SYNC_RAID = 5;

/**
 * array.flags: the array is degraded or offline (dmraid's nv.h, "Degraded or offlining"; FreeBSD's md_nvidia.c
 * names the same bit of the same field NVIDIA_S_DEGRADED).
 */
export const NV_ARRAY_FLAG_ERROR = 0x2;

export const nvArrayLayout = struct(
  {
    version: u32le.at(0x00),
    signature: array(u32le, 4).at(0x04),
    raidJobCode: u8.at(0x14),
    stripeWidth: u8.at(0x15),
    totalVolumes: u8.at(0x16),
    originalWidth: u8.at(0x17),
    raidLevel: u32le.at(0x18),
    stripeBlockSize: u32le.at(0x1c),
    stripeBlockByteSize: u32le.at(0x20),
    stripeBlockPower: u32le.at(0x24),
    stripeMask: u32le.at(0x28),
    stripeSize: u32le.at(0x2c),
    stripeByteSize: u32le.at(0x30),
    raidJobMark: u32le.at(0x34),
    originalLevel: u32le.at(0x38),
    originalCapacity: u32le.at(0x3c),
    flags: u32le.at(0x40),
  },
  { size: 0x44, name: 'nv_array_base' },
);

export const nvLayout = struct(
  {
    vendor: bytes(8).at(0x00),
    size: u32le.at(0x08),
    chksum: u32le.at(0x0c),
    version: u16le.at(0x10),
    unitNumber: u8.at(0x12),
    reserved: u8.at(0x13),
    capacity: u32le.at(0x14),
    sectorSize: u32le.at(0x18),
    productID: bytes(16).at(0x1c),
    productRevision: bytes(4).at(0x2c),
    unitFlags: u32le.at(0x30),
    array: nvArrayLayout.at(0x34),
  },
  { size: 0x78, name: 'nv' },
);

export type Nv = StructValue<typeof nvLayout>;
export type NvArray = StructValue<typeof nvArrayLayout>;

/** The 32-bit wrapping sum of the block's 30 dwords; a valid block (chksum included) sums to 0. */
export function nvDwordSum(raw: Uint8Array): number {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  let sum = 0;
  for (let i = 0; i + 4 <= Math.min(raw.length, nvLayout.size); i += 4) sum = (sum + view.getUint32(i, true)) >>> 0;
  return sum;
}

/** dmraid's test: `size` is 30 dwords and all 30 dwords, chksum included, sum to 0 (mod 2^32). */
export function nvChecksumOk(nv: Nv, raw: Uint8Array): boolean {
  return nv.size === NV_SIZE_DWORDS && nvDwordSum(raw) === 0;
}

/** The chksum value that makes the block valid: minus the sum of the other 29 dwords. */
export function nvChecksum(nv: Nv): number {
  const raw = nvLayout.encodeToBytes(nv);
  raw.fill(0, nvLayout.offsetOf('chksum'), nvLayout.offsetOf('chksum') + 4);
  return (0x100000000 - nvDwordSum(raw)) >>> 0;
}

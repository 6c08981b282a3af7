/**
 * JMicron ATARAID metadata: one 128-byte block at the start of the last sector (dmraid's jm.h; util-linux
 * jmicron_raid.c agrees). The struct is packed, but `segment` is an unpacked inner struct whose tail
 * padding keeps `name` at 0x20 as the header's comments say.
 */
import { array, bytes, struct, u8, u16le, u32le, type StructValue } from '@dmraid/core';

/** "JM" */
export const JM_SIGNATURE = new Uint8Array([0x4a, 0x4d]);
/** Sectors from the end of the disk to the metadata sector. */
export const JM_END_OFFSET = 1;

export const JM_T_RAID0 = 0;
export const JM_T_RAID1 = 1;
/** RAID 0+1 in JMicron's words: a stripe over mirrored pairs. */
export const JM_T_RAID01 = 2;
export const JM_T_JBOD = 3;
export const JM_T_RAID5 = 5;

/** Attribute bits dmraid accepts; any other bit makes the member broken. */
export const JM_ATTRIBUTES_OK = 0x07;

export const JM_MEMBERS = 8;
export const JM_SPARES = 2;
/** A member entry is a disk id (high bits) and a segment number (low nibble). */
export const JM_HDD_MASK = 0xfffffff0;

export const jmLayout = struct(
  {
    signature: bytes(2).at(0x00),
    version: u16le.at(0x02),
    checksum: u16le.at(0x04),
    filler: bytes(10).at(0x06),
    identity: u32le.at(0x10),
    base: u32le.at(0x14),
    range: u32le.at(0x18),
    range2: u16le.at(0x1c),
    name: bytes(16).at(0x20),
    mode: u8.at(0x30),
    block: u8.at(0x31),
    attribute: u16le.at(0x32),
    filler1: bytes(4).at(0x34),
    spare: array(u32le, JM_SPARES).at(0x38),
    member: array(u32le, JM_MEMBERS).at(0x40),
    filler2: bytes(0x20).at(0x60),
  },
  { size: 0x80, name: 'jm' },
);

export type Jm = StructValue<typeof jmLayout>;

/** The 16-bit little-endian sum of the 64 words of the block; dmraid accepts 0 and 1. */
export function jmChecksum(block: Uint8Array): number {
  const words = new DataView(block.buffer, block.byteOffset, jmLayout.size);
  let sum = 0;
  for (let o = 0; o < jmLayout.size; o += 2) sum = (sum + words.getUint16(o, true)) & 0xffff;
  return sum;
}

/**
 * Builds JMicron member metadata for any layout (testbed sets, tests, fuzz seeds): what the JMicron BIOS
 * writes, as far as dmraid reads it.
 */
import { toBytes } from '@dmraid/core';
import { JM_END_OFFSET, JM_SIGNATURE, JM_T_JBOD, JM_T_RAID0, JM_T_RAID01, JM_T_RAID1, JM_T_RAID5, jmChecksum, jmLayout } from './layout.js';

/** raid5 exists in the metadata, but dmraid does not support it. */
export type JmLevel = 'jbod' | 'raid0' | 'raid1' | 'raid01' | 'raid5';

export interface JmSetSpec {
  readonly level: JmLevel;
  /** The label, shown in the set name (up to 16 bytes). */
  readonly label: string;
  readonly disks: number;
  /** Size of every member disk in sectors. */
  readonly diskSectors: number;
  /** Stripe size code: 2^(block+1) sectors (default 6: 64 KiB). */
  readonly block?: number;
  /** Member indexes whose attribute carries a bit dmraid does not accept. */
  readonly bad?: readonly number[];
  /** Disk id base; member i gets id + i·0x10 (the low nibble is the segment number). */
  readonly id?: number;
}

export interface MemberImage {
  readonly sizeSectors: number;
  readonly offsetBytes: number;
  readonly data: Uint8Array;
}

const MODES: Record<JmLevel, number> = { jbod: JM_T_JBOD, raid0: JM_T_RAID0, raid1: JM_T_RAID1, raid01: JM_T_RAID01, raid5: JM_T_RAID5 };

export function buildJmSet(spec: JmSetSpec): MemberImage[] {
  const block = spec.block ?? 6;
  const stripe = 2 ** (block + 1);
  const usable = spec.diskSectors - JM_END_OFFSET;
  const sectors = spec.level === 'jbod' || spec.level === 'raid1' ? usable : usable - (usable % stripe);
  const id = spec.id ?? 0x5a3c1e00;
  const members: MemberImage[] = [];
  for (let i = 0; i < spec.disks; i++) {
    const jm = jmLayout.zero();
    jm.signature = JM_SIGNATURE;
    jm.version = 0x0001;
    jm.identity = (id + i * 0x10) >>> 0;
    jm.base = 0;
    jm.range = Math.floor(sectors / 65536);
    jm.range2 = sectors % 65536;
    jm.name = toBytes(spec.label, 16);
    jm.mode = MODES[spec.level];
    jm.block = spec.level === 'jbod' || spec.level === 'raid1' ? 0 : block;
    jm.attribute = spec.bad?.includes(i) ? 0x10 : 0x02;
    jm.member = Array.from({ length: 8 }, (_, k) => (k < spec.disks ? (id + k * 0x10) >>> 0 : 0));
    jm.checksum = 0;
    jm.checksum = (0x10000 - jmChecksum(jmLayout.encodeToBytes(jm))) & 0xffff;
    members.push({ sizeSectors: spec.diskSectors, offsetBytes: (spec.diskSectors - JM_END_OFFSET) * 512, data: jmLayout.encodeToBytes(jm) });
  }
  return members;
}

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

/** A set of member disks named sda, sdb, ... as the testbed recorder writes them. */
export interface TestbedSetDefinition {
  readonly config: string;
  readonly description: string;
  readonly members: { name: string; serial: string; sizeSectors: number; areas: { offsetBytes: number; data: Uint8Array }[] }[];
}

const DISK = 65536;

function testbedSet(config: string, description: string, spec: JmSetSpec, missing: readonly number[] = []): TestbedSetDefinition {
  return {
    config,
    description,
    members: buildJmSet(spec)
      .filter((_, i) => !missing.includes(i))
      .map((m, i) => ({
        name: `sd${String.fromCharCode(97 + i)}`,
        serial: `JM${config.replace(/[^a-z0-9]/gi, '').toUpperCase().slice(0, 12)}${i}`,
        sizeSectors: m.sizeSectors,
        areas: [{ offsetBytes: m.offsetBytes, data: m.data }],
      })),
  };
}

/** Every layout jmicron supports, healthy and with a member missing or marked bad. */
export function testbedSets(): TestbedSetDefinition[] {
  return [
    testbedSet('jbod-2', 'JBOD over two disks', { level: 'jbod', label: 'Span', disks: 2, diskSectors: DISK }),
    testbedSet('raid0-2', 'RAID0 over two disks, 64 KiB stripes', { level: 'raid0', label: 'Stripe', disks: 2, diskSectors: DISK }),
    testbedSet('raid0-3', 'RAID0 over three disks, 16 KiB stripes', { level: 'raid0', label: 'Stripe3', disks: 3, diskSectors: DISK, block: 4 }),
    testbedSet('raid0-2-degraded', 'RAID0 with a member missing (removed as broken)', { level: 'raid0', label: 'Stripe', disks: 2, diskSectors: DISK }, [1]),
    testbedSet('raid0-2-bad', 'RAID0 with one member whose attribute marks it bad', { level: 'raid0', label: 'Bad', disks: 2, diskSectors: DISK, bad: [1] }),
    testbedSet('raid1-2', 'RAID1 over two disks', { level: 'raid1', label: 'Mirror', disks: 2, diskSectors: DISK }),
    testbedSet('raid1-2-degraded', 'RAID1 with a member missing (kept, inconsistent)', { level: 'raid1', label: 'Mirror', disks: 2, diskSectors: DISK }, [0]),
    testbedSet('raid01-4', 'RAID 0+1: a stripe over two mirrored pairs', { level: 'raid01', label: 'Both', disks: 4, diskSectors: DISK }),
    testbedSet('raid01-4-degraded', 'RAID 0+1 with one disk of the second pair missing', { level: 'raid01', label: 'Both', disks: 4, diskSectors: DISK }, [3]),
    testbedSet('raid5-3', 'RAID5 over three disks: in the metadata, not supported by dmraid', { level: 'raid5', label: 'Parity', disks: 3, diskSectors: DISK }),
    testbedSet('label-16', 'RAID1 with a label of 16 characters and no NUL: dmraid reads on into the mode byte', { level: 'raid1', label: 'SixteenCharsName', disks: 2, diskSectors: DISK }),
  ];
}

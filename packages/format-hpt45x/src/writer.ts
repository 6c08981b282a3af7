/**
 * Builds HPT45x member metadata for any layout (testbed sets and tests): what the Highpoint BIOS writes.
 */
import { serialStem, testbedSet as makeTestbedSet, type MemberImage, type TestbedSetDefinition } from '@dmraid/core';
import { HPT45X_END_OFFSET, HPT45X_MAGIC_BAD, HPT45X_MAGIC_OK, HPT45X_T_RAID0, HPT45X_T_RAID1, HPT45X_T_SPAN, hpt45xLayout, type Hpt45x } from './layout.js';

export type Hpt45xLevel = 'span' | 'raid0' | 'raid1' | 'raid10';

export interface Hpt45xSetSpec {
  readonly level: Hpt45xLevel;
  /** Set id (magic_0), non-zero. */
  readonly id: number;
  /** Number of data disks (raid10: all four or more, an even number). */
  readonly disks: number;
  /** Size of every member disk in sectors. */
  readonly diskSectors: number;
  /** Stripe size as a power of two in sectors (default 7: 64 KiB). */
  readonly shift?: number;
  /** Extra spare disks (magic_0 = 0). */
  readonly spares?: number;
  /** Member indexes whose magic says "bad". */
  readonly bad?: readonly number[];
  /** Fields overwritten after the fact, by member index: metadata no BIOS writes (corrupted members). */
  readonly corrupt?: Readonly<Record<number, Partial<Hpt45x>>>;
}

export function buildHpt45xSet(spec: Hpt45xSetSpec): MemberImage[] {
  const shift = spec.shift ?? 7;
  const usable = spec.diskSectors - HPT45X_END_OFFSET;
  const stripe = 1 << shift;
  const perMember = spec.level === 'span' ? usable : Math.floor(usable / stripe) * stripe;
  const halves = spec.level === 'raid10' ? 2 : 1;
  const width = spec.disks / halves;
  const total = spec.level === 'raid1' ? perMember : spec.level === 'span' ? usable * spec.disks : perMember * width;
  const members: MemberImage[] = [];
  for (let i = 0; i < spec.disks + (spec.spares ?? 0); i++) {
    const spare = i >= spec.disks;
    const m = hpt45xLayout.zero();
    m.magic = spec.bad?.includes(i) ? HPT45X_MAGIC_BAD : HPT45X_MAGIC_OK;
    m.magic_0 = spare ? 0 : spec.id;
    m.magic_1 = spec.id ^ 0x01000110;
    m.total_secs = total;
    m.type = spec.level === 'span' ? HPT45X_T_SPAN : spec.level === 'raid1' ? HPT45X_T_RAID1 : HPT45X_T_RAID0;
    m.raid_disks = spare ? 0 : width;
    m.disk_number = spare ? 0 : i % width;
    m.raid0_shift = spec.level === 'raid0' || spec.level === 'raid10' ? shift : 0;
    if (spec.level === 'raid10' && !spare) {
      m.raid1_type = HPT45X_T_RAID1;
      m.raid1_raid_disks = 2;
      m.raid1_disk_number = Math.floor(i / width);
      m.raid1_shift = shift;
    }
    Object.assign(m, spec.corrupt?.[i]);
    members.push({ sizeSectors: spec.diskSectors, offsetBytes: (spec.diskSectors - HPT45X_END_OFFSET) * 512, data: hpt45xLayout.encodeToBytes(m) });
  }
  return members;
}

const DISK = 65536;

function testbedSet(config: string, description: string, spec: Hpt45xSetSpec, missing: readonly number[] = []): TestbedSetDefinition {
  return makeTestbedSet(config, description, buildHpt45xSet(spec), { missing, serial: (i) => `HPT45X${serialStem(config, 10)}${i}` });
}

export type { MemberImage, TestbedSetDefinition };

/** Every layout hpt45x supports, healthy and with a member missing, and corrupted members the reference names its own way. */
export function testbedSets(): TestbedSetDefinition[] {
  return [
    testbedSet('span-2', 'JBOD span over two disks', { level: 'span', id: 0x1111, disks: 2, diskSectors: DISK }),
    testbedSet('span-2-degraded', 'span with its second disk missing', { level: 'span', id: 0x1112, disks: 2, diskSectors: DISK }, [1]),
    testbedSet('raid0-2', 'RAID0 over two disks, 64 KiB stripes', { level: 'raid0', id: 0x2221, disks: 2, diskSectors: DISK }),
    testbedSet('raid0-3', 'RAID0 over three disks, 32 KiB stripes', { level: 'raid0', id: 0x2222, disks: 3, diskSectors: DISK, shift: 6 }),
    testbedSet('raid0-2-degraded', 'RAID0 with a member missing (removed as broken)', { level: 'raid0', id: 0x2223, disks: 2, diskSectors: DISK }, [0]),
    testbedSet('raid0-2-spare', 'RAID0 with a hot spare (spares are never grouped)', { level: 'raid0', id: 0x2224, disks: 2, diskSectors: DISK, spares: 1 }),
    testbedSet('raid0-2-bad', 'RAID0 with one member marked bad in its metadata', { level: 'raid0', id: 0x2225, disks: 2, diskSectors: DISK, bad: [1] }),
    testbedSet('raid1-2', 'RAID1 over two disks', { level: 'raid1', id: 0x3331, disks: 2, diskSectors: DISK }),
    testbedSet('raid1-2-degraded', 'RAID1 with a member missing (kept, inconsistent)', { level: 'raid1', id: 0x3332, disks: 2, diskSectors: DISK }, [1]),
    testbedSet('raid10-4', 'RAID10: a mirror of two 2-disk stripe sets', { level: 'raid10', id: 0x4441, disks: 4, diskSectors: DISK }),
    testbedSet('raid10-4-degraded', 'RAID10 with one member of the second stripe set missing', { level: 'raid10', id: 0x4442, disks: 4, diskSectors: DISK }, [3]),
    testbedSet('raid10-4-half148', 'RAID10 whose second half says it is half 148 (a name with a 3-digit suffix)', {
      level: 'raid10',
      id: 0x4443,
      disks: 4,
      diskSectors: DISK,
      corrupt: { 2: { raid1_disk_number: 148 }, 3: { raid1_disk_number: 148 } },
    }),
    testbedSet('raid10-4-plainstripe', 'RAID10 whose first member lost raid1_type: a plain stripe set of the same name takes the halves', {
      level: 'raid10',
      id: 0x4444,
      disks: 4,
      diskSectors: DISK,
      corrupt: { 0: { raid1_type: 0 } },
    }),
  ];
}

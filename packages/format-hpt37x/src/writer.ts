/**
 * Builds HPT37x member metadata for any layout (testbed sets and tests): what the Highpoint BIOS writes,
 * as far as dmraid reads it.
 */
import { serialStem, testbedSet as makeTestbedSet, type MemberImage, type TestbedSetDefinition } from '@dmraid/core';
import {
  HPT37X_CONFIG_SECTOR,
  HPT37X_DATA_OFFSET,
  HPT37X_MAGIC_BAD,
  HPT37X_MAGIC_OK,
  HPT37X_T_RAID0,
  HPT37X_T_RAID01_RAID0,
  HPT37X_T_RAID01_RAID1,
  HPT37X_T_RAID1,
  HPT37X_T_SINGLEDISK,
  HPT37X_T_SPAN,
  HPT_O_OK,
  hpt37xLayout,
  type Hpt37xErrorLog,
} from './layout.js';

/** raid10: a mirror of two stripe sets (type 2); raid01: a stripe over two mirror sets (type 7). */
export type Hpt37xLevel = 'single' | 'span' | 'raid0' | 'raid1' | 'raid10' | 'raid01';

export interface Hpt37xSetSpec {
  readonly level: Hpt37xLevel;
  /** Set id (magic_0; for raid10/raid01 the array id magic_1), non-zero. */
  readonly id: number;
  /** Number of data disks (raid10/raid01: both halves together, an even number). */
  readonly disks: number;
  /** Size of every member disk in sectors. */
  readonly diskSectors: number;
  /** Stripe size as a power of two in sectors (default 7: 64 KiB). */
  readonly shift?: number;
  /** Extra spare disks (magic_0 = 0). */
  readonly spares?: number;
  /** Member indexes whose magic says "bad". */
  readonly bad?: readonly number[];
  /** Error log entries written on every member (error_log_entries is set to their count). */
  readonly errorLog?: readonly Partial<Hpt37xErrorLog>[];
}

const TYPES: Record<Hpt37xLevel, number> = {
  single: HPT37X_T_SINGLEDISK,
  span: HPT37X_T_SPAN,
  raid0: HPT37X_T_RAID0,
  raid1: HPT37X_T_RAID1,
  raid10: HPT37X_T_RAID01_RAID0,
  raid01: HPT37X_T_RAID01_RAID1,
};

export function buildHpt37xSet(spec: Hpt37xSetSpec): MemberImage[] {
  const shift = spec.shift ?? 7;
  const stacked = spec.level === 'raid10' || spec.level === 'raid01';
  const striped = spec.level === 'raid0' || stacked;
  // Every member but disk 0 starts 10 sectors in, so that is all any member can hold.
  const usable = spec.diskSectors - HPT37X_DATA_OFFSET;
  const stripe = 1 << shift;
  const perMember = striped ? Math.floor(usable / stripe) * stripe : usable;
  const width = stacked ? spec.disks / 2 : spec.disks;
  const mirrored = spec.level === 'raid1' || spec.level === 'raid01';
  const total = mirrored ? perMember : perMember * width;
  const members: MemberImage[] = [];
  for (let i = 0; i < spec.disks + (spec.spares ?? 0); i++) {
    const spare = i >= spec.disks;
    const half = Math.floor(i / width);
    const m = hpt37xLayout.zero();
    m.magic = spec.bad?.includes(i) ? HPT37X_MAGIC_BAD : HPT37X_MAGIC_OK;
    m.magic_0 = spare ? 0 : stacked ? (spec.id + half + 1) >>> 0 : spec.id;
    m.magic_1 = stacked && !spare ? spec.id : 0;
    m.order = stacked && !spare ? half : HPT_O_OK;
    m.raid_disks = spare ? 0 : width;
    m.raid0_shift = striped ? shift : 0;
    m.type = TYPES[spec.level];
    m.disk_number = spare ? 0 : i % width;
    m.total_secs = total;
    m.boot_mode = 0x12345678;
    m.boot_disk = 0x80;
    const log = spec.errorLog ?? [];
    m.error_log_entries = log.length;
    log.forEach((entry, k) => Object.assign(m.errorlog[k]!, entry));
    members.push({
      sizeSectors: spec.diskSectors,
      offsetBytes: HPT37X_CONFIG_SECTOR * 512,
      data: hpt37xLayout.encodeToBytes(m),
    });
  }
  return members;
}

const DISK = 65536;

function testbedSet(config: string, description: string, spec: Hpt37xSetSpec, missing: readonly number[] = []): TestbedSetDefinition {
  return makeTestbedSet(config, description, buildHpt37xSet(spec), { missing, serial: (i) => `HPT37X${serialStem(config, 10)}${i}` });
}

export type { MemberImage, TestbedSetDefinition };

/** Every layout hpt37x supports, healthy and with a member missing. */
export function testbedSets(): TestbedSetDefinition[] {
  return [
    testbedSet('single-1', 'a single disk', { level: 'single', id: 0x1110, disks: 1, diskSectors: DISK }),
    testbedSet('span-2', 'JBOD span over two disks', { level: 'span', id: 0x1111, disks: 2, diskSectors: DISK }),
    testbedSet('span-2-degraded', 'span with its second disk missing', { level: 'span', id: 0x1112, disks: 2, diskSectors: DISK }, [1]),
    testbedSet('raid0-2', 'RAID0 over two disks, 64 KiB stripes', { level: 'raid0', id: 0x2221, disks: 2, diskSectors: DISK }),
    testbedSet('raid0-3', 'RAID0 over three disks, 32 KiB stripes', { level: 'raid0', id: 0x2222, disks: 3, diskSectors: DISK, shift: 6 }),
    testbedSet('raid0-2-degraded', 'RAID0 with a member missing (removed as broken)', { level: 'raid0', id: 0x2223, disks: 2, diskSectors: DISK }, [0]),
    testbedSet('raid0-2-spare', 'RAID0 with a hot spare (spares are never grouped)', { level: 'raid0', id: 0x2224, disks: 2, diskSectors: DISK, spares: 1 }),
    testbedSet('raid0-2-bad', 'RAID0 with one member marked bad in its metadata', { level: 'raid0', id: 0x2225, disks: 2, diskSectors: DISK, bad: [1] }),
    testbedSet('raid1-2', 'RAID1 over two disks', { level: 'raid1', id: 0x3331, disks: 2, diskSectors: DISK }),
    testbedSet('raid1-2-bad', 'RAID1 with one member marked bad (a full mirror is trusted)', { level: 'raid1', id: 0x3333, disks: 2, diskSectors: DISK, bad: [1] }),
    testbedSet('raid1-2-degraded', 'RAID1 with a member missing (kept, inconsistent)', { level: 'raid1', id: 0x3332, disks: 2, diskSectors: DISK }, [1]),
    testbedSet('raid10-4', 'RAID10: a mirror of two 2-disk stripe sets (type 2)', { level: 'raid10', id: 0x4441, disks: 4, diskSectors: DISK }),
    testbedSet('raid10-4-degraded', 'RAID10 with one member of the second stripe set missing', { level: 'raid10', id: 0x4442, disks: 4, diskSectors: DISK }, [3]),
    testbedSet('raid01-4', 'RAID01: a stripe over two 2-disk mirror sets (type 7)', { level: 'raid01', id: 0x5551, disks: 4, diskSectors: DISK }),
    testbedSet('raid10-4-half', 'RAID10 with its second stripe set missing (kept, broken)', { level: 'raid10', id: 0x4443, disks: 4, diskSectors: DISK }, [2, 3]),
    testbedSet('raid01-4-degraded', 'RAID01 with one member of the second mirror set missing', { level: 'raid01', id: 0x5552, disks: 4, diskSectors: DISK }, [3]),
    testbedSet('raid01-4-half', 'RAID01 with its second mirror set missing (removed)', { level: 'raid01', id: 0x5553, disks: 4, diskSectors: DISK }, [2, 3]),
  ];
}

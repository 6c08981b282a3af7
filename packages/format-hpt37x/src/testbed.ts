/**
 * `@dmraid/format-hpt37x/testbed`: the HPT37x testbed sets (testbed/hpt37x/), as plain data that testkit's
 * `buildTestbedSet` turns into member dumps. Not part of the main entry: only the recorder and tests use it.
 */
import type { TestbedSerials, TestbedSetSpec } from '@dmraid/core/testbed';
import { buildHpt37xSet, type Hpt37xSetSpec } from './writer.js';

const DISK = 65536;
const serials: TestbedSerials = { prefix: 'HPT37X', stemLength: 10 };

function testbedSet(config: string, description: string, spec: Hpt37xSetSpec, missing: readonly number[] = []): TestbedSetSpec {
  return { config, description, images: buildHpt37xSet(spec), missing, serials };
}

/** Every layout hpt37x supports, healthy and with a member missing. */
export function testbedSets(): TestbedSetSpec[] {
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

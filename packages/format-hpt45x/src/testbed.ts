/**
 * `@dmraid/format-hpt45x/testbed`: the HPT45x testbed sets (testbed/hpt45x/), as plain data that testkit's
 * `buildTestbedSet` turns into member dumps. Not part of the main entry: only the recorder and tests use it.
 */
import type { TestbedSerials, TestbedSetSpec } from '@dmraid/core/testbed';
import { buildHpt45xSet, type Hpt45xSetSpec } from './writer.js';

const DISK = 65536;
const serials: TestbedSerials = { prefix: 'HPT45X', stemLength: 10 };

function testbedSet(config: string, description: string, spec: Hpt45xSetSpec, missing: readonly number[] = []): TestbedSetSpec {
  return { config, description, images: buildHpt45xSet(spec), missing, serials };
}

/** Every layout hpt45x supports, healthy and with a member missing, and corrupted members the reference names its own way. */
export function testbedSets(): TestbedSetSpec[] {
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

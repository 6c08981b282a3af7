/**
 * `@dmraid/format-promise/testbed`: the Promise (pdc) testbed sets (testbed/pdc/), as plain data that testkit's
 * `buildTestbedSet` turns into member dumps. Not part of the main entry: only the recorder and tests use it.
 */
import type { TestbedSerials, TestbedSetSpec } from '@dmraid/core/testbed';
import { buildPdcSet, type PdcArraySpec, type PdcSetSpec } from './writer.js';

const DISK = 65536;
const serials: TestbedSerials = { prefix: 'PDC', stemLength: 12, index: 'original' };

function testbedSet(config: string, description: string, spec: PdcSetSpec, missing: readonly number[] = []): TestbedSetSpec {
  return { config, description, images: buildPdcSet(spec), missing, serials };
}

const one = (a: PdcArraySpec, more: Omit<PdcSetSpec, 'arrays' | 'diskSectors'> = {}): PdcSetSpec => ({ diskSectors: DISK, arrays: [a], ...more });

/** Every layout pdc supports: healthy, degraded, with a damaged block, two arrays on a disk. */
export function testbedSets(): TestbedSetSpec[] {
  return [
    testbedSet('span-2', 'span over two disks', one({ level: 'span', id: 11111, disks: 2 })),
    testbedSet('span-2-degraded', 'span with its second disk missing (removed as broken)', one({ level: 'span', id: 11112, disks: 2 }), [1]),
    testbedSet('raid0-2', 'RAID0 over two disks, 64 KiB stripes', one({ level: 'raid0', id: 22221, disks: 2 })),
    testbedSet('raid0-3', 'RAID0 over three disks, 32 KiB stripes, block at N-255', one({ level: 'raid0', id: 22222, disks: 3, shift: 6 }, { endOffset: 255 })),
    testbedSet('raid0-2-degraded', 'RAID0 with a member missing (removed as broken, count error once)', one({ level: 'raid0', id: 22223, disks: 2 }), [0]),
    testbedSet('raid0-2-badsum', 'RAID0 whose second member has a bad checksum (not a member; set removed)', one({ level: 'raid0', id: 22224, disks: 2 }, { badChecksum: [1] })),
    testbedSet('raid1-2', 'RAID1 over two disks, block at N-974', one({ level: 'raid1', id: 33331, disks: 2 }, { endOffset: 974 })),
    testbedSet('raid1-2-degraded', 'RAID1 with a member missing (kept inconsistent, count error twice)', one({ level: 'raid1', id: 33332, disks: 2 }), [1]),
    testbedSet('raid1-2-badsum', 'RAID1 whose first member has a bad checksum', one({ level: 'raid1', id: 33333, disks: 2 }, { badChecksum: [0] })),
    testbedSet('raid1-2-down', 'RAID1 whose second member is flagged down in its own block (deviation: broken member)', one({ level: 'raid1', id: 33334, disks: 2 }, { down: [1] })),
    testbedSet('raid1-2-end16', 'RAID1 with blocks at N-16: the second block would cross the end (read error)', one({ level: 'raid1', id: 33335, disks: 2 }, { endOffset: 16 })),
    testbedSet('raid10-4', 'RAID10 as Promise stores it: RAID1 over four disks (two stripe halves)', one({ level: 'raid10', id: 44441, disks: 4 })),
    testbedSet('raid10-4-type2', "RAID10 stored with dmraid's own type 2", one({ level: 'raid10', id: 44442, disks: 4, raid10AsType2: true })),
    testbedSet('raid10-4-degraded', 'RAID10 with one member of the second half missing', one({ level: 'raid10', id: 44443, disks: 4 }), [3]),
    testbedSet('two-arrays', 'two disks carrying two arrays: RAID0 then RAID1 from sector 30000 (second block 14 sectors on)', {
      diskSectors: DISK,
      arrays: [
        { level: 'raid0', id: 55551, disks: 2, sectorsPerMember: 30000 },
        { level: 'raid1', id: 55552, disks: 2, start: 30000, sectorsPerMember: 30000 },
      ],
    }),
    testbedSet('two-arrays-degraded', 'the two-array disks with the second disk missing', {
      diskSectors: DISK,
      arrays: [
        { level: 'raid1', id: 55553, disks: 2, sectorsPerMember: 30000 },
        { level: 'raid0', id: 55554, disks: 2, start: 30000, sectorsPerMember: 30000 },
      ],
    }, [1]),
  ];
}

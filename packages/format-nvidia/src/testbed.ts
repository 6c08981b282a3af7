/**
 * `@dmraid/format-nvidia/testbed`: the NVidia testbed sets (testbed/nvidia/), as plain data that testkit's
 * `buildTestbedSet` turns into member dumps. Not part of the main entry: only the recorder and tests use it.
 */
import type { TestbedSerials, TestbedSetSpec } from '@dmraid/core/testbed';
import { buildNvidiaSet, type NvidiaLevel, type NvidiaSetSpec } from './writer.js';

const DISK = 65536;
const serials: TestbedSerials = { prefix: 'NV', stemLength: 12 };

function testbedSet(config: string, description: string, spec: NvidiaSetSpec, missing: readonly number[] = []): TestbedSetSpec {
  return { config, description, images: buildNvidiaSet(spec), missing, serials };
}

/** Every layout nvidia supports: healthy, with a member missing, with a corrupted copy; spares; job states. */
export function testbedSets(): TestbedSetSpec[] {
  const set = (level: NvidiaLevel, id: number, disks: number, extra: Partial<NvidiaSetSpec> = {}) => ({
    level,
    id,
    disks,
    diskSectors: DISK,
    ...extra,
  });
  return [
    testbedSet('jbod-2', 'JBOD span over two disks', set('jbod', 0x11110001, 2)),
    testbedSet('jbod-2-degraded', 'JBOD with its second disk missing (removed as broken)', set('jbod', 0x11110002, 2), [1]),
    testbedSet('jbod-2-badsum', 'JBOD whose second member has a bad checksum', set('jbod', 0x11110003, 2, { corrupt: [1] })),
    testbedSet('raid0-2', 'RAID0 over two disks, 64 KiB stripes', set('raid0', 0x22220001, 2)),
    testbedSet('raid0-3', 'RAID0 over three disks, 32 KiB stripes', set('raid0', 0x22220002, 3, { power: 6 })),
    testbedSet('raid0-2-degraded', 'RAID0 with a member missing (removed as broken)', set('raid0', 0x22220003, 2), [0]),
    testbedSet('raid0-2-badsum', 'RAID0 whose first member has a bad checksum', set('raid0', 0x22220004, 2, { corrupt: [0] })),
    testbedSet('raid0-2-broken', 'RAID0 with the error flag on one member', set('raid0', 0x22220005, 2, { broken: [1] })),
    testbedSet('raid1-2', 'RAID1 over two disks', set('raid1', 0x33330001, 2)),
    testbedSet('raid1-2-degraded', 'RAID1 with a member missing (kept, inconsistent)', set('raid1', 0x33330002, 2), [1]),
    testbedSet('raid1-2-badsum', 'RAID1 whose second member has a bad checksum', set('raid1', 0x33330003, 2, { corrupt: [1] })),
    testbedSet('raid1-2-spare', 'RAID1 with a hot spare (deviation: dmraid counts the spare as missing)', set('raid1', 0x33330004, 2, { spares: 1 })),
    testbedSet('raid1-2-rebuild', 'RAID1 being rebuilt, raidJobCode 3 (deviation: inconsistent, dmraid says ok)', set('raid1', 0x33330005, 2, { raidJobCode: 3 })),
    testbedSet('raid10-4', 'RAID1+0: a mirror of two 2-disk stripe sets', set('raid10', 0x44440001, 4)),
    testbedSet('raid10-4-degraded', 'RAID1+0 with one member of the second stripe set missing', set('raid10', 0x44440002, 4), [3]),
    testbedSet('raid10-4-badsum', 'RAID1+0 whose first member has a bad checksum', set('raid10', 0x44440003, 4, { corrupt: [0] })),
    testbedSet('raid10-4-spare', 'RAID1+0 with a hot spare (in the second half)', set('raid10', 0x44440004, 4, { spares: 1 })),
    testbedSet('raid5-3', 'RAID5 (left-symmetric) over three disks', set('raid5', 0x55550001, 3)),
    testbedSet('raid5-3-degraded', 'RAID5 with a member missing (removed as broken: no per-member check)', set('raid5', 0x55550002, 3), [2]),
    testbedSet('raid5-3-badsum', 'RAID5 whose second member has a bad checksum', set('raid5', 0x55550003, 3, { corrupt: [1] })),
    testbedSet('raid5-3-spare', 'RAID5 with a hot spare (deviation: dmraid counts the spare as missing)', set('raid5', 0x55550004, 3, { spares: 1 })),
    testbedSet('raid3-2-hidden', 'RAID3 (level 0x83): typed raid4, grouped into a set that is never listed', set('raid0', 0x66660001, 2, { rawLevel: 0x83 })),
    testbedSet('level8a-2-unsupported', 'level 0x8A (RAID10 without the 1+0 layout): "RAID type 138 not supported"', set('raid0', 0x66660002, 2, { rawLevel: 0x8a })),
    testbedSet('raid5-3-init', 'RAID5 still initialising, raidJobCode 2 (deviation: nosync, dmraid says ok)', set('raid5', 0x55550005, 3, { raidJobCode: 2 })),
  ];
}

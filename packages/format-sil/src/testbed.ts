/**
 * `@dmraid/format-sil/testbed`: the Silicon Image (sil) testbed sets (testbed/sil/), as plain data that testkit's
 * `buildTestbedSet` turns into member dumps. Not part of the main entry: only the recorder and tests use it.
 */
import type { TestbedSerials, TestbedSetSpec } from '@dmraid/core/testbed';
import { buildSilSet, type SilSetSpec } from './writer.js';

const DISK = 65536;
const serials: TestbedSerials = { prefix: 'SIL', stemLength: 12, index: 'original' };

function testbedSet(config: string, description: string, spec: Omit<SilSetSpec, 'diskSectors'>, missing: readonly number[] = []): TestbedSetSpec {
  return { config, description, images: buildSilSet({ diskSectors: DISK, ...spec }), missing, serials };
}

/** Every layout sil supports: healthy, degraded, with damaged copies, and the cases dmraid gets wrong. */
export function testbedSets(): TestbedSetSpec[] {
  return [
    testbedSet('raid0-2', 'RAID0 over two disks, 64 KiB stripes', { level: 'raid0', created: [9, 12, 31, 23, 59, 58], disks: 2 }),
    testbedSet('raid0-3', 'RAID0 over three disks, 32 KiB stripes', { level: 'raid0', created: [10, 1, 2, 3, 4, 5], disks: 3, stride: 64 }),
    testbedSet('raid0-2-degraded', 'RAID0 with a member missing (removed as broken)', { level: 'raid0', created: [10, 1, 2, 3, 4, 6], disks: 2 }, [0]),
    testbedSet('raid0-2-onecopy', 'RAID0 whose second disk keeps one good copy of four (bad checksum, bad disk size, zeroed)', {
      level: 'raid0',
      created: [10, 1, 2, 3, 4, 7],
      disks: 2,
      damaged: { 1: { 0: 'checksum', 1: 'disksize', 2: 'gone' } },
    }),
    testbedSet('raid1-2', 'RAID1 over two disks', { level: 'raid1', created: [11, 2, 3, 4, 5, 6], disks: 2 }),
    testbedSet('raid1-2-degraded', 'RAID1 with a member missing (kept, inconsistent)', { level: 'raid1', created: [11, 2, 3, 4, 5, 7], disks: 2 }, [1]),
    testbedSet('raid1-2-badcopy', 'RAID1 whose first disk has a bad checksum in its first copy (read from the second)', {
      level: 'raid1',
      created: [11, 2, 3, 4, 5, 8],
      disks: 2,
      damaged: { 0: { 0: 'checksum' } },
    }),
    testbedSet('raid1-2-spare', 'RAID1 with a spare disk after the members (spares are not grouped)', { level: 'raid1', created: [11, 2, 3, 4, 5, 9], disks: 2, spares: 1 }),
    testbedSet('raid1-2-notready', 'RAID1 whose second member is not ready (deviation: broken member)', { level: 'raid1', created: [11, 2, 3, 4, 6, 0], disks: 2, notReady: [1] }),
    testbedSet('raid10-4', 'RAID10: a mirror of two 2-disk stripe sets (deviation: member length)', { level: 'raid10', created: [12, 3, 4, 5, 6, 7], disks: 4 }),
    testbedSet('raid10-4-degraded', 'RAID10 with one member of the second stripe set missing (deviation: member length)', { level: 'raid10', created: [12, 3, 4, 5, 6, 8], disks: 4 }, [3]),
    testbedSet('jbod-2', 'JBOD concatenation of two disks (deviation: dmraid expects 0 members)', { level: 'jbod', created: [13, 4, 5, 6, 7, 8], disks: 2 }),
    testbedSet('jbod-2-degraded', 'JBOD with its second disk missing (removed either way; the counts differ)', { level: 'jbod', created: [13, 4, 5, 6, 7, 9], disks: 2 }, [1]),
    testbedSet('raid5-3', 'RAID5 over three disks (deviation: dmraid expects 0 members)', { level: 'raid5', created: [14, 5, 6, 7, 8, 9], disks: 3 }),
    testbedSet('raid5-3-degraded', 'RAID5 with one disk missing (deviation: degraded, not removed)', { level: 'raid5', created: [14, 5, 6, 7, 8, 10], disks: 3 }, [2]),
  ];
}

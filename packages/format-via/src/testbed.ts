/**
 * `@dmraid/format-via/testbed`: the VIA testbed sets (testbed/via/), as plain data that testkit's
 * `buildTestbedSet` turns into member dumps. Not part of the main entry: only the recorder and tests use it.
 */
import type { TestbedSerials, TestbedSetSpec } from '@dmraid/core/testbed';
import { buildViaSet, type ViaLevel, type ViaSetSpec } from './writer.js';

const DISK = 65536;
const serials: TestbedSerials = { prefix: 'VIA', stemLength: 12 };

function testbedSet(config: string, description: string, spec: ViaSetSpec, missing: readonly number[] = []): TestbedSetSpec {
  return { config, description, images: buildViaSet(spec), missing, serials };
}

/** Every layout via supports: healthy, with a member missing, with a corrupted copy. */
export function testbedSets(): TestbedSetSpec[] {
  const set = (level: ViaLevel, id: number, disks: number, extra: Partial<ViaSetSpec> = {}) => ({
    level,
    id,
    disks,
    diskSectors: DISK,
    ...extra,
  });
  return [
    testbedSet('span-2', 'span over two disks', set('span', 0x110, 2)),
    testbedSet('span-2-degraded', 'span with its second disk missing (removed as broken)', set('span', 0x120, 2), [1]),
    testbedSet('span-2-badsum', 'span whose second member has a bad checksum', set('span', 0x130, 2, { corrupt: [1] })),
    testbedSet('raid0-2', 'RAID0 over two disks, 64 KiB stripes', set('raid0', 0x210, 2)),
    testbedSet('raid0-3', 'RAID0 over three disks, 32 KiB stripes', set('raid0', 0x220, 3, { strideCode: 3 })),
    testbedSet('raid0-2-degraded', 'RAID0 with a member missing (removed as broken)', set('raid0', 0x230, 2), [0]),
    testbedSet('raid0-2-badsum', 'RAID0 whose first member has a bad checksum', set('raid0', 0x240, 2, { corrupt: [0] })),
    testbedSet('raid0-2-tolerance', 'RAID0 with the tolerance (failed) bit on a member: the check makes it ok', set('raid0', 0x250, 2, { broken: [1] })),
    testbedSet('raid0-2-v2', 'RAID0 whose metadata says version 2 (INFO line with -v only)', set('raid0', 0x260, 2, { version: 2 })),
    testbedSet('raid1-2', 'RAID1 over two disks (source and mirror)', set('raid1', 0x310, 2)),
    testbedSet('raid1-2-degraded', 'RAID1 with its source disk missing (kept, inconsistent)', set('raid1', 0x320, 2), [0]),
    testbedSet('raid1-2-badsum', 'RAID1 whose second member has a bad checksum', set('raid1', 0x330, 2, { corrupt: [1] })),
    testbedSet(
      'raid1-2-foreign',
      'RAID1 whose second member, marked failed, has another array index (deviation: reported and left broken, dmraid forces it ok)',
      set('raid1', 0x340, 2, { foreign: [1], broken: [1] }),
    ),
    testbedSet('raid1-3-sparerole', 'RAID1 of three disks, the third in the "spare" role: a member, so one too many', set('raid1', 0x350, 3, { roles: [2, 0, 1] })),
    testbedSet('raid01-4', 'RAID0+1: a mirror of two 2-disk stripe sets', set('raid01', 0x410, 4)),
    testbedSet('raid01-4-degraded', 'RAID0+1 with one member of the first stripe set missing', set('raid01', 0x420, 4), [1]),
    testbedSet('raid01-4-badsum', 'RAID0+1 whose last member has a bad checksum', set('raid01', 0x430, 4, { corrupt: [3] })),
  ];
}

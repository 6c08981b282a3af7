/**
 * `@dmraid/format-ddf1/testbed`: the DDF1 testbed sets (testbed/ddf1/), as plain data that testkit's
 * `buildTestbedSet` turns into member dumps. Not part of the main entry: only the recorder and tests use it.
 */
import { toBytes } from '@dmraid/core';
import type { TestbedSerials, TestbedSetSpec } from '@dmraid/core/testbed';
import { buildDdf1Container, type Ddf1ContainerSpec } from './writer.js';

const DISK = 16384;
const serials: TestbedSerials = { prefix: 'DDF1', stemLength: 10 };

function testbedSet(config: string, description: string, spec: Omit<Ddf1ContainerSpec, 'diskSectors'> & { diskSectors?: number }, missing: readonly number[] = []): TestbedSetSpec {
  return { config, description, images: buildDdf1Container({ diskSectors: DISK, ...spec }), missing, serials, damaged: !!spec.damagedPrimary?.length };
}

const all = (n: number) => Array.from({ length: n }, (_, i) => i);
const HALF = 8192;

/** Every layout ddf1 supports, in both byte orders, healthy, degraded and damaged. */
export function testbedSets(): TestbedSetSpec[] {
  return [
    testbedSet('raid0-2-be', 'RAID0 over two disks, big-endian (the standard)', { endian: 'be', disks: 2, seed: 1, vds: [{ name: 'Stripe', level: 'raid0', members: all(2), sectors: HALF, offset: 0 }] }),
    testbedSet('raid0-3-le', 'RAID0 over three disks, little-endian, 32 KiB stripes', { endian: 'le', disks: 3, seed: 2, vds: [{ name: 'Stripe LE', level: 'raid0', members: all(3), sectors: HALF, offset: 0, stripeShift: 6 }] }),
    testbedSet('raid1-2-be', 'RAID1 over two disks, a name with an inner space', { endian: 'be', disks: 2, seed: 3, vds: [{ name: 'Mirror One', level: 'raid1', members: all(2), sectors: HALF, offset: 0 }] }),
    testbedSet('raid1-2-degraded', 'RAID1 with its second disk missing (PD state missing, VD degraded)', { endian: 'be', disks: 2, seed: 4, pdStates: { 1: 0x42 }, vds: [{ name: 'Mirror', level: 'raid1', members: all(2), sectors: HALF, offset: 0, state: 1 }] }, [1]),
    testbedSet('raid4-3-le', 'RAID4 over three disks', { endian: 'le', disks: 3, seed: 5, vds: [{ name: 'Parity4', level: 'raid4', members: all(3), sectors: HALF, offset: 0 }] }),
    testbedSet('raid5-3-ls', 'RAID5 left symmetric (qualifier 3) over three disks', { endian: 'be', disks: 3, seed: 6, vds: [{ name: 'R5LS', level: 'raid5', members: all(3), sectors: HALF, offset: 0, qualifier: 3 }] }),
    testbedSet('raid5-3-la', 'RAID5 left asymmetric (qualifier 2)', { endian: 'le', disks: 3, seed: 7, vds: [{ name: 'R5LA', level: 'raid5', members: all(3), sectors: HALF, offset: 0, qualifier: 2 }] }),
    testbedSet('raid5-3-rs', 'RAID5 qualifier 0 (dmraid: right symmetric)', { endian: 'be', disks: 3, seed: 8, vds: [{ name: 'R5RS', level: 'raid5', members: all(3), sectors: HALF, offset: 0, qualifier: 0 }] }),
    testbedSet('raid5-4-degraded', 'RAID5 over four disks with one missing (VD degraded)', { endian: 'be', disks: 4, seed: 9, pdStates: { 2: 0x42 }, vds: [{ name: 'R5D', level: 'raid5', members: all(4), sectors: HALF, offset: 0, state: 1 }] }, [2]),
    testbedSet('raid0-2-degraded', 'RAID0 with a disk missing (VD failed)', { endian: 'le', disks: 2, seed: 10, vds: [{ name: 'Broken', level: 'raid0', members: all(2), sectors: HALF, offset: 0, state: 4 }] }, [0]),
    testbedSet('concat-2', 'concatenation over two disks', { endian: 'be', disks: 2, seed: 11, vds: [{ name: 'Span', level: 'concat', members: all(2), sectors: HALF, offset: 0 }] }),
    testbedSet('jbod-1', 'a single-disk JBOD', { endian: 'le', disks: 1, seed: 12, vds: [{ name: 'Single', level: 'jbod', members: [0], sectors: HALF, offset: 0 }] }),
    testbedSet('two-vds-2', 'two VDs on the same two disks: a RAID1 and a RAID0 behind it', {
      endian: 'be',
      disks: 2,
      seed: 13,
      vds: [
        { name: 'First', level: 'raid1', members: all(2), sectors: 4096, offset: 0 },
        { name: 'Second', level: 'raid0', members: all(2), sectors: 4096, offset: 4096 },
      ],
    }),
    testbedSet('two-vds-disjoint', 'two VDs on different disks of one container (mdadm style)', {
      endian: 'be',
      disks: 4,
      seed: 14,
      vds: [
        { name: 'Left', level: 'raid1', members: [0, 1], sectors: HALF, offset: 0 },
        { name: 'Right', level: 'raid0', members: [2, 3], sectors: HALF, offset: 0 },
      ],
    }),
    testbedSet('guid-name', 'VD without a name: named by its GUID', { endian: 'be', disks: 2, seed: 15, vds: [{ name: '', level: 'raid1', members: all(2), sectors: HALF, offset: 0 }] }),
    testbedSet('lsi-guid', 'LSI GUID: the timestamp part of the name is neutralised', {
      endian: 'be',
      disks: 2,
      seed: 16,
      vds: [{ name: '', level: 'raid0', members: all(2), sectors: HALF, offset: 0, guid: toBytes('LSI     1234abcd\x5a\x5b\x5c\x5d\x01\x02\x03\x04', 24) }],
    }),
    testbedSet('global-spare', 'RAID1 with a global spare disk', { endian: 'be', disks: 3, seed: 17, globalSpares: [2], vds: [{ name: 'Spared', level: 'raid1', members: [0, 1], sectors: HALF, offset: 0 }] }),
    testbedSet('dedicated-spare', 'RAID1 with a dedicated spare (spare assignment record)', {
      endian: 'le',
      disks: 3,
      seed: 18,
      dedicatedSpares: [{ disk: 2, vd: 0 }],
      vds: [{ name: 'Dedicated', level: 'raid1', members: [0, 1], sectors: HALF, offset: 0 }],
    }),
    testbedSet('failed-disk', 'RAID1 whose second disk is present but failed (PD state 0x02)', { endian: 'be', disks: 2, seed: 19, pdStates: { 1: 0x03 }, vds: [{ name: 'Failing', level: 'raid1', members: all(2), sectors: HALF, offset: 0, state: 1 }] }),
    testbedSet('rebuilding-disk', 'RAID1 with a rebuilding disk (PD state 0x05: nosync), VD partially optimal', { endian: 'le', disks: 2, seed: 20, pdStates: { 1: 0x05 }, vds: [{ name: 'Rebuild', level: 'raid1', members: all(2), sectors: HALF, offset: 0, state: 5 }] }),
    testbedSet('rebuilding-first-disk', 'RAID1 rebuilding onto its first disk (PD state 0x05): the second is the source', { endian: 'le', disks: 2, seed: 28, pdStates: { 0: 0x05 }, vds: [{ name: 'Rebuild', level: 'raid1', members: all(2), sectors: HALF, offset: 0, state: 5 }] }),
    testbedSet('primary-damaged', 'the primary header of the first disk is damaged: the secondary is used', { endian: 'be', disks: 2, seed: 21, damagedPrimary: [0], vds: [{ name: 'Survivor', level: 'raid1', members: all(2), sectors: HALF, offset: 0 }] }),
    testbedSet('adaptec-le', 'Adaptec mode: anchor at N-257, PCI vendor 0x9005, RAID5 always left asymmetric, CRCs checked', {
      endian: 'le',
      disks: 3,
      seed: 22,
      adaptec: true,
      vds: [{ name: 'Adaptec R5', level: 'raid5', members: all(3), sectors: HALF, offset: 0, qualifier: 3 }],
    }),
    testbedSet('adaptec-badcrc', 'Adaptec mode with a wrong virtual drive section CRC on one disk (printed only)', {
      endian: 'le',
      disks: 2,
      seed: 23,
      adaptec: true,
      badCrc: [1],
      vds: [{ name: 'Adaptec R1', level: 'raid1', members: all(2), sectors: HALF, offset: 0 }],
    }),
    testbedSet('raid6-4', 'RAID6 over four disks (dmraid: unknown)', { endian: 'be', disks: 4, seed: 24, vds: [{ name: 'Double', level: 'raid6', members: all(4), sectors: HALF, offset: 0 }] }),
    testbedSet('raid10-4', 'RAID10 as mdadm writes it: two mirrored basic VDs, spanned', { endian: 'be', disks: 4, seed: 25, vds: [{ name: 'Ten', level: 'raid10', members: all(4), sectors: HALF, offset: 0 }] }),
    testbedSet('raid1e-4', 'RAID1E (adjacent copies) over four disks: a stripe over mirrored pairs', { endian: 'le', disks: 4, seed: 26, vds: [{ name: 'OneE', level: 'raid1e', members: all(4), sectors: HALF, offset: 0 }] }),
    testbedSet('container-only', 'disks of a container without any VD (only .ddf1_disks)', { endian: 'be', disks: 2, seed: 27, globalSpares: [0, 1], vds: [] }),
  ];
}

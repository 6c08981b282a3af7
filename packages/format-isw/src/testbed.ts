/**
 * `@dmraid/format-isw/testbed`: the isw testbed sets (testbed/isw/, and the sets of 2 TiB and more in
 * test/large/), as plain data that testkit's `buildTestbedSet` turns into member dumps. Not part of the main
 * entry: only the recorder and tests use it.
 */
import type { TestbedImage, TestbedSetSpec } from '@dmraid/core/testbed';
import { ISW_T_MIGR_TYPE_REBUILDING, ISW_T_STATE_DEGRADED, MPB_VERSIONS } from './layout.js';
import { buildGroupMpb, createMpb, mpbArea, type GroupSpec, type NewDisk } from './writer.js';

const DISK = 1 << 20; // 512 MiB members: room for two volumes and dmraid's reserved blocks

const serial = (config: string, i: number) => `ISW${config.replace(/[^a-z0-9]/gi, '').toUpperCase().slice(0, 10)}${i}`;

/** One image per disk, each carrying its serial: the MPB lists its disks by serial. */
const images = (disks: readonly NewDisk[], mpb: Uint8Array): TestbedImage[] =>
  disks.map((d) => ({ serial: d.serial, sizeSectors: d.sizeSectors, areas: [mpbArea(mpb, d.sizeSectors)] }));

function groupSet(config: string, description: string, n: number, spec: Omit<GroupSpec, 'disks'>, missing?: readonly number[], sizes?: readonly number[]): TestbedSetSpec {
  const disks = Array.from({ length: n }, (_, i) => ({ serial: serial(config, i), sizeSectors: sizes?.[i] ?? DISK }));
  return { config, description, images: images(disks, buildGroupMpb({ ...spec, disks })), missing };
}

/** Every layout isw supports, healthy, degraded, rebuilding, with spares and with members missing. */
export function testbedSets(): TestbedSetSpec[] {
  const sets: TestbedSetSpec[] = [
    groupSet('raid0-2', 'RAID0 over two disks, 128 KiB strips', 2, { family: 0x1a2b3c01, volumes: [{ name: 'Volume0', level: '0' }] }),
    groupSet('raid0-3', 'RAID0 over three disks, 64 KiB strips', 3, { family: 0x1a2b3c02, version: MPB_VERSIONS.threeOrFourDisks, volumes: [{ name: 'Stripe3', level: '0', strip: 128 }] }),
    groupSet('raid0-2-missing', 'RAID0 with its second member missing (broken)', 2, { family: 0x1a2b3c03, volumes: [{ name: 'Volume0', level: '0' }] }, [1]),
    groupSet('raid1-2', 'RAID1 over two disks', 2, { family: 0x2a2b3c01, version: MPB_VERSIONS.raid1, volumes: [{ name: 'Mirror', level: '1', strip: 128 }] }),
    groupSet('raid1-2-degraded', 'RAID1, one member missing, map state degraded', 2, {
      family: 0x2a2b3c02, version: MPB_VERSIONS.raid1, volumes: [{ name: 'Mirror', level: '1', strip: 128, mapState: ISW_T_STATE_DEGRADED, failedDisk: 1 }],
    }, [1]),
    groupSet('raid1-2-rebuilding', 'RAID1 rebuilding onto its second disk (nosync)', 2, {
      family: 0x2a2b3c03, version: MPB_VERSIONS.raid1, volumes: [{ name: 'Mirror', level: '1', strip: 128, failedDisk: 1, migrating: { type: ISW_T_MIGR_TYPE_REBUILDING } }],
    }),
    groupSet('raid1-2-rebuilding-first', 'RAID1 rebuilding onto its first disk: the second is the source (nosync)', 2, {
      family: 0x2a2b3c09, version: MPB_VERSIONS.raid1, volumes: [{ name: 'Mirror', level: '1', strip: 128, failedDisk: 0, migrating: { type: ISW_T_MIGR_TYPE_REBUILDING } }],
    }),
    groupSet('raid1-2-degraded-both', 'RAID1 with both members present but the map degraded (inconsistent)', 2, {
      family: 0x2a2b3c04, version: MPB_VERSIONS.raid1, volumes: [{ name: 'Mirror', level: '1', strip: 128, mapState: ISW_T_STATE_DEGRADED }],
    }),
    groupSet('raid5-3', 'RAID5 (left asymmetric) over three disks', 3, { family: 0x3a2b3c01, version: MPB_VERSIONS.raid5, volumes: [{ name: 'Parity', level: '5', strip: 128 }] }),
    groupSet('raid5-3-missing', 'RAID5 with one of three members missing', 3, {
      family: 0x3a2b3c02, version: MPB_VERSIONS.raid5, volumes: [{ name: 'Parity', level: '5', strip: 128, mapState: ISW_T_STATE_DEGRADED, failedDisk: 2 }],
    }, [2]),
    groupSet('raid5-3-initialising', 'RAID5 initialising (migrating, type 0): ok to dmraid', 3, {
      family: 0x3a2b3c03, version: MPB_VERSIONS.raid5, volumes: [{ name: 'Parity', level: '5', strip: 128, migrating: { type: 0, secondMapState: 1 } }],
    }),
    groupSet('raid10-4', 'RAID10 as dmraid writes it: RAID1 with four members (shown raid01)', 4, { family: 0x4a2b3c01, version: MPB_VERSIONS.threeOrFourDisks, volumes: [{ name: 'Raid10', level: '01', strip: 128 }] }),
    groupSet('raid10-4-level2', 'RAID10 with raid_level 2', 4, { family: 0x4a2b3c02, version: MPB_VERSIONS.threeOrFourDisks, volumes: [{ name: 'R10', level: '01', strip: 64, raid10Level2: true }] }),
    groupSet('raid10-4-missing', 'RAID10 with its last member missing', 4, {
      family: 0x4a2b3c03, version: MPB_VERSIONS.threeOrFourDisks, volumes: [{ name: 'Raid10', level: '01', strip: 128, mapState: ISW_T_STATE_DEGRADED, failedDisk: 3 }],
    }, [3]),
    groupSet('matrix-raid0-raid1', 'Matrix: RAID0 and RAID1 volumes on the same two disks', 2, {
      family: 0x5a2b3c01, version: MPB_VERSIONS.multipleVolumes, volumes: [{ name: 'Fast', level: '0', perMember: 262144 }, { name: 'Safe', level: '1', strip: 128 }],
    }),
    groupSet('matrix-raid1-raid0', 'Matrix: RAID1 first, RAID0 second', 2, {
      family: 0x5a2b3c02, version: MPB_VERSIONS.multipleVolumes, volumes: [{ name: 'Safe', level: '1', strip: 128, perMember: 262144 }, { name: 'Fast', level: '0', strip: 64 }],
    }),
    groupSet('matrix-3-missing', 'Matrix RAID0 + RAID5 on three disks, one missing', 3, {
      family: 0x5a2b3c03, version: MPB_VERSIONS.raid5, volumes: [{ name: 'Fast', level: '0', perMember: 262144 }, { name: 'Parity', level: '5', strip: 128, mapState: ISW_T_STATE_DEGRADED, failedDisk: 1 }],
    }, [1]),
    groupSet('raid1-2-bbm', 'RAID1 with bad-block-management log entries (activation refused)', 2, {
      family: 0x6a2b3c01, version: MPB_VERSIONS.raid1, bbmLogSize: 24, volumes: [{ name: 'Mirror', level: '1', strip: 128 }],
    }),
    groupSet('raid0-2-sizes', 'RAID0 over disks of different sizes', 2, { family: 0x1a2b3c04, volumes: [{ name: 'Volume0', level: '0' }] }, undefined, [DISK, DISK + 4096]),
    groupSet('raid1-2-newer', 'RAID1 with an untested (newer) metadata version', 2, { family: 0x2a2b3c05, version: '1.3.01', volumes: [{ name: 'Mirror', level: '1', strip: 128 }] }),
  ];
  // A group with a hot spare: the spare carries its own spare-only MPB.
  const spareDisk = { serial: serial('raid1-2-spare', 2), sizeSectors: DISK };
  const spareMpb = createMpb({ name: '', level: 'spare', disks: [spareDisk], time: 0x12345 }).bytes!;
  const withSpare = groupSet('raid1-2-spare', 'RAID1 plus a spare disk (its own spare-only MPB)', 2, {
    family: 0x7a2b3c01, version: MPB_VERSIONS.raid1, volumes: [{ name: 'Mirror', level: '1', strip: 128 }],
  });
  sets.push({ ...withSpare, images: [...withSpare.images, ...images([spareDisk], spareMpb)] });
  // dmraid's own create, reproduced: RAID0 over two disks with a fixed time.
  const created = [0, 1].map((i) => ({ serial: serial('created-raid0', i), sizeSectors: DISK }));
  const c = createMpb({ name: 'Vol0', level: '0', disks: created, time: 1_262_304_000 }).bytes!;
  sets.push({ config: 'created-raid0', description: 'RAID0 as our create writes it', images: images(created, c) });
  const created1 = [0, 1].map((i) => ({ serial: serial('created-raid1', i), sizeSectors: DISK }));
  const c1 = createMpb({ name: 'Mirror1', level: '1', disks: created1, time: 1_262_304_001 }).bytes!;
  sets.push({ config: 'created-raid1', description: 'RAID1 as our create writes it', images: images(created1, c1) });
  // A multi-sector MPB: six disks, two volumes.
  sets.push(groupSet('raid5-6-two-sector', 'RAID0 + RAID5 on six disks: a two-sector MPB', 6, {
    family: 0x3a2b3c04, version: MPB_VERSIONS.fiveOrSixDisks, volumes: [{ name: 'Fast', level: '0', perMember: 131072 }, { name: 'Parity', level: '5', strip: 128, migrating: { type: 0, secondMapState: 1 } }],
  }));
  return sets;
}

/**
 * Sets of 2 TiB and more. Their images are terabytes (sparse), which the shared testbed tooling cannot hash, so
 * they live in packages/format-isw/test/large/ with their own comparison (test/large.test.ts).
 */
export function largeTestbedSets(): TestbedSetSpec[] {
  return [
    // 2 TiB and more. Members below 2 TiB in a volume above it: SizeHigh only, which dmraid never needs.
    // Members of 3 TiB: totalBlocks, pba/blocks_per_member/num_data_stripes carry high words that dmraid
    // ignores (its sizes wrap at 2^32 sectors; ours are right: a deliberate deviation, docs/formats/isw.md).
    groupSet('raid0-2-volume-3tib', 'RAID0 of 3 TiB over two 1.5 TiB disks (SizeHigh set)', 2, {
      family: 0x1a2b3c05, volumes: [{ name: 'Big', level: '0' }],
    }, undefined, [3 * 2 ** 30, 3 * 2 ** 30]),
    groupSet('raid0-2-3tib', 'RAID0 over two 3 TiB disks: member sizes need the *_hi words', 2, {
      family: 0x1a2b3c06, version: MPB_VERSIONS.attributes, volumes: [{ name: 'Huge', level: '0' }],
    }, undefined, [3 * 2 ** 31, 3 * 2 ** 31]),
    groupSet('raid1-2-3tib', 'RAID1 over two 3 TiB disks, 2.5 TiB then the rest (the second volume starts past 2^32)', 2, {
      family: 0x2a2b3c06, version: MPB_VERSIONS.attributes, volumes: [{ name: 'First', level: '1', strip: 128, perMember: 2 ** 32 + 2 ** 30 }, { name: 'Rest', level: '1', strip: 128 }],
    }, undefined, [3 * 2 ** 31, 3 * 2 ** 31]),
  ];
}

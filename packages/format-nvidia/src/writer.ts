/**
 * Builds NVIDIA MediaShield member metadata for any layout (testbed sets and tests), filled in the way the
 * BIOS fills it (compare the util-linux fixture: "NVIDIA  " padded with spaces, reserved 0xff, array
 * version 0x640000 + the array block's size).
 */
import { serialStem, testbedSet as makeTestbedSet, type MemberImage, type TestbedSetDefinition } from '@dmraid/core';
import { toBytes } from '@dmraid/core';
import {
  NV_END_OFFSET,
  NV_LEVEL_0,
  NV_LEVEL_1,
  NV_LEVEL_1_0,
  NV_LEVEL_5_SYM,
  NV_LEVEL_JBOD,
  NV_ARRAY_FLAG_ERROR,
  NV_SIZE_DWORDS,
  NV_VERSION,
  nvArrayLayout,
  nvChecksum,
  nvLayout,
} from './layout.js';

export type NvidiaLevel = 'jbod' | 'raid0' | 'raid1' | 'raid10' | 'raid5';

export interface NvidiaSetSpec {
  readonly level: NvidiaLevel;
  /** Set id: the four signature dwords are derived from it. */
  readonly id: number;
  /** Number of data disks (raid1: 2, raid10: an even number ≥ 4, raid5: ≥ 3). */
  readonly disks: number;
  /** Size of every member disk in sectors. */
  readonly diskSectors: number;
  /** Stripe block as a power of two in sectors (default 7: 64 KiB). */
  readonly power?: number;
  /** Hot spares after the data disks (counted in totalVolumes). */
  readonly spares?: number;
  /** array.raidJobCode of every member (default idle). */
  readonly raidJobCode?: number;
  /** Members whose array.flags carry the error bit. */
  readonly broken?: readonly number[];
  /** Members whose checksum is wrong (a corrupted copy). */
  readonly corrupt?: readonly number[];
  /** array.raidLevel written instead of the level's own (levels dmraid cannot assemble). */
  readonly rawLevel?: number;
}

const LEVELS: Record<NvidiaLevel, number> = {
  jbod: NV_LEVEL_JBOD,
  raid0: NV_LEVEL_0,
  raid1: NV_LEVEL_1,
  raid10: NV_LEVEL_1_0,
  raid5: NV_LEVEL_5_SYM,
};

const PRODUCT: Record<NvidiaLevel, string> = {
  jbod: 'JBOD',
  raid0: 'STRIPE',
  raid1: 'MIRROR',
  raid10: 'STRIPE MIRROR',
  raid5: 'RAID5',
};

/** stripeWidth as the BIOS writes it: one mirror half's width, RAID5 without parity, RAID1 is 1. */
function stripeWidth(level: NvidiaLevel, disks: number): number {
  switch (level) {
    case 'raid1':
      return 1;
    case 'raid10':
      return disks / 2;
    case 'raid5':
      return disks - 1;
    default:
      return disks;
  }
}

export function buildNvidiaSet(spec: NvidiaSetSpec): MemberImage[] {
  const power = spec.level === 'jbod' ? 0 : (spec.power ?? 7);
  const block = spec.level === 'jbod' ? 0 : 1 << power;
  const usable = spec.diskSectors - NV_END_OFFSET;
  const perMember = block ? Math.floor(usable / block) * block : usable;
  const width = stripeWidth(spec.level, spec.disks);
  const capacity = spec.level === 'raid1' ? perMember : perMember * width;
  const spares = spec.spares ?? 0;
  const signature = [spec.id >>> 0, (spec.id * 0x9e3779b1) >>> 0, (spec.id ^ 0x5a5a5a5a) >>> 0, 0x2ed8d582];
  const members: MemberImage[] = [];
  for (let unit = 0; unit < spec.disks + spares; unit++) {
    const nv = nvLayout.zero();
    nv.vendor = toBytes('NVIDIA  ', 8);
    nv.size = NV_SIZE_DWORDS;
    nv.version = NV_VERSION;
    nv.unitNumber = unit;
    nv.reserved = 0xff;
    nv.capacity = capacity;
    nv.sectorSize = 512;
    nv.productID = toBytes(`${PRODUCT[spec.level]} ${Math.round(capacity / 2048)}M`.padEnd(16, ' '), 16);
    nv.productRevision = new Uint8Array([0, 0x31, 0x30, 0x30]);
    const a = nvArrayLayout.zero();
    a.version = 0x640000 + nvArrayLayout.size;
    a.signature = signature;
    a.raidJobCode = spec.raidJobCode ?? 0;
    a.stripeWidth = width;
    a.totalVolumes = spec.disks + spares;
    a.originalWidth = width;
    a.raidLevel = spec.rawLevel ?? LEVELS[spec.level];
    a.stripeBlockSize = block;
    a.stripeBlockByteSize = block * 512;
    a.stripeBlockPower = power;
    a.stripeMask = block ? block - 1 : 0;
    a.stripeSize = block * width;
    a.stripeByteSize = block * width * 512;
    a.originalLevel = a.raidLevel;
    a.originalCapacity = capacity;
    a.flags = spec.broken?.includes(unit) ? NV_ARRAY_FLAG_ERROR : 0;
    nv.array = a;
    nv.chksum = nvChecksum(nv);
    if (spec.corrupt?.includes(unit)) nv.chksum = (nv.chksum + 1) >>> 0;
    members.push({
      sizeSectors: spec.diskSectors,
      offsetBytes: (spec.diskSectors - NV_END_OFFSET) * 512,
      data: nvLayout.encodeToBytes(nv),
    });
  }
  return members;
}

const DISK = 65536;

function testbedSet(config: string, description: string, spec: NvidiaSetSpec, missing: readonly number[] = []): TestbedSetDefinition {
  return makeTestbedSet(config, description, buildNvidiaSet(spec), { missing, serial: (i) => `NV${serialStem(config, 12)}${i}` });
}

export type { MemberImage, TestbedSetDefinition };

/** Every layout nvidia supports: healthy, with a member missing, with a corrupted copy; spares; job states. */
export function testbedSets(): TestbedSetDefinition[] {
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

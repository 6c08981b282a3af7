/**
 * Builds NVIDIA MediaShield member metadata for any layout (testbed sets and tests), filled in the way the
 * BIOS fills it (compare the util-linux fixture: "NVIDIA  " padded with spaces, reserved 0xff, array
 * version 0x640000 + the array block's size).
 */
import type { MemberImage } from '@dmraid/core';
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
  /** productID text (16 bytes, space padded); default the BIOS's own "<LEVEL> <size>M". */
  readonly productName?: string;
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
    nv.productID = toBytes((spec.productName ?? `${PRODUCT[spec.level]} ${Math.round(capacity / 2048)}M`).padEnd(16, ' '), 16);
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

export type { MemberImage };

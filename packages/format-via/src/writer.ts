/**
 * Builds VIA V-RAID member metadata for any layout (testbed sets and tests), filled in the way the BIOS
 * fills it (compare the util-linux fixture: version 1, the first member bootable, array.serial_checksum =
 * the member's own entry of serial_checksum[]).
 */
import { serialStem, testbedSet as makeTestbedSet, type MemberImage, type TestbedSetDefinition } from '@dmraid/core';
import {
  VIA_END_OFFSET,
  VIA_SIGNATURE,
  VIA_T_RAID0,
  VIA_T_RAID01,
  VIA_T_RAID1,
  VIA_T_SPAN,
  viaChecksum,
  viaDiskWord,
  viaLayout,
} from './layout.js';

export type ViaLevel = 'span' | 'raid0' | 'raid1' | 'raid01';

export interface ViaSetSpec {
  readonly level: ViaLevel;
  /** Seed of the per-disk serial checksums (the set id is their sum). */
  readonly id: number;
  /** Number of disks (raid1: 2, raid01: 4, 6 or 8). */
  readonly disks: number;
  /** Size of every member disk in sectors. */
  readonly diskSectors: number;
  /** Stripe code: stride = 8 << code sectors (default 4: 64 KiB). */
  readonly strideCode?: number;
  /** version_number (default 1). */
  readonly version?: number;
  /** Members whose tolerance bit is set. */
  readonly broken?: readonly number[];
  /** Members whose checksum is wrong (a corrupted copy). */
  readonly corrupt?: readonly number[];
  /** RAID1 raid_type_info role per member (default: 0 source for the first, 2 mirror for the others). */
  readonly roles?: readonly number[];
  /** Members with another array_index than the set's (a disk from a different array). */
  readonly foreign?: readonly number[];
}

const TYPES: Record<ViaLevel, number> = { span: VIA_T_SPAN, raid0: VIA_T_RAID0, raid1: VIA_T_RAID1, raid01: VIA_T_RAID01 };

export function buildViaSet(spec: ViaSetSpec): MemberImage[] {
  const code = spec.level === 'raid1' || spec.level === 'span' ? 0 : (spec.strideCode ?? 4);
  const stride = 8 << code;
  const usable = spec.diskSectors - VIA_END_OFFSET;
  const perMember = spec.level === 'span' ? usable : Math.floor(usable / stride) * stride;
  // RAID0+1: disk_array_ex counts one stripe half, which is what each half set expects.
  const width = spec.level === 'raid01' ? spec.disks / 2 : spec.disks;
  const capacity = spec.level === 'raid1' ? perMember : perMember * width;
  const serials = Array.from({ length: 8 }, (_, i) => (i < spec.disks ? (Math.imul(spec.id + i, 0x9e3779b1) ^ 0xf5000000) >>> 0 : 0));
  const members: MemberImage[] = [];
  for (let i = 0; i < spec.disks; i++) {
    const v = viaLayout.zero();
    v.signature = VIA_SIGNATURE;
    v.version_number = spec.version ?? 1;
    const info =
      spec.level === 'raid1' ? (spec.roles?.[i] ?? (i === 0 ? 0 : 2)) : spec.level === 'raid01' ? (i % width) | (Math.floor(i / width) << 3) : i;
    v.array.disk = viaDiskWord({
      bootable: i === 0 ? 1 : 0,
      in_disk_array: 1,
      raid_type: TYPES[spec.level],
      array_index: spec.foreign?.includes(i) ? 1 : 0,
      raid_type_info: info,
      tolerance: spec.broken?.includes(i) ? 1 : 0,
    });
    v.array.disk_array_ex = (width & 0x7) | (code << 4);
    v.array.capacity_low = capacity >>> 0;
    v.array.capacity_high = Math.floor(capacity / 0x100000000);
    v.array.serial_checksum = serials[i]!;
    v.serial_checksum = serials;
    const raw = viaLayout.encodeToBytes(v);
    v.checksum = (viaChecksum(raw) + (spec.corrupt?.includes(i) ? 1 : 0)) & 0xff;
    members.push({ sizeSectors: spec.diskSectors, offsetBytes: usable * 512, data: viaLayout.encodeToBytes(v) });
  }
  return members;
}

const DISK = 65536;

function testbedSet(config: string, description: string, spec: ViaSetSpec, missing: readonly number[] = []): TestbedSetDefinition {
  return makeTestbedSet(config, description, buildViaSet(spec), { missing, serial: (i) => `VIA${serialStem(config, 12)}${i}` });
}

export type { MemberImage, TestbedSetDefinition };

/** Every layout via supports: healthy, with a member missing, with a corrupted copy. */
export function testbedSets(): TestbedSetDefinition[] {
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

/**
 * Builds VIA V-RAID member metadata for any layout (testbed sets and tests), filled in the way the BIOS
 * fills it (compare the util-linux fixture: version 1, the first member bootable, array.serial_checksum =
 * the member's own entry of serial_checksum[]).
 */
import type { MemberImage } from '@dmraid/core';
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

export type { MemberImage };

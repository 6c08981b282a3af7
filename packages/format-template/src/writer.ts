/**
 * Builds member metadata of this format for any RAID0/RAID1 layout: what the (imaginary) BIOS
 * writes. Tests, fuzz seeds and testbed sets come from here.
 */
import { toBytes } from '@dmraid/core';
import { TEMPLATE_END_OFFSET, TEMPLATE_SIGNATURE, TEMPLATE_T_RAID0, TEMPLATE_T_RAID1, templateChecksum, templateLayout } from './layout.js';

export interface TemplateSetSpec {
  readonly level: 'raid0' | 'raid1';
  /** Set id, shown (digits as letters) in the set name. */
  readonly id: number;
  readonly disks: number;
  /** Size of every member disk in sectors. */
  readonly diskSectors: number;
  /** Stripe size as a power of two in sectors (default 7: 64 KiB). */
  readonly shift?: number;
  readonly label?: string;
}

export interface MemberImage {
  readonly sizeSectors: number;
  readonly offsetBytes: number;
  readonly data: Uint8Array;
}

export function buildTemplateSet(spec: TemplateSetSpec): MemberImage[] {
  const shift = spec.shift ?? 7;
  const usable = spec.diskSectors - TEMPLATE_END_OFFSET;
  const perMember = spec.level === 'raid0' ? usable - (usable % (1 << shift)) : usable;
  const members: MemberImage[] = [];
  for (let i = 0; i < spec.disks; i++) {
    const m = templateLayout.zero();
    m.signature = TEMPLATE_SIGNATURE;
    m.set_id = spec.id;
    m.level = spec.level === 'raid0' ? TEMPLATE_T_RAID0 : TEMPLATE_T_RAID1;
    m.disks = spec.disks;
    m.disk_number = i;
    m.stripe_shift = spec.level === 'raid0' ? shift : 0;
    m.data_sectors = perMember;
    m.label = toBytes(spec.label ?? `Volume${spec.id}`, 16);
    const data = templateLayout.encodeToBytes(m);
    m.checksum = templateChecksum(data);
    members.push({ sizeSectors: spec.diskSectors, offsetBytes: (spec.diskSectors - TEMPLATE_END_OFFSET) * 512, data: templateLayout.encodeToBytes(m) });
  }
  return members;
}

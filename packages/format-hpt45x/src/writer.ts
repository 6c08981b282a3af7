/**
 * Builds HPT45x member metadata for any layout (testbed sets and tests): what the Highpoint BIOS writes.
 */
import type { MemberImage } from '@dmraid/core';
import { HPT45X_END_OFFSET, HPT45X_MAGIC_BAD, HPT45X_MAGIC_OK, HPT45X_T_RAID0, HPT45X_T_RAID1, HPT45X_T_SPAN, hpt45xLayout, type Hpt45x } from './layout.js';

export type Hpt45xLevel = 'span' | 'raid0' | 'raid1' | 'raid10';

export interface Hpt45xSetSpec {
  readonly level: Hpt45xLevel;
  /** Set id (magic_0), non-zero. */
  readonly id: number;
  /** Number of data disks (raid10: all four or more, an even number). */
  readonly disks: number;
  /** Size of every member disk in sectors. */
  readonly diskSectors: number;
  /** Stripe size as a power of two in sectors (default 7: 64 KiB). */
  readonly shift?: number;
  /** Extra spare disks (magic_0 = 0). */
  readonly spares?: number;
  /** Member indexes whose magic says "bad". */
  readonly bad?: readonly number[];
  /** Fields overwritten after the fact, by member index: metadata no BIOS writes (corrupted members). */
  readonly corrupt?: Readonly<Record<number, Partial<Hpt45x>>>;
}

export function buildHpt45xSet(spec: Hpt45xSetSpec): MemberImage[] {
  const shift = spec.shift ?? 7;
  const usable = spec.diskSectors - HPT45X_END_OFFSET;
  const stripe = 1 << shift;
  const perMember = spec.level === 'span' ? usable : Math.floor(usable / stripe) * stripe;
  const halves = spec.level === 'raid10' ? 2 : 1;
  const width = spec.disks / halves;
  const total = spec.level === 'raid1' ? perMember : spec.level === 'span' ? usable * spec.disks : perMember * width;
  const members: MemberImage[] = [];
  for (let i = 0; i < spec.disks + (spec.spares ?? 0); i++) {
    const spare = i >= spec.disks;
    const m = hpt45xLayout.zero();
    m.magic = spec.bad?.includes(i) ? HPT45X_MAGIC_BAD : HPT45X_MAGIC_OK;
    m.magic_0 = spare ? 0 : spec.id;
    m.magic_1 = spec.id ^ 0x01000110;
    m.total_secs = total;
    m.type = spec.level === 'span' ? HPT45X_T_SPAN : spec.level === 'raid1' ? HPT45X_T_RAID1 : HPT45X_T_RAID0;
    m.raid_disks = spare ? 0 : width;
    m.disk_number = spare ? 0 : i % width;
    m.raid0_shift = spec.level === 'raid0' || spec.level === 'raid10' ? shift : 0;
    if (spec.level === 'raid10' && !spare) {
      m.raid1_type = HPT45X_T_RAID1;
      m.raid1_raid_disks = 2;
      m.raid1_disk_number = Math.floor(i / width);
      m.raid1_shift = shift;
    }
    Object.assign(m, spec.corrupt?.[i]);
    members.push({ sizeSectors: spec.diskSectors, offsetBytes: (spec.diskSectors - HPT45X_END_OFFSET) * 512, data: hpt45xLayout.encodeToBytes(m) });
  }
  return members;
}

export type { MemberImage };

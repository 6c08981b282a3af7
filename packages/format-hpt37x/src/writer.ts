/**
 * Builds HPT37x member metadata for any layout (testbed sets and tests): what the Highpoint BIOS writes,
 * as far as dmraid reads it.
 */
import type { MemberImage } from '@dmraid/core';
import {
  HPT37X_CONFIG_SECTOR,
  HPT37X_DATA_OFFSET,
  HPT37X_MAGIC_BAD,
  HPT37X_MAGIC_OK,
  HPT37X_T_RAID0,
  HPT37X_T_RAID01_RAID0,
  HPT37X_T_RAID01_RAID1,
  HPT37X_T_RAID1,
  HPT37X_T_SINGLEDISK,
  HPT37X_T_SPAN,
  HPT_O_OK,
  hpt37xLayout,
  type Hpt37xErrorLog,
} from './layout.js';

/** raid10: a mirror of two stripe sets (type 2); raid01: a stripe over two mirror sets (type 7). */
export type Hpt37xLevel = 'single' | 'span' | 'raid0' | 'raid1' | 'raid10' | 'raid01';

export interface Hpt37xSetSpec {
  readonly level: Hpt37xLevel;
  /** Set id (magic_0; for raid10/raid01 the array id magic_1), non-zero. */
  readonly id: number;
  /** Number of data disks (raid10/raid01: both halves together, an even number). */
  readonly disks: number;
  /** Size of every member disk in sectors. */
  readonly diskSectors: number;
  /** Stripe size as a power of two in sectors (default 7: 64 KiB). */
  readonly shift?: number;
  /** Extra spare disks (magic_0 = 0). */
  readonly spares?: number;
  /** Member indexes whose magic says "bad". */
  readonly bad?: readonly number[];
  /** Error log entries written on every member (error_log_entries is set to their count). */
  readonly errorLog?: readonly Partial<Hpt37xErrorLog>[];
}

const TYPES: Record<Hpt37xLevel, number> = {
  single: HPT37X_T_SINGLEDISK,
  span: HPT37X_T_SPAN,
  raid0: HPT37X_T_RAID0,
  raid1: HPT37X_T_RAID1,
  raid10: HPT37X_T_RAID01_RAID0,
  raid01: HPT37X_T_RAID01_RAID1,
};

export function buildHpt37xSet(spec: Hpt37xSetSpec): MemberImage[] {
  const shift = spec.shift ?? 7;
  const stacked = spec.level === 'raid10' || spec.level === 'raid01';
  const striped = spec.level === 'raid0' || stacked;
  // Every member but disk 0 starts 10 sectors in, so that is all any member can hold.
  const usable = spec.diskSectors - HPT37X_DATA_OFFSET;
  const stripe = 1 << shift;
  const perMember = striped ? Math.floor(usable / stripe) * stripe : usable;
  const width = stacked ? spec.disks / 2 : spec.disks;
  const mirrored = spec.level === 'raid1' || spec.level === 'raid01';
  const total = mirrored ? perMember : perMember * width;
  const members: MemberImage[] = [];
  for (let i = 0; i < spec.disks + (spec.spares ?? 0); i++) {
    const spare = i >= spec.disks;
    const half = Math.floor(i / width);
    const m = hpt37xLayout.zero();
    m.magic = spec.bad?.includes(i) ? HPT37X_MAGIC_BAD : HPT37X_MAGIC_OK;
    m.magic_0 = spare ? 0 : stacked ? (spec.id + half + 1) >>> 0 : spec.id;
    m.magic_1 = stacked && !spare ? spec.id : 0;
    m.order = stacked && !spare ? half : HPT_O_OK;
    m.raid_disks = spare ? 0 : width;
    m.raid0_shift = striped ? shift : 0;
    m.type = TYPES[spec.level];
    m.disk_number = spare ? 0 : i % width;
    m.total_secs = total;
    m.boot_mode = 0x12345678;
    m.boot_disk = 0x80;
    const log = spec.errorLog ?? [];
    m.error_log_entries = log.length;
    log.forEach((entry, k) => Object.assign(m.errorlog[k]!, entry));
    members.push({
      sizeSectors: spec.diskSectors,
      offsetBytes: HPT37X_CONFIG_SECTOR * 512,
      data: hpt37xLayout.encodeToBytes(m),
    });
  }
  return members;
}

export type { MemberImage };

/**
 * Builds Silicon Image Medley member metadata for any layout (testbed sets and tests): the block with a
 * valid checksum, written in all four copies, as the Medley BIOS does; copies can be damaged on purpose.
 */
import type { MultiAreaMemberImage as MemberImage } from '@dmraid/core';
import { toBytes } from '@dmraid/core';
import {
  SIL_AREAS,
  SIL_AREA_STEP,
  SIL_T_JBOD,
  SIL_T_RAID0,
  SIL_T_RAID1,
  SIL_T_RAID10,
  SIL_T_RAID5,
  SIL_T_SPARE,
  silChecksum1,
  silLayout,
  type Sil,
} from './layout.js';

export type SilLevel = 'raid0' | 'raid1' | 'raid10' | 'jbod' | 'raid5';

/** What is wrong with a damaged copy. */
export type SilDamage = 'checksum' | 'disksize' | 'gone';

export interface SilSetSpec {
  readonly level: SilLevel;
  /** Creation time: year (2 digits), month, day, hour, minutes, seconds; the set name comes from it. */
  readonly created: readonly [number, number, number, number, number, number];
  /** Data disks (raid10: an even number). */
  readonly disks: number;
  /** Size of every member disk in sectors. */
  readonly diskSectors: number;
  /** Stripe size in sectors (default 128 for striped levels). */
  readonly stride?: number;
  /** Extra spare disks. */
  readonly spares?: number;
  /** Disks (by index) whose member_status says "not ready". */
  readonly notReady?: readonly number[];
  /** Damaged copies: disk index → copy index (0..3) → damage. */
  readonly damaged?: Readonly<Record<number, Readonly<Record<number, SilDamage>>>>;
  /** Data sectors per member (default: all below the copies, whole stripes). */
  readonly memberSectors?: number;
  /** The disk's model as the BIOS copies it into `diskname` (default a Seagate model, as in the testbed). */
  readonly diskName?: string;
}

const TEXT: Record<SilLevel, string> = {
  raid0: 'SiI Striped',
  raid1: 'SiI Mirrored',
  raid10: 'SiI Striped Mirror',
  jbod: 'SiI Concatenation',
  raid5: 'SiI RAID5',
};

const TYPE: Record<SilLevel, number> = {
  raid0: SIL_T_RAID0,
  raid1: SIL_T_RAID1,
  raid10: SIL_T_RAID10,
  jbod: SIL_T_JBOD,
  raid5: SIL_T_RAID5,
};

/** Sectors below the four copies, as dmraid counts them for spares and JBOD members. */
export const usableSectors = (n: number) => n - (SIL_AREAS - 1) * SIL_AREA_STEP - (n % 2 ? 1 : 2);

export function sealSil(value: Sil): Uint8Array {
  const block = silLayout.encodeToBytes(value);
  new DataView(block.buffer).setUint16(silLayout.offsetOf('checksum1'), silChecksum1(block), true);
  return block;
}

export function buildSilBlock(spec: SilSetSpec, disk: number): Sil {
  const striped = spec.level === 'raid0' || spec.level === 'raid10' || spec.level === 'raid5';
  const stride = spec.stride ?? (striped ? 128 : 0);
  const usable = usableSectors(spec.diskSectors);
  const perMember = spec.memberSectors ?? (stride ? Math.floor(usable / stride) * stride : usable);
  const width = spec.level === 'raid10' ? spec.disks / 2 : spec.disks;
  const array =
    spec.level === 'raid1' ? perMember : spec.level === 'raid5' ? perMember * (spec.disks - 1) : perMember * width;
  const spare = disk >= spec.disks;
  const half = spec.level === 'raid10' ? Math.floor(disk / width) : 0;
  const s = silLayout.zero();
  s.ascii_version = toBytes('2.10', 8, 0x20);
  s.diskname = toBytes(spec.diskName ?? 'ST3160827AS', 32, 0x20);
  s.magic = 0x2f000000;
  s.array_sectors_low = array >>> 0;
  s.array_sectors_high = Math.floor(array / 2 ** 32);
  s.thisdisk_sectors = spec.diskSectors;
  s.product_id = 0x3114;
  s.vendor_id = 0x1095;
  s.minor_ver = 3;
  s.major_ver = 2;
  const [year, month, day, hour, minutes, seconds] = spec.created;
  Object.assign(s, { year, month, day, hour, minutes, seconds });
  s.raid0_stride = stride;
  s.disk_number = disk;
  s.type = spare ? SIL_T_SPARE : TYPE[spec.level];
  s.drives_per_striped_set = spec.level === 'raid1' ? -1 : width;
  s.striped_set_number = spec.level === 'raid1' ? -1 : half;
  s.drives_per_mirrored_set = spec.level === 'raid1' ? spec.disks : spec.level === 'raid10' ? 2 : -1;
  s.mirrored_set_number = spec.level === 'raid1' ? 0 : spec.level === 'raid10' ? half : -1;
  s.incarnation_no = 1;
  s.member_status = spec.notReady?.includes(disk) ? 0 : 1;
  s.text_type = toBytes(TEXT[spec.level], 16);
  return s;
}

export function buildSilSet(spec: SilSetSpec): MemberImage[] {
  const n = spec.diskSectors;
  const members: MemberImage[] = [];
  for (let i = 0; i < spec.disks + (spec.spares ?? 0); i++) {
    const good = sealSil(buildSilBlock(spec, i));
    const areas = Array.from({ length: SIL_AREAS }, (_, k) => {
      let data = good;
      switch (spec.damaged?.[i]?.[k]) {
        case 'checksum':
          data = new Uint8Array(good);
          data[0x36] = data[0x36]! ^ 0x01;
          break;
        case 'disksize': {
          const s = buildSilBlock(spec, i);
          s.thisdisk_sectors = n + 1;
          data = sealSil(s);
          break;
        }
        case 'gone':
          data = new Uint8Array(good.length);
          break;
      }
      return { offsetBytes: (n - 1 - SIL_AREA_STEP * k) * 512, data };
    });
    members.push({ sizeSectors: n, areas });
  }
  return members;
}

export type { MemberImage };

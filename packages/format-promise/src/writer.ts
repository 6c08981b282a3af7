/**
 * Builds Promise FastTrak member metadata for any layout (testbed sets and tests): one 2048-byte block per
 * array a disk belongs to, at N-s, N-s+14, ... with valid checksums, as the FastTrak BIOS lays them out.
 */
import type { MultiAreaMemberImage as MemberImage } from '@dmraid/core';
import { toBytes } from '@dmraid/core';
import {
  PDC_BLOCK_SIZE,
  PDC_F_ASSIGNED,
  PDC_F_DOWN,
  PDC_F_ONLINE,
  PDC_F_VALID,
  PDC_MAGIC,
  PDC_META_OFFSET,
  PDC_T_RAID0,
  PDC_T_RAID1,
  PDC_T_RAID10,
  PDC_T_SPAN,
  pdcChecksum,
  pdcLayout,
} from './layout.js';

export type PdcLevel = 'span' | 'raid0' | 'raid1' | 'raid10';

export interface PdcArraySpec {
  readonly level: PdcLevel;
  /** Set id (raid.magic_1): the set name is pdc_ + its decimal digits as letters. */
  readonly id: number;
  /** Member disks (raid10: an even number, four or more). */
  readonly disks: number;
  /** Stripe size as a power of two in sectors (default 7: 64 KiB). */
  readonly shift?: number;
  /** Data start on every member (raid.start); the first array on a disk starts at 0. */
  readonly start?: number;
  /** Data sectors per member (default: from the start up to the metadata). */
  readonly sectorsPerMember?: number;
  /** Store RAID10 as dmraid's own type 2 instead of Promise's RAID1 over four disks. */
  readonly raid10AsType2?: boolean;
  /** The array's label (32 bytes, space padded, as FreeBSD writes it); default none (zeros). */
  readonly name?: string;
}

export interface PdcSetSpec {
  /** Size of every member disk in sectors. */
  readonly diskSectors: number;
  /** Sectors from the end to the first block (one of dmraid's end offsets; default 63). */
  readonly endOffset?: number;
  /** The arrays every disk belongs to, in block order. */
  readonly arrays: readonly PdcArraySpec[];
  /** Disks (by index) whose first block gets a wrong checksum. */
  readonly badChecksum?: readonly number[];
  /** Disks (by index) whose own flags say "down". */
  readonly down?: readonly number[];
}

function arrayGeometry(a: PdcArraySpec, metaSector: number) {
  const stripe = 1 << (a.shift ?? 7);
  const room = a.sectorsPerMember ?? metaSector - (a.start ?? 0);
  const perMember = a.level === 'span' ? room : Math.floor(room / stripe) * stripe;
  const total =
    a.level === 'raid1' ? perMember : a.level === 'raid10' ? perMember * (a.disks / 2) : perMember * a.disks;
  const type =
    a.level === 'span' ? PDC_T_SPAN : a.level === 'raid0' ? PDC_T_RAID0 : a.level === 'raid10' && a.raid10AsType2 ? PDC_T_RAID10 : PDC_T_RAID1;
  return { perMember, total, type };
}

/** One block: array `a` as seen from disk `disk`. */
export function buildPdcBlock(a: PdcArraySpec, arrayNumber: number, disk: number, metaSector: number, flags: number): Uint8Array {
  const { total, type } = arrayGeometry(a, metaSector);
  const diskMagic = (i: number) => (0x71000000 | ((i & 0xff) << 16) | (a.id & 0xffff)) >>> 0;
  const p = pdcLayout.zero();
  p.promise_id = toBytes(PDC_MAGIC, 24);
  p.unknown_0 = 0x20000;
  p.magic_0 = diskMagic(disk);
  p.unknown_1 = 9;
  p.magic_1 = (a.id ^ 0x00010000) >>> 0;
  p.unknown_2 = 9;
  const r = p.raid;
  r.flags = 0x80;
  r.unknown_0 = flags;
  r.disk_number = disk;
  r.channel = disk;
  r.device = 0;
  r.magic_0 = p.magic_0;
  r.unknown_1 = 9;
  r.start = a.start ?? 0;
  r.disk_secs = metaSector;
  r.unknown_3 = 0xffffffff;
  r.unknown_4 = 0x11;
  r.status = 0x8f;
  r.type = type;
  r.total_disks = a.disks;
  r.raid0_shift = a.level === 'raid0' || a.level === 'raid10' ? (a.shift ?? 7) : 0;
  r.raid0_disks = a.level === 'raid10' ? a.disks / 2 : a.level === 'raid0' ? a.disks : 1;
  r.array_number = arrayNumber;
  r.total_secs = total;
  r.heads = 0xfe;
  r.sectors = 0x3f;
  r.cylinders = Math.min(0xffff, Math.floor(total / (0xff * 0x3f)));
  r.magic_1 = a.id;
  if (a.name !== undefined) p.name = toBytes(a.name.padEnd(32, ' '), 32);
  r.disk = r.disk.map((d, i) =>
    i < a.disks ? { ...d, unknown_0: PDC_F_VALID | PDC_F_ONLINE | PDC_F_ASSIGNED, channel: i, device: 0, magic_0: diskMagic(i), disk_number: i } : d,
  );
  const block = pdcLayout.encodeToBytes(p);
  const view = new DataView(block.buffer);
  view.setUint32(pdcLayout.offsetOf('checksum'), pdcChecksum(block), true);
  return block;
}

export function buildPdcSet(spec: PdcSetSpec): MemberImage[] {
  const s = spec.endOffset ?? 63;
  const metaSector = spec.diskSectors - s;
  const disks = Math.max(...spec.arrays.map((a) => a.disks));
  const members: MemberImage[] = [];
  for (let i = 0; i < disks; i++) {
    const flags = PDC_F_VALID | PDC_F_ONLINE | PDC_F_ASSIGNED | (spec.down?.includes(i) ? PDC_F_DOWN : 0);
    const areas = spec.arrays.map((a, k) => {
      const data = buildPdcBlock(a, k, i, metaSector, flags);
      if (k === 0 && spec.badChecksum?.includes(i)) data[PDC_BLOCK_SIZE - 1] = data[PDC_BLOCK_SIZE - 1]! ^ 0x5a;
      return { offsetBytes: (metaSector + k * PDC_META_OFFSET) * 512, data };
    });
    members.push({ sizeSectors: spec.diskSectors, areas });
  }
  return members;
}

export type { MemberImage };

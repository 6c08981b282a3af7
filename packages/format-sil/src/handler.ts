/**
 * Silicon Image Medley (dmraid's `sil`): RAID0, RAID1, RAID10 (a mirror of stripe sets), JBOD, RAID5 and
 * spares, from four copies of one block at the end of the disk. Facts from dmraid's sil.c and the
 * reference binary (formats.md §7); the deliberate differences are listed in docs/formats/sil.md.
 */
import {
  cString,
  defineFormat,
  exactNumber,
  failSetup,
  hex,
  join64,
  logLine,
  mkAlpha,
  nullLog,
  placeMember,
  readContext,
  tooLarge,
  writeMetadata,
  type BlockDevice,
  type ReadContext,
  type RaidDevice,
  type RaidStatus,
  type RaidType,
} from '@dmraid/core';
import {
  SIL_AREAS,
  SIL_AREA_STEP,
  SIL_BLOCK_SIZE,
  SIL_MEMBER_READY,
  SIL_T_JBOD,
  SIL_T_RAID0,
  SIL_T_RAID1,
  SIL_T_RAID10,
  SIL_T_RAID5,
  SIL_T_SPARE,
  arraySectors,
  isSilMagic,
  silChecksum1,
  silLayout,
  type Sil,
} from './layout.js';
import { createSil } from './create.js';
import { recordFailed, staleMembers } from './failed.js';
import { SIL_DISK_REBUILD, makeSpare, rebuildSet, rebuiltSet, removeSet } from './ops.js';

const NAME = 'sil';

export interface SilCopy {
  /** 1..4, as dmraid numbers the areas in its messages. */
  readonly area: number;
  readonly data: Uint8Array;
}

export interface SilMeta {
  /** The copy in use: the first valid one (dmraid's majority vote is a no-op). */
  readonly sil: Sil;
  /** Every valid copy in area order. */
  readonly copies: readonly SilCopy[];
}

const meta = (rd: RaidDevice) => rd.meta as SilMeta;

/** Sector of copy i (0..3); negative on disks too small to hold it. */
export const areaSector = (sizeSectors: number, i: number) => sizeSectors - 1 - SIL_AREA_STEP * i;

const two = (n: number) => String(n).padStart(2, '0');

/**
 * `sil_` + yymmddhhmmss with digits as letters; RAID10 halves add `-<striped_set_number>` (printed
 * unsigned), of which dmraid leaves the last two characters unconverted.
 */
export function setName(sil: Sil, subset: boolean): string {
  const date = [sil.year, sil.month, sil.day, sil.hour, sil.minutes % 60, sil.seconds % 60].map(two).join('');
  if (!subset) return `sil_${mkAlpha(date)}`;
  const index = sil.type === SIL_T_RAID1 ? sil.mirrored_set_number : sil.striped_set_number;
  const full = `sil_${date}-${index >>> 0}`;
  return `sil_${mkAlpha(full.slice(4, full.length - 2))}${full.slice(full.length - 2)}`;
}

function raidType(sil: Sil): RaidType {
  switch (sil.type) {
    case SIL_T_SPARE:
      return 'spare';
    case SIL_T_JBOD:
      return 'linear';
    case SIL_T_RAID0:
    case SIL_T_RAID10:
      return 'raid0';
    case SIL_T_RAID5:
      return 'raid5_ls';
    case SIL_T_RAID1:
      return 'raid1';
    default:
      return 'undef';
  }
}

/**
 * Data length on this disk. RAID10 members hold their stripe set's share of the array (dmraid gives them
 * the whole array, which doubles every stripe set); spares, JBOD and RAID5 members everything below the
 * metadata copies.
 */
function dataSectors(sil: Sil, sizeSectors: number): bigint {
  const array = arraySectors(sil);
  const stripes = sil.drives_per_striped_set;
  switch (sil.type) {
    case SIL_T_RAID0:
      return stripes > -1 && sil.disk_number < stripes ? array / BigInt(stripes) : 0n;
    case SIL_T_RAID1:
      return array;
    case SIL_T_RAID10:
      return stripes > 0 ? array / BigInt(stripes) : array;
    default:
      return BigInt(sizeSectors - (SIL_AREAS - 1) * SIL_AREA_STEP - (sizeSectors % 2 ? 1 : 2));
  }
}

/**
 * A member that is not ready (member_status bit 0 clear) is broken. dmraid keys its status on
 * mirrored_set_state through a lookup that stops at its first (zero) key, so it shows every member ok;
 * byte 0x129 is moreover a mirror position (FreeBSD), not a state, and real disks carry 1 there.
 */
const memberStatus = (sil: Sil): RaidStatus => (sil.member_status & SIL_MEMBER_READY || rebuilding(sil) ? 'ok' : 'broken');

/** FreeBSD's SII_S_REBUILD: the target of a rebuild, a member whose data is not yet the set's. */
const rebuilding = (sil: Sil) => sil.member_status === SIL_DISK_REBUILD;

/**
 * The member's place in its set: disk_number (0x116) for RAID0, RAID1 and RAID5, the order dmraid sorts
 * members by and FreeBSD's sii_meta_disk_pos. Not for RAID10, whose disk_number counts across both stripe
 * sets, nor JBOD (FreeBSD: every JBOD disk is its own volume at position 0) or spares.
 */
function position(sil: Sil): number | undefined {
  return sil.type === SIL_T_RAID0 || sil.type === SIL_T_RAID1 || sil.type === SIL_T_RAID5 ? sil.disk_number : undefined;
}

/** Members the set should have according to this member (dmraid prints it unsigned). */
function expectedMembers(rd: RaidDevice): number {
  const sil = meta(rd).sil;
  switch (sil.type) {
    case SIL_T_JBOD:
      // dmraid expects 0 (JBOD sets are always removed); a single-disk JBOD holds the whole array.
      return arraySectors(sil) < BigInt(rd.sectors) ? 1 : sil.drives_per_striped_set >>> 0;
    case SIL_T_RAID0:
    case SIL_T_RAID10:
      return sil.drives_per_striped_set >>> 0;
    case SIL_T_RAID1:
      return sil.drives_per_mirrored_set >>> 0;
    case SIL_T_RAID5:
      // dmraid expects 0, so every RAID5 set is "inconsistent".
      return sil.drives_per_striped_set >>> 0;
    default:
      return 0;
  }
}

async function readSil(device: BlockDevice, ctx: ReadContext): Promise<RaidDevice<SilMeta>[]> {
  const path = device.path;
  const n = device.sizeSectors;
  const copies: SilCopy[] = [];
  for (let i = 0; i < SIL_AREAS; i++) {
    const area = i + 1;
    const data = await ctx.read(device, areaSector(n, i) * 512, SIL_BLOCK_SIZE);
    if (!data) return [];
    // Most disks are not ours: the magic first, the block whole only when it is there.
    if (!isSilMagic(silLayout.pick(data, ['magic', 'disk_number']))) continue;
    const sil = silLayout.decodeFrom(data);
    if (sil.major_ver !== 2) {
      ctx.log('warn', `${NAME}: major version ${sil.major_ver} in area ${area}; format handler tested on version 2 only`);
    }
    if (silChecksum1(data) !== sil.checksum1) {
      ctx.error(`invalid metadata checksum in area ${area} on ${path}`);
      continue;
    }
    if (n < sil.thisdisk_sectors) {
      ctx.error(`invalid disk size in metadata area ${area} on ${path}`);
      continue;
    }
    copies.push({ area, data });
  }
  if (copies.length === 0) return [];
  const valid = copies.length;
  ctx.log('notice', `${NAME}: areas ${copies.map((c) => c.area).join(',')}[${SIL_AREAS}] ${valid === 1 ? 'is' : 'are'} valid`);
  if (valid !== SIL_AREAS) {
    ctx.error(`only ${valid}/${SIL_AREAS} metadata areas found on ${path}, ${valid > 1 ? 'elect' : 'pick'}ing...`);
  }
  const chosen = copies[0]!.data;
  const sil = silLayout.decodeFrom(chosen);
  const exact = dataSectors(sil, n);
  const sectors = exactNumber(exact);
  if (exact <= 0n || sectors === undefined) {
    // dmraid takes any 64-bit length; from 2^53 sectors on it describes no disk and no number holds it exactly.
    return failSetup(ctx, device, exact <= 0n ? `zero sectors on ${path}` : tooLarge('data length (array_sectors_high:array_sectors_low)', exact, path));
  }
  const place = position(sil);
  return [
    {
      device,
      format: ctx.format,
      name: setName(sil, sil.type === SIL_T_RAID10),
      type: raidType(sil),
      status: memberStatus(sil),
      offset: 0,
      sectors,
      // A write puts the copy in use at all four places.
      areas: Array.from({ length: SIL_AREAS }, (_, i) => ({ offsetSectors: areaSector(n, i), size: SIL_BLOCK_SIZE, data: chosen })),
      meta: { sil, copies },
      ...(rebuilding(sil) ? { outOfSync: `its metadata records a rebuild onto it (0x128 = 2), at sector ${join64(sil.rebuild_ptr_high, sil.rebuild_ptr_low)}` } : {}),
      ...(place === undefined ? {} : { position: place }),
    },
  ];
}

/** `%Ns`: a C string from the field on (it may run into the next fields), right-aligned in N columns. */
const cs = (block: Uint8Array, at: number, width: number) => `"${cString(block.subarray(at)).padStart(width)}"`;

function silLog(rd: RaidDevice): string[] {
  const { sil, copies } = meta(rd);
  const block = copies[0]!.data;
  const at = (name: keyof Sil & string) => silLayout.offsetOf(name);
  const line = (name: keyof Sil & string, value: string | number, label: string = name) => logLine(at(name), `${label}: ${value}`);
  return [
    `${rd.device.path} (${NAME}):`,
    line('unknown0', cs(block, at('unknown0'), 42)),
    line('ascii_version', cs(block, at('ascii_version'), 8)),
    line('diskname', cs(block, at('diskname'), 32)),
    line('unknown1', cs(block, at('unknown1'), 22)),
    line('magic', hex(sil.magic)),
    line('unknown1a', cs(block, at('unknown1a'), 8)),
    line('array_sectors_low', sil.array_sectors_low),
    line('array_sectors_high', sil.array_sectors_high),
    line('unknown2', cs(block, at('unknown2'), 4)),
    line('thisdisk_sectors', sil.thisdisk_sectors),
    line('product_id', sil.product_id),
    line('vendor_id', sil.vendor_id),
    line('minor_ver', sil.minor_ver),
    line('major_ver', sil.major_ver),
    // dmraid prints an address difference as the offset of these two lines; the field's offset is printed here.
    line('seconds', sil.seconds % 60),
    line('seconds', hex(sil.seconds), 'seconds(full)'),
    line('minutes', sil.minutes % 60),
    line('minutes', hex(sil.minutes), 'minutes(full)'),
    line('hour', sil.hour),
    line('day', sil.day),
    line('month', sil.month),
    line('year', sil.year),
    line('raid0_stride', sil.raid0_stride),
    line('disk_number', sil.disk_number),
    line('type', sil.type),
    line('drives_per_striped_set', sil.drives_per_striped_set),
    line('striped_set_number', sil.striped_set_number),
    line('drives_per_mirrored_set', sil.drives_per_mirrored_set),
    line('mirrored_set_number', sil.mirrored_set_number),
    line('rebuild_ptr_low', sil.rebuild_ptr_low),
    line('rebuild_ptr_high', sil.rebuild_ptr_high),
    line('incarnation_no', sil.incarnation_no),
    line('member_status', sil.member_status),
    line('mirrored_set_state', sil.mirrored_set_state),
    line('reported_device_location', sil.reported_device_location),
    line('idechannel', sil.idechannel),
    line('auto_rebuild', sil.auto_rebuild),
    line('text_type', `"${cString(block.subarray(at('text_type')), 16)}"`),
    line('checksum1', sil.checksum1),
    line('checksum2', sil.checksum2),
  ];
}

export const sil = defineFormat<SilMeta>({
  apiVersion: 1,
  name: NAME,
  description: 'Silicon Image(tm) Medley(tm)',
  levels: '0,1,10',

  read: readSil,

  group(rd, ctx) {
    if (rd.type === 'spare') return undefined;
    const s = meta(rd).sil;
    return placeMember(ctx, rd, {
      stride: s.raid0_stride,
      rawType: s.type,
      before: (a, b) => meta(a).sil.disk_number < meta(b).sil.disk_number,
      superset:
        s.type === SIL_T_RAID10
          ? {
              name: setName(s, false),
              init: (set) => {
                set.type = 'raid1';
                set.stride = s.raid0_stride;
              },
              // Halves are named by striped_set_number but ordered by mirrored_set_number (as dmraid).
              before: (a, b) => meta(a.devs[0]!).sil.mirrored_set_number < meta(b.devs[0]!).sil.mirrored_set_number,
            }
          : undefined,
    });
  },

  check(set, ctx) {
    return ctx.checkRaidSet(set, {
      devices: expectedMembers,
      // A ready member of a RAID5 missing one disk keeps the set usable (degraded).
      member: (_, rd) => memberStatus(meta(rd).sil) === 'ok',
    });
  },

  log: silLog,

  dump(rd) {
    // dmraid files the i-th valid copy under the i-th position's name and offset; a missing copy leaves an
    // empty .dat and no .offset (its "Bad address" write error is not reproduced).
    const { copies } = meta(rd);
    return Array.from({ length: SIL_AREAS }, (_, i) => ({
      suffix: `_${i}`,
      data: copies[i]?.data ?? new Uint8Array(0),
      offsetBytes: copies[i] ? areaSector(rd.device.sizeSectors, i) * 512 : undefined,
    }));
  },

  write: writeMetadata,

  create(request, ctx) {
    return createSil(request, ctx, { read: (d) => this.read(d, readContext(NAME, nullLog)), setName: (s) => setName(s, false) });
  },

  failed: recordFailed,

  spare: (device, set, ctx) => makeSpare(device, set, ctx),

  remove: removeSet,

  rebuild: rebuildSet,

  rebuilt: rebuiltSet,

  stale: staleMembers,

  writtenAt: (rd) => createdAt(rd.meta.sil),
});

/**
 * The set's creation time: the BIOS stamps its RTC's local time, in no stated zone, with a two-digit year
 * (20yy); the seconds and minutes bytes carry other bits above 59 (dmraid's name takes them modulo 60).
 */
function createdAt(s: Sil): Date | undefined {
  if (s.month < 1 || s.month > 12 || s.day < 1 || s.day > 31 || s.hour > 23 || s.year > 99) return undefined;
  return new Date(Date.UTC(2000 + s.year, s.month - 1, s.day, s.hour, s.minutes % 60, s.seconds % 60));
}

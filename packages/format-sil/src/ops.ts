/**
 * Spare (-S), rebuild (-R and its end) and delete (-x) for Medley sets, written as FreeBSD's geom_raid
 * md_sii.c writes them (the only public driver that writes this format):
 * - 0x128 (FreeBSD's disk_status): 1 current, 2 rebuilding, 3 dropped, 4 removed; 0x11C (rebuild_lba) the
 *   rebuild's progress; every update raises the generation (0x124) on every active member
 *   (g_raid_md_write_sii). A rebuilding member's data is not the set's until it reads current again.
 * - A spare (sii_meta_write_spare) is a block of type 3 with a random creation time: it belongs to no
 *   array, and the driver takes it for whichever array degrades (g_raid_md_sii_refill).
 * - A deleted array (sii_meta_erase on each disk) has its block zeroed, all four copies.
 */
import { allDevices, eraseMembers, rebuildTarget, writeAreasTo, type BlockDevice, type RaidDevice, type RaidSet, type WriteContext } from '@dmraid/core';
import { SIL_AREAS, SIL_BLOCK_SIZE, SIL_T_RAID1, SIL_T_RAID10, SIL_T_RAID5, SIL_T_SPARE, isSilMagic, silLayout, type Sil } from './layout.js';
import { randomBytes } from 'node:crypto';
import { newerIncarnation } from './failed.js';
import { sealSil } from './writer.js';

/** 0x128 as FreeBSD reads it. */
export const SIL_DISK_CURRENT = 1;
export const SIL_DISK_REBUILD = 2;

/** FreeBSD's spare size: the disk less 0x800 sectors (the four copies and the room around them). */
const SPARE_RESERVED = 0x800;

const confirm = (ctx: WriteContext, question: string) => ctx.confirm?.(question) ?? Promise.resolve(true);

const blockOf = (rd: RaidDevice) => silLayout.decodeFrom(rd.areas[0]!.data);

/** The four places of a block on a disk of `sectors` sectors. */
const areasOn = (sectors: number, data: Uint8Array) =>
  Array.from({ length: SIL_AREAS }, (_, i) => ({ offsetSectors: sectors - 1 - 512 * i, size: SIL_BLOCK_SIZE, data }));

const put = (ctx: WriteContext, device: { readonly path: string; readonly sizeSectors: number }, data: Uint8Array) =>
  writeAreasTo(ctx, device.path, areasOn(device.sizeSectors, data));

/** The Medley block on a disk (any valid-looking copy), whoever's it is. */
async function silOn(ctx: WriteContext, device: BlockDevice): Promise<Sil | undefined> {
  const dev = await ctx.openWritable(device.path);
  if (!dev) return undefined;
  for (let i = 0; i < SIL_AREAS; i++) {
    const data = await dev.read((device.sizeSectors - 1 - 512 * i) * 512, SIL_BLOCK_SIZE);
    if (data instanceof Uint8Array) {
      const s = silLayout.decodeFrom(data);
      if (isSilMagic(s)) return s;
    }
  }
  return undefined;
}

/** The generation every member writes next: one past the newest a member has. */
function nextGeneration(blocks: readonly Sil[]): number {
  let newest = blocks[0]!.incarnation_no;
  for (const b of blocks) if (newerIncarnation(b.incarnation_no, newest)) newest = b.incarnation_no;
  return (newest + 1) >>> 0;
}

/** How many members the array has and where each sits: disk_number for every redundant level. */
function width(s: Sil): number | undefined {
  switch (s.type) {
    case SIL_T_RAID1:
      return s.drives_per_mirrored_set;
    case SIL_T_RAID5:
      return s.drives_per_striped_set;
    case SIL_T_RAID10:
      return s.drives_per_striped_set * 2;
    default:
      return undefined;
  }
}

/**
 * -S [SET] -M DEV: a spare block on DEV (type 3, a random creation time, generation 1), as FreeBSD's
 * sii_meta_write_spare. 0x128 is written current (1) where FreeBSD leaves 0: neither it nor dmraid reads a
 * spare's status, and our reader would otherwise show the spare broken.
 */
export async function makeSpare(device: BlockDevice, set: RaidSet | undefined, ctx: WriteContext, stamp: Uint8Array = randomBytes(6)): Promise<boolean> {
  const found = await silOn(ctx, device);
  if (found) {
    ctx.error(`${device.path} already carries sil metadata; erase it first (dmraid -r -E -f sil ${device.path})`);
    return false;
  }
  if (device.sizeSectors <= SPARE_RESERVED) {
    ctx.error(`${device.path} is too small for a spare (${device.sizeSectors} sectors)`);
    return false;
  }
  const s = silLayout.zero();
  // Random, as FreeBSD's: the name comes from it, and a spare made in a set's creation second would take
  // that set's name (dmraid then drops the set).
  const [year, month, day, hour, minutes, seconds] = stamp;
  Object.assign(s, { year, month, day, hour, minutes, seconds });
  s.magic = 0x2f000000;
  s.array_sectors_low = (device.sizeSectors - SPARE_RESERVED) >>> 0;
  s.array_sectors_high = Math.floor((device.sizeSectors - SPARE_RESERVED) / 2 ** 32);
  s.thisdisk_sectors = device.sizeSectors;
  s.vendor_id = 0x1095;
  s.major_ver = 2;
  s.type = SIL_T_SPARE;
  s.mirrored_set_number = -1;
  s.incarnation_no = 1;
  s.member_status = SIL_DISK_CURRENT;
  for (const l of ['', '', '     Create a SPARE DISK with SIL metadata format     ', '', `DISK:     ${device.path} `, '', '']) ctx.log('print', l);
  if (set) ctx.log('print', `A Medley spare belongs to no set: it serves whichever set degrades, "${set.name}" among them.`);
  if (!(await confirm(ctx, 'About to create a spare disk with the above settings. Continue ? [y/n] :'))) return true;
  return put(ctx, device, sealSil(s));
}

/** -x SET: every member's four copies zeroed, as FreeBSD's sii_meta_erase on a deleted array. */
export async function removeSet(set: RaidSet, ctx: WriteContext): Promise<boolean> {
  const members = allDevices(set);
  if (members.length === 0) {
    ctx.error(`failed to find a raid device in RS ${set.name}`);
    return false;
  }
  return eraseMembers(members, ctx);
}

/**
 * -R SET DEV: DEV takes the one missing member's place: a copy of a member's block with the missing
 * disk_number (and, for RAID10, its stripe set), DEV's size, 0x128 rebuilding and the rebuild at sector 0;
 * every member present gets the next generation. DEV may be a blank disk or a Medley spare; a member of any
 * set is refused, as a set that has no redundancy or misses more than one member.
 */
export async function rebuildSet(set: RaidSet, to: BlockDevice | undefined, ctx: WriteContext): Promise<boolean> {
  const target = rebuildTarget(set, to, ctx, (rd) => width(blockOf(rd)) !== undefined);
  if (!target) return false;
  const { members, device } = target;
  const blocks = members.map(blockOf);
  const first = blocks[0]!;
  const n = width(first)!;
  const theirs = await silOn(ctx, device);
  if (theirs && theirs.type !== SIL_T_SPARE) {
    ctx.error(`${device.path} is a member of another sil set; erase it first (dmraid -r -E -f sil ${device.path})`);
    return false;
  }
  const present = new Set(blocks.map((b) => b.disk_number));
  const missing = Array.from({ length: n }, (_, i) => i).filter((i) => !present.has(i));
  if (missing.length !== 1) {
    ctx.error(`cannot rebuild RAID set "${set.name}": ${missing.length === 0 ? 'no member is missing' : `${missing.length} members are missing, one can be rebuilt at a time`}`);
    return false;
  }
  const slot = missing[0]!;
  const generation = nextGeneration(blocks);
  const half = first.type === SIL_T_RAID10 ? Math.floor(slot / first.drives_per_striped_set) : undefined;
  const template = blocks.find((b) => half === undefined || b.striped_set_number === half) ?? first;
  const fresh: Sil = { ...template, disk_number: slot, thisdisk_sectors: device.sizeSectors, incarnation_no: generation };
  if (half !== undefined) Object.assign(fresh, { striped_set_number: half, mirrored_set_number: half });
  Object.assign(fresh, { member_status: SIL_DISK_REBUILD, rebuild_ptr_low: 0, rebuild_ptr_high: 0 });
  ctx.log('print', `sil: drive to rebuild: ${device.path} (member ${slot} of RAID set "${set.name}")\n`);
  for (const [i, rd] of members.entries()) {
    if (!(await put(ctx, rd.device, sealSil({ ...blocks[i]!, incarnation_no: generation })))) return false;
  }
  return put(ctx, device, sealSil(fresh));
}

/** The rebuild's end (after the engine wrote DEV's data): DEV current, every member the next generation. */
export async function rebuiltSet(set: RaidSet, device: BlockDevice, ctx: WriteContext): Promise<boolean> {
  const members = allDevices(set);
  const target = members.find((rd) => rd.device.path === device.path);
  if (!target || blockOf(target).member_status !== SIL_DISK_REBUILD) {
    ctx.error(`${device.path} is not rebuilding in RAID set "${set.name}"`);
    return false;
  }
  const blocks = members.map(blockOf);
  const generation = nextGeneration(blocks);
  for (const [i, rd] of members.entries()) {
    const b: Sil = { ...blocks[i]!, incarnation_no: generation };
    if (rd === target) Object.assign(b, { member_status: SIL_DISK_CURRENT, rebuild_ptr_low: 0, rebuild_ptr_high: 0 });
    if (!(await put(ctx, rd.device, sealSil(b)))) return false;
  }
  return true;
}

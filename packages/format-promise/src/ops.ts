/**
 * Delete (-x), spare (-S) and rebuild (-R, then `rebuilt`) for Promise FastTrak, as FreeBSD's md_promise.c
 * writes them (g_raid_md_write_promise, promise_meta_write_spare, promise_meta_erase).
 *
 * - Delete: a disk holds one block per array it belongs to, one after the other (slots PDC_META_OFFSET
 *   sectors apart, the first found by the reader's search); the disk's remaining arrays' blocks are written
 *   from the first slot on and the slots behind them zeroed. Every other byte stays.
 * - Spare: a block of its own in no array (total_disks 0), its flags SPARE|ONLINE|VALID, disk number 0xff,
 *   a random disk id, the disk less 131072 sectors, no rebuild position. FreeBSD takes it for whichever
 *   array degrades: a Promise spare belongs to no array.
 * - Rebuild: the new disk takes the missing member's place (its position, channel, device and disk id from the
 *   member table, the array's fields from a member's block); in every block of the array the member's table
 *   entry is VALID|ASSIGNED|ONLINE|REDIR (FreeBSD reads REDIR without DOWN as "being rebuilt"), the array
 *   DEGRADED, the generation (raid.unknown_4) one up; the new disk's own rebuild position (raid.unknown_3,
 *   FreeBSD's disk_rebuild) 0.
 * - Rebuilt, after the CLI's engine wrote the data: the entry VALID|ASSIGNED|ONLINE, DEGRADED cleared, the
 *   position all ones again, the generation one up. The new disk's block is then the lost member's but for the
 *   generation. FreeBSD's write-only imitation of an AMD BIOS (magic_3, rebuild_lba64: "Rebuild?", values it
 *   calls invented) is not written: neither it nor dmraid reads them.
 */
import { allDevices, rebuildTarget, writeAreasTo, type BlockDevice, type RaidDevice, type RaidSet, type WriteContext } from '@dmraid/core';
import { randomInt } from 'node:crypto';
import {
  PDC_BLOCK_SIZE,
  PDC_END_OFFSETS,
  PDC_F_ASSIGNED,
  PDC_F_DOWN,
  PDC_F_ONLINE,
  PDC_F_REDIR,
  PDC_F_SPARE,
  PDC_F_VALID,
  PDC_MAGIC,
  PDC_MAXDISKS,
  PDC_S_DEGRADED,
  PDC_T_RAID1,
  PDC_T_RAID10,
  hasPdcSignature,
  pdcChecksum,
  pdcChecksumOk,
  pdcLayout,
  type Pdc,
} from './layout.js';
import { slotOf } from './failed.js';

/** What ops needs of handler.ts's PdcMeta (not imported: handler.ts imports this file). */
interface PdcBlocks {
  readonly index: number;
  readonly disk?: { readonly blocks: readonly { readonly offsetSectors: number; readonly data: Uint8Array }[] };
}

const meta = (rd: RaidDevice) => rd.meta as PdcBlocks;

/** -x SET: on every member disk, the set's block removed and the disk's other arrays' blocks kept. */
export async function removeSet(set: RaidSet, ctx: WriteContext): Promise<boolean> {
  const rds = allDevices(set);
  if (rds.length === 0) {
    ctx.error(`failed to find a raid device in RS ${set.name}`);
    return false;
  }
  for (const rd of rds) {
    const disk = meta((rd.volumeOf as RaidDevice | undefined) ?? rd).disk;
    if (!disk) {
      ctx.error(`the blocks of ${rd.device.path} were not read`);
      return false;
    }
    const kept = disk.blocks.filter((_, k) => k !== meta(rd).index);
    const areas = disk.blocks.map((slot, k) => ({ offsetSectors: slot.offsetSectors, size: slot.data.length, data: kept[k]?.data ?? new Uint8Array(slot.data.length) }));
    if (!(await writeAreasTo(ctx, rd.device.path, areas))) return false;
  }
  return true;
}

/** FreeBSD's spare: the disk less this many sectors (promise_meta_write_spare). */
const SPARE_RESERVED = 131072;
/** Where FreeBSD writes a disk's first block: 63 sectors before the end (the reader's first end offset). */
const FIRST_BLOCK = PDC_END_OFFSETS[0]!;
const NO_REBUILD = 0xffffffff;
const MEMBER = PDC_F_VALID | PDC_F_ASSIGNED | PDC_F_ONLINE;

const confirm = (ctx: WriteContext, question: string) => ctx.confirm?.(question) ?? Promise.resolve(true);

/** A FreeBSD spare block: in no array, its own flags SPARE. */
export const isSpareBlock = (pdc: Pdc) => pdc.raid.total_disks === 0 && (pdc.raid.unknown_0 & PDC_F_SPARE) !== 0;

/** The member being rebuilt: its own entry in its block's member table REDIR without DOWN. */
export function rebuildingReason(pdc: Pdc): string | undefined {
  const slot = slotOf(pdc, pdc.raid.magic_0);
  const flags = slot < 0 ? 0 : pdc.raid.disk[slot]!.unknown_0 & 0xff;
  if (!(flags & PDC_F_REDIR) || flags & PDC_F_DOWN) return undefined;
  return `rebuilding (member table flags REDIR, from sector ${pdc.raid.unknown_3})`;
}

function seal(pdc: Pdc): Uint8Array {
  const bytes = pdcLayout.encodeToBytes(pdc);
  pdc.checksum = pdcChecksum(bytes);
  return pdcLayout.encodeToBytes(pdc);
}

const blockOf = (rd: RaidDevice) => pdcLayout.decodeFrom(rd.areas[0]!.data);

/** The first Promise block on a device, whoever's it is (the reader's end offsets, checksum good). */
async function pdcOn(ctx: WriteContext, device: BlockDevice): Promise<Pdc | undefined> {
  const dev = await ctx.openWritable(device.path);
  if (!dev) return undefined;
  for (const s of PDC_END_OFFSETS) {
    if (device.sizeSectors < s) continue;
    const data = await dev.read((device.sizeSectors - s) * 512, PDC_BLOCK_SIZE);
    if (data instanceof Uint8Array && hasPdcSignature(data) && pdcChecksumOk(data)) return pdcLayout.decodeFrom(data);
  }
  return undefined;
}

const put = (ctx: WriteContext, device: { readonly path: string }, offsetSectors: number, data: Uint8Array) =>
  writeAreasTo(ctx, device.path, [{ offsetSectors, size: PDC_BLOCK_SIZE, data }]);

/** -S [SET] -M DEV: FreeBSD's spare block on DEV, 63 sectors before its end. */
export async function makeSpare(device: BlockDevice, set: RaidSet | undefined, ctx: WriteContext, id: readonly [number, number] = [randomInt(2 ** 32), randomInt(2 ** 32)]): Promise<boolean> {
  if (await pdcOn(ctx, device)) {
    ctx.error(`${device.path} already carries pdc metadata; erase it first (dmraid -r -E -f pdc ${device.path})`);
    return false;
  }
  if (device.sizeSectors <= SPARE_RESERVED) {
    ctx.error(`${device.path} is too small for a spare (${device.sizeSectors} sectors, more than ${SPARE_RESERVED} needed)`);
    return false;
  }
  const p = pdcLayout.zero();
  p.promise_id = new Uint8Array(Buffer.from(PDC_MAGIC, 'latin1'));
  p.unknown_0 = 0x00020000;
  p.raid.flags = 0x80;
  p.raid.unknown_0 = PDC_F_SPARE | PDC_F_ONLINE | PDC_F_VALID;
  p.raid.disk_number = 0xff;
  // The disk id, low half then high half (FreeBSD's arc4rand of disk.id).
  [p.raid.magic_0, p.raid.unknown_1] = id;
  p.raid.disk_secs = device.sizeSectors - SPARE_RESERVED;
  p.raid.unknown_3 = NO_REBUILD;
  p.disk_rebuild_high = NO_REBUILD;
  for (const l of ['', '', '     Create a SPARE DISK with PDC metadata format     ', '', `DISK:     ${device.path} `, '', '']) ctx.log('print', l);
  if (set) ctx.log('print', `A Promise spare belongs to no set: it serves whichever set degrades, "${set.name}" among them.`);
  if (!(await confirm(ctx, 'About to create a spare disk with the above settings. Continue ? [y/n] :'))) return true;
  return put(ctx, device, device.sizeSectors - FIRST_BLOCK, seal(p));
}

/** The member table entry's flags of `slot` set to `flags`, its position byte kept. */
function setEntry(pdc: Pdc, slot: number, flags: number): void {
  const e = pdc.raid.disk[slot]!;
  e.unknown_0 = (e.unknown_0 & 0xff00) | flags;
}

const isMirror = (pdc: Pdc) => pdc.raid.type === PDC_T_RAID1 || pdc.raid.type === PDC_T_RAID10;

/**
 * -R SET DEV: DEV takes the one missing member's place, recorded rebuilding in every block of the array.
 * DEV may be blank or a Promise spare; a member of any array is refused, as an array without redundancy or
 * one that misses more than one member.
 */
export async function rebuildSet(set: RaidSet, to: BlockDevice | undefined, ctx: WriteContext): Promise<boolean> {
  const target = rebuildTarget(set, to, ctx, (rd) => isMirror(blockOf(rd)));
  if (!target) return false;
  const { members, device } = target;
  const blocks = members.map(blockOf);
  const first = blocks[0]!;
  const n = Math.min(first.raid.total_disks, PDC_MAXDISKS);
  const present = new Set(blocks.map((b) => b.raid.disk_number));
  const missing = Array.from({ length: n }, (_, i) => i).filter((i) => !present.has(i));
  if (missing.length !== 1) {
    ctx.error(`cannot rebuild RAID set "${set.name}": ${missing.length === 0 ? 'no member is missing' : `${missing.length} members are missing, one can be rebuilt at a time`}`);
    return false;
  }
  const theirs = await pdcOn(ctx, device);
  if (theirs && !isSpareBlock(theirs)) {
    ctx.error(`${device.path} is a member of another pdc set; erase it first (dmraid -r -E -f pdc ${device.path})`);
    return false;
  }
  const pos = missing[0]!;
  const slot = first.raid.disk.findIndex((e, i) => i < n && e.disk_number === pos);
  const entry = first.raid.disk[slot < 0 ? pos : slot]!;
  const generation = (Math.max(...blocks.map((b) => b.raid.unknown_4)) + 1) & 0xffff;
  const update = (b: Pdc) => {
    setEntry(b, slot < 0 ? pos : slot, MEMBER | PDC_F_REDIR);
    b.raid.status |= PDC_S_DEGRADED;
    b.raid.unknown_4 = generation;
  };
  const fresh = pdcLayout.decodeFrom(pdcLayout.encodeToBytes(first));
  Object.assign(fresh.raid, { disk_number: pos, channel: entry.channel, device: entry.device, magic_0: entry.magic_0, unknown_3: 0 });
  // The block's own copy of the disk id (dmraid's magic_0 at 0x1c) where the member's block keeps one.
  if (first.magic_0 === first.raid.magic_0) fresh.magic_0 = entry.magic_0;
  // A table that keeps the disk id's high half where dmraid reads a position (FreeBSD's) gives it back too.
  if (slot < 0) fresh.raid.unknown_1 = entry.disk_number;
  fresh.raid.unknown_0 = (fresh.raid.unknown_0 & ~(PDC_F_DOWN | PDC_F_SPARE)) | MEMBER | PDC_F_REDIR;
  update(fresh);
  ctx.log('print', `pdc: drive to rebuild: ${device.path} (member ${pos} of RAID set "${set.name}")\n`);
  for (const [i, rd] of members.entries()) {
    update(blocks[i]!);
    if (!(await put(ctx, rd.device, rd.areas[0]!.offsetSectors, seal(blocks[i]!)))) return false;
  }
  return put(ctx, device, device.sizeSectors - FIRST_BLOCK, seal(fresh));
}

/** The rebuild's end (after the engine wrote DEV's data): DEV's entry plain ONLINE, the array whole. */
export async function rebuiltSet(set: RaidSet, device: BlockDevice, ctx: WriteContext): Promise<boolean> {
  const members = allDevices(set);
  const target = members.find((rd) => rd.device.path === device.path);
  const was = target && blockOf(target);
  if (!target || !was || rebuildingReason(was) === undefined) {
    ctx.error(`${device.path} is not rebuilding in RAID set "${set.name}"`);
    return false;
  }
  const blocks = members.map(blockOf);
  const generation = (Math.max(...blocks.map((b) => b.raid.unknown_4)) + 1) & 0xffff;
  for (const [i, rd] of members.entries()) {
    const b = blocks[i]!;
    const slot = slotOf(b, was.raid.magic_0);
    if (slot >= 0) setEntry(b, slot, (b.raid.disk[slot]!.unknown_0 & 0xff & ~(PDC_F_REDIR | PDC_F_DOWN)) | MEMBER);
    b.raid.status &= ~PDC_S_DEGRADED;
    b.raid.unknown_4 = generation;
    if (rd === target) {
      b.raid.unknown_0 &= ~PDC_F_REDIR;
      b.raid.unknown_3 = NO_REBUILD;
    }
    if (!(await put(ctx, rd.device, rd.areas[0]!.offsetSectors, seal(b)))) return false;
  }
  return true;
}

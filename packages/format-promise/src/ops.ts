/**
 * Delete (-x) for Promise FastTrak. A disk holds one block per array it belongs to, one after the other
 * (slots PDC_META_OFFSET sectors apart, the first found by the reader's search); FreeBSD's md_promise.c
 * (g_raid_md_write_promise, promise_meta_erase) writes a disk's remaining arrays' blocks from the first slot on
 * and zeroes the slots behind them. The same here: the deleted array's block goes, the others move up, the
 * freed slot is zeroed, every other byte stays.
 */
import { allDevices, writeAreas, type RaidDevice, type RaidSet, type WriteContext } from '@dmraid/core';

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
    const dev = await ctx.openWritable(rd.device.path);
    if (!dev || !(await writeAreas(dev, areas, ctx, false))) return false;
  }
  return true;
}

/**
 * A record written onto the members a failed disk leaves (a handler's `failed`): every survivor's metadata is
 * read again first and judged by the format, and only when every one can take the record is anything written.
 * The failed disk itself is never opened.
 */
import { isIoError, type BlockDevice, type IoError, type WritableDevice } from '../device/device.js';
import { allDevices, type MetadataArea, type RaidDevice, type RaidSet } from '../model/raid.js';
import type { WriteContext } from './context.js';
import { writeAreas } from './write.js';

/** What one survivor gets: the areas to write, nothing (it has the record already), or a refusal in words. */
export type SurvivorPlan = readonly MetadataArea[] | 'recorded' | { readonly refused: string };

export interface SurvivorRecord {
  /** The survivor's metadata as the device holds it now; undefined when no valid copy is there any more. */
  reread(device: WritableDevice, rd: RaidDevice): Promise<Uint8Array | IoError | undefined>;
  /** What to write onto this survivor, given what it holds now and what it held when the set was read. */
  plan(now: Uint8Array | undefined, rd: RaidDevice): SurvivorPlan;
}

/** The refusal of a survivor whose metadata is not what the set was read with. */
export const changedSinceRead = (set: RaidSet, rd: RaidDevice) => ({ refused: `the metadata of RAID set "${set.name}" on ${rd.device.path} changed since it was read` });

/** Write `record` onto every member of `set` but `device`; false after an error (then nothing was written). */
export async function recordOnSurvivors(set: RaidSet, device: BlockDevice, ctx: WriteContext, record: SurvivorRecord): Promise<boolean> {
  const rds = allDevices(set);
  if (!rds.some((rd) => rd.device.path === device.path)) {
    ctx.error(`${device.path} is no member of RAID set "${set.name}"`);
    return false;
  }
  const writes: { dev: WritableDevice; areas: readonly MetadataArea[] }[] = [];
  for (const rd of rds) {
    if (rd.device.path === device.path) continue;
    const dev = await ctx.openWritable(rd.device.path);
    if (!dev) return false;
    const now = await record.reread(dev, rd);
    if (isIoError(now)) {
      ctx.error(`reading ${rd.device.path}: ${now.message}`);
      return false;
    }
    const plan = record.plan(now, rd);
    if (plan === 'recorded') continue;
    if ('refused' in plan) {
      ctx.error(`${plan.refused}; nothing written`);
      return false;
    }
    writes.push({ dev, areas: plan });
  }
  for (const w of writes) if (!(await writeAreas(w.dev, w.areas, ctx, false))) return false;
  return true;
}

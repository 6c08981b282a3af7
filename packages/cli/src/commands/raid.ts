/** `-r [DEVICE...]`: the RAID devices, one a disk, not grouped. */
import { markStale, raidDeviceToJson, type RaidDevice } from '@dmraid/core';
import type { CommandContext } from '../context.js';
import { noRaidDisks, withDevices } from '../devices.js';
import { raidDeviceLine } from '../display.js';

export default async function command(ctx: CommandContext): Promise<number> {
  return withDevices(ctx, { operands: 'also' }, async (devices) => {
    const { raidDevices, disks, superseded } = await ctx.probe(devices, ctx.o.operands);
    if (disks.length === 0) return noRaidDisks(ctx);
    return listRaidDevices(ctx, raidDevices, disks, superseded);
  });
}

/**
 * The listing, also after -D's dump: each disk's RAID device, then those of the formats it superseded on that
 * disk (dmraid lists only the first; `-cc`, a list of paths, lists each disk once).
 */
export function listRaidDevices(ctx: CommandContext, raidDevices: RaidDevice[], disks: readonly RaidDevice[], superseded: readonly RaidDevice[] = []): number {
  const { o, out } = ctx;
  // Grouping marks stale members for the other modes; -r lists disks without grouping them.
  markStale(raidDevices, ctx.handlers, out.log);
  out.log('info', `RAID device${disks.length === 1 ? '' : 's'} discovered:\n`);
  const listed = o.columns === 1 && !o.json ? disks : withSuperseded(disks, superseded);
  if (o.json) out.emitJson({ raidDevices: listed.map(raidDeviceToJson) });
  else for (const rd of listed) out.line(raidDeviceLine(rd, o));
  return 0;
}

/** Each superseded RAID device right after the last one listed on its disk. */
function withSuperseded(disks: readonly RaidDevice[], superseded: readonly RaidDevice[]): RaidDevice[] {
  const out: RaidDevice[] = [];
  disks.forEach((rd, i) => {
    out.push(rd);
    if (disks[i + 1]?.device === rd.device) return;
    out.push(...superseded.filter((s) => s.device === rd.device));
  });
  return out;
}

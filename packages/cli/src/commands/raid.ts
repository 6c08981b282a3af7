/** `-r [DEVICE...]`: the RAID devices, one a disk, not grouped. */
import { markStale, raidDeviceToJson, type RaidDevice } from '@dmraid/core';
import type { CommandContext } from '../context.js';
import { noRaidDisks, withDevices } from '../devices.js';
import { raidDeviceLine } from '../display.js';

export default async function command(ctx: CommandContext): Promise<number> {
  return withDevices(ctx, { operands: 'also' }, async (devices) => {
    const { raidDevices, disks } = await ctx.probe(devices, ctx.o.operands);
    if (disks.length === 0) return noRaidDisks(ctx);
    return listRaidDevices(ctx, raidDevices, disks);
  });
}

/** The listing, also after -D's dump. */
export function listRaidDevices(ctx: CommandContext, raidDevices: RaidDevice[], disks: readonly RaidDevice[]): number {
  const { o, out } = ctx;
  // Grouping marks stale members for the other modes; -r lists disks without grouping them.
  markStale(raidDevices, ctx.handlers, out.log);
  out.log('info', `RAID device${disks.length === 1 ? '' : 's'} discovered:\n`);
  if (o.json) out.emitJson({ raidDevices: disks.map(raidDeviceToJson) });
  else for (const rd of disks) out.line(raidDeviceLine(rd, o));
  return 0;
}

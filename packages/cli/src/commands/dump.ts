/** `-r -D [DEVICE...]`: each RAID disk's metadata into dmraid.<format>/ (as files), then -r's listing. */
import type { CommandContext } from '../context.js';
import { noRaidDisks, withDevices } from '../devices.js';
import { dumpMetadata } from '../metadata-io.js';
import { listRaidDevices } from './raid.js';

export default async function command(ctx: CommandContext): Promise<number> {
  return withDevices(ctx, { operands: 'also' }, async (devices) => {
    const { raidDevices, disks, superseded } = await ctx.probe(devices, ctx.o.operands);
    if (disks.length === 0) return noRaidDisks(ctx);
    const handlers = new Map(ctx.handlers.map((h) => [h.name, h]));
    if (!(await dumpMetadata(disks, handlers, ctx.io.cwd, ctx.out.log))) return 1;
    return listRaidDevices(ctx, raidDevices, disks, superseded);
  });
}

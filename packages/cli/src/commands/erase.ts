/** `-r -E [DEVICE...]`: erase each RAID disk's metadata, after dumping it (the backup) and asking. */
import type { CommandContext } from '../context.js';
import { noRaidDisks, withDevices } from '../devices.js';
import { eraseMetadata } from '../metadata-io.js';

export default async function command(ctx: CommandContext): Promise<number> {
  return withDevices(ctx, { writable: true, operands: 'also' }, async (devices) => {
    const { disks } = await ctx.probe(devices, ctx.o.operands);
    if (disks.length === 0) return noRaidDisks(ctx);
    const handlers = new Map(ctx.handlers.map((h) => [h.name, h]));
    return eraseMetadata(disks, handlers, ctx.io, ctx.out.log, ctx.o.yes);
  });
}

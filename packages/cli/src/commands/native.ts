/** `-n [DEVICE...]`: each RAID disk's metadata, field by field, as its handler logs it. */
import type { CommandContext } from '../context.js';
import { noRaidDisks, withDevices } from '../devices.js';

export default async function command(ctx: CommandContext): Promise<number> {
  return withDevices(ctx, { operands: 'also' }, async (devices) => {
    const { disks } = await ctx.probe(devices, ctx.o.operands);
    if (disks.length === 0) return noRaidDisks(ctx);
    const handlers = new Map(ctx.handlers.map((h) => [h.name, h]));
    for (const rd of disks) {
      for (const l of handlers.get(rd.format)!.log(rd)) ctx.out.line(l);
      ctx.out.line('');
    }
    return 0;
  });
}

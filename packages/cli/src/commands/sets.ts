/** `-s [SET]`: the RAID sets, grouped and checked, or the one named. */
import { raidSetToJson, setFormat } from '@dmraid/core';
import type { CommandContext } from '../context.js';
import { noRaidDisks, withDevices } from '../devices.js';
import { formatError, setLines } from '../display.js';

export default async function command(ctx: CommandContext): Promise<number> {
  const { o, out } = ctx;
  return withDevices(ctx, {}, async (devices) => {
    const name = o.operands[0];
    const { disks, sets } = await ctx.discover(devices, { name });
    if (disks.length === 0) return noRaidDisks(ctx);
    if (sets.length === 0) {
      if (name === undefined) out.log('error', 'no RAID set found');
      else if (o.operands.length > 1 && !o.operands[1]!.startsWith('-')) out.log('error', 'only one argument allowed for this option');
      else out.log('error', 'either the required RAID set not found or more options required');
      if (o.json) out.emitJson({ sets: [] });
      else out.log('print', formatError(o, 'sets'));
      return 1;
    }
    if (o.json) out.emitJson({ sets: sets.map((s) => raidSetToJson(s, setFormat(s) ?? null)) });
    else for (const set of sets) for (const l of setLines(set, o)) out.line(l);
    return 0;
  });
}

/** `-x [SET]`: the set's metadata deleted after asking, through the handler's remove. */
import { setFormat, type BlockDevice } from '@dmraid/core';
import type { DeviceClaims } from '../claim.js';
import { confirm, type CommandContext } from '../context.js';
import { byName, claim, memberPaths, perform, Refused, writeCommand } from './write.js';

export default async function command(ctx: CommandContext): Promise<number> {
  return writeCommand(ctx, remove);
}

async function remove(ctx: CommandContext, devices: BlockDevice[], claims: DeviceClaims): Promise<number> {
  const name = ctx.o.operands[0];
  const { sets } = await ctx.discover(devices, { name });
  if (sets.length === 0) throw new Refused('Cannot find a RAID set to delete');
  await claim(claims, sets.flatMap(memberPaths));
  let status = 0;
  for (const set of sets) {
    const handler = byName(ctx, setFormat(set));
    if (!handler) throw new Refused('Failed to locate the raid device');
    const lines = ['', ...(set.type === 'group' && set.sets.length > 1
      ? [`About to delete the raid super-set "${set.name}" with the following RAID sets`, ...set.sets.map((s) => s.name)]
      : [`About to delete RAID set ${set.type === 'group' ? set.sets[0]?.name ?? set.name : set.name}`]),
      '', 'WARNING: The metadata stored on the raidset(s) will not be accessible after deletion'];
    for (const l of lines) ctx.out.line(l);
    if (!ctx.o.yes && !(await confirm(ctx.io, 'Do you want to continue ? [y/n] :'))) return 0;
    const removeFn = handler.remove;
    if (!removeFn) throw new Refused(`Raid set deletion is not supported in "${handler.name}" format`);
    status ||= await perform(ctx, handler, devices, claims, true, (w) => removeFn.call(handler, set, w));
  }
  return status;
}

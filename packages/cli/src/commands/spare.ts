/** `-S [SET] -M DEVICE`: a hot spare, for the set or the format, through the handler's spare. */
import { findSet, setFormat, type BlockDevice, type FormatHandler, type RaidSet } from '@dmraid/core';
import type { DeviceClaims } from '../claim.js';
import type { CommandContext } from '../context.js';
import { byName, claim, formatHandler, memberPaths, perform, Refused, writeCommand } from './write.js';

export default async function command(ctx: CommandContext): Promise<number> {
  return writeCommand(ctx, spare);
}

async function spare(ctx: CommandContext, devices: BlockDevice[], claims: DeviceClaims): Promise<number> {
  const setName = ctx.o.spareSet ?? ctx.o.operands.find((a) => !a.startsWith('-'));
  const path = ctx.o.media;
  let set: RaidSet | undefined;
  let handler: FormatHandler | undefined;
  if (setName !== undefined) {
    const { sets } = await ctx.discover(devices, { name: setName });
    set = findSet(sets, setName, true);
    if (!set) throw new Refused(`no RAID set found with name "${setName}"`);
    handler = byName(ctx, setFormat(set));
  }
  handler ??= formatHandler(ctx);
  if (!path) throw new Refused('no hard drives specified');
  const device = devices.find((d) => d.path === path);
  if (!device) throw new Refused(`failed to find disk ${path}`);
  const spareFn = handler.spare;
  if (!spareFn) throw new Refused(`hot-spare is not supported in "${handler.name}" format`);
  await claim(claims, [device.path, ...(set ? memberPaths(set) : [])]);
  return perform(ctx, handler, devices, claims, false, (w) => spareFn.call(handler, device, set, w));
}

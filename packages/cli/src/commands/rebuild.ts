/** `-R SET [DEVICE]`: the set's rebuild written (onto DEVICE), through the handler's rebuild. */
import { findSet, setFormat, type BlockDevice, type RaidDevice, type RaidSet } from '@dmraid/core';
import type { DeviceClaims } from '../claim.js';
import type { CommandContext } from '../context.js';
import { byName, claim, memberPaths, perform, Refused, writeCommand } from './write.js';

export default async function command(ctx: CommandContext): Promise<number> {
  return writeCommand(ctx, rebuild);
}

async function rebuild(ctx: CommandContext, devices: BlockDevice[], claims: DeviceClaims): Promise<number> {
  const setName = ctx.o.rebuildSet!;
  const path = ctx.o.operands[0] ?? ctx.o.media;
  const { sets, raidDevices } = await ctx.discover(devices, { name: setName });
  const set = findSet(sets, setName, true);
  if (!set) throw new Refused(`no RAID set found with name "${setName}"`);
  const handler = byName(ctx, setFormat(set));
  const rebuildFn = handler?.rebuild;
  if (!handler || !rebuildFn) throw new Refused(`rebuild is not supported in "${handler?.name ?? setFormat(set)}" format`);
  let device: BlockDevice | undefined;
  if (path !== undefined) {
    device = devices.find((d) => d.path === path);
    if (!device) throw new Refused(`failed to find disk ${path}`);
    // The reference writes the metadata onto any disk, leaving a member whose data runs past its end.
    const needs = memberNeeds(set, raidDevices, device.path);
    if (needs !== undefined && device.sizeSectors < needs) {
      throw new Refused(`device "${device.path}" is too small to rebuild RAID set "${set.name}" onto: it has ${device.sizeSectors} sectors, a member needs ${needs} (its data and metadata)`);
    }
  }
  await claim(claims, [...memberPaths(set), ...(device ? [device.path] : [])]);
  return perform(ctx, handler, devices, claims, false, (w) => rebuildFn.call(handler, set, device, w));
}

/**
 * The sectors a member of `set` takes on its disk, measured on the members present (undefined when there is
 * none): the end of the data of every volume the disk holds (a rebuild rewrites them all), and the metadata
 * the format keeps behind it up to the disk's end. A group's per-disk device spans the disk: not data.
 */
function memberNeeds(set: RaidSet, raidDevices: readonly RaidDevice[], target: string): number | undefined {
  const format = setFormat(set);
  let needs: number | undefined;
  for (const path of new Set(memberPaths(set))) {
    if (path === target) continue;
    const onDisk = raidDevices.filter((rd) => rd.device.path === path && rd.format === format);
    const data = onDisk.filter((rd) => rd.type !== 'group' && rd.type !== 'spare');
    if (data.length === 0) continue;
    const dataEnd = Math.max(...data.map((rd) => rd.offset + rd.sectors));
    const behind = onDisk.flatMap((rd) => rd.areas.map((a) => a.offsetSectors)).filter((at) => at >= dataEnd);
    const metadata = behind.length > 0 ? onDisk[0]!.device.sizeSectors - Math.min(...behind) : 0;
    needs = Math.max(needs ?? 0, dataEnd + metadata);
  }
  return needs;
}

/**
 * The machinery every handler's `create` shares: dmraid's summary and prompt (isw's display_new_volume, which
 * the other formats copy), the refusal of a disk that already belongs to a set of the format, and writing
 * each member's new metadata. A handler supplies the facts (the names, the sizes, the bytes); these print and
 * write them all alike.
 */
import { isIoError, type BlockDevice } from '../device/device.js';
import type { RaidDevice } from '../model/raid.js';
import type { WriteContext } from './context.js';

export interface CreateSummary {
  /** The handler's name (`hpt37x`); the header shows it in capitals, as dmraid's isw does. */
  readonly format: string;
  /** The whole `RAID name:` value, notes included. */
  readonly name: string;
  /** The `RAID type:` value. */
  readonly type: string;
  readonly sizeSectors: number;
  /** dmraid's isw shows whole GiB (its GB_DIV); the formats it cannot create show whole MiB. */
  readonly sizeUnit?: 'M' | 'G';
  /** The stripe size in sectors; undefined (a mirror, a concatenation) prints no `RAID strip:` line. */
  readonly stripSectors?: number;
  /** The members in the order given, shown by path. */
  readonly disks: readonly { readonly path: string }[];
}

/** The block printed before the create prompt, one string a line. */
export function createSummaryLines(s: CreateSummary): string[] {
  const size = s.sizeUnit === 'G' ? `${Math.floor(s.sizeSectors / 2 ** 21)}G` : `${Math.floor(s.sizeSectors / 2048)}M`;
  return [
    '',
    '',
    `     Create a RAID set with ${s.format.toUpperCase()} metadata format     `,
    '',
    `RAID name:      ${s.name}`,
    `RAID type:      ${s.type}`,
    `RAID size:      ${size} (${s.sizeSectors} blocks)`,
    ...(s.stripSectors === undefined ? [] : [`RAID strip:     ${s.stripSectors / 2}k (${s.stripSectors} blocks)`]),
    `DISKS:     ${s.disks.map((d) => `${d.path}, `).join('')}`,
    '',
    '',
  ];
}

/** dmraid's prompt before any write; without a prompt (library use) the answer is yes. */
export function confirmWrite(ctx: WriteContext): Promise<boolean> {
  return ctx.confirm?.('About to create a RAID set with the above settings. Continue ? [y/n] :') ?? Promise.resolve(true);
}

/** Print the summary and ask; true to go on and write. */
export async function confirmCreate(ctx: WriteContext, summary: CreateSummary): Promise<boolean> {
  for (const line of createSummaryLines(summary)) ctx.log('print', line);
  return confirmWrite(ctx);
}

/**
 * Refuse disks that already carry a set of this format: the new metadata would replace the old set's
 * without its other members knowing. False after naming the first such disk.
 */
export async function refuseMembers(
  ctx: WriteContext,
  format: string,
  devices: readonly BlockDevice[],
  read: (device: BlockDevice) => Promise<readonly RaidDevice[]>,
): Promise<boolean> {
  for (const device of devices) {
    const [rd] = await read(device);
    if (rd) {
      ctx.error(`${device.path} is a member of ${format} set ${rd.name}; erase it first (dmraid -r -E -f ${format} ${device.path})`);
      return false;
    }
  }
  return true;
}

/** One stretch of new metadata on a member. */
export interface MemberArea {
  readonly offsetBytes: number;
  readonly data: Uint8Array;
}

/** A member of a new set and what is written on it. */
export interface MemberWrite {
  readonly path: string;
  readonly areas: readonly MemberArea[];
}

/**
 * Write every member's areas in order, stopping at the first failure. A device that does not open was
 * reported by the context (the CLI's names it and why); a failed write is reported here.
 */
export async function writeMembers(ctx: WriteContext, members: Iterable<MemberWrite>): Promise<boolean> {
  for (const member of members) {
    const target = await ctx.openWritable(member.path);
    if (!target) return false;
    for (const area of member.areas) {
      const result = await target.write(area.offsetBytes, area.data);
      if (isIoError(result)) {
        ctx.error(`writing metadata to ${member.path}: ${result.message}`);
        return false;
      }
    }
  }
  return true;
}

/**
 * The read path of a format whose metadata is one block at a fixed place (hpt37x, hpt45x, nvidia, via):
 * dmraid's read_raid_dev. Read the block, decode it, ask the handler whether it is its own (is_meta), let
 * the handler describe the member (setup_rd), and report what fails with dmraid's messages. The handler
 * supplies the vendor facts only: the layout, where the block is, the magic, the checksum, the member.
 */
import type { BlockDevice } from '../device/device.js';
import type { DeviceInfo, RaidDevice } from '../model/raid.js';
import type { RaidStatus, RaidType } from '../model/types.js';
import type { ReadContext } from './context.js';

/** What the pipeline needs of a layout (a core `struct`). */
export interface BlockLayout<M> {
  readonly size: number;
  decodeFrom(buf: Uint8Array): M;
  /** Some fields only (a core `struct` has it): the look at a block that `identifiedBy` asks for. */
  pick?<K extends keyof M & string>(buf: Uint8Array, names: readonly K[]): Pick<M, K>;
}

/**
 * Where the block is: a number of sectors before the device's end (hpt45x: 11 for N-11) or an absolute
 * sector (hpt37x: 9). As in dmraid's unsigned arithmetic, a device shorter than `fromEnd` gets the seek
 * error of a place beyond its end.
 */
export type BlockPlace = { readonly fromEnd: number } | { readonly sector: number };

export interface BlockChecksum<M> {
  valid(meta: M, raw: Uint8Array): boolean;
  /** The message before ` on <path>`: nvidia's `bad checksum`, via's `invalid checksum`. */
  readonly message: string;
  /**
   * dmraid checks it while setting up the RAID device (setup_rd), so `setting up RAID device <path>` follows.
   * Without it the check is part of identification (is_meta), as nvidia's and via's.
   */
  readonly failsSetup?: boolean;
}

/** A block as read and decoded, with the sector it was read from. */
export interface FoundBlock<M> {
  readonly meta: M;
  readonly raw: Uint8Array;
  readonly sector: number;
}

export interface MetadataBlock<M, K extends keyof M & string = keyof M & string> {
  readonly layout: BlockLayout<M>;
  readonly at: BlockPlace;
  /**
   * The fields isOurs looks at (the magic): with them, a block is decoded whole only once they say it is this
   * format's. Every disk is probed by every handler, and most blocks are not theirs.
   */
  readonly identifiedBy?: readonly K[];
  /** Whether the block is this format's (magic, signature). A block that is not says nothing. */
  isOurs(meta: Pick<M, K>, raw: Uint8Array): boolean;
  readonly checksum?: BlockChecksum<M>;
}

/** What a handler says about the member on one disk; the pipeline adds device, format, areas and meta. */
export interface MemberFacts {
  readonly name: string;
  readonly type: RaidType;
  readonly status: RaidStatus;
  /** Data start in sectors (default 0). */
  readonly offset?: number;
  /** Data length in sectors; zero is reported as dmraid does and the device is skipped. */
  readonly sectors: number;
  readonly position?: number;
}

export interface BlockReader<M, K extends keyof M & string = keyof M & string> extends MetadataBlock<M, K> {
  /** dmraid's setup_rd: the member's facts. It may log (via's version notice) but not fail. */
  member(found: FoundBlock<M>, device: BlockDevice, ctx: ReadContext): MemberFacts;
}

const sectorOf = (at: BlockPlace, device: DeviceInfo) => ('fromEnd' in at ? device.sizeSectors - at.fromEnd : at.sector);

/**
 * dmraid's failed setup_rd: the specific error, then `setting up RAID device <path>`. Returns no devices,
 * so a handler can `return failSetup(...)`.
 */
export function failSetup(ctx: ReadContext, device: BlockDevice, text: string): [] {
  ctx.error(text);
  ctx.setupFailed(device);
  return [];
}

/**
 * Read and identify the block: undefined when it cannot be read (the read error is printed), is not this
 * format's (silently) or fails its checksum (reported).
 */
export async function readMetadataBlock<M, K extends keyof M & string>(
  device: BlockDevice,
  ctx: ReadContext,
  block: MetadataBlock<M, K>,
): Promise<FoundBlock<M> | undefined> {
  const sector = sectorOf(block.at, device);
  const { layout, identifiedBy } = block;
  const raw = await ctx.read(device, sector * 512, layout.size);
  if (!raw) return undefined;
  // The identifying fields alone when the block names them and the layout can pick; else the whole block.
  const head = identifiedBy && layout.pick ? layout.pick(raw, identifiedBy) : undefined;
  if (head && !block.isOurs(head, raw)) return undefined;
  const meta = layout.decodeFrom(raw);
  if (!head && !block.isOurs(meta, raw)) return undefined;
  const { checksum } = block;
  if (checksum && !checksum.valid(meta, raw)) {
    const text = `${checksum.message} on ${device.path}`;
    if (checksum.failsSetup) failSetup(ctx, device, text);
    else ctx.error(text);
    return undefined;
  }
  return { meta, raw, sector };
}

/**
 * A handler's `read` for a one-block format: the block found and identified, the member described, one
 * RaidDevice whose metadata area is the block as read.
 */
export function blockReader<M, K extends keyof M & string>(reader: BlockReader<M, K>): (device: BlockDevice, ctx: ReadContext) => Promise<RaidDevice<M>[]> {
  return async (device, ctx) => {
    const found = await readMetadataBlock(device, ctx, reader);
    if (!found) return [];
    const { name, type, status, offset = 0, sectors, position } = reader.member(found, device, ctx);
    if (!sectors) return failSetup(ctx, device, `zero sectors on ${device.path}`);
    return [
      {
        device,
        format: ctx.format,
        name,
        type,
        status,
        offset,
        sectors,
        areas: [{ offsetSectors: found.sector, size: reader.layout.size, data: found.raw }],
        meta: found.meta,
        ...(position === undefined ? {} : { position }),
      },
    ];
  };
}

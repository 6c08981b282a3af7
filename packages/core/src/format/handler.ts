/**
 * The format-handler contract (dmraid's struct dmraid_format), version 1.
 *
 * A handler supplies the vendor facts: where its metadata is, how to validate it, how members group into
 * sets, how many members a set expects, how to log and write it. The machinery (probing order, set
 * bookkeeping, status rules, messages) lives in core and is reached through the contexts passed in.
 */
import type { BlockDevice, WritableDevice } from '../device/device.js';
import type { MetadataArea, RaidDevice, RaidSet } from '../model/raid.js';
import type { RaidType } from '../model/types.js';
import type { CheckContext, GroupContext, ReadContext, WriteContext } from './context.js';

/** One file of a `-D` dump: `<device basename><suffix>.dat` / `.offset`. */
export interface DumpFile {
  readonly suffix: string;
  readonly data: Uint8Array;
  /** Byte offset written to the `.offset` file; undefined writes none. */
  readonly offsetBytes: number | undefined;
}

/** Options of a create request (`-C NAME --type L [--size S] [--strip S] --disk "..."`). */
export interface CreateRequest {
  readonly name: string;
  readonly level: string;
  readonly sizeSectors?: number;
  readonly stripSectors?: number;
  readonly devices: readonly BlockDevice[];
}

export interface FormatHandlerV1<M = any> {
  readonly apiVersion: 1;
  /** Short name as `-l` and `-f` use it: `hpt45x`. */
  readonly name: string;
  /** `-l` description: `Highpoint HPT45X`. */
  readonly description: string;
  /** `-l` capabilities, comma separated, as dmraid prints them: `S,0,1,10`. Empty for none. */
  readonly levels: string;
  /**
   * Logical sector sizes the handler reads (default 512 only, as dmraid). Discovery gives a device only to
   * the handlers that take its sector size; isw also reads 4096-byte-sector disks.
   */
  readonly sectorSizes?: readonly number[];
  /**
   * Read one device. Returns the RAID devices found: none (not this format, or a reported problem), the
   * per-disk device first, then one per further volume on the disk (with `volumeOf` set to the first).
   */
  read(device: BlockDevice, ctx: ReadContext): Promise<RaidDevice<M>[]>;
  /** Place one RAID device into sets; returns the (top) set it joined, or undefined on failure. */
  group(rd: RaidDevice<M>, ctx: GroupContext): RaidSet | undefined;
  /** Check a top-level set and set the statuses; false when the set is broken. */
  check(set: RaidSet, ctx: CheckContext): boolean;
  /** Native log (-n): every line for this device, headline included, no trailing blank line. */
  log(rd: RaidDevice<M>): string[];
  /**
   * Files of a -D dump; by default one `.dat` of the first metadata area. May read the device (a dump can
   * be larger than what discovery needs, as ddf1's whole metadata region).
   */
  dump?(rd: RaidDevice<M>): DumpFile[] | Promise<DumpFile[]>;
  /** Write the metadata back (or zeros with erase). By default every area's buffer is written. */
  write?(rd: RaidDevice<M>, device: WritableDevice, ctx: WriteContext, erase: boolean): Promise<boolean>;
  /** Build member metadata for a new set. */
  create?(request: CreateRequest, ctx: WriteContext): Promise<boolean>;
  /** Delete a set from the metadata. */
  remove?(set: RaidSet, ctx: WriteContext): Promise<boolean>;
  /** Start a rebuild of a set onto a device. */
  rebuild?(set: RaidSet, device: BlockDevice | undefined, ctx: WriteContext): Promise<boolean>;
  /**
   * End a rebuild onto `device` once its data is there (the CLI calls it after the engine copied or
   * reconstructed every volume the device holds, never before): the member in sync, the set normal.
   * A handler without it leaves a rebuild to the tool that reads its metadata (mdadm, the option ROM).
   */
  rebuilt?(set: RaidSet, device: BlockDevice, ctx: WriteContext): Promise<boolean>;
  /**
   * Record that `device` failed (the monitor, on the kernel's event): in the metadata of the set's members
   * still present, in the format's own terms (a failed disk, a degraded set, a newer generation or sequence
   * number). `set` is the top-level set as read before the failure, `device` among its members; the failed
   * disk itself is not written (it no longer answers). False after a reported error. A format that keeps no
   * member state has no `failed`, and the monitor says so.
   */
  failed?(set: RaidSet, device: BlockDevice, ctx: WriteContext): Promise<boolean>;
  /** Make a device a hot spare (of a set). */
  spare?(device: BlockDevice, set: RaidSet | undefined, ctx: WriteContext): Promise<boolean>;
  /**
   * Members whose metadata newer metadata on another member supersedes (all RAID devices this handler read,
   * disks and volumes): each stale one with the reason, in words. Core marks them and sets them aside from
   * their sets; a stale disk's volumes are stale with it.
   */
  stale?(rds: readonly RaidDevice<M>[]): readonly StaleMember<M>[];
  /**
   * The wall-clock time this device's metadata records (its last update, or the set's creation where that is
   * all the format keeps); undefined where it records none. Discovery compares it when two formats claim
   * one disk and both have one (discovery/conflicts.ts).
   */
  writtenAt?(rd: RaidDevice<M>): Date | undefined;
  /** Device-mapper activation gate for a set (isw's BBM check); false blocks activation. */
  canActivate?(set: RaidSet, ctx: CheckContext): boolean;
}

export interface StaleMember<M = unknown> {
  readonly rd: RaidDevice<M>;
  readonly reason: string;
}

export type FormatHandler = FormatHandlerV1;

/** Whether a handler reads devices of this logical sector size. */
export const takesSectorSize = (handler: FormatHandlerV1, sectorSize: number) => (handler.sectorSizes ?? [512]).includes(sectorSize);

export class FormatDefinitionError extends Error {}

const REQUIRED = ['read', 'group', 'check', 'log'] as const;
const OPTIONAL = ['dump', 'write', 'create', 'remove', 'rebuild', 'rebuilt', 'failed', 'spare', 'stale', 'writtenAt', 'canActivate'] as const;

/**
 * Check a handler object and return it. A broken handler (wrong apiVersion, a missing method, a bad
 * name) throws FormatDefinitionError naming the problem, so a loader can report it as one line.
 */
export function defineFormat<M>(handler: FormatHandlerV1<M>): FormatHandlerV1<M> {
  validateFormat(handler);
  return Object.freeze(handler);
}

export function validateFormat(handler: unknown): asserts handler is FormatHandlerV1 {
  if (typeof handler !== 'object' || handler === null) throw new FormatDefinitionError('the package exports no format handler as its default export');
  const h = handler as Record<string, unknown>;
  const label = typeof h.name === 'string' ? h.name : '(unnamed)';
  if (h.apiVersion !== 1) throw new FormatDefinitionError(`${label}: unsupported apiVersion ${String(h.apiVersion)} (this dmraid supports 1)`);
  if (typeof h.name !== 'string' || !/^[a-z][a-z0-9_]{0,15}$/.test(h.name)) {
    throw new FormatDefinitionError(`${label}: name must be 1-16 lowercase letters, digits or _`);
  }
  if (typeof h.description !== 'string' || !h.description) throw new FormatDefinitionError(`${label}: missing description`);
  if (typeof h.levels !== 'string') throw new FormatDefinitionError(`${label}: missing levels`);
  if (h.sectorSizes !== undefined && !(Array.isArray(h.sectorSizes) && h.sectorSizes.every((n) => Number.isInteger(n) && n >= 512))) {
    throw new FormatDefinitionError(`${label}: sectorSizes must be a list of sector sizes`);
  }
  for (const m of REQUIRED) {
    if (typeof h[m] !== 'function') throw new FormatDefinitionError(`${label}: missing metadata format handler ${m} method`);
  }
  for (const m of OPTIONAL) {
    if (h[m] !== undefined && typeof h[m] !== 'function') throw new FormatDefinitionError(`${label}: ${m} is not a function`);
  }
}

/** The type a RAID device contributes to set bookkeeping. */
export type { RaidType, MetadataArea };

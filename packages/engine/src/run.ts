/**
 * The engine's front door: a run of tables (as data, in creation order) over the member devices they map
 * onto. It opens the members (read-only unless the run is writable), refuses a member another writer
 * holds, builds every table, and gives the engine back with one close() for all of it. Where the tables
 * come from (an activation plan, a user's `--tables` text) is the caller's business.
 */
import { promises as fs } from 'node:fs';
import { resolve } from 'node:path';
import { fromNodeError, isIoError, openDevice, type BlockDevice, type IoError, type TableTarget } from '@dmraid/core';
import { claimError, otherWriters } from './claim.js';
import { createEngine, memberLookup, type Engine } from './engine.js';
import type { WorkerSpec } from './nbd-workers.js';
import { unreadable, type SectorRange } from './rescue.js';
import { deviceSource, fileSource, type Source } from './source.js';
import { isTableError } from './table.js';

/** A mapped device's table as data: `@dmraid/activation`'s DmDevice is one. */
export interface RunTable {
  readonly name: string;
  readonly targets: readonly TableTarget[];
}

export interface OpenRunOptions {
  /** Every device of the run, each after the devices its table maps onto. */
  readonly tables: readonly RunTable[];
  /**
   * The member devices the tables map onto, by the path the tables name them: a device already open
   * (discovery's), or a path to open here. A path that is no file or block device is left out, so the
   * table that names it fails and says why. The run owns them all from here on: close() closes them.
   */
  readonly members: readonly (BlockDevice | string)[];
  /** Open the members for writing (claimed: see claim.ts). Default read-only. */
  readonly writable?: boolean;
  /** The folder relative member paths start from. */
  readonly cwd: string;
  /** Events of the targets (a failed leg, a missing member), as they happen. */
  readonly onEvent?: (message: string) => void;
  /** /proc, where other writers are looked up (tests). */
  readonly proc?: string;
  /**
   * Unreadable sectors of members (a ddrescue mapfile's unrescued areas), by member path as the tables or
   * the caller name it (relative to `cwd` or absolute): reads over them fail with EIO.
   */
  readonly unreadable?: ReadonlyMap<string, readonly SectorRange[]>;
}

export interface Run {
  readonly engine: Engine;
  /** The devices no other device of the run maps onto (the sets), in creation order. */
  readonly sets: readonly string[];
  /** The member devices and image files the run reads, as absolute paths. */
  readonly members: readonly string[];
  /** The tables the run was built from, as given. */
  readonly tables: readonly RunTable[];
  /** The Source of a member by the path its table names it (relative or absolute), as the targets use it. */
  member(path: string): Source | undefined;
  /**
   * What serving processes need to build the same engine with `exports`; undefined when a member is not
   * a file by path (it can only be read through the device this process holds).
   */
  workerSpec(exports: readonly string[]): WorkerSpec | undefined;
  /** Destroy the engine and close every member (once; a second call waits for the first). */
  close(): Promise<void>;
}

/**
 * Why a run did not open: a member that could not be opened, one that another writer holds (`claim`, code
 * EBUSY: a block device's exclusive open or a process named from /proc), or a table the engine cannot
 * build (its message ends in why a member it names could not be found).
 */
export type RunError =
  | { readonly kind: 'open'; readonly path: string; readonly error: IoError }
  | { readonly kind: 'claim'; readonly error: IoError }
  | { readonly kind: 'table'; readonly device: string; readonly message: string };

export const isRunError = (x: Run | RunError): x is RunError => 'kind' in x;

export async function openRun(options: OpenRunOptions): Promise<Run | RunError> {
  const { cwd, writable = false } = options;
  // The members in the caller's order; every device given or opened here is closed with the run.
  const devices: BlockDevice[] = [];
  const owned = options.members.filter((m): m is BlockDevice => typeof m !== 'string');
  const reopened: { close(): void }[] = [];
  // Once only, however often it is called (a finally after an error path, say).
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      for (const f of reopened) f.close();
      await Promise.all(owned.map((m) => m.close()));
    })());
  const fail = async (error: RunError) => {
    await close();
    return error;
  };
  for (const path of options.members) {
    if (typeof path !== 'string') {
      devices.push(path);
      continue;
    }
    const st = await fs.stat(resolve(cwd, path)).catch(() => undefined);
    if (!st || !(st.isFile() || st.isBlockDevice())) continue;
    const d = await openDevice(path, { cwd });
    if (isIoError(d)) return fail({ kind: 'open', path, error: d });
    owned.push(d);
    devices.push(d);
  }
  // Members are read by path with pread into the engine's buffers (fileSource), a block device written
  // claimed exclusively; a device that cannot be reopened that way is read through its BlockDevice.
  const byPath = memberLookup(cwd);
  const badByPath = new Map([...(options.unreadable ?? [])].map(([p, r]) => [resolve(cwd, p), r] as const));
  const badOf = (path: string) => badByPath.get(resolve(cwd, path));
  let byFile = true;
  for (const m of devices) {
    let source: Source;
    try {
      const f = fileSource(resolve(cwd, m.path), m.sizeSectors, writable);
      reopened.push(f);
      source = f;
    } catch (e) {
      if (writable) return fail({ kind: 'claim', error: claimError(m.path, e) });
      source = deviceSource(m);
      byFile = false;
    }
    const bad = badOf(m.path);
    byPath.add(m.path, bad ? unreadable(source, bad) : source);
  }
  // Two writers of one member (another server, a virtual machine on the image) would corrupt the set.
  if (writable) {
    const writing = await otherWriters(devices.map((m) => m.path), cwd, options.proc);
    if (writing !== true) return fail({ kind: 'claim', error: writing });
  }
  let missed: string | undefined;
  const lookup = (path: string) => {
    const source = byPath.get(path);
    if (!source) missed = path;
    return source;
  };
  const engine = createEngine(options.tables, lookup, options.onEvent);
  if (isTableError(engine)) {
    // The kernel's words for a failed lookup do not say why: a missing file, or one that is no file or disk.
    const why = missed === undefined ? '' : await whyMissing(resolve(cwd, missed), missed);
    return fail({ kind: 'table', device: engine.device, message: `${engine.message}${why}` });
  }
  const used = new Set(options.tables.flatMap((t) => t.targets.flatMap((x) => x.args.flatMap((a) => (typeof a !== 'string' && a.kind === 'mapped' ? [a.name] : [])))));
  return {
    engine,
    sets: options.tables.map((t) => t.name).filter((n) => !used.has(n)),
    members: devices.map((m) => resolve(cwd, m.path)),
    tables: options.tables,
    member: (path) => byPath.get(path),
    workerSpec: (exports) =>
      byFile ? { tables: options.tables.map((t) => ({ name: t.name, targets: t.targets })), members: devices.map((m) => ({ path: m.path, sizeSectors: m.sizeSectors, ...(badOf(m.path) ? { unreadable: badOf(m.path)! } : {}) })), cwd, exports } : undefined,
    close: () => {
      if (!closing) engine.destroy();
      return close();
    },
  };
}

const whyMissing = (full: string, path: string): Promise<string> =>
  fs.stat(full).then(
    (st) => (st.isFile() || st.isBlockDevice() ? '' : ' (not a file or block device)'),
    (e: unknown) => ` (${fromNodeError(path, e).message})`,
  );

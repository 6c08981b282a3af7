/**
 * Tables as data (@dmraid/core's TableTarget: a device argument is a typed reference, never a word), or as
 * `dmsetup create NAME` reads them: one line per target, `<start> <length> <target> <args...>`, targets
 * contiguous from sector 0. A mapped device is a Source, so a table's `/dev/mapper/<name>` arguments resolve
 * to other devices of the same run (RAID10 = a mirror over striped sub-devices).
 */
import { devicePath, splitTableWords, typedArgs, type DeviceRef, type TableTarget } from '@dmraid/core';
import { flushOf, ioError, isIoError, SECTOR, type IoError, type Source } from './source.js';
import { pushExtent, pushExtents, type Extent } from './extents.js';
import type { ConstructContext, Target, TargetType } from './target.js';
import { uint } from './target.js';
import { linear } from './targets/linear.js';
import { striped } from './targets/striped.js';
import { mirror } from './targets/mirror.js';
import { raid } from './targets/raid.js';
import { zero } from './targets/zero.js';
import { error } from './targets/error.js';
import { snapshot } from './targets/snapshot.js';

export const TARGET_TYPES: ReadonlyMap<string, TargetType> = new Map(
  [linear, striped, mirror, raid, zero, error, snapshot].map((t) => [t.name, t]),
);

export interface TableLine {
  readonly start: number;
  readonly length: number;
  readonly type: string;
  readonly args: readonly string[];
}

export interface TableError {
  readonly kind: 'table';
  readonly device: string;
  readonly message: string;
}

export const isTableError = (x: unknown): x is TableError =>
  typeof x === 'object' && x !== null && (x as { kind?: unknown }).kind === 'table';

/**
 * Parse table text; blank lines and `#` comments are skipped, as dmsetup does. Arguments are split as the
 * kernel splits them (dm_split_args): at whitespace, a backslash making the next character literal.
 */
export function parseTable(device: string, text: string): TableLine[] | TableError {
  const lines: TableLine[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [start, length, type, ...args] = splitTableWords(raw);
    const s = uint(start);
    const l = uint(length);
    if (s === undefined || l === undefined || !type) return { kind: 'table', device, message: `invalid table line "${line}"` };
    lines.push({ start: s, length: l, type, args });
  }
  return checkLines(device, lines);
}

function checkLines<T extends { readonly start: number; readonly length: number }>(device: string, lines: T[]): T[] | TableError {
  if (lines.length === 0) return { kind: 'table', device, message: 'empty table' };
  let next = 0;
  for (const l of lines) {
    if (l.start !== next) return { kind: 'table', device, message: `gap or overlap at sector ${next}` };
    if (l.length === 0) return { kind: 'table', device, message: 'zero-length target' };
    next += l.length;
  }
  return lines;
}

/** The most a single I/O moves below the engine: larger requests are split (bounded memory). */
export const MAX_IO_SECTORS = 8192;

export interface MappedDevice extends Source {
  readonly targets: readonly { readonly start: number; readonly type: string; readonly target: Target }[];
  destroy(): void;
}

/** What a table's construction needs: the Source of each device argument, and where events go. */
export interface DeviceContext {
  resolve(ref: DeviceRef): Source | undefined;
  report(message: string): void;
}

/**
 * Construct every target of a table (dm's table_load); an error names the line, as the kernel logs it.
 * Text is read as dmsetup reads it, its `/dev/mapper/<name>` arguments taken as devices of the run.
 */
export function createMappedDevice(name: string, table: string | readonly TableTarget[], ctx: DeviceContext): MappedDevice | TableError {
  const parsed = typeof table === 'string' ? parseTable(name, table) : checkLines(name, [...table]);
  if (isTableError(parsed)) return parsed;
  const lines: readonly TableTarget[] = typeof table === 'string' ? (parsed as TableLine[]).map((l) => ({ ...l, args: typedArgs(l.type, l.args, () => true) })) : table;
  // Every device the targets look up: a flush of this device is a flush of each (tables nest, so does this).
  const beneath = new Set<Source>();
  const targets: { start: number; type: string; target: Target }[] = [];
  const undo = () => {
    for (const done of targets) done.target.destroy?.();
  };
  for (const l of lines) {
    const type = TARGET_TYPES.get(l.type);
    if (!type) {
      undo();
      return { kind: 'table', device: name, message: `${l.type}: unknown target type` };
    }
    // A target reads its arguments as words; a device argument is the word of its path, looked up as the
    // reference it is (so a member named like a keyword or with spaces is still that member).
    const refs = new Map<string, DeviceRef>();
    for (const a of l.args) {
      if (typeof a === 'string') continue;
      const word = devicePath(a);
      const seen = refs.get(word);
      if (seen && seen.kind !== a.kind) {
        undo();
        return { kind: 'table', device: name, message: `${l.type}: ${word} names two devices` };
      }
      refs.set(word, a);
    }
    const tracked: ConstructContext = {
      report: (m) => ctx.report(m),
      lookup: (word) => {
        const ref = refs.get(word);
        const source = ref ? ctx.resolve(ref) : undefined;
        if (source) beneath.add(source);
        return source;
      },
    };
    const t = type.construct(tracked, l.length, l.args.map((a) => (typeof a === 'string' ? a : devicePath(a))));
    if (typeof t === 'string') {
      undo();
      return { kind: 'table', device: name, message: `${l.type}: ${t}` };
    }
    targets.push({ start: l.start, type: l.type, target: t });
  }
  const last = targets[targets.length - 1]!;
  const sizeSectors = last.start + last.target.length;
  const path = `/dev/mapper/${name}`;

  const find = (sector: number) => {
    let lo = 0;
    let hi = targets.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (targets[mid]!.start <= sector) lo = mid;
      else hi = mid - 1;
    }
    return targets[lo]!;
  };
  const valid = (sector: number, count: number) =>
    Number.isInteger(sector) && Number.isInteger(count) && sector >= 0 && count >= 0 && sector + count <= sizeSectors;

  /** Split at target boundaries and at MAX_IO_SECTORS, like the block layer's bio splitting. */
  const parts = (sector: number, count: number) => {
    const out: { t: (typeof targets)[number]; sector: number; count: number; at: number }[] = [];
    let at = 0;
    while (at < count) {
      const s = sector + at;
      const t = find(s);
      const n = Math.min(count - at, t.start + t.target.length - s, MAX_IO_SECTORS - (s % MAX_IO_SECTORS));
      out.push({ t, sector: s - t.start, count: n, at });
      at += n;
    }
    return out;
  };

  return {
    name: path,
    sizeSectors,
    targets,
    async read(sector, count): Promise<Uint8Array | IoError> {
      if (!valid(sector, count)) return ioError(path, 'EINVAL');
      const ps = parts(sector, count);
      if (ps.length === 1) return ps[0]!.t.target.read(ps[0]!.sector, count);
      const out = new Uint8Array(count * SECTOR);
      for (const p of ps) {
        const r = await p.t.target.read(p.sector, p.count);
        if (isIoError(r)) return r;
        out.set(r, p.at * SECTOR);
      }
      return out;
    },
    async readInto(sector, out): Promise<true | IoError> {
      const count = out.length / SECTOR;
      if (!Number.isInteger(count) || !valid(sector, count)) return ioError(path, 'EINVAL');
      for (const p of parts(sector, count)) {
        const into = out.subarray(p.at * SECTOR, (p.at + p.count) * SECTOR);
        const t = p.t.target;
        if (t.readInto) {
          const r = await t.readInto(p.sector, into);
          if (r !== true) return r;
          continue;
        }
        const r = await t.read(p.sector, p.count);
        if (isIoError(r)) return r;
        into.set(r);
      }
      return true;
    },
    extents(sector, count): readonly Extent[] {
      const out: Extent[] = [];
      if (!valid(sector, count)) return out;
      for (let at = sector; at < sector + count; ) {
        const t = find(at);
        const n = Math.min(sector + count, t.start + t.target.length) - at;
        if (t.target.extents) pushExtents(out, t.target.extents(at - t.start, n));
        else pushExtent(out, n, false);
        at += n;
      }
      return out;
    },
    async flush(): Promise<true | IoError> {
      for (const source of beneath) {
        const r = await flushOf(source);
        if (r !== true) return r;
      }
      return true;
    },
    async write(sector, data): Promise<true | IoError> {
      if (data.length % SECTOR !== 0 || !valid(sector, data.length / SECTOR)) return ioError(path, 'EINVAL');
      for (const p of parts(sector, data.length / SECTOR)) {
        const r = await p.t.target.write(p.sector, data.subarray(p.at * SECTOR, (p.at + p.count) * SECTOR));
        if (isIoError(r)) return r;
      }
      return true;
    },
    destroy() {
      for (const t of targets) t.target.destroy?.();
    },
  };
}

/**
 * A set's layout as a grid (one column per member, one row per chunk row), found by asking the userspace
 * engine rather than re-deriving any RAID layout: the set's tables run over recording stand-ins for the
 * members, each volume chunk is read (where the engine reads it is where its data lives) and written (the
 * other members it writes hold its copies or parity). So every target the engine runs (striped, mirror,
 * raid4/5/6, linear, and stacks of them) is drawn as the engine would map it.
 */
import { isDeviceRef, memberRef, type TableArg, type TableTarget } from '@dmraid/core';
import { createEngine, isTableError, SECTOR, type Source } from '@dmraid/engine';

/** One mapped device of the set's tables, as activation plans it or --tables gives it. */
export interface DrawTable {
  readonly name: string;
  readonly targets: readonly TableTarget[];
}

export type CellRole = 'data' | 'copy' | 'P' | 'Q';

export interface Cell {
  /** The volume chunk whose data, copy or parity the cell holds. */
  readonly chunks: readonly number[];
  readonly role: CellRole;
}

export interface Column {
  /** The member's path as the tables name it; a missing member's stand-in has none. */
  readonly path: string | undefined;
  readonly missing: boolean;
  /** The mapped devices between the set and this member, outermost first (a RAID10's stripe sets). */
  readonly groups: readonly string[];
}

export interface LayoutGrid {
  readonly set: string;
  /** Sectors per cell: the chunk size of the first striped or raid target, else 64 KiB. */
  readonly unitSectors: number;
  readonly volumeSectors: number;
  readonly columns: readonly Column[];
  /** rows[r][c]: what column c holds in its r-th chunk (undefined: nothing of the first rows). */
  readonly rows: readonly (readonly (Cell | undefined)[])[];
}

const MISSING = '\0missing#';
const DEFAULT_UNIT = 128;
/** Bytes written by the probe: P then gets them as written, Q a multiple by g^slot (that tells P from Q). */
const PROBE_BYTE = 0x5a;

/** Where the probe's stand-ins were read and written, per member. */
interface Access {
  readonly op: 'read' | 'write';
  readonly member: number;
  readonly sector: number;
  readonly count: number;
  /**
   * What was written: the probe's bytes (data, a copy, P), zeros (another data chunk of the row written back
   * unchanged), or other bytes (Q: the probe's bytes times g^slot).
   */
  readonly bytes: 'probe' | 'zero' | 'other';
}

/** The layout of `set` (a top-level device of `tables`) over its first `rows` chunk rows. */
export async function traceLayout(tables: readonly DrawTable[], set: string, rows: number): Promise<LayoutGrid | string> {
  const top = tables.find((t) => t.name === set);
  if (!top) return `no device "${set}" in the tables`;
  const byName = new Map(tables.map((t) => [t.name, t]));
  const columns: { path: string | undefined; missing: boolean; groups: string[]; owner: string }[] = [];
  const memberIndex = new Map<string, number>();
  let missingCount = 0;
  let unit: number | undefined;
  // Tables in the engine's order: a device after those it maps onto; each missing member gets a stand-in.
  const ordered: DrawTable[] = [];
  const seen = new Set<string>();
  const visit = (t: DrawTable, groups: string[]): void => {
    if (seen.has(t.name)) return;
    seen.add(t.name);
    const targets = t.targets.map((target): TableTarget => {
      if (unit === undefined && target.type === 'striped') unit = Number(target.args[1]);
      if (unit === undefined && target.type === 'raid') unit = Number(target.args[2]);
      const args = target.args.map((a, i): TableArg => {
        const missingDataDev = target.type === 'raid' && a === '-' && isDataDevSlot(target.args, i);
        if (isDeviceRef(a) && a.kind === 'mapped') {
          const sub = byName.get(a.name);
          if (sub) visit(sub, t === top ? [a.name] : [...groups, a.name]);
          return a;
        }
        if (!isDeviceRef(a) && !missingDataDev) return a;
        const path = isDeviceRef(a) && a.kind === 'member' ? a.path : undefined;
        const key = path ?? `${MISSING}${missingCount++}`;
        if (!memberIndex.has(key)) {
          memberIndex.set(key, columns.length);
          columns.push({ path, missing: path === undefined, groups, owner: target.type });
        }
        return memberRef(key);
      });
      return { ...target, args };
    });
    ordered.push({ name: t.name, targets });
  };
  visit(top, []);
  const unitSectors = unit !== undefined && Number.isSafeInteger(unit) && unit > 0 ? unit : DEFAULT_UNIT;

  const log: Access[] = [];
  const sources = columns.map((_, member): Source => ({
    name: `member ${member}`,
    sizeSectors: Number.MAX_SAFE_INTEGER,
    read: async (sector, count) => {
      log.push({ op: 'read', member, sector, count, bytes: 'zero' });
      return new Uint8Array(count * SECTOR);
    },
    write: async (sector, data) => {
      log.push({ op: 'write', member, sector, count: data.length / SECTOR, bytes: data.every((b) => b === PROBE_BYTE) ? 'probe' : data.every((b) => b === 0) ? 'zero' : 'other' });
      return true;
    },
  }));
  const engine = createEngine(ordered, (path) => {
    const i = memberIndex.get(path);
    return i === undefined ? undefined : sources[i];
  });
  if (isTableError(engine)) return `table of "${engine.device}": ${engine.message}`;
  try {
    const volume = engine.get(set)!;
    const volumeSectors = volume.sizeSectors;
    const traces: { chunk: number; reads: Access[]; writes: Access[] }[] = [];
    const probe = new Uint8Array(unitSectors * SECTOR).fill(PROBE_BYTE);
    // Enough chunks to fill `rows` rows of every member, whatever the layout.
    const chunks = Math.min(Math.ceil(volumeSectors / unitSectors), rows * Math.max(1, columns.length));
    for (let k = 0; k < chunks; k++) {
      const sector = k * unitSectors;
      const count = Math.min(unitSectors, volumeSectors - sector);
      log.length = 0;
      const r = await volume.read(sector, count);
      if (!(r instanceof Uint8Array)) return `reading chunk ${k} of "${set}": ${r.message}`;
      const reads = [...log];
      log.length = 0;
      const w = await volume.write(sector, probe.subarray(0, count * SECTOR));
      if (w !== true) return `writing chunk ${k} of "${set}" (in memory): ${w.message}`;
      traces.push({ chunk: k, reads, writes: log.filter((a) => a.op === 'write') });
    }
    // A member's first row starts where the engine first touched it (its data offset).
    const base = columns.map((_, m) => Math.min(...traces.flatMap((t) => [...t.reads, ...t.writes]).filter((a) => a.member === m).map((a) => a.sector)));
    const grid: (Cell | undefined)[][] = Array.from({ length: rows }, () => columns.map(() => undefined));
    const put = (a: Access, chunk: number, role: CellRole) => {
      const row = Math.floor((a.sector - base[a.member]!) / unitSectors);
      if (row < 0 || row >= rows) return;
      const cell = grid[row]![a.member];
      if (!cell) grid[row]![a.member] = { chunks: [chunk], role };
      else if (!cell.chunks.includes(chunk)) grid[row]![a.member] = { role: role === 'Q' ? 'Q' : cell.role, chunks: [...cell.chunks, chunk] };
      // Q's slot-0 chunk (coefficient 1) got the probe's bytes as P does; a later chunk's other bytes say Q.
      else if (role === 'Q') grid[row]![a.member] = { ...cell, role };
    };
    // Data first: a cell the engine reads a chunk from holds that chunk, whatever else is written to it.
    for (const t of traces) for (const a of t.reads) put(a, t.chunk, 'data');
    for (const t of traces) {
      const dataMembers = new Set(t.reads.map((a) => a.member));
      for (const a of t.writes) {
        if (dataMembers.has(a.member) || a.bytes === 'zero') continue;
        const row = Math.floor((a.sector - base[a.member]!) / unitSectors);
        if (grid[row]?.[a.member]?.role === 'data') continue;
        const parity = columns[a.member]!.owner === 'raid';
        put(a, t.chunk, parity ? (a.bytes === 'probe' ? 'P' : 'Q') : 'copy');
      }
    }
    return {
      set,
      unitSectors,
      volumeSectors,
      columns: columns.map(({ path, missing, groups }) => ({ path, missing, groups })),
      rows: grid,
    };
  } finally {
    engine.destroy();
  }
}

/** Whether argument `i` of a raid target is a data device (`<#devs> (<meta> <data>)...` after the params). */
function isDataDevSlot(args: readonly TableArg[], i: number): boolean {
  const params = Number(args[1]);
  const first = 2 + params;
  return Number.isSafeInteger(params) && i > first && (i - first) % 2 === 0;
}

/** How a column is named in the picture. */
export const columnName = (c: Column): string => (c.missing || c.path === undefined ? 'missing' : c.path);

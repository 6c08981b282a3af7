/**
 * Allocation: which sectors of a source hold data and which read as zeros without being stored (a hole of
 * an image file, a `zero` target). NBD's base:allocation and --extract's skipped reads come from here.
 * Sectors that fail to read (an `error` target, lost ranges) are data: a hole must read as zeros.
 */
import { spawnSync } from 'node:child_process';

/** A run of sectors: `zero` when it reads as zeros without being stored. */
export interface Extent {
  readonly sectors: number;
  readonly zero: boolean;
}

/**
 * Append a run, merged with the last one when it is of the same kind. The runs of `out` are its own (made
 * here), so a merge grows the last in place: a striped map appends one per chunk.
 */
export function pushExtent(out: Extent[], sectors: number, zero: boolean): void {
  if (sectors <= 0) return;
  const last = out[out.length - 1] as { sectors: number; zero: boolean } | undefined;
  if (last && last.zero === zero) last.sectors += sectors;
  else out.push({ sectors, zero });
}

/** Append runs (merging at the seam). */
export function pushExtents(out: Extent[], runs: readonly Extent[]): void {
  for (const r of runs) pushExtent(out, r.sectors, r.zero);
}

/** Runs starting at sector `from`, with `ranges` (sorted, apart) made data: sectors that fail to read are no hole. */
export function forceData(runs: readonly Extent[], from: number, ranges: readonly { start: number; count: number }[]): Extent[] {
  const out: Extent[] = [];
  let at = from;
  let i = 0;
  for (const r of runs) {
    const end = at + r.sectors;
    if (!r.zero) pushExtent(out, r.sectors, false);
    else {
      while (i < ranges.length && ranges[i]!.start + ranges[i]!.count <= at) i++;
      let pos = at;
      for (let j = i; j < ranges.length && ranges[j]!.start < end; j++) {
        const s = Math.max(pos, ranges[j]!.start);
        const e = Math.min(end, ranges[j]!.start + ranges[j]!.count);
        pushExtent(out, s - pos, true);
        pushExtent(out, e - s, false);
        pos = e;
      }
      pushExtent(out, end - pos, true);
    }
    at = end;
  }
  return out;
}

/** The sectors [from, from+count) of runs that start at sector 0 of their own range. */
export function sliceExtents(runs: readonly Extent[], from: number, count: number): Extent[] {
  const out: Extent[] = [];
  let at = 0;
  for (const r of runs) {
    const end = at + r.sectors;
    const a = Math.max(at, from);
    const b = Math.min(end, from + count);
    if (b > a) pushExtent(out, b - a, r.zero);
    if (end >= from + count) break;
    at = end;
  }
  return out;
}

/**
 * The data ranges of a file (sorted, apart; sectors), kept up to date with the writes made through it.
 * Everything outside them is a hole.
 */
export class FileMap {
  private constructor(private readonly starts: number[], private readonly ends: number[]) {}

  /** All data: a block device, or a file whose map is not known. */
  static dense(sizeSectors: number): FileMap {
    return new FileMap([0], [sizeSectors]);
  }

  static fromRanges(ranges: readonly { start: number; end: number }[]): FileMap {
    const sorted = [...ranges].filter((r) => r.end > r.start).sort((a, b) => a.start - b.start);
    const map = new FileMap([], []);
    for (const r of sorted) map.markData(r.start, r.end - r.start);
    return map;
  }

  /** Index of the first range that ends after `sector`. */
  private firstAfter(sector: number): number {
    let lo = 0;
    let hi = this.ends.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.ends[mid]! <= sector) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Runs covering [sector, sector+count) exactly. */
  extents(sector: number, count: number): Extent[] {
    const out: Extent[] = [];
    const end = sector + count;
    let at = sector;
    for (let i = this.firstAfter(sector); i < this.starts.length && at < end; i++) {
      const s = Math.max(this.starts[i]!, at);
      if (s >= end) break;
      pushExtent(out, s - at, true);
      const e = Math.min(this.ends[i]!, end);
      pushExtent(out, e - s, false);
      at = e;
    }
    pushExtent(out, end - at, true);
    return out;
  }

  /** Sectors now written: data from here on. */
  markData(sector: number, count: number): void {
    if (count <= 0) return;
    let start = sector;
    let end = sector + count;
    // Ranges that touch [start, end) (adjacent ones included) merge into one.
    const i = this.firstAfter(start - 1);
    let j = i;
    while (j < this.starts.length && this.starts[j]! <= end) {
      start = Math.min(start, this.starts[j]!);
      end = Math.max(end, this.ends[j]!);
      j++;
    }
    this.starts.splice(i, j - i, start);
    this.ends.splice(i, j - i, end);
  }

  /** Sectors of data (tests, the tally in docs). */
  get dataSectors(): number {
    let n = 0;
    for (let i = 0; i < this.starts.length; i++) n += this.ends[i]! - this.starts[i]!;
    return n;
  }
}

/**
 * One line of `filefrag -e -b512`: `   3:   204800..  210943:   1234..  7377:   6144:   last,unwritten`.
 * Offsets in 512-byte units whatever the file system's block size.
 */
const EXTENT_LINE = /^\s*\d+:\s+(\d+)\.\.\s*(\d+):\s+\d+\.\.\s*\d*:\s+\d+:.*?([\w,]*)\s*$/;

/**
 * Parse `filefrag -e -b512` output into data ranges (sectors); undefined when it is not that output.
 * Unwritten (preallocated) extents read as zeros: holes.
 */
export function parseFilefrag(text: string, sizeSectors: number): { start: number; end: number }[] | undefined {
  const lines = text.split('\n');
  if (!lines.some((l) => /\bext:\s+logical_offset:/.test(l))) return undefined;
  const ranges: { start: number; end: number }[] = [];
  for (const line of lines) {
    const m = EXTENT_LINE.exec(line);
    if (!m) continue;
    if (/\bunwritten\b/.test(m[3]!)) continue;
    const start = Number(m[1]);
    const end = Math.min(sizeSectors, Number(m[2]) + 1);
    if (end > start) ranges.push({ start, end });
  }
  return ranges;
}

/** How a file's map was learnt (docs/engine.md: why each). */
export type MapMethod = 'filefrag' | 'st_blocks' | 'dense';

/**
 * The allocation of the image file at `path`: FIEMAP through `filefrag` (e2fsprogs; one run per file,
 * about 2 ms), else what st_blocks says (none allocated: all hole; otherwise all data); a
 * file with a block for every sector is dense without asking. Node has no
 * lseek(SEEK_DATA), and FIEMAP needs an ioctl Node cannot make.
 */
export function readFileMap(path: string, sizeSectors: number, blocks: number, command = 'filefrag'): { map: FileMap; method: MapMethod } {
  if (blocks === 0) return { map: FileMap.fromRanges([]), method: 'st_blocks' };
  // Every sector has a block: dense, without asking (a dense image pays nothing for the map).
  if (blocks >= sizeSectors) return { map: FileMap.dense(sizeSectors), method: 'st_blocks' };
  const r = spawnSync(command, ['-e', '-b512', '--', path], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' }, maxBuffer: 64 * 1024 * 1024 });
  const ranges = r.status === 0 && typeof r.stdout === 'string' ? parseFilefrag(r.stdout, sizeSectors) : undefined;
  if (ranges) return { map: FileMap.fromRanges(ranges), method: 'filefrag' };
  return { map: FileMap.dense(sizeSectors), method: 'dense' };
}

/**
 * Allocation of a parity layout (RAID4/5/6): rows of `chunk` sectors on each of `disks` members, `dataDisks`
 * chunks of volume per row. A row is zero only where every member present is a hole over it (then its data
 * chunks, and any rebuilt from parity, read as zeros); otherwise all its sectors are data.
 * `member(d, devSector, count)` gives member d's runs, or undefined for a missing member.
 */
export function parityExtents(
  chunk: number,
  dataDisks: number,
  disks: number,
  sector: number,
  count: number,
  member: (d: number, devSector: number, count: number) => readonly Extent[] | undefined,
): Extent[] {
  const rowSectors = chunk * dataDisks;
  const firstRow = Math.floor(sector / rowSectors);
  const rows = Math.ceil((sector + count) / rowSectors) - firstRow;
  const zeroRow = new Array<boolean>(rows).fill(true);
  for (let d = 0; d < disks; d++) {
    const runs = member(d, firstRow * chunk, rows * chunk);
    if (!runs) continue;
    let at = 0;
    for (const r of runs) {
      if (!r.zero) for (let row = Math.floor(at / chunk); row < rows && row * chunk < at + r.sectors; row++) zeroRow[row] = false;
      at += r.sectors;
    }
  }
  const out: Extent[] = [];
  for (let row = 0; row < rows; row++) {
    const start = Math.max(sector, (firstRow + row) * rowSectors);
    const end = Math.min(sector + count, (firstRow + row + 1) * rowSectors);
    pushExtent(out, end - start, zeroRow[row]!);
  }
  return out;
}

/**
 * Unreadable areas of members. A GNU ddrescue mapfile says which parts of an image were rescued ('+') and
 * which were not (the rest: their bytes in the image are whatever ddrescue left there, not the disk's).
 * A member read over such a part fails with EIO, as a read of the bad sectors of the disk itself would, so
 * that the redundant targets rebuild it from the other members and what cannot be rebuilt is reported lost.
 */
import { ioError, isIoError, readInto, SECTOR, type IoError, type Source } from './source.js';
import { forceData } from './extents.js';

/** A run of sectors. */
export interface SectorRange {
  readonly start: number;
  readonly count: number;
}

/** A mapfile that is not one: names the file and the line (1-based). */
export interface RescueMapError {
  readonly kind: 'rescue-map';
  readonly path: string;
  readonly line: number;
  readonly message: string;
}

export const isRescueMapError = (x: unknown): x is RescueMapError => typeof x === 'object' && x !== null && (x as RescueMapError).kind === 'rescue-map';

// ddrescue reads its numbers with strtoll(base 0): 0x hex, a leading 0 octal, else decimal; a suffix
// multiplier (s, k, Ki...) only on its command line, never in a mapfile.
const NUMBER = /^(?:0x[0-9a-f]+|0[0-7]*|[1-9][0-9]*)$/i;
const parseNumber = (t: string): number | undefined => {
  if (!NUMBER.test(t)) return undefined;
  const n = /^0x/i.test(t) ? Number(t) : t.length > 1 && t.startsWith('0') ? parseInt(t, 8) : Number(t);
  return Number.isSafeInteger(n) ? n : undefined;
};
const BLOCK_STATUS = new Set(['?', '*', '/', '-', '+']);
// The current status of the status line also takes the phases of ddrescue's fill and generate modes.
const CURRENT_STATUS = new Set([...BLOCK_STATUS, 'F', 'G']);

/**
 * The unreadable sectors of an image of `sizeBytes` from the text of its mapfile `path`: every block not
 * finished ('+'), and what the map does not cover (ddrescue never tried it). A block that is partly in a
 * sector makes the whole sector unreadable. Strict: any malformed line, blocks out of order or overlapping,
 * or a block beyond the image is an error.
 */
export function parseRescueMap(text: string, path: string, sizeBytes: number): SectorRange[] | RescueMapError {
  const fail = (line: number, message: string): RescueMapError => ({ kind: 'rescue-map', path, line, message });
  const bad: SectorRange[] = [];
  const markBad = (from: number, to: number) => {
    const start = Math.floor(from / SECTOR);
    const end = Math.ceil(to / SECTOR);
    const last = bad[bad.length - 1];
    if (last && last.start + last.count >= start) bad[bad.length - 1] = { start: last.start, count: Math.max(last.start + last.count, end) - last.start };
    else bad.push({ start, count: end - start });
  };
  let sawStatus = false;
  let end = 0;
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (const [i, raw] of lines.entries()) {
    const line = raw.replace(/\r$/, '').trim();
    if (line === '' || line.startsWith('#')) continue;
    const tokens = line.split(/\s+/);
    if (!sawStatus) {
      // `current_pos current_status [current_pass]`
      if (tokens.length < 2 || tokens.length > 3 || parseNumber(tokens[0]!) === undefined || !CURRENT_STATUS.has(tokens[1]!) || (tokens[2] !== undefined && !/^[1-9]\d*$/.test(tokens[2]))) {
        return fail(i + 1, `not a ddrescue status line (current_pos current_status [current_pass]): "${line}"`);
      }
      sawStatus = true;
      continue;
    }
    const [p, s, status] = tokens;
    const pos = p === undefined ? undefined : parseNumber(p);
    const size = s === undefined ? undefined : parseNumber(s);
    if (tokens.length !== 3 || pos === undefined || size === undefined || !BLOCK_STATUS.has(status!)) {
      return fail(i + 1, `not a ddrescue block line (pos size status): "${line}"`);
    }
    if (size === 0) return fail(i + 1, 'block of size 0');
    if (pos < end) return fail(i + 1, `block at ${pos} overlaps or precedes the block before it (ending at ${end})`);
    if (pos + size > sizeBytes) return fail(i + 1, `block ${pos}-${pos + size} lies beyond the end of the image (${sizeBytes} bytes)`);
    if (pos > end) markBad(end, pos);
    if (status !== '+') markBad(pos, pos + size);
    end = pos + size;
  }
  if (!sawStatus) return fail(lines.length, 'no status line: not a ddrescue mapfile');
  if (end < sizeBytes) markBad(end, sizeBytes);
  return bad;
}

/** Sectors of `ranges` (sorted, apart) that [sector, sector+count) touches: the first, or undefined. */
function firstHit(ranges: readonly SectorRange[], sector: number, count: number): SectorRange | undefined {
  let lo = 0;
  let hi = ranges.length;
  // The first range ending after `sector`.
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const r = ranges[mid]!;
    if (r.start + r.count <= sector) lo = mid + 1;
    else hi = mid;
  }
  const r = ranges[lo];
  return r && r.start < sector + count ? r : undefined;
}

/**
 * `source` with `bad` sectors (sorted, apart) unreadable: a read that touches one fails with EIO naming the
 * source, as the disk's own read would. Writes pass (they would remap the sector on a disk).
 */
export function unreadable(source: Source, bad: readonly SectorRange[]): Source {
  if (bad.length === 0) return source;
  const eio = (sector: number, count: number): IoError | undefined => {
    const hit = firstHit(bad, sector, count);
    return hit ? ioError(source.name, 'EIO') : undefined;
  };
  return {
    name: source.name,
    sizeSectors: source.sizeSectors,
    read: async (sector, count) => eio(sector, count) ?? source.read(sector, count),
    readInto: async (sector, out) => eio(sector, out.length / SECTOR) ?? readInto(source, sector, out),
    ...(source.readvInto
      ? {
          readvInto: async (sector: number, outs: readonly Uint8Array[]) =>
            eio(sector, outs.reduce((n, o) => n + o.length, 0) / SECTOR) ?? source.readvInto!(sector, outs),
        }
      : {}),
    write: (sector, data) => source.write(sector, data),
    ...(source.flush ? { flush: () => source.flush!() } : {}),
    ...(source.extents ? { extents: (sector: number, count: number) => forceData(source.extents!(sector, count), sector, bad) } : {}),
  };
}

/** A medium error (a bad sector, an unrescued area) that a smaller read may avoid. */
export const isMediumError = (e: IoError): boolean => e.code === 'EIO';

/**
 * Read [sector, sector+out) of `volume`; where a read fails with EIO, halve it until the failing sectors
 * are single: those are left zero in `out` and returned as lost ranges (in order, merged). A clean read is
 * one call. Any other error ends the read.
 */
export async function readSalvaging(volume: Source, sector: number, out: Uint8Array): Promise<SectorRange[] | IoError> {
  const lost: SectorRange[] = [];
  const walk = async (s: number, buf: Uint8Array): Promise<true | IoError> => {
    const r = await readInto(volume, s, buf);
    if (r === true) return true;
    if (!isMediumError(r)) return r;
    const n = buf.length / SECTOR;
    if (n === 1) {
      buf.fill(0);
      const last = lost[lost.length - 1];
      if (last && last.start + last.count === s) lost[lost.length - 1] = { start: last.start, count: last.count + 1 };
      else lost.push({ start: s, count: 1 });
      return true;
    }
    const half = Math.ceil(n / 2);
    const a = await walk(s, buf.subarray(0, half * SECTOR));
    if (a !== true) return a;
    return walk(s + half, buf.subarray(half * SECTOR));
  };
  const r = await walk(sector, out);
  return r === true ? lost : r;
}

/**
 * `volume` read as `readSalvaging` reads it, for a server: a read that a smaller one rebuilds succeeds, one
 * over lost sectors fails with EIO.
 */
export function salvaging(volume: Source): Source {
  const readIntoSalvaged = async (sector: number, out: Uint8Array): Promise<true | IoError> => {
    const r = await readSalvaging(volume, sector, out);
    if (isIoError(r)) return r;
    return r.length === 0 ? true : ioError(volume.name, 'EIO');
  };
  return {
    name: volume.name,
    sizeSectors: volume.sizeSectors,
    readInto: readIntoSalvaged,
    read: async (sector, count) => {
      const out = new Uint8Array(count * SECTOR);
      const r = await readIntoSalvaged(sector, out);
      return r === true ? out : r;
    },
    write: (sector, data) => volume.write(sector, data),
    ...(volume.flush ? { flush: () => volume.flush!() } : {}),
    ...(volume.extents ? { extents: (sector: number, count: number) => volume.extents!(sector, count) } : {}),
  };
}

/**
 * Retry a read of a redundant target with members treated as missing: first as given (`missing`), then,
 * while the read fails with EIO and fewer than `most` members are missing, with the member the error names
 * (a member Source's name) missing as well — or, when the error names none, each other member in turn.
 */
export async function readDegrading(
  missing: readonly number[],
  most: number,
  names: readonly (string | undefined)[],
  attempt: (missing: readonly number[]) => Promise<true | IoError>,
): Promise<true | IoError> {
  const r = await attempt(missing);
  if (r === true || !isMediumError(r) || missing.length >= most) return r;
  const named = names.findIndex((n, i) => n === r.path && !missing.includes(i));
  const candidates = named >= 0 ? [named] : names.flatMap((n, i) => (n !== undefined && !missing.includes(i) ? [i] : []));
  for (const d of candidates) {
    const again = await readDegrading([...missing, d], most, names, attempt);
    if (again === true) return true;
  }
  return r;
}

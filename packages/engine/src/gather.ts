/**
 * Scatter/gather over member devices: an I/O cut into pieces (device, device sector, length, place in the
 * buffer) becomes one contiguous read or write per device, so striped and parity layouts move large runs.
 */
import { SECTOR, ioError, isIoError, type IoError, type Source } from './source.js';
import { skewed } from './pool.js';

export interface Piece {
  /** Index into the target's device list. */
  readonly dev: number;
  readonly devSector: number;
  readonly count: number;
  /** Sector offset of the piece in the request's buffer. */
  readonly at: number;
}

/**
 * Cut [sector, sector+count) of a chunked layout into pieces, one per chunk touched: `place` says which
 * device holds chunk number k and at which chunk of that device (the walk of dm-stripe and md's RAID5).
 */
export function chunkPieces(chunk: number, sector: number, count: number, place: (k: number) => { dev: number; devChunk: number }): Piece[] {
  const pieces: Piece[] = [];
  let at = 0;
  while (at < count) {
    const s = sector + at;
    const k = Math.floor(s / chunk);
    const inChunk = s - k * chunk;
    const n = Math.min(chunk - inChunk, count - at);
    const { dev, devChunk } = place(k);
    pieces.push({ dev, devSector: devChunk * chunk + inChunk, count: n, at });
    at += n;
  }
  return pieces;
}

interface Span {
  start: number;
  end: number;
}

function spans(pieces: readonly Piece[]): Map<number, Span> {
  const byDev = new Map<number, Span>();
  for (const p of pieces) {
    const s = byDev.get(p.dev);
    if (!s) byDev.set(p.dev, { start: p.devSector, end: p.devSector + p.count });
    else {
      s.start = Math.min(s.start, p.devSector);
      s.end = Math.max(s.end, p.devSector + p.count);
    }
  }
  return byDev;
}

/** Read every piece into `out` (sector offsets `at`), one read per device; `devs[i]` plus its offset. */
export async function gather(
  devs: readonly { source: Source | undefined; offset: number }[],
  pieces: readonly Piece[],
  out: Uint8Array,
): Promise<true | IoError> {
  const runs = [...spans(pieces)];
  const results = await Promise.all(
    runs.map(([dev, span]) => {
      const d = devs[dev]!;
      if (!d.source) return Promise.resolve(ioError(`device #${dev}`, 'ENXIO'));
      return d.source.read(d.offset + span.start, span.end - span.start);
    }),
  );
  const bufs = new Map<number, { span: Span; data: Uint8Array }>();
  for (let i = 0; i < runs.length; i++) {
    const r = results[i]!;
    if (isIoError(r)) return r;
    bufs.set(runs[i]![0], { span: runs[i]![1], data: r });
  }
  for (const p of pieces) {
    const b = bufs.get(p.dev)!;
    const from = (p.devSector - b.span.start) * SECTOR;
    out.set(b.data.subarray(from, from + p.count * SECTOR), p.at * SECTOR);
  }
  return true;
}

/** Read every piece straight into `out` when every device can (no per-device buffers), else `gather`. */
export async function gatherInto(
  devs: readonly { source: Source | undefined; offset: number }[],
  pieces: readonly Piece[],
  out: Uint8Array,
): Promise<true | IoError> {
  if (pieces.every((p) => devs[p.dev]?.source?.readvInto)) {
    // One preadv per device: its pieces are consecutive on it (a striped or RAID run of rows).
    const byDev = new Map<number, Piece[]>();
    for (const p of pieces) {
      const list = byDev.get(p.dev);
      if (list) list.push(p);
      else byDev.set(p.dev, [p]);
    }
    const runs = [...byDev].map(([dev, ps]) => {
      ps.sort((a, b) => a.devSector - b.devSector);
      const consecutive = ps.every((p, i) => i === 0 || ps[i - 1]!.devSector + ps[i - 1]!.count === p.devSector);
      return { dev, ps, consecutive };
    });
    if (runs.every((r) => r.consecutive)) {
      const results = await Promise.all(
        runs.map(({ dev, ps }) => {
          const d = devs[dev]!;
          return d.source!.readvInto!(d.offset + ps[0]!.devSector, ps.map((p) => out.subarray(p.at * SECTOR, (p.at + p.count) * SECTOR)));
        }),
      );
      for (const r of results) if (r !== true) return r;
      return true;
    }
  }
  if (!pieces.every((p) => devs[p.dev]?.source?.readInto)) return gather(devs, pieces, out);
  const results = await Promise.all(
    pieces.map((p) => {
      const d = devs[p.dev]!;
      return d.source!.readInto!(d.offset + p.devSector, out.subarray(p.at * SECTOR, (p.at + p.count) * SECTOR));
    }),
  );
  for (const r of results) if (r !== true) return r;
  return true;
}

/** Write every piece from `data`, one write per device. */
export async function scatter(
  devs: readonly { source: Source | undefined; offset: number }[],
  pieces: readonly Piece[],
  data: Uint8Array,
): Promise<true | IoError> {
  const runs = [...spans(pieces)];
  const bufs = new Map(runs.map(([dev, span]) => [dev, { span, buf: skewed((span.end - span.start) * SECTOR) }]));
  for (const p of pieces) {
    const b = bufs.get(p.dev)!;
    b.buf.set(data.subarray(p.at * SECTOR, (p.at + p.count) * SECTOR), (p.devSector - b.span.start) * SECTOR);
  }
  const results = await Promise.all(
    [...bufs].map(([dev, b]) => {
      const d = devs[dev]!;
      if (!d.source) return Promise.resolve(ioError(`device #${dev}`, 'ENXIO'));
      return d.source.write(d.offset + b.span.start, b.buf);
    }),
  );
  for (const r of results) if (isIoError(r)) return r;
  return true;
}

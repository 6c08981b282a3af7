/**
 * dm-raid's raid6 types: md's RAID6 under a device-mapper table, P (XOR) and Q (Reed-Solomon over GF(2^8),
 * lib/raid6) per stripe. Where each chunk of a stripe lives is md's raid5_compute_sector; which power of g
 * multiplies a data chunk in Q is md's set_syndrome_sources (raid6_d0, raid6_idx_to_slot). Any two members
 * may be missing: reads rebuild their data, writes keep P and Q so that they would rebuild to the written data.
 */
import { chunkPieces, gatherInto, type Piece } from '../gather.js';
import { gfInv, gfMul, gfPow2, tableKernels } from '../gf256.js';
import { simdKernels } from '../gf256-simd.js';
import { BufferPool, skewed } from '../pool.js';
import { parityExtents } from '../extents.js';
import { extentsOf, isIoError, readInto as readIntoSource, SECTOR, xorInto, type IoError, type Source } from '../source.js';
import { readDegrading } from '../rescue.js';
import type { Target } from '../target.js';
import { raid5Place, type Algorithm } from './raid5-layout.js';

/** dm-raid's raid6 names (dm-raid.c raid_types[]) → md's algorithm. */
export const RAID6_TYPES = {
  raid6_zr: 'rotating-zero-restart',
  raid6_nr: 'rotating-n-restart',
  raid6_nc: 'rotating-n-continue',
  raid6_n_6: 'parity-n',
  raid6_la_6: 'left-asymmetric-6',
  raid6_ra_6: 'right-asymmetric-6',
  raid6_ls_6: 'left-symmetric-6',
  raid6_rs_6: 'right-symmetric-6',
} as const;
export type Raid6Type = keyof typeof RAID6_TYPES;
/** The raid6_*_6 layouts' RAID5 layout of P and data. */
const RAID5_OF: Partial<Record<Raid6Type, Algorithm>> = {
  raid6_n_6: 'parity-n',
  raid6_la_6: 'left-asymmetric',
  raid6_ra_6: 'right-asymmetric',
  raid6_ls_6: 'left-symmetric',
  raid6_rs_6: 'right-symmetric',
};
export const isRaid6Type = (t: string): t is Raid6Type => Object.hasOwn(RAID6_TYPES, t);

/** One stripe (row) of the layout: the P and Q devices, and per data index its device and Q coefficient. */
export interface Stripe {
  readonly p: number;
  readonly q: number;
  /** Device of data chunk dd_idx (md's logical order within the stripe). */
  readonly data: readonly number[];
  /** g^slot of data chunk dd_idx in Q. */
  readonly coef: readonly number[];
}

/** md's raid5_compute_sector for level 6, and the Q slots of set_syndrome_sources. */
export function raid6Stripe(type: Raid6Type, disks: number, row: number): Stripe {
  const dataDisks = disks - 2;
  let p: number;
  let q: number;
  let ddf = false;
  let place: (dd: number) => number;
  // D D P Q D (asymmetric, P in the middle) or Q D D D P (P on the last device): data skips both.
  const asymmetric = (pd: number) => {
    p = pd;
    if (pd === disks - 1) {
      q = 0;
      place = (dd) => dd + 1;
    } else {
      q = pd + 1;
      place = (dd) => (dd >= pd ? dd + 2 : dd);
    }
  };
  switch (RAID6_TYPES[type]) {
    case 'rotating-zero-restart':
      asymmetric(row % disks);
      ddf = true;
      break;
    case 'rotating-n-restart':
      asymmetric(disks - 1 - ((row + 1) % disks));
      ddf = true;
      break;
    case 'rotating-n-continue':
      p = disks - 1 - (row % disks);
      q = (p + disks - 1) % disks;
      place = (dd) => (p + 1 + dd) % disks;
      ddf = true;
      break;
    default: {
      // md's own layouts: a RAID5 layout over every device but the last, which holds Q.
      const layout = RAID5_OF[type]!;
      p = raid5Place(layout, disks - 1, row, 0).parity;
      q = disks - 1;
      place = (dd) => raid5Place(layout, disks - 1, row, dd).dev;
    }
  }
  const data = Array.from({ length: dataDisks }, (_, dd) => place(dd));
  // DDF layouts number every device from 0 (P and Q slots count, as zero blocks); md numbers the data
  // devices met walking from the one after Q (from 0 when Q is last), P and Q not counted.
  const slotOf = new Map<number, number>();
  if (ddf) for (const d of data) slotOf.set(d, d);
  else {
    const d0 = q! === disks - 1 ? 0 : q! + 1;
    let slot = 0;
    for (let k = 0; k < disks; k++) {
      const d = (d0 + k) % disks;
      if (d !== p! && d !== q!) slotOf.set(d, slot++);
    }
  }
  return { p: p!, q: q!, data, coef: data.map((d) => gfPow2(slotOf.get(d)!)) };
}

/** WebAssembly SIMD where the runtime has it (every Node we support), else the table loops. */
const gf = simdKernels() ?? tableKernels;

/** P and Q of one stripe's data chunks (by data index) into p and q. */
export function encodePQ(s: Stripe, data: readonly Uint8Array[], p: Uint8Array, q: Uint8Array): void {
  p.fill(0);
  q.fill(0);
  for (let dd = 0; dd < data.length; dd++) {
    xorInto(p, data[dd]!);
    gf.mulXorInto(q, data[dd]!, s.coef[dd]!);
  }
}

/**
 * Rebuild the chunks of up to two lost devices of one stripe in place: `chunks` holds every device's chunk
 * (by device; a lost one is scratch of the same size). Data first (from P, from Q, or from both when two
 * data chunks are lost), then a lost P or Q from the data when `parity` is asked for.
 */
export function recoverStripe(s: Stripe, chunks: readonly Uint8Array[], lost: readonly number[], parity = true): void {
  const lostData = s.data.flatMap((d, dd) => (lost.includes(d) ? [dd] : []));
  const pLost = lost.includes(s.p);
  const qLost = lost.includes(s.q);
  if (lostData.length + (pLost ? 1 : 0) + (qLost ? 1 : 0) > 2) throw new RangeError('RAID6 rebuilds at most two members');
  const n = chunks[s.p]!.length;
  if (lostData.length === 1) {
    const x = lostData[0]!;
    const dst = chunks[s.data[x]!]!;
    if (!pLost) {
      dst.set(chunks[s.p]!);
      for (let dd = 0; dd < s.data.length; dd++) if (dd !== x) xorInto(dst, chunks[s.data[dd]!]!);
    } else {
      // D_x = (Q + sum of the others' c*D) / c_x; the division folded into the last term's pass.
      const others = s.data.flatMap((d, dd) => (dd === x ? [] : [dd]));
      const last = others.pop()!;
      // Q' is gathered in D_x, unless Q is it already (no other data: read in place).
      let q = chunks[s.q]!;
      if (others.length) {
        dst.set(q);
        for (const dd of others) gf.mulXorInto(dst, chunks[s.data[dd]!]!, s.coef[dd]!);
        q = dst;
      }
      gf.solve1(dst, q, chunks[s.data[last]!]!, s.coef[last]!, gfInv(s.coef[x]!));
    }
  } else if (lostData.length === 2) {
    const [x, y] = lostData as [number, number];
    const dx = chunks[s.data[x]!]!;
    const dy = chunks[s.data[y]!]!;
    // With P' = P + the present data = D_x + D_y and Q' = Q + their c*D = c_x D_x + c_y D_y:
    // D_x = (Q' + c_y P') / (c_x + c_y), D_y = P' + D_x.
    // P' and Q' are gathered in D_y and D_x, unless P and Q are them already (no other data: read in place).
    let [p, q] = [chunks[s.p]!, chunks[s.q]!];
    if (s.data.length > 2) {
      dy.set(p);
      dx.set(q);
      for (let dd = 0; dd < s.data.length; dd++) {
        if (dd === x || dd === y) continue;
        const d = chunks[s.data[dd]!]!;
        xorInto(dy, d);
        gf.mulXorInto(dx, d, s.coef[dd]!);
      }
      [p, q] = [dy, dx];
    }
    // One pass: D_x = a*Q' + b*P' with a = 1/(c_x + c_y), b = c_y*a; D_y = P' + D_x.
    const a = gfInv(s.coef[x]! ^ s.coef[y]!);
    gf.solve2(dx, dy, p, q, a, gfMul(s.coef[y]!, a));
  }
  if (parity && (pLost || qLost)) {
    const p = pLost ? chunks[s.p]! : new Uint8Array(n);
    const q = qLost ? chunks[s.q]! : new Uint8Array(n);
    encodePQ(s, s.data.map((d) => chunks[d]!), p, q);
  }
}

/** Whole rows of every member for degraded reads, reused across reads (and targets). */
const rowPool = new BufferPool(64 * 1024 * 1024);

export interface Raid6Spec {
  readonly type: Raid6Type;
  readonly length: number;
  readonly chunk: number;
  readonly devs: readonly { source: Source | undefined; offset: number }[];
  readonly report: (message: string) => void;
}

export function raid6Target({ type, length, chunk, devs, report }: Raid6Spec): Target | string {
  const disks = devs.length;
  if (disks < 4) return 'Invalid number of raid devices';
  const lost = devs.flatMap((d, i) => (d.source ? [] : [i]));
  if (lost.length > 2) return 'Insufficient redundancy to activate array';
  const dataDisks = disks - 2;
  if (length % dataDisks !== 0) return 'Target length not divisible by number of data devices';
  const devSectors = length / dataDisks;
  if (devSectors % chunk !== 0) return 'Device length is not a multiple of the chunk size';
  for (const d of devs) if (d.source && d.source.sizeSectors < devSectors) return `Device ${d.source.name} too small for the array`;
  for (const m of lost) report(`${type}: member #${m} is missing; its data is rebuilt from P and Q`);

  // The layout repeats every disks (or disks - 1) rows.
  const period = disks * (disks - 1);
  const stripes = new Map<number, Stripe>();
  const stripe = (row: number) => {
    const key = row % period;
    let s = stripes.get(key);
    if (!s) stripes.set(key, (s = raid6Stripe(type, disks, key)));
    return s;
  };
  const chunkBytes = chunk * SECTOR;
  const rowSectors = chunk * dataDisks;

  const pieces = (sector: number, count: number): Piece[] =>
    chunkPieces(chunk, sector, count, (k) => {
      const row = Math.floor(k / dataDisks);
      return { dev: stripe(row).data[k % dataDisks]!, devChunk: row };
    });

  /** Rows [r0, r1] of every device, lost ones as zeroed scratch; sector 0 = row r0's start. */
  const readRows = async (r0: number, r1: number): Promise<Uint8Array[] | IoError> => {
    const n = (r1 - r0 + 1) * chunk;
    const reads = await Promise.all(devs.map((d) => (d.source ? d.source.read(d.offset + r0 * chunk, n) : Promise.resolve(new Uint8Array(n * SECTOR)))));
    for (const r of reads) if (isIoError(r)) return r;
    return reads as Uint8Array[];
  };
  const giveRows = (bufs: readonly Uint8Array[]) => {
    for (const b of bufs) rowPool.give(new Uint8Array(b.buffer, b.byteOffset, BufferPool.classOf(b.length)));
  };
  const chunksOf = (rows: readonly Uint8Array[], i: number) => rows.map((r) => r.subarray(i * chunkBytes, (i + 1) * chunkBytes));

  /** Read one device's run of chunks, from `devSector` on, into consecutive buffers. */
  const readRun = async (dev: number, devSector: number, bufs: readonly Uint8Array[]): Promise<true | IoError> => {
    const d = devs[dev]!;
    if (d.source!.readvInto) return d.source!.readvInto(d.offset + devSector, bufs);
    for (let i = 0; i < bufs.length; i++) {
      const r = await readIntoSource(d.source!, d.offset + devSector + i * chunk, bufs[i]!);
      if (r !== true) return r;
    }
    return true;
  };

  /** The read with members `gone` (missing ones, or ones whose sectors here are unreadable) rebuilt. */
  const readWith = async (gone: readonly number[], sector: number, out: Uint8Array): Promise<true | IoError> => {
    const count = out.length / SECTOR;
    const all = pieces(sector, count);
    if (!all.some((p) => gone.includes(p.dev))) return gatherInto(devs, all, out);
    // A gone chunk needs its whole stripe. Each row's data chunks that the request covers whole are read
    // (or rebuilt) straight in the request's buffer; the peers (P, Q, data the request covers in part or
    // not at all) go to scratch rows, and the parts of those the request wants are copied out afterwards.
    const r0 = Math.floor(all[0]!.devSector / chunk);
    const r1 = Math.floor((all[all.length - 1]!.devSector + all[all.length - 1]!.count - 1) / chunk);
    const rows = r1 - r0 + 1;
    const scratch = devs.map(() => rowPool.take(rows * chunkBytes).subarray(0, rows * chunkBytes));
    const end = sector + count;
    const inOut = new Set<Uint8Array>();
    const chunkAt = (row: number, dev: number): Uint8Array => {
      const s = stripe(row);
      const dd = s.data.indexOf(dev);
      if (dd >= 0) {
        const first = (row * dataDisks + dd) * chunk;
        if (first >= sector && first + chunk <= end) {
          const c = out.subarray((first - sector) * SECTOR, (first - sector + chunk) * SECTOR);
          inOut.add(c);
          return c;
        }
      }
      return scratch[dev]!.subarray((row - r0) * chunkBytes, (row - r0 + 1) * chunkBytes);
    };
    const table = Array.from({ length: rows }, (_, i) => devs.map((_, dev) => chunkAt(r0 + i, dev)));
    const results = await Promise.all(
      devs.flatMap((d, dev) => (d.source && !gone.includes(dev) ? [readRun(dev, r0 * chunk, table.map((c) => c[dev]!))] : [])),
    );
    const failed = results.find((r) => r !== true);
    if (failed) {
      giveRows(scratch);
      return failed;
    }
    for (let row = r0; row <= r1; row++) {
      const s = stripe(row);
      // Rows that lost only P and/or Q, or whose lost data the request does not want, need no rebuild.
      const wanted = s.data.some((d, dd) => {
        if (!gone.includes(d)) return false;
        const first = (row * dataDisks + dd) * chunk;
        return first < end && first + chunk > sector;
      });
      if (wanted) recoverStripe(s, table[row - r0]!, gone, false);
    }
    // What the request covers in part sits in scratch: its present and rebuilt data pieces, copied out.
    for (const p of all) {
      const row = Math.floor(p.devSector / chunk);
      const c = table[row - r0]![p.dev]!;
      if (inOut.has(c)) continue;
      const from = (p.devSector - row * chunk) * SECTOR;
      out.set(c.subarray(from, from + p.count * SECTOR), p.at * SECTOR);
    }
    giveRows(scratch);
    return true;
  };

  const names = devs.map((d) => d.source?.name);
  // A member's unreadable sectors (EIO) are rebuilt as if it were missing, for this read only.
  const readInto = (sector: number, out: Uint8Array): Promise<true | IoError> =>
    readDegrading(lost, 2, names, (without) => readWith(without, sector, out));

  // Writes are read-modify-write of whole rows (every member, P and Q recomputed): one at a time.
  let queue: Promise<unknown> = Promise.resolve();
  const write = (sector: number, data: Uint8Array): Promise<true | IoError> => {
    const run = async (): Promise<true | IoError> => {
      const all = pieces(sector, data.length / SECTOR);
      const r0 = Math.floor(all[0]!.devSector / chunk);
      const r1 = Math.floor((all[all.length - 1]!.devSector + all[all.length - 1]!.count - 1) / chunk);
      const rows = await readRows(r0, r1);
      if (isIoError(rows)) return rows;
      if (lost.length) for (let row = r0; row <= r1; row++) recoverStripe(stripe(row), chunksOf(rows, row - r0), lost, false);
      for (const p of all) rows[p.dev]!.set(data.subarray(p.at * SECTOR, (p.at + p.count) * SECTOR), (p.devSector - r0 * chunk) * SECTOR);
      for (let row = r0; row <= r1; row++) {
        const s = stripe(row);
        const c = chunksOf(rows, row - r0);
        encodePQ(s, s.data.map((d) => c[d]!), c[s.p]!, c[s.q]!);
      }
      const results = await Promise.all(devs.map((d, i) => (d.source ? d.source.write(d.offset + r0 * chunk, rows[i]!) : Promise.resolve(true as const))));
      for (const r of results) if (isIoError(r)) return r;
      return true;
    };
    const p = queue.then(run, run);
    queue = p;
    return p;
  };

  return {
    length,
    async read(sector, count) {
      const out = skewed(count * SECTOR);
      const r = await readInto(sector, out);
      return r === true ? out : r;
    },
    readInto,
    write,
    extents: (sector, count) =>
        parityExtents(chunk, dataDisks, disks, sector, count, (d, s, n) => (devs[d]!.source ? extentsOf(devs[d]!.source!, devs[d]!.offset + s, n) : undefined)),
    status: () => `${type} ${disks} ${devs.map((d) => (d.source ? 'A' : 'D')).join('')}`,
    check: {
      kind: 'parity',
      unit: rowSectors,
      async verify(sector, count) {
        if (lost.length) return { ranges: [], mismatches: 0, syndromeMismatches: 0 };
        const r0 = Math.floor(sector / rowSectors);
        const r1 = Math.floor((sector + count - 1) / rowSectors);
        const rows = await readRows(r0, r1);
        if (isIoError(rows)) return rows;
        const ranges: { start: number; length: number }[] = [];
        let mismatches = 0;
        let syndromeMismatches = 0;
        const p = new Uint8Array(chunkBytes);
        const q = new Uint8Array(chunkBytes);
        const differs = (a: Uint8Array, b: Uint8Array, s: number) => {
          for (let i = s * SECTOR; i < (s + 1) * SECTOR; i++) if (a[i] !== b[i]) return true;
          return false;
        };
        for (let row = r0; row <= r1; row++) {
          const s = stripe(row);
          const c = chunksOf(rows, row - r0);
          encodePQ(s, s.data.map((d) => c[d]!), p, q);
          let pBad = 0;
          let qBad = 0;
          for (let sec = 0; sec < chunk; sec++) {
            if (differs(p, c[s.p]!, sec)) pBad++;
            if (differs(q, c[s.q]!, sec)) qBad++;
          }
          mismatches += pBad;
          syndromeMismatches += qBad;
          if (!pBad && !qBad) continue;
          const prev = ranges[ranges.length - 1];
          if (prev && prev.start + prev.length === row * rowSectors) prev.length += rowSectors;
          else ranges.push({ start: row * rowSectors, length: rowSectors });
        }
        return { ranges, mismatches, syndromeMismatches };
      },
    },
  };
}

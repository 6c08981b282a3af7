/**
 * `raid <type> <#params> <chunk> [params...] <#devs> (<meta> <data>)...`: dm-raid (md's RAID4/5 under a
 * device-mapper table), as Debian's dmraid 1.0.0.rc16 loads RAID4/5 sets. Data starts at sector 0 of each
 * data device (no metadata devices: `-`). A data device `-` is missing: reads rebuild it from parity, writes
 * keep parity so that the member would rebuild to the written data.
 */
import { chunkPieces, gatherInto, type Piece } from '../gather.js';
import { BufferPool, skewed } from '../pool.js';
import { extentsOf, isIoError, readInto as readMember, SECTOR, xorInto, type IoError, type Source } from '../source.js';
import { parityScan, type ParityScan } from '../parity-scan.js';
import { parityExtents } from '../extents.js';
import { readDegrading } from '../rescue.js';
import { uint, type TargetType } from '../target.js';
import { raid5Place, type Algorithm } from './raid5-layout.js';
import { isRaid6Type, raid6Target } from './raid6.js';


/**
 * dm-raid's raid types (kernel 6.1 dm-raid.c raid_types[]): `raid4` is md's RAID4 with the parity on the
 * FIRST device (ALGORITHM_PARITY_0, as raid5_0) — measured against the kernel in test/kernel.test.ts.
 */
export const RAID45_TYPES: Readonly<Record<string, Algorithm>> = {
  raid4: 'parity-0',
  raid5_n: 'parity-n',
  raid5_0: 'parity-0',
  raid5_la: 'left-asymmetric',
  raid5_ra: 'right-asymmetric',
  raid5_ls: 'left-symmetric',
  raid5_rs: 'right-symmetric',
};

/** Parameters after the chunk size that take a value (dm-raid.c parse_raid_params). */
const VALUED = new Set([
  'rebuild', 'daemon_sleep', 'min_recovery_rate', 'max_recovery_rate', 'write_mostly', 'max_write_behind',
  'stripe_cache', 'region_size', 'raid10_copies', 'raid10_format', 'data_offset', 'delta_disks',
  'journal_dev', 'journal_mode',
]);

/**
 * Bytes of each member the data check reads and scans at a time (whole chunk rows, one row at least): the
 * members' reads then stay in the CPU's cache for the scan (256 KiB: a 512 MiB check 20 % faster here than
 * with 2 MiB reads).
 */
const CHECK_BATCH = 256 * 1024;

/** Buffers for the peers of a lost member's chunks, reused across reads. */
const scratchPool = new BufferPool(16 * 1024 * 1024);

export const raid: TargetType = {
  name: 'raid',
  construct(ctx, length, args) {
    const type = args[0] ?? '';
    const algorithm = RAID45_TYPES[type];
    const raid6 = isRaid6Type(type);
    if (!algorithm && !raid6) return `Unsupported raid type ${type} (the userspace engine does RAID4, RAID5 and RAID6)`;
    const nParams = uint(args[1]);
    if (nParams === undefined || nParams < 1) return 'Invalid number of raid parameters';
    const chunk = uint(args[2]);
    if (chunk === undefined || chunk < 8) return 'Bad chunk size';
    const params = args.slice(3, 2 + nParams);
    for (let p = 0; p < params.length; p++) if (VALUED.has(params[p]!)) p++;
    let i = 2 + nParams;
    const disks = uint(args[i]);
    if (disks === undefined || disks < 3) return 'Invalid number of raid devices';
    i++;
    if (args.length !== i + 2 * disks) return 'Wrong number of raid device arguments';
    const devs: { source: Source | undefined; offset: number }[] = [];
    const missing: number[] = [];
    for (let d = 0; d < disks; d++) {
      const data = args[i + 2 * d + 1]!;
      if (data === '-') {
        devs.push({ source: undefined, offset: 0 });
        missing.push(d);
        continue;
      }
      const source = ctx.lookup(data);
      if (!source) return `Device lookup failure: ${data}`;
      devs.push({ source, offset: 0 });
    }
    if (raid6) return raid6Target({ type, length, chunk, devs, report: (m) => ctx.report(m) });
    if (!algorithm) return `Unsupported raid type ${type}`;
    if (missing.length > 1) return 'Insufficient redundancy to activate array';
    const dataDisks = disks - 1;
    if (length % dataDisks !== 0) return 'Target length not divisible by number of data devices';
    const devSectors = length / dataDisks;
    // md uses whole chunks of each member; dmraid's tables always give whole rows.
    if (devSectors % chunk !== 0) return 'Device length is not a multiple of the chunk size';
    for (const d of devs) if (d.source && d.source.sizeSectors < devSectors) return `Device ${d.source.name} too small for the array`;
    const lost = missing[0];
    if (lost !== undefined) ctx.report(`${type}: member #${lost} is missing; its data is rebuilt from parity`);

    const pieces = (sector: number, count: number): Piece[] =>
      chunkPieces(chunk, sector, count, (k) => {
        const row = Math.floor(k / dataDisks);
        return { dev: raid5Place(algorithm, disks, row, k % dataDisks).dev, devChunk: row };
      });

    /** The read with member `gone` (a missing one, or one whose sectors here are unreadable) rebuilt from parity. */
    const readWith = async (gone: number | undefined, sector: number, out: Uint8Array): Promise<true | IoError> => {
      const all = pieces(sector, out.length / SECTOR);
      const direct = all.filter((p) => p.dev !== gone);
      const lostPieces = all.filter((p) => p.dev === gone);
      // A gone piece is the XOR of the same sectors on every other device. Those the request reads anyway
      // (its other data pieces of the row) are taken from `out`; the rest (parity, data outside the request)
      // are gathered side by side into scratch.
      const peers: Piece[] = [];
      /** Per gone piece, where each other device's same sectors will be: in `out` or in scratch, at a sector. */
      const sources: { inOut: boolean; at: number }[][] = [];
      let scratchSectors = 0;
      for (const p of lostPieces) {
        const row: { inOut: boolean; at: number }[] = [];
        for (let d = 0; d < disks; d++) {
          if (d === gone) continue;
          const hit = direct.find((q) => q.dev === d && q.devSector <= p.devSector && q.devSector + q.count >= p.devSector + p.count);
          if (hit) row.push({ inOut: true, at: hit.at + (p.devSector - hit.devSector) });
          else {
            row.push({ inOut: false, at: scratchSectors });
            peers.push({ dev: d, devSector: p.devSector, count: p.count, at: scratchSectors });
            scratchSectors += p.count;
          }
        }
        sources.push(row);
      }
      const scratch = peers.length ? scratchPool.take(scratchSectors * SECTOR) : undefined;
      try {
        const [a, b] = await Promise.all([gatherInto(devs, direct, out), scratch ? gatherInto(devs, peers, scratch) : (true as const)]);
        if (a !== true) return a;
        if (b !== true) return b;
        for (const [k, p] of lostPieces.entries()) {
          const dst = out.subarray(p.at * SECTOR, (p.at + p.count) * SECTOR);
          for (const [i, { inOut, at }] of sources[k]!.entries()) {
            const peer = (inOut ? out : scratch!).subarray(at * SECTOR, (at + p.count) * SECTOR);
            if (i === 0) dst.set(peer);
            else xorInto(dst, peer);
          }
        }
        return true;
      } finally {
        if (scratch) scratchPool.give(scratch);
      }
    };

    const names = devs.map((d) => d.source?.name);
    // A member's unreadable sectors (EIO) are rebuilt as if it were missing, for this read only.
    const readInto = (sector: number, out: Uint8Array): Promise<true | IoError> =>
      readDegrading(missing, 1, names, (without) => readWith(without[0], sector, out));

    const read = async (sector: number, count: number): Promise<Uint8Array | IoError> => {
      const out = skewed(count * SECTOR);
      const r = await readInto(sector, out);
      return r === true ? out : r;
    };

    /** The rows [r0, r1] of every device (a lost one rebuilt), sector 0 = row r0's start. */
    const readRows = async (r0: number, r1: number): Promise<(Uint8Array | undefined)[] | IoError> => {
      const n = (r1 - r0 + 1) * chunk;
      const reads = await Promise.all(devs.map((d) => (d.source ? d.source.read(r0 * chunk, n) : Promise.resolve(undefined))));
      for (const r of reads) if (r && isIoError(r)) return r;
      return reads as (Uint8Array | undefined)[];
    };

    // Parity-updating writes are read-modify-write of whole rows: one at a time, so rows never interleave.
    let queue: Promise<unknown> = Promise.resolve();
    const write = (sector: number, data: Uint8Array): Promise<true | IoError> => {
      const run = async (): Promise<true | IoError> => {
        const count = data.length / SECTOR;
        const all = pieces(sector, count);
        const rowOf = (p: Piece) => Math.floor(p.devSector / chunk);
        const r0 = rowOf(all[0]!);
        const r1 = rowOf(all[all.length - 1]!);
        const rows = await readRows(r0, r1);
        if (isIoError(rows)) return rows;
        const bytes = (r1 - r0 + 1) * chunk * SECTOR;
        if (lost !== undefined) {
          const rebuilt = new Uint8Array(bytes);
          for (const r of rows) if (r) xorInto(rebuilt, r);
          rows[lost] = rebuilt;
        }
        for (const p of all) {
          rows[p.dev]!.set(data.subarray(p.at * SECTOR, (p.at + p.count) * SECTOR), (p.devSector - r0 * chunk) * SECTOR);
        }
        const chunkBytes = chunk * SECTOR;
        for (let row = r0; row <= r1; row++) {
          const { parity } = raid5Place(algorithm, disks, row, 0);
          const off = (row - r0) * chunkBytes;
          const pchunk = rows[parity]!.subarray(off, off + chunkBytes);
          pchunk.fill(0);
          for (let d = 0; d < disks; d++) if (d !== parity) xorInto(pchunk, rows[d]!.subarray(off, off + chunkBytes));
        }
        const results = await Promise.all(devs.map((d, n) => (d.source ? d.source.write(r0 * chunk, rows[n]!) : Promise.resolve(true as const))));
        for (const r of results) if (isIoError(r)) return r;
        return true;
      };
      const p = queue.then(run, run);
      queue = p;
      return p;
    };

    const rowSectors = chunk * dataDisks;
    /** The data check's buffers and XOR test, made at its first use (reads and writes never need them). */
    let scan: ParityScan | undefined;
    return {
      length,
      read,
      readInto,
      write,
      extents: (sector, count) =>
        parityExtents(chunk, dataDisks, disks, sector, count, (d, s, n) => (devs[d]!.source ? extentsOf(devs[d]!.source!, devs[d]!.offset + s, n) : undefined)),
      status: () => `${type} ${disks} ${devs.map((d) => (d.source ? 'A' : 'D')).join('')}`,
      check: {
        kind: 'parity',
        unit: rowSectors,
        async verify(sector, count) {
          const r0 = Math.floor(sector / rowSectors);
          const r1 = Math.floor((sector + count - 1) / rowSectors);
          if (lost !== undefined) return { ranges: [], mismatches: 0 };
          // Every member's rows read once, into the scanner's buffers, and their XOR tested where they lie; a
          // batch of rows at a time, so that what a read brings into the CPU's cache is scanned from there.
          scan ??= parityScan();
          const ranges: { start: number; length: number }[] = [];
          let mismatches = 0;
          const perBatch = Math.max(1, Math.floor(CHECK_BATCH / (chunk * SECTOR)));
          for (let b0 = r0; b0 <= r1; b0 += perBatch) {
            const b1 = Math.min(r1, b0 + perBatch - 1);
            const bufs = scan.buffers(disks, (b1 - b0 + 1) * chunk * SECTOR);
            const reads = await Promise.all(devs.map((d, k) => readMember(d.source!, d.offset + b0 * chunk, bufs[k]!)));
            for (const r of reads) if (r !== true) return r;
            const odd = scan.oddSectors(bufs);
            for (let row = b0; row <= b1; row++) {
              let bad = 0;
              for (let s = (row - b0) * chunk, end = s + chunk; s < end; s++) bad += odd[s]!;
              if (!bad) continue;
              mismatches += bad;
              const prev = ranges[ranges.length - 1];
              if (prev && prev.start + prev.length === row * rowSectors) prev.length += rowSectors;
              else ranges.push({ start: row * rowSectors, length: rowSectors });
            }
          }
          return { ranges, mismatches };
        },
      },
    };
  },
};

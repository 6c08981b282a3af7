import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createEngine,
  ioError,
  isIoError,
  isOverlayError,
  isTableError,
  memorySource,
  openOverlay,
  overlayFile,
  SECTOR,
  SNAP_MAGIC,
  type Overlay,
  type OverlayError,
  type Source,
} from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'engine-snapshot-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const fresh = () => join(dir, `cow-${files++}.img`);

/** An origin whose every sector differs (sector number in its first bytes). */
function originBytes(sectors: number): Uint8Array {
  const b = new Uint8Array(sectors * SECTOR);
  for (let s = 0; s < sectors; s++) {
    for (let o = 0; o < SECTOR; o++) b[s * SECTOR + o] = (o * 13 + s * 7) & 0xff;
    b[s * SECTOR] = s & 0xff;
    b[s * SECTOR + 1] = s >> 8;
  }
  return b;
}

/** The origin as a Source that refuses writes, so a write reaching it fails the test. */
function readOnly(bytes: Uint8Array, name = 'origin'): Source {
  const m = memorySource(name, bytes);
  return { ...m, write: async () => ioError(name, 'EROFS') };
}

async function open(origin: Source, path: string, options: { name?: string; chunk?: number; writable?: boolean; create?: boolean } = {}) {
  const store = overlayFile(path, { create: options.create ?? true, writable: options.writable ?? true, volumeSectors: origin.sizeSectors });
  if (isIoError(store)) throw new Error(store.message);
  const o = await openOverlay(origin, store, {
    chunk: options.chunk,
    identity: { name: options.name ?? 'vol', sizeSectors: origin.sizeSectors },
    create: options.create ?? true,
    writable: options.writable ?? true,
  });
  return { overlay: o, close: () => store.close() };
}

const must = (o: Overlay | OverlayError): Overlay => {
  if (isOverlayError(o)) throw new Error(o.message);
  return o;
};

async function readAll(src: Source): Promise<Uint8Array> {
  const r = await src.read(0, src.sizeSectors);
  if (isIoError(r)) throw new Error(r.message);
  return r;
}

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

describe.sequential('overlay: copy-on-write over an origin that is never written', () => {
  it('reads the overlay where written, the origin elsewhere, with partial-chunk writes copied up first', async () => {
    // 1000 sectors with 8-sector chunks: the last chunk is partial (1000 = 125 * 8, so use 1003).
    const bytes = originBytes(1003);
    const before = bytes.slice();
    const model = bytes.slice();
    const { overlay, close } = await open(readOnly(bytes), fresh(), { chunk: 8 });
    const o = must(overlay);
    const writes: [number, number][] = [[0, 1], [3, 2], [7, 10], [100, 64], [999, 4], [500, 1]];
    for (const [s, n] of writes) {
      const data = new Uint8Array(n * SECTOR).fill((s * 31 + n) & 0xff);
      expect(await o.write(s, data)).toBe(true);
      model.set(data, s * SECTOR);
    }
    expect(same(await readAll(o), model)).toBe(true);
    expect(same(bytes, before)).toBe(true);
    close();
  });

  it('matches a byte model for any sequence of writes and reads (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ s: fc.nat(299), n: fc.integer({ min: 1, max: 40 }), v: fc.integer({ min: 1, max: 255 }) }), { maxLength: 12 }),
        fc.constantFrom(8, 16, 64),
        async (ws, chunk) => {
          const bytes = originBytes(300);
          const model = bytes.slice();
          const path = fresh();
          const { overlay, close } = await open(readOnly(bytes), path, { chunk });
          const o = must(overlay);
          for (const w of ws) {
            const n = Math.min(w.n, 300 - w.s);
            const data = new Uint8Array(n * SECTOR).fill(w.v);
            expect(await o.write(w.s, data)).toBe(true);
            model.set(data, w.s * SECTOR);
          }
          expect(same(await readAll(o), model)).toBe(true);
          close();
          // Reopened (a restart): the same volume.
          const again = await open(readOnly(bytes), path, { create: false, writable: false });
          expect(same(await readAll(must(again.overlay)), model)).toBe(true);
          again.close();
          rmSync(path);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('survives a restart: reopening the file gives the same volume and takes further writes', async () => {
    const bytes = originBytes(4096);
    const path = fresh();
    const first = await open(readOnly(bytes), path);
    const o = must(first.overlay);
    await o.write(10, new Uint8Array(3 * SECTOR).fill(0xaa));
    await o.write(2000, new Uint8Array(300 * SECTOR).fill(0xbb));
    expect(await o.flush!()).toBe(true);
    const want = await readAll(o);
    const held = o.exceptions;
    first.close();
    const second = await open(readOnly(bytes), path);
    const p = must(second.overlay);
    expect(p.exceptions).toBe(held);
    expect(same(await readAll(p), want)).toBe(true);
    await p.write(11, new Uint8Array(SECTOR).fill(0xcc));
    want.fill(0xcc, 11 * SECTOR, 12 * SECTOR);
    expect(same(await readAll(p), want)).toBe(true);
    second.close();
  });

  it('refuses an overlay made for another set or another size, and a file that is no overlay', async () => {
    const bytes = originBytes(512);
    const path = fresh();
    const a = await open(readOnly(bytes), path, { name: 'isw_a_Vol0' });
    await must(a.overlay).write(0, new Uint8Array(SECTOR).fill(1));
    a.close();
    const otherName = await open(readOnly(bytes), path, { name: 'pdc_b' });
    expect(otherName.overlay).toMatchObject({ kind: 'overlay', message: 'was made for RAID set "isw_a_Vol0", not "pdc_b"' });
    otherName.close();
    const otherSize = await open(readOnly(originBytes(520)), path, { name: 'isw_a_Vol0' });
    expect(otherSize.overlay).toMatchObject({ kind: 'overlay', message: 'was made for a volume of 512 sectors, this one has 520' });
    otherSize.close();
    const junk = fresh();
    const { writeFileSync } = await import('node:fs');
    writeFileSync(junk, new Uint8Array(8192).fill(7));
    const notOne = await open(readOnly(bytes), junk);
    expect(notOne.overlay).toMatchObject({ kind: 'overlay', message: 'is no overlay (no snapshot header)' });
    notOne.close();
    // Read-only and missing: nothing is made.
    const none = overlayFile(join(dir, 'missing.img'), { create: false, writable: false, volumeSectors: 512 });
    expect(none).toMatchObject({ kind: 'io', code: 'ENOENT' });
  });

  it('writes the kernel persistent snapshot store: SnAp header, exceptions in chunk 1, data chunks after, sparse', async () => {
    const bytes = originBytes(2048);
    const path = fresh();
    const { overlay, close } = await open(readOnly(bytes), path, { chunk: 16 });
    const o = must(overlay);
    await o.write(40, new Uint8Array(SECTOR).fill(0x5a)); // origin chunk 2, partial
    await o.write(1600, new Uint8Array(16 * SECTOR).fill(0x6b)); // origin chunk 100, whole
    await o.flush!();
    close();
    const f = readFileSync(path);
    const dv = new DataView(f.buffer, f.byteOffset, f.length);
    expect([dv.getUint32(0, true), dv.getUint32(4, true), dv.getUint32(8, true), dv.getUint32(12, true)]).toEqual([SNAP_MAGIC, 1, 1, 16]);
    expect(f.subarray(512, 520).toString('latin1')).toBe('DMRAIDOV');
    const area = 16 * SECTOR;
    const exception = (i: number) => [Number(dv.getBigUint64(area + 16 * i, true)), Number(dv.getBigUint64(area + 16 * i + 8, true))];
    expect([exception(0), exception(1), exception(2)]).toEqual([[2, 2], [100, 3], [0, 0]]);
    // COW chunk 2: origin chunk 2 copied up, sector 40 (8th of the chunk) replaced.
    const c2 = f.subarray(2 * area, 3 * area);
    const want = bytes.slice(32 * SECTOR, 48 * SECTOR);
    want.fill(0x5a, 8 * SECTOR, 9 * SECTOR);
    expect(same(c2, want)).toBe(true);
    expect(f.subarray(3 * area, 4 * area).every((b) => b === 0x6b)).toBe(true);
    // Sized for the kernel to take the whole volume's chunks, yet only what was written takes space.
    const st = statSync(path);
    expect(st.size).toBeGreaterThan(2048 * SECTOR);
    expect(st.blocks * 512).toBeLessThan(st.size);
  });

  it('makes a chunk\'s data durable before the exception that names it (a crash keeps the origin, never a hole)', async () => {
    const bytes = originBytes(256);
    const log: string[] = [];
    const disk = memorySource('cow', new Uint8Array(64 * 1024));
    const store: Source = {
      ...disk,
      write: async (s, d) => {
        log.push(`write ${s / 8}`);
        return disk.write(s, d);
      },
      flush: async () => {
        log.push('flush');
        return true;
      },
    };
    const o = must(await openOverlay(readOnly(bytes), store, { chunk: 8, create: true, writable: true }));
    log.length = 0;
    await o.write(20, new Uint8Array(SECTOR).fill(9));
    // Data into COW chunk 2, made durable, then area 0 (chunk 1) with its exception.
    expect(log).toEqual(['write 2', 'flush', 'write 1']);
    // A crash between the two (the area write lost): the reopened overlay reads the origin there.
    const crashed = new Uint8Array(64 * 1024);
    const crashDisk = memorySource('cow', crashed);
    let areaWrites = 0;
    const dying: Source = {
      ...crashDisk,
      write: async (s, d) => (s === 8 && areaWrites++ > 0 ? ioError('cow', 'EIO') : crashDisk.write(s, d)),
    };
    const d = must(await openOverlay(readOnly(bytes), dying, { chunk: 8, create: true, writable: true }));
    expect(isIoError(await d.write(20, new Uint8Array(SECTOR).fill(9)))).toBe(true);
    const after = must(await openOverlay(readOnly(bytes), memorySource('cow', crashed), { chunk: 8 }));
    expect(after.exceptions).toBe(0);
    expect(same(await readAll(after), bytes)).toBe(true);
  });

  it('keeps memory bounded under many scattered writes: the map in pages, the data on disk', async () => {
    // A 4 GiB origin of zeros (nothing held), 20000 one-sector writes scattered over it, 8-sector chunks.
    const sizeSectors = 8 * 1024 * 1024;
    const zeros: Source = { name: 'zeros', sizeSectors, read: async (_s, n) => new Uint8Array(n * SECTOR), write: async () => ioError('zeros', 'EROFS') };
    // Each new chunk's fdatasync costs on a disk; a memory filesystem makes them cheap where there is one.
    const shm = existsSync('/dev/shm') ? mkdtempSync('/dev/shm/engine-snapshot-') : dir;
    const path = join(shm, 'scattered.img');
    const store = overlayFile(path, { create: true, writable: true, volumeSectors: sizeSectors });
    if (isIoError(store)) throw new Error(store.message);
    const o = must(await openOverlay(zeros, store, { chunk: 8, create: true, writable: true }));
    global.gc?.();
    const base = process.memoryUsage();
    let x = 12345;
    const sectors: number[] = [];
    for (let i = 0; i < 20000; i++) {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      const s = x % sizeSectors;
      sectors.push(s);
      expect(await o.write(s, new Uint8Array(SECTOR).fill((i % 250) + 1))).toBe(true);
    }
    global.gc?.();
    const now = process.memoryUsage();
    // 1M chunks: 4 MiB of map at the very most, whatever is written; 20000 chunks of data are 80 MiB.
    expect(o.mapBytes()).toBeLessThanOrEqual(4 * 1024 * 1024 + 8 * 256);
    expect(now.heapUsed + now.arrayBuffers - (base.heapUsed + base.arrayBuffers)).toBeLessThan(40 * 1024 * 1024);
    const r = await o.read(sectors[19999]!, 1);
    expect(isIoError(r) ? r : r[0]).toBe((19999 % 250) + 1);
    store.close();
    rmSync(shm === dir ? path : shm, { recursive: true, force: true });
  }, 120_000);
});

describe('snapshot target', () => {
  it('serves a table `snapshot ORIGIN COW P CHUNK` over a mapped origin, the origin untouched', async () => {
    const bytes = originBytes(1024);
    const before = bytes.slice();
    const path = fresh();
    const store = overlayFile(path, { create: true, writable: true, volumeSectors: 1024 });
    if (isIoError(store)) throw new Error(store.message);
    const members = new Map<string, Source>([['m.img', readOnly(bytes, 'm.img')], ['cow.img', store]]);
    const e = createEngine(
      [
        { name: 'vol', table: '0 1024 linear m.img 0' },
        { name: 'vol-overlay', table: '0 1024 snapshot /dev/mapper/vol cow.img P 16' },
      ],
      (p) => members.get(p),
    );
    if (isTableError(e)) throw new Error(e.message);
    const snap = e.get('vol-overlay')!;
    expect(await snap.write(5, new Uint8Array(2 * SECTOR).fill(0xee))).toBe(true);
    const want = bytes.slice();
    want.fill(0xee, 5 * SECTOR, 7 * SECTOR);
    expect(same(await readAll(snap), want)).toBe(true);
    expect(same(bytes, before)).toBe(true);
    expect(snap.targets[0]!.target.status!()).toBe(`16/${Number.MAX_SAFE_INTEGER} 16`);
    e.destroy();
    store.close();
  });

  it('refuses bad arguments as the kernel does, and a transient store', () => {
    const members = new Map<string, Source>([['m.img', readOnly(originBytes(64), 'm.img')], ['cow.img', memorySource('cow.img', new Uint8Array(8192))]]);
    const make = (table: string) => createEngine([{ name: 's', table }], (p) => members.get(p));
    expect(make('0 64 snapshot m.img cow.img N 8')).toMatchObject({ kind: 'table', message: expect.stringContaining('Transient') });
    expect(make('0 64 snapshot m.img cow.img P 12')).toMatchObject({ kind: 'table', message: expect.stringContaining('Invalid chunk size') });
    expect(make('0 64 snapshot m.img nope.img P 8')).toMatchObject({ kind: 'table', message: expect.stringContaining('Cannot get COW device') });
    expect(make('0 64 snapshot m.img cow.img P')).toMatchObject({ kind: 'table', message: expect.stringContaining('4 arguments') });
  });
});

/**
 * Holes: the allocation the members' image files have (filefrag's FIEMAP, st_blocks), carried through the
 * targets, served as NBD base:allocation and structured replies (judged by nbdinfo, qemu-img and nbdkit's
 * file plugin serving the same bytes as a flat file), and skipped unread by extract.
 */
import { execFile, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, promises as fs, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testIf, xorshift32 } from '@dmraid/testkit';
import { createEngine, extract, fileSource, isIoError, isTableError, memorySource, NbdServer, REPLY_BYTES, SECTOR, type Source } from '../src/index.js';
import { FileMap, readFileMap, type Extent } from '../src/extents.js';
import { unreadable } from '../src/rescue.js';
import { goData, option, RawConnection, request } from './nbd-client.js';

const run = promisify(execFile);
const has = async (cmd: string) => run('sh', ['-c', `command -v ${cmd}`]).then(() => true, () => false);
const filefrag = { name: 'filefrag (e2fsprogs)', available: await has('filefrag'), reason: 'apt-get install -y e2fsprogs' };
const clients = {
  name: 'libnbd-bin, qemu-utils and nbdkit',
  available: (await has('nbdinfo')) && (await has('nbdcopy')) && (await has('qemu-img')) && (await has('nbdkit')) && (await has('filefrag')),
  reason: 'apt-get install -y libnbd-bin qemu-utils nbdkit e2fsprogs',
};
const fileIt = testIf(it, filefrag);
const clientIt = testIf(it, clients);

const dir = mkdtempSync(join(tmpdir(), 'engine-holes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const block = (seed: number, bytes: number) => {
  const b = new Uint8Array(bytes);
  for (let i = 0; i < b.length; i++) b[i] = ((i * 7 + seed * 131) % 251) + 1;
  return b;
};

/** A file of `sectors` with only the `data` ranges (sectors) written: the rest holes. */
async function sparseFile(path: string, sectors: number, data: readonly { start: number; count: number }[]): Promise<void> {
  await fs.writeFile(path, '');
  await fs.truncate(path, sectors * SECTOR);
  const fd = openSync(path, 'r+');
  try {
    data.forEach((d, i) => writeSync(fd, block(i + 1, d.count * SECTOR), 0, d.count * SECTOR, d.start * SECTOR));
  } finally {
    closeSync(fd);
  }
}

/** Runs as [start, count, zero] triples from sector `from`. */
const triples = (runs: readonly Extent[], from = 0) => {
  let at = from;
  return runs.map((r) => {
    const t = [at, r.sectors, r.zero] as const;
    at += r.sectors;
    return t;
  });
};

describe('allocation of image files', () => {
  fileIt('filefrag gives exactly the blocks written; preallocated blocks are holes; no blocks is all hole; without filefrag a sparse file is all data', async () => {
    const path = join(dir, 'sparse.img');
    // 4 MiB; data at 8..16 (one 4 KiB block) and 2048..2304 (128 KiB).
    await sparseFile(path, 8192, [{ start: 8, count: 8 }, { start: 2048, count: 256 }]);
    const f = fileSource(path, 8192);
    try {
      expect(triples(f.extents!(0, 8192))).toEqual([[0, 8, true], [8, 8, false], [16, 2032, true], [2048, 256, false], [2304, 5888, true]]);
      // A window inside: cut to it exactly.
      expect(triples(f.extents!(12, 2040), 12)).toEqual([[12, 4, false], [16, 2032, true], [2048, 4, false]]);
    } finally {
      f.close();
    }
    // fallocate's unwritten extents read as zeros: holes.
    await run('fallocate', ['-o', String(4096 * SECTOR), '-l', String(64 * SECTOR), path]);
    const st = statSync(path);
    expect(triples(readFileMap(path, 8192, st.blocks).map.extents(4000, 200), 4000)).toEqual([[4000, 200, true]]);
    const empty = join(dir, 'empty.img');
    await sparseFile(empty, 2048, []);
    expect(readFileMap(empty, 2048, statSync(empty).blocks)).toMatchObject({ method: 'st_blocks' });
    expect(triples(readFileMap(empty, 2048, statSync(empty).blocks).map.extents(0, 2048))).toEqual([[0, 2048, true]]);
    const fallback = readFileMap(path, 8192, st.blocks, 'no-such-filefrag-here');
    expect(fallback.method).toBe('dense');
    expect(triples(fallback.map.extents(0, 8192))).toEqual([[0, 8192, false]]);
  });

  it('a write through the source makes its sectors data; the map merges neighbours', () => {
    const map = FileMap.fromRanges([{ start: 10, end: 20 }, { start: 40, end: 50 }]);
    const bytes = new Uint8Array(64 * SECTOR);
    const s = memorySource('m', bytes, map);
    void s.write(20, new Uint8Array(20 * SECTOR).fill(1));
    expect(triples(s.extents!(0, 64))).toEqual([[0, 10, true], [10, 40, false], [50, 14, true]]);
    void s.write(60, new Uint8Array(SECTOR).fill(1));
    expect(triples(s.extents!(55, 9), 55)).toEqual([[55, 5, true], [60, 1, false], [61, 3, true]]);
    expect(map.dataSectors).toBe(41);
  });
});

/** Members of `sectors` with data only in `data` ranges: bytes and a matching map. */
function members(n: number, sectors: number, data: (m: number) => { start: number; count: number }[]): { bytes: Uint8Array; source: Source }[] {
  return Array.from({ length: n }, (_, m) => {
    const bytes = new Uint8Array(sectors * SECTOR);
    const ranges = data(m);
    ranges.forEach((r, i) => bytes.set(block(m * 10 + i + 1, r.count * SECTOR), r.start * SECTOR));
    return { bytes, source: memorySource(`m${m}`, bytes, FileMap.fromRanges(ranges.map((r) => ({ start: r.start, end: r.start + r.count })))) };
  });
}

describe('allocation through the targets', () => {
  it('striped, linear, mirror, raid5, zero and error: every sector called a hole reads as zeros, and holes are where every member beneath is one', async () => {
    const SECTORS = 4096;
    const ms = members(3, SECTORS, (m) => [{ start: 100 + m * 700, count: 50 }, { start: 3000 + m, count: 8 }]);
    const sources = new Map(ms.map((m, i) => [`m${i}`, m.source]));
    const e = createEngine(
      [
        { name: 'r0', table: `0 ${2 * SECTORS} striped 2 128 m0 0 m1 0` },
        { name: 'lin', table: `0 1000 linear m2 1000\n1000 16 zero\n1016 16 error\n1032 ${SECTORS - 1032} linear m2 1032` },
        { name: 'r1', table: `0 ${SECTORS} mirror core 2 64 nosync 2 m0 0 m1 0` },
        { name: 'r5', table: `0 ${2 * SECTORS} raid raid5_ls 1 128 3 - m0 - m1 - m2` },
      ],
      (p) => sources.get(p),
    );
    if (isTableError(e)) throw new Error(e.message);
    const hole = (m: number, s: number) => ms[m]!.source.extents!(s, 1)[0]!.zero;
    for (const name of ['r0', 'lin', 'r1', 'r5']) {
      const v = e.get(name)!;
      const runs = v.extents!(0, v.sizeSectors);
      expect(runs.reduce((n, r) => n + r.sectors, 0)).toBe(v.sizeSectors);
      let at = 0;
      for (const r of runs) {
        if (r.zero) {
          const got = await v.read(at, r.sectors);
          expect(isIoError(got), `${name} ${at}+${r.sectors}`).toBe(false);
          expect((got as Uint8Array).every((b) => b === 0), `${name} ${at}+${r.sectors} reads zeros`).toBe(true);
        }
        at += r.sectors;
      }
    }
    // RAID0: volume sector s is member (s/128)%2's sector floor(s/256)*128 + s%128, a hole exactly where that is.
    const r0 = e.get('r0')!.extents!(0, 2 * SECTORS);
    const flags: boolean[] = [];
    for (const r of r0) for (let i = 0; i < r.sectors; i++) flags.push(r.zero);
    for (let s = 0; s < 2 * SECTORS; s++) expect(flags[s], `r0 sector ${s}`).toBe(hole(Math.floor(s / 128) % 2, Math.floor(s / 256) * 128 + (s % 128)));
    // The zero target is a hole, the error target data (its reads fail: no zeros to promise).
    expect(triples(e.get('lin')!.extents!(1000, 32), 1000)).toEqual([[1000, 16, true], [1016, 16, false]]);
    // The mirror answers from the leg its reads come from (the first).
    expect(triples(e.get('r1')!.extents!(0, SECTORS))).toEqual(triples(ms[0]!.source.extents!(0, SECTORS)));
    // RAID5: a row (128 sectors on each member) is data when any member has data in it.
    const r5 = e.get('r5')!.extents!(0, 2 * SECTORS);
    const rowData = (row: number) => [0, 1, 2].some((m) => ms[m]!.source.extents!(row * 128, 128).some((x) => !x.zero));
    let at = 0;
    for (const r of r5) {
      for (let s = at; s < at + r.sectors; s++) expect(r.zero, `r5 sector ${s}`).toBe(!rowData(Math.floor(s / 256)));
      at += r.sectors;
    }
    // A member's unreadable sectors are data, even in a hole.
    const bad = unreadable(ms[0]!.source, [{ start: 10, count: 2 }]);
    expect(triples(bad.extents!(0, 100))).toEqual([[0, 10, true], [10, 2, false], [12, 88, true]]);
  });
});

describe('striped allocation, property', () => {
  it('any window of a RAID0 of 1-4 members with random maps: each sector as its member says (whole rows of one kind taken in one step)', () => {
    const next = xorshift32(0x5eed26);
    const pick = (n: number) => next() % n;
    for (let trial = 0; trial < 300; trial++) {
      const stripes = 1 + pick(4);
      const chunk = [1, 8, 128][pick(3)]!;
      const memberSectors = chunk * (1 + pick(40));
      // Each member: a few data ranges, long or short, some across chunk and row boundaries; or none; or all.
      const maps = Array.from({ length: stripes }, () => {
        const kind = pick(6);
        if (kind === 0) return FileMap.fromRanges([]);
        if (kind === 1) return FileMap.dense(memberSectors);
        return FileMap.fromRanges(Array.from({ length: pick(5) }, () => {
          const start = pick(memberSectors);
          return { start, end: Math.min(memberSectors, start + 1 + pick(3 * chunk)) };
        }));
      });
      const names = maps.map((_, i) => `m${i}`);
      const sources = new Map(maps.map((m, i) => [names[i]!, memorySource(names[i]!, new Uint8Array(memberSectors * SECTOR), m)]));
      const total = stripes * memberSectors;
      const e = createEngine([{ name: 'v', table: `0 ${total} striped ${stripes} ${chunk} ${names.map((n) => `${n} 0`).join(' ')}` }], (p) => sources.get(p));
      if (isTableError(e)) throw new Error(e.message);
      const sector = pick(total);
      const count = pick(total - sector + 1);
      const runs = e.get('v')!.extents!(sector, count);
      expect(runs.reduce((n, r) => n + r.sectors, 0), `trial ${trial}`).toBe(count);
      let at = sector;
      for (const [i, r] of runs.entries()) {
        // Runs are merged: no two neighbours of one kind.
        if (i > 0) expect(runs[i - 1]!.zero, `trial ${trial}: runs ${i - 1} and ${i} merged`).not.toBe(r.zero);
        for (let s = at; s < at + r.sectors; s++) {
          const k = Math.floor(s / chunk);
          const memberSector = Math.floor(k / stripes) * chunk + (s % chunk);
          expect(r.zero, `trial ${trial}: sector ${s} (${stripes} x ${chunk})`).toBe(maps[k % stripes]!.extents(memberSector, 1)[0]!.zero);
        }
        at += r.sectors;
      }
    }
  });
});

/** A mostly sparse RAID0 of two member image files and the same volume as one flat sparse file. */
async function sparseSet(sectors: number, chunk: number, data: { start: number; count: number }[]) {
  const bytes = (i: number, count: number) => block(i + 50, count * SECTOR);
  const flat = join(dir, 'flat.img');
  const m = [join(dir, 'm0.img'), join(dir, 'm1.img')];
  for (const p of [flat, ...m]) await sparseFile(p, p === flat ? sectors : sectors / 2, []);
  const fds = [flat, ...m].map((p) => openSync(p, 'r+'));
  try {
    data.forEach((d, i) => {
      const b = bytes(i, d.count);
      writeSync(fds[0]!, b, 0, b.length, d.start * SECTOR);
      // The stripe by hand: one range never crosses a chunk.
      const k = Math.floor(d.start / chunk);
      writeSync(fds[1 + (k % 2)]!, b, 0, b.length, (Math.floor(k / 2) * chunk + (d.start % chunk)) * SECTOR);
    });
  } finally {
    for (const fd of fds) closeSync(fd);
  }
  const opened = m.map((p) => fileSource(p, sectors / 2));
  const e = createEngine([{ name: 'v', table: `0 ${sectors} striped 2 ${chunk} ${m[0]} 0 ${m[1]} 0` }], (p) => opened[m.indexOf(p)]);
  if (isTableError(e)) throw new Error(e.message);
  return { flat, volume: e.get('v')!, close: () => opened.forEach((o) => o.close()) };
}

describe('NBD base:allocation and structured replies with real clients', () => {
  const SECTORS = 65536; // 32 MiB
  const DATA = [{ start: 8, count: 8 }, { start: 1024, count: 64 }, { start: 19968, count: 120 }, { start: 40960, count: 128 }, { start: 65528, count: 8 }];
  let set: Awaited<ReturnType<typeof sparseSet>>;
  let server: NbdServer;
  const sock = join(dir, 'nbd.sock');
  const uri = `nbd+unix:///v?socket=${sock}`;
  beforeAll(async () => {
    set = await sparseSet(SECTORS, 128, DATA);
    server = new NbdServer({ exports: [{ name: 'v', source: set.volume }] });
    await server.listen(sock);
  });
  afterAll(async () => {
    await server.close();
    set.close();
  });
  /** `cmd` run against nbdkit's file plugin serving the flat image ($uri). */
  const nbdkit = async (cmd: string) => (await run('nbdkit', ['-U', '-', 'file', set.flat, '--run', cmd])).stdout;

  clientIt('nbdinfo --map, --map --totals and qemu-img map say of our export what they say of nbdkit serving the flat image', async () => {
    const ours = (await run('nbdinfo', ['--map', '--json', uri])).stdout;
    const theirs = await nbdkit('nbdinfo --map --json "$uri"');
    expect(JSON.parse(ours)).toEqual(JSON.parse(theirs));
    // Not all data: the map has holes where the members have.
    expect((JSON.parse(ours) as { type: number }[]).some((x) => x.type === 3)).toBe(true);
    const totals = (await run('nbdinfo', ['--map', '--totals', uri])).stdout;
    expect(totals).toBe(await nbdkit('nbdinfo --map --totals "$uri"'));
    const qOurs = (await run('qemu-img', ['map', '--output=json', '--image-opts', `driver=nbd,path=${sock},export=v`])).stdout;
    const qTheirs = await nbdkit('qemu-img map --output=json --image-opts "driver=nbd,path=$unixsocket"');
    const strip = (t: string) => (JSON.parse(t) as Record<string, unknown>[]).map(({ start, length, data, zero }) => ({ start, length, data, zero }));
    expect(strip(qOurs)).toEqual(strip(qTheirs));
    for (const can of ['structured-reply', 'connect', 'read']) await run('nbdinfo', ['--can', can, uri]);
    await expect(run('nbdinfo', ['--can', 'write', uri])).rejects.toThrow();
    await run('nbdinfo', ['--is', 'read-only', uri]);
  });

  clientIt('nbdcopy copies the mostly sparse volume byte for byte and leaves its holes in the destination', async () => {
    const out = join(dir, 'copy.img');
    await run('nbdcopy', [uri, out]);
    const [a, b] = await Promise.all([fs.readFile(out), fs.readFile(set.flat)]);
    expect(a.equals(b)).toBe(true);
    // The data is 328 sectors in 4 KiB blocks: a dense copy would hold 32 MiB.
    expect(statSync(out).blocks).toBeLessThan(2048);
  });
});

describe('structured replies on the wire', () => {
  /** Handshake with structured replies (and base:allocation unless `meta` is false); GO on `name`. */
  async function open(sock: string, name: string, meta = true): Promise<RawConnection> {
    const c = await RawConnection.open(sock);
    await c.read(18);
    c.write(Buffer.from([0, 0, 0, 3]));
    const optReply = async () => {
      const h = (await c.read(20))!;
      return { type: h.readUInt32BE(12), data: (await c.read(h.readUInt32BE(16)))! };
    };
    // base:allocation before structured replies: refused (ERR_INVALID).
    const query = (q: string) => {
      const n = Buffer.from(name);
      const b = Buffer.alloc(4 + n.length + 4 + 4 + q.length);
      b.writeUInt32BE(n.length, 0);
      n.copy(b, 4);
      b.writeUInt32BE(1, 4 + n.length);
      b.writeUInt32BE(q.length, 8 + n.length);
      b.write(q, 12 + n.length);
      return b;
    };
    c.write(option(10, query('base:allocation')));
    expect((await optReply()).type).toBe(0x80000003);
    c.write(option(8));
    expect((await optReply()).type).toBe(1);
    if (meta) {
      c.write(option(10, query('base:allocation')));
      const r = await optReply();
      expect(r.type).toBe(4);
      expect(r.data.subarray(4).toString()).toBe('base:allocation');
      expect((await optReply()).type).toBe(1);
    }
    c.write(option(7, goData(name)));
    for (;;) if ((await optReply()).type === 1) break;
    return c;
  }
  /** The chunks of one structured reply, up to the one flagged done. */
  async function chunks(c: RawConnection): Promise<{ type: number; payload: Buffer }[]> {
    const out: { type: number; payload: Buffer }[] = [];
    for (;;) {
      const h = (await c.read(20))!;
      expect(h.readUInt32BE(0)).toBe(0x668e33ef);
      out.push({ type: h.readUInt16BE(6), payload: (await c.read(h.readUInt32BE(16)))! });
      if (h.readUInt16BE(4) & 1) return out;
    }
  }
  const statusRequest = (handle: number, offset: number, length: number, flags = 0) => {
    const r = request(7, handle, offset, length);
    r.writeUInt16BE(flags, 4);
    return r;
  };

  it('a read over lost sectors sends the data around them, an ERROR_OFFSET at the first lost byte, holes unread; block status honours REQ_ONE; the connection goes on', async () => {
    const ms = members(1, 2048, () => [{ start: 0, count: 64 }, { start: 512, count: 64 }]);
    const bad = unreadable(ms[0]!.source, [{ start: 20, count: 2 }]);
    const e = createEngine([{ name: 'x', table: '0 2048 linear m 0' }], (p) => (p === 'm' ? bad : undefined));
    if (isTableError(e)) throw new Error(e.message);
    const sock = join(dir, 'wire.sock');
    const srv = new NbdServer({ exports: [{ name: 'x', source: e.get('x')! }] });
    await srv.listen(sock);
    try {
      const c = await open(sock, 'x');
      c.write(request(0, 1, 0, 128 * SECTOR));
      const r = await chunks(c);
      const data = r.filter((x) => x.type === 1).map((x) => [Number(x.payload.readBigUInt64BE(0)), x.payload.length - 8]);
      expect(data).toEqual([[0, 20 * SECTOR], [22 * SECTOR, 42 * SECTOR]]);
      const err = r.find((x) => x.type === 0x8002)!;
      expect(err.payload.readUInt32BE(0)).toBe(5);
      expect(Number(err.payload.readBigUInt64BE(err.payload.length - 8))).toBe(20 * SECTOR);
      const holes = r.filter((x) => x.type === 2).map((x) => [Number(x.payload.readBigUInt64BE(0)), x.payload.readUInt32BE(8)]);
      expect(holes).toEqual([[64 * SECTOR, 64 * SECTOR]]);
      // The data chunk's bytes are the member's.
      const first = r.find((x) => x.type === 1)!;
      expect(first.payload.subarray(8).equals(Buffer.from(ms[0]!.bytes.subarray(0, 20 * SECTOR)))).toBe(true);
      // Block status: the whole picture, then one extent with REQ_ONE (no longer than asked).
      c.write(statusRequest(2, 0, 2048 * SECTOR));
      const [st] = await chunks(c);
      expect(st!.type).toBe(5);
      const desc = (p: Buffer) => Array.from({ length: (p.length - 4) / 8 }, (_, i) => [p.readUInt32BE(4 + 8 * i), p.readUInt32BE(8 + 8 * i)]);
      expect(desc(st!.payload)).toEqual([[64 * SECTOR, 0], [448 * SECTOR, 3], [64 * SECTOR, 0], [1472 * SECTOR, 3]]);
      c.write(statusRequest(3, 100 * SECTOR, 10 * SECTOR, 8));
      expect(desc((await chunks(c))[0]!.payload)).toEqual([[10 * SECTOR, 3]]);
      // Past the end: an error chunk, and the connection goes on.
      c.write(request(0, 4, 2047 * SECTOR, 2 * SECTOR));
      expect((await chunks(c))[0]!.type).toBe(0x8001);
      c.write(request(0, 5, 512 * SECTOR, SECTOR));
      expect((await chunks(c)).map((x) => x.type)).toEqual([1, 0]);
      c.close();
      // Structured replies without base:allocation: block status is refused, reads still skip holes.
      const d = await open(sock, 'x', false);
      d.write(statusRequest(1, 0, SECTOR));
      const [refused] = await chunks(d);
      expect([refused!.type, refused!.payload.readUInt32BE(0)]).toEqual([0x8001, 22]);
      d.write(request(0, 2, 0, 128 * SECTOR));
      expect((await chunks(d)).map((x) => x.type)).toEqual([1, 0x8002, 1, 2, 0]);
      d.close();
    } finally {
      await srv.close();
    }
  });

  it('structured clients that queue hundreds of 32 MiB reads and block status requests and never reads a reply holds the reply pool at its limit; the memory comes back when they go', async () => {
    const bytes = new Uint8Array(64 << 20).fill(7);
    const e = createEngine([{ name: 'd', table: `0 ${bytes.length / SECTOR} linear m 0` }], (p) => (p === 'm' ? memorySource('m', bytes) : undefined));
    if (isTableError(e)) throw new Error(e.message);
    const sock = join(dir, 'flood.sock');
    const srv = new NbdServer({ exports: [{ name: 'd', source: e.get('d')! }] });
    await srv.listen(sock);
    try {
      // Twenty connections: each alone is held back by its socket, together only the budget holds them.
      const cs = await Promise.all(Array.from({ length: 20 }, () => open(sock, 'd')));
      for (const c of cs) {
        for (let i = 0; i < 50; i++) {
          c.write(request(0, 2 * i, (i % 2) * (32 << 20), 32 << 20));
          c.write(statusRequest(2 * i + 1, 0, 64 << 20));
        }
      }
      // Until the server stops taking more (the socket full, the budget spent).
      let last = -1;
      for (let same = 0; same < 5; ) {
        await new Promise((r) => setTimeout(r, 100));
        const now = srv.stats().heldBytes;
        same = now === last ? same + 1 : 0;
        last = now;
      }
      expect(srv.stats().poolBytes).toBeLessThanOrEqual(REPLY_BYTES);
      expect(srv.stats().heldBytes).toBeLessThanOrEqual(REPLY_BYTES);
      for (const c of cs) c.close();
      for (let i = 0; i < 100 && srv.stats().connections > 0; i++) await new Promise((r) => setTimeout(r, 50));
      for (let i = 0; i < 100 && srv.stats().heldBytes > 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(srv.stats()).toMatchObject({ connections: 0, heldBytes: 0 });
    } finally {
      await srv.close();
    }
  });
});

describe('extract of a mostly sparse volume', () => {
  it('reads no sector the members call a hole; the output is byte for byte, sparse in a file and zeros in a pipe', async () => {
    const SECTORS = 16384;
    const ms = members(2, SECTORS, (m) => [{ start: 300 + m * 5000, count: 40 }, { start: 9000, count: 8 }]);
    const reads: { m: number; start: number; count: number }[] = [];
    const counted = ms.map((x, m): Source => ({
      ...x.source,
      read: (s, n) => (reads.push({ m, start: s, count: n }), x.source.read(s, n)),
      readInto: (s, out) => (reads.push({ m, start: s, count: out.length / SECTOR }), x.source.readInto!(s, out)),
    }));
    const e = createEngine([{ name: 'v', table: `0 ${2 * SECTORS} striped 2 128 m0 0 m1 0` }], (p) => counted[Number(p.slice(1))]);
    if (isTableError(e)) throw new Error(e.message);
    const v = e.get('v')!;
    const expected = new Uint8Array(2 * SECTORS * SECTOR);
    expect(await v.readInto!(0, expected)).toBe(true);
    reads.length = 0;
    const out = join(dir, 'x.img');
    const r = await extract(v, out);
    expect(isIoError(r)).toBe(false);
    expect(Buffer.from(await fs.readFile(out)).equals(Buffer.from(expected))).toBe(true);
    // Only the chunks holding data were read: each read touches a member's data range.
    for (const x of reads) expect(ms[x.m]!.source.extents!(x.start, x.count).some((y) => !y.zero), `read m${x.m} ${x.start}+${x.count}`).toBe(true);
    expect(reads.reduce((n, x) => n + x.count, 0)).toBeLessThan(2 * SECTORS / 4);
    expect(statSync(out).blocks).toBeLessThan(2 * SECTORS / 4);
    // Into a pipe: the holes are written as zeros, still without reading them.
    reads.length = 0;
    const fifo = join(dir, 'fifo');
    await run('mkfifo', [fifo]);
    const cat = spawn('sh', ['-c', 'cat "$1" > "$2"', 'sh', fifo, join(dir, 'pipe.img')]);
    const drained = new Promise((res) => cat.once('exit', res));
    const p = await extract(v, fifo);
    expect(await drained).toBe(0);
    expect(p).toMatchObject({ holes: 0, complete: true });
    expect(Buffer.from(await fs.readFile(join(dir, 'pipe.img'))).equals(Buffer.from(expected))).toBe(true);
    for (const x of reads) expect(ms[x.m]!.source.extents!(x.start, x.count).some((y) => !y.zero)).toBe(true);
  });
});

/**
 * The NBD server with real clients (nbdinfo, nbdcopy, qemu-img, nbdfuse + mount of ext4) and with
 * malformed traffic from a raw socket: errors are replies or clean disconnects, never a crash.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, promises as fs, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testIf } from '@dmraid/testkit';
import { createEngine, fileSource, ioError, isTableError, memorySource, NbdServer, NbdWorkers, REPLY_BYTES, SECTOR, type Engine, type Source, type WorkerSpec } from '../src/index.js';
import { goData, handshake, option, RawConnection, reply, request } from './nbd-client.js';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const run = promisify(execFile);
const has = async (cmd: string) => run('sh', ['-c', `command -v ${cmd}`]).then(() => true, () => false);
const clients = {
  name: 'libnbd-bin and qemu-utils',
  available: (await has('nbdinfo')) && (await has('nbdcopy')) && (await has('qemu-img')),
  reason: 'apt-get install -y libnbd-bin qemu-utils',
};
const fuse = {
  name: 'nbdfuse, e2fsprogs, FUSE and root',
  available: (await has('nbdfuse')) && (await has('mke2fs')) && existsSync('/dev/fuse') && process.getuid?.() === 0,
  reason: 'nbdfuse + mount need nbdfuse, mke2fs, /dev/fuse and root',
};
const clientIt = testIf(it, clients);
const fuseIt = testIf(it, fuse);

function patterned(m: number, sectors: number): Uint8Array {
  const b = new Uint8Array(sectors * SECTOR);
  for (let i = 0; i < b.length; i++) b[i] = ((i >>> 9) * 29 + (i & 511) * 3 + m * 53) & 0xff;
  return b;
}

const CHUNK = 128;
const MEMBER_SECTORS = 4096; // 2 MiB members
let dir: string;
let engine: Engine;
let members: Uint8Array[];
let server: NbdServer;
let sock: string;
let volume: Uint8Array;

function volumeBytes(): Uint8Array {
  // RAID0 over two members, 64 KiB chunks: the expected export.
  const out = new Uint8Array(2 * MEMBER_SECTORS * SECTOR);
  const c = CHUNK * SECTOR;
  for (let k = 0; k < out.length / c; k++) out.set(members[k % 2]!.subarray(Math.floor(k / 2) * c, (Math.floor(k / 2) + 1) * c), k * c);
  return out;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'engine-nbd-'));
  members = [patterned(0, MEMBER_SECTORS), patterned(1, MEMBER_SECTORS)];
  const sources = new Map(members.map((m, i) => [`m${i}`, memorySource(`m${i}`, m)]));
  const e = createEngine([
    { name: 'r0', table: `0 ${2 * MEMBER_SECTORS} striped 2 ${CHUNK} m0 0 m1 0` },
    { name: 'small', table: '0 8 zero' },
  ], (p) => sources.get(p));
  if (isTableError(e)) throw new Error(e.message);
  engine = e;
  volume = volumeBytes();
  server = new NbdServer({ exports: [{ name: 'r0', source: engine.get('r0')! }, { name: 'small', source: engine.get('small')! }] });
  sock = join(dir, 'nbd.sock');
  await server.listen(sock);
});

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

const uri = (name: string) => `nbd+unix:///${name}?socket=${sock}`;

describe('real NBD clients', () => {
  clientIt('nbdinfo lists the exports and reads size and read-only flag', async () => {
    const list = await run('nbdinfo', ['--list', '--json', `nbd+unix://?socket=${sock}`]);
    const names = (JSON.parse(list.stdout) as { exports: { 'export-name': string }[] }).exports.map((e) => e['export-name']);
    expect(names).toEqual(['r0', 'small']);
    const info = JSON.parse((await run('nbdinfo', ['--json', uri('r0')])).stdout) as { exports: { 'export-size': number; 'is_read_only': boolean }[] };
    expect(info.exports[0]!['export-size']).toBe(volume.length);
    expect(info.exports[0]!.is_read_only).toBe(true);
  });

  clientIt('nbdcopy and qemu-img copy the export byte for byte', async () => {
    await run('nbdcopy', [uri('r0'), join(dir, 'a.raw')]);
    expect(Buffer.from(await fs.readFile(join(dir, 'a.raw'))).equals(Buffer.from(volume))).toBe(true);
    const info = await run('qemu-img', ['info', '--output=json', uri('r0')]);
    expect((JSON.parse(info.stdout) as { 'virtual-size': number })['virtual-size']).toBe(volume.length);
    await run('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', uri('r0'), join(dir, 'b.raw')]);
    expect(Buffer.from(await fs.readFile(join(dir, 'b.raw'))).equals(Buffer.from(volume))).toBe(true);
  });

  clientIt('a writable server takes nbdcopy writes into the members, a read-only one refuses them', async () => {
    const mem = [new Uint8Array(64 * SECTOR), new Uint8Array(64 * SECTOR)];
    const sources = new Map(mem.map((m, i) => [`w${i}`, memorySource(`w${i}`, m)]));
    const e = createEngine([{ name: 'w', table: '0 128 striped 2 8 w0 0 w1 0' }], (p) => sources.get(p));
    if (isTableError(e)) throw new Error(e.message);
    const data = patterned(7, 128);
    await fs.writeFile(join(dir, 'in.raw'), data);
    const wsock = join(dir, 'w.sock');
    const ro = new NbdServer({ exports: [{ name: 'w', source: e.get('w')! }] });
    await ro.listen(wsock);
    await expect(run('nbdcopy', [join(dir, 'in.raw'), `nbd+unix:///w?socket=${wsock}`])).rejects.toThrow();
    await ro.close();
    await fs.rm(wsock, { force: true });
    const rw = new NbdServer({ exports: [{ name: 'w', source: e.get('w')! }], writable: true });
    await rw.listen(wsock);
    await run('nbdcopy', [join(dir, 'in.raw'), `nbd+unix:///w?socket=${wsock}`]);
    await rw.close();
    const back = await e.get('w')!.read(0, 128);
    expect(Buffer.from(back as Uint8Array).equals(Buffer.from(data))).toBe(true);
    expect(Buffer.from(mem[0]!.subarray(0, 8 * SECTOR)).equals(Buffer.from(data.subarray(0, 8 * SECTOR)))).toBe(true);
  });

  fuseIt('nbdfuse exposes the export as a file and an ext4 filesystem on a RAID0 set mounts from it', async () => {
    // ext4 made with mke2fs -d (no root needed for that), striped into two member images by the engine.
    const tree = join(dir, 'tree');
    await fs.mkdir(tree, { recursive: true });
    await fs.writeFile(join(tree, 'hello.txt'), 'recovered from a dead controller\n');
    const fsImage = join(dir, 'fs.img');
    await run('mke2fs', ['-q', '-F', '-t', 'ext4', '-d', tree, fsImage, '8M']);
    const fsBytes = new Uint8Array(await fs.readFile(fsImage));
    const mem = [new Uint8Array(fsBytes.length / 2), new Uint8Array(fsBytes.length / 2)];
    const sources = new Map(mem.map((m, i) => [`f${i}`, memorySource(`f${i}`, m)]));
    const e = createEngine([{ name: 'fs', table: `0 ${fsBytes.length / SECTOR} striped 2 128 f0 0 f1 0` }], (p) => sources.get(p));
    if (isTableError(e)) throw new Error(e.message);
    expect(await e.get('fs')!.write(0, fsBytes)).toBe(true);
    const fsock = join(dir, 'fs.sock');
    const srv = new NbdServer({ exports: [{ name: 'fs', source: e.get('fs')! }] });
    await srv.listen(fsock);
    const fuseDir = join(dir, 'fuse');
    const mnt = join(dir, 'mnt');
    await fs.mkdir(fuseDir);
    await fs.mkdir(mnt);
    // nbdfuse serves in the foreground until its mount point is unmounted.
    const child = spawn('nbdfuse', ['--readonly', fuseDir, `nbd+unix:///fs?socket=${fsock}`], { stdio: 'ignore' });
    try {
      const deadline = Date.now() + 20_000;
      while (!existsSync(join(fuseDir, 'nbd')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      await run('mount', ['-o', 'ro,loop', join(fuseDir, 'nbd'), mnt]);
      try {
        expect(await fs.readFile(join(mnt, 'hello.txt'), 'utf8')).toBe('recovered from a dead controller\n');
      } finally {
        await run('umount', [mnt]);
      }
    } finally {
      await run('umount', [fuseDir]).catch(() => child.kill());
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
      await srv.close();
    }
  });
});

describe('misuse of the protocol', () => {
  it('an out-of-range, oversized or unknown request gets an error reply; the connection goes on', async () => {
    const c = await RawConnection.open(sock);
    expect(await handshake(c, 'r0')).toBe(BigInt(volume.length));
    c.write(request(0, 1, volume.length - 512, 1024));
    expect((await reply(c, 1024))!.error).toBe(22);
    c.write(request(0, 2, 2n ** 63n, 512));
    expect((await reply(c, 512))!.error).toBe(22);
    c.write(request(0, 3, 0, 64 * 1024 * 1024));
    expect((await reply(c, 0))!.error).toBe(22);
    c.write(request(99, 4, 0, 512));
    expect((await reply(c, 0))!.error).toBe(22);
    c.write(Buffer.concat([request(1, 5, 0, 512), Buffer.alloc(512)]));
    expect((await reply(c, 0))!.error).toBe(1); // read-only: EPERM
    c.write(request(0, 6, 1000, 700)); // unaligned bytes are fine
    const r = await reply(c, 700);
    expect(r!.error).toBe(0);
    expect(r!.data!.equals(Buffer.from(volume.subarray(1000, 1700)))).toBe(true);
    c.write(request(2, 7, 0, 0)); // NBD_CMD_DISC
    expect(await c.read(1)).toBeNull();
  });

  it('garbage, a bad magic or an unknown export ends the connection cleanly and the server keeps serving', async () => {
    const bad = [
      async (c: RawConnection) => (await c.read(18), c.write(Buffer.from('GET / HTTP/1.0\r\n\r\n'))),
      async (c: RawConnection) => (await c.read(18), c.write(Buffer.from([0, 0, 0, 3])), c.write(option(1, Buffer.from('nope')))),
      async (c: RawConnection) => (await c.read(18), c.write(Buffer.from([0, 0, 0, 3])), c.write(Buffer.alloc(16, 0xff))),
      async (c: RawConnection) => (await c.read(18), c.write(Buffer.from([0, 0, 0, 3])), c.write(option(7, Buffer.alloc(4, 0xff).fill(0xff)))),
      async (c: RawConnection) => (await handshake(c, 'r0'), c.write(request(0, 1, 0, 512, 0xdeadbeef))),
      async (c: RawConnection) => (await handshake(c, 'r0'), c.write(request(1, 1, 0, 0xffffffff))),
      async (c: RawConnection) => (await handshake(c, 'small'), c.write(request(0, 1, 0, 4096).subarray(0, 13)), c.close()),
    ];
    for (const step of bad) {
      const c = await RawConnection.open(sock);
      await step(c);
      // The server either answers with an error or closes; it must not hang on us forever nor crash.
      const deadline = Date.now() + 2000;
      while (!c.closed && Date.now() < deadline) {
        const r = await Promise.race([c.read(1 << 20), new Promise((r) => setTimeout(() => r('timeout'), 200))]);
        if (r === 'timeout') break;
      }
      c.close();
    }
    // An unknown export in NBD_OPT_GO is an error reply, not a disconnect.
    const c = await RawConnection.open(sock);
    expect(await handshake(c, 'no-such-set')).toBe('error reply 80000006');
    c.close();
    const ok = await RawConnection.open(sock);
    expect(await handshake(ok, 'small')).toBe(4096n);
    ok.close();
  });

  it('fuzz: any session, frames valid or mangled, gets replies or a close, no internal error, the session ends within 2 s of the client\'s end, and the server serves on', async () => {
    const events: string[] = [];
    const fuzzed = new NbdServer({ exports: [{ name: 'r0', source: engine.get('r0')! }, { name: 'small', source: engine.get('small')! }], onEvent: (m) => events.push(m) });
    const at = join(dir, 'fuzz.sock');
    await fuzzed.listen(at);
    const u32 = (n: number) => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(n >>> 0, 0);
      return b;
    };
    const garbage = fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b));
    // An option of any number with any data, its length field mostly true, sometimes off or absurd.
    const anyOption = fc
      .record({ opt: fc.integer({ min: 0, max: 12 }), data: fc.uint8Array({ maxLength: 40 }), length: fc.option(fc.constantFrom(0, 3, 1 << 20, 0x7fffffff, 0xffffffff), { freq: 6 }) })
      .map(({ opt, data, length }) => {
        const o = option(opt, Buffer.from(data));
        if (length !== null) o.writeUInt32BE(length >>> 0, 12);
        return o;
      });
    const names = fc.constantFrom('r0', 'small', '', 'nope');
    const enter = fc.oneof(names.map((n) => option(7, goData(n))), names.map((n) => option(1, Buffer.from(n))), names.map((n) => option(6, goData(n))), garbage);
    // A request of any type, in range or not, with the magic or not; a write's payload may follow, whole or not.
    const anyRequest = fc
      .record({
        type: fc.integer({ min: 0, max: 9 }),
        offset: fc.oneof(fc.nat({ max: volume.length + 4096 }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })),
        length: fc.oneof(fc.nat({ max: 1 << 20 }), fc.constantFrom(0, 0xffffffff, 32 << 20)),
        magic: fc.oneof({ arbitrary: fc.constant(0x25609513), weight: 9 }, { arbitrary: fc.nat(), weight: 1 }),
        payload: fc.nat({ max: 4096 }),
      })
      .map(({ type, offset, length, magic, payload }) => Buffer.concat([request(type, 1, offset, length, magic), Buffer.alloc(type === 1 ? payload : 0)]));
    const sessions = fc.record({
      flags: fc.oneof(fc.constant(3), fc.constant(1), fc.nat()),
      options: fc.array(fc.oneof({ arbitrary: anyOption, weight: 4 }, { arbitrary: garbage, weight: 1 }), { maxLength: 4 }),
      enter,
      requests: fc.array(fc.oneof({ arbitrary: anyRequest, weight: 6 }, { arbitrary: garbage, weight: 1 }), { maxLength: 8 }),
    });
    try {
      await fc.assert(
        fc.asyncProperty(sessions, async ({ flags, options, enter, requests }) => {
          events.length = 0;
          const c = await RawConnection.open(at);
          c.write(u32(flags));
          for (const f of [...options, enter, ...requests]) c.write(f);
          c.socket.end();
          const deadline = Date.now() + 2000;
          while (!c.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
          const closed = c.closed;
          c.close();
          expect(closed).toBe(true);
          expect(events.filter((e) => /internal error/.test(e))).toEqual([]);
        }),
        { numRuns: 300 },
      );
      const ok = await RawConnection.open(at);
      expect(await handshake(ok, 'r0')).toBe(BigInt(volume.length));
      ok.write(request(0, 1, 5000, 70_000));
      expect((await reply(ok, 70_000))!.data!.equals(Buffer.from(volume.subarray(5000, 75_000)))).toBe(true);
      ok.close();
      // Every connection gone, nothing of theirs is held; the pool keeps at most its 32 MiB.
      for (let i = 0; i < 100 && fuzzed.stats().connections > 0; i++) await new Promise((r) => setTimeout(r, 20));
      const stats = fuzzed.stats();
      expect({ connections: stats.connections, heldBytes: stats.heldBytes, poolWithin: stats.poolBytes <= REPLY_BYTES }).toEqual({ connections: 0, heldBytes: 0, poolWithin: true });
    } finally {
      await fuzzed.close();
    }
  }, 120_000);

  it('a read larger than a piece arrives whole and in order with replies around it; an I/O error after its header ends the connection', async () => {
    const size = 16 * 1024 * 1024;
    const bytes = patterned(9, size / SECTOR);
    const base = memorySource('big', bytes);
    let failAt = Infinity;
    const flaky: Source = { ...base, read: async (s, n) => (s + n > failAt ? ioError('big', 'EIO') : base.read(s, n)), readInto: undefined };
    const events: string[] = [];
    const srv = new NbdServer({ exports: [{ name: 'big', source: flaky }], onEvent: (m) => events.push(m) });
    const at = join(dir, 'big.sock');
    await srv.listen(at);
    try {
      const c = await RawConnection.open(at);
      expect(await handshake(c, 'big')).toBe(BigInt(size));
      const reqs = [
        { h: 1, off: 1000, len: 9 * 1024 * 1024 + 77 },
        { h: 2, off: 0, len: 512 },
        { h: 3, off: 5 * 1024 * 1024 - 3, len: 5 * 1024 * 1024 },
      ];
      for (const q of reqs) c.write(request(0, q.h, q.off, q.len));
      for (let n = 0; n < reqs.length; n++) {
        const h = (await c.read(16))!;
        const q = reqs.find((x) => BigInt(x.h) === h.readBigUInt64BE(8))!;
        expect(h.readUInt32BE(4)).toBe(0);
        expect((await c.read(q.len))!.equals(Buffer.from(bytes.subarray(q.off, q.off + q.len)))).toBe(true);
      }
      // A failure in the first piece is an error reply; in a later one, after a success header, a disconnect.
      failAt = 4096;
      c.write(request(0, 4, 4096 * SECTOR, 8 * 1024 * 1024));
      expect((await reply(c, 0))!.error).toBe(5);
      c.write(request(0, 5, 0, 8 * 1024 * 1024));
      expect((await c.read(16))!.readUInt32BE(4)).toBe(0);
      expect(await c.read(8 * 1024 * 1024)).toBeNull();
      expect(events.some((e) => /failed after its reply began \(EIO\): disconnecting/.test(e))).toBe(true);
    } finally {
      await srv.close();
    }
  });

  it('a client that connects and says nothing is disconnected after the handshake timeout; the server serves on', async () => {
    const events: string[] = [];
    const quiet = new NbdServer({ exports: [{ name: 'small', source: engine.get('small')! }], handshakeTimeoutMs: 300, onEvent: (m) => events.push(m) });
    const at = join(dir, 'quiet.sock');
    await quiet.listen(at);
    try {
      const silent = await RawConnection.open(at);
      expect((await silent.read(18))!.toString('latin1', 0, 16)).toBe('NBDMAGICIHAVEOPT');
      // Half a handshake: the flags, then nothing.
      const half = await RawConnection.open(at);
      await half.read(18);
      half.write(Buffer.from([0, 0, 0, 3]));
      const ok = await RawConnection.open(at);
      expect(await handshake(ok, 'small')).toBe(4096n);
      for (let i = 0; i < 200 && !(silent.closed && half.closed); i++) await new Promise((r) => setTimeout(r, 25));
      expect([silent.closed, half.closed]).toEqual([true, true]);
      expect(events.filter((e) => /no handshake within 0\.3 s/.test(e))).toHaveLength(2);
      // Past the handshake the timeout no longer applies: an idle client in transmission keeps its connection.
      expect(ok.closed).toBe(false);
      ok.write(request(0, 1, 0, 512));
      expect((await reply(ok, 512))!.error).toBe(0);
      ok.close();
    } finally {
      await quiet.close();
    }
  });

  it('past the connection limit a new connection is closed with a log line; the ones in are served, and a freed slot is taken again', async () => {
    const events: string[] = [];
    const two = new NbdServer({ exports: [{ name: 'r0', source: engine.get('r0')! }], maxConnections: 2, onEvent: (m) => events.push(m) });
    const at = join(dir, 'two.sock');
    await two.listen(at);
    try {
      const a = await RawConnection.open(at);
      const b = await RawConnection.open(at);
      expect(await handshake(a, 'r0')).toBe(BigInt(volume.length));
      expect(await handshake(b, 'r0')).toBe(BigInt(volume.length));
      const c = await RawConnection.open(at);
      expect(await c.read(1)).toBeNull();
      expect(events).toEqual(['refusing a connection: this process serves 2 already, the most it takes']);
      a.write(request(0, 1, 4096, 4096));
      expect((await reply(a, 4096))!.data!.equals(Buffer.from(volume.subarray(4096, 8192)))).toBe(true);
      b.close();
      for (let i = 0; i < 100 && two.stats().connections > 1; i++) await new Promise((r) => setTimeout(r, 20));
      const d = await RawConnection.open(at);
      expect(await handshake(d, 'r0')).toBe(BigInt(volume.length));
      a.close();
      d.close();
    } finally {
      await two.close();
    }
  });

  it('a socket file left by a killed server is replaced; a live server, or a file that is no socket, is an error', async () => {
    const dead = join(dir, 'dead.sock');
    // A server killed with SIGKILL leaves its socket file behind.
    const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(dead)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((r) => child.stdout!.once('data', r));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(existsSync(dead)).toBe(true);
    const exports = [{ name: 'small', source: engine.get('small')! }];
    const first = new NbdServer({ exports });
    expect(await first.listen(dead)).toBe(dead);
    const c = await RawConnection.open(dead);
    expect(await handshake(c, 'small')).toBe(4096n);
    c.close();
    const second = new NbdServer({ exports });
    await expect(second.listen(dead)).rejects.toThrow(`${dead} is in use by a running server`);
    await first.close();
    const file = join(dir, 'not-a-socket');
    await fs.writeFile(file, 'keep me');
    await expect(second.listen(file)).rejects.toThrow(`${file} exists and is not a socket`);
    expect(await fs.readFile(file, 'utf8')).toBe('keep me');
  });

  it('FLUSH and a FUA write reach the flush of every member beneath (fdatasync for files); a failed flush is an EIO reply', async () => {
    const flushed: string[] = [];
    let failing = false;
    const member = (name: string): Source => ({
      ...memorySource(name, new Uint8Array(64 * SECTOR)),
      flush: async () => {
        flushed.push(name);
        return failing ? ioError(name, 'EIO') : true;
      },
    });
    const sources = new Map(['f0', 'f1'].map((n) => [n, member(n)]));
    const e = createEngine([{ name: 'f', table: '0 128 striped 2 8 f0 0 f1 0' }, { name: 'top', table: '0 128 linear /dev/mapper/f 0' }], (p) => sources.get(p));
    if (isTableError(e)) throw new Error(e.message);
    const server = new NbdServer({ exports: [{ name: 'top', source: e.get('top')! }], writable: true });
    const where = join(dir, 'flush.sock');
    await server.listen(where);
    const c = await RawConnection.open(where);
    expect(await handshake(c, 'top')).toBe(BigInt(128 * SECTOR));
    c.write(Buffer.concat([request(1, 1, 0, 512), Buffer.alloc(512, 7)]));
    expect((await reply(c, 0))!.error).toBe(0);
    expect(flushed).toEqual([]);
    c.write(request(3, 2, 0, 0));
    expect((await reply(c, 0))!.error).toBe(0);
    expect(flushed.sort()).toEqual(['f0', 'f1']);
    flushed.length = 0;
    const fua = Buffer.concat([request(1, 3, 4096, 512), Buffer.alloc(512, 9)]);
    fua.writeUInt16BE(1, 4); // NBD_CMD_FLAG_FUA
    c.write(fua);
    expect((await reply(c, 0))!.error).toBe(0);
    expect(flushed.sort()).toEqual(['f0', 'f1']);
    failing = true;
    c.write(request(3, 4, 0, 0));
    expect((await reply(c, 0))!.error).toBe(5);
    c.close();
    await server.close();
    // A member file opened for writing flushes with fdatasync; a read-only one has nothing to flush.
    const file = join(dir, 'flush.img');
    await fs.writeFile(file, Buffer.alloc(8 * SECTOR));
    const rw = fileSource(file, 8, true);
    expect(await rw.write(0, new Uint8Array(SECTOR).fill(1))).toBe(true);
    expect(await rw.flush!()).toBe(true);
    rw.close();
    const ro = fileSource(file, 8);
    expect(ro.flush).toBeUndefined();
    ro.close();
  });

  it('64 clients at once read correct data', async () => {
    const conns = await Promise.all([...Array(64).keys()].map(() => RawConnection.open(sock)));
    const results = await Promise.all(
      conns.map(async (c, i) => {
        expect(await handshake(c, 'r0')).toBe(BigInt(volume.length));
        // Each client pipelines 8 reads at different offsets.
        const reqs = [...Array(8).keys()].map((k) => {
          const off = ((i * 8 + k) * 40_960 + i * 512) % (volume.length - 65536);
          return { off, len: 65536 - (k % 2) * 4096, handle: k };
        });
        for (const q of reqs) c.write(request(0, q.handle, q.off, q.len));
        let good = 0;
        const byHandle = new Map(reqs.map((q) => [q.handle, q]));
        for (let n = 0; n < reqs.length; n++) {
          const h = await c.read(16);
          const q = byHandle.get(Number(h!.readBigUInt64BE(8)))!;
          expect(h!.readUInt32BE(4)).toBe(0);
          const data = await c.read(q.len);
          if (data!.equals(Buffer.from(volume.subarray(q.off, q.off + q.len)))) good++;
        }
        c.close();
        return good;
      }),
    );
    expect(results.reduce((a, b) => a + b, 0)).toBe(64 * 8);
  });
});

/** The RAID0 of the suite over two member files in `dir`, as the workers build it. */
const r0Spec = (...files: string[]): WorkerSpec => ({
  tables: [{ name: 'r0', table: `0 ${2 * MEMBER_SECTORS} striped 2 ${CHUNK} ${files.map((f) => `${f} 0`).join(' ')}` }],
  members: files.map((path) => ({ path, sizeSectors: MEMBER_SECTORS })),
  cwd: dir,
  exports: ['r0'],
});

describe('writes in flight together', () => {
  /** A RAID0 over two memory members whose writes land after a random 0-3 ms each, so they finish out of order. */
  async function lateServer(sectors: number, name: string) {
    const bytes = [new Uint8Array(sectors * SECTOR), new Uint8Array(sectors * SECTOR)];
    const late = (n: string, b: Uint8Array): Source => {
      const m = memorySource(n, b);
      const write = (sector: number, data: Uint8Array) => new Promise((r) => setTimeout(r, Math.random() * 3)).then(() => m.write(sector, data));
      return { ...m, write, flush: async () => true };
    };
    const sources = new Map(bytes.map((b, i) => [`w${i}`, late(`w${i}`, b)]));
    const e = createEngine([{ name: 'w', table: `0 ${2 * sectors} striped 2 ${CHUNK} w0 0 w1 0` }], (p) => sources.get(p));
    if (isTableError(e)) throw new Error(e.message);
    const volume = e.get('w')!;
    // Writes the server has started on the export and not yet finished, now and at most.
    const pending = { now: 0, most: 0 };
    const write = async (sector: number, data: Uint8Array) => {
      pending.most = Math.max(pending.most, ++pending.now);
      const r = await volume.write(sector, data);
      pending.now--;
      return r;
    };
    const server = new NbdServer({ exports: [{ name: 'w', source: { ...volume, write } }], writable: true });
    const where = join(dir, name);
    await server.listen(where);
    return { server, where, volume, pending };
  }

  it('writes on one connection are in flight together; overlapping ones land in the order sent, a read after them sees the last, a flush answers after all of them', async () => {
    const { server, where, volume, pending } = await lateServer(8192, 'order.sock');
    try {
      const c = await RawConnection.open(where);
      expect(await handshake(c, 'w')).toBe(BigInt(16384 * SECTOR));
      const expected = new Uint8Array(16384 * SECTOR);
      const frames: Buffer[] = [];
      let handle = 0;
      const writes = new Set<number>();
      const reads = new Map<number, { at: number; bytes: Buffer }>();
      // Rounds of six writes over the same 192 KiB, whole sectors and not, then a read of them; each round
      // its own 192 KiB (a write sent after a read may land before it: NBD orders nothing there).
      for (let round = 0; round < 20; round++) {
        const base = 65536 + round * 256 * 1024;
        for (let k = 0; k < 6; k++) {
          const offset = base + ((round * 7 + k * 13) % 40) * 997;
          const data = Buffer.alloc(((round + k) % 3) * 50_000 + 700, round * 6 + k + 1);
          expected.set(data, offset);
          writes.add(++handle);
          frames.push(Buffer.concat([request(1, handle, offset, data.length), data]));
        }
        reads.set(++handle, { at: base, bytes: Buffer.from(expected.subarray(base, base + 192 * 1024)) });
        frames.push(request(0, handle, base, 192 * 1024));
      }
      const flush = ++handle;
      frames.push(request(3, flush, 0, 0));
      c.write(Buffer.concat(frames));
      const seen = new Set<number>();
      for (let i = 0; i < handle; i++) {
        const h = await c.read(16);
        expect(h?.readUInt32BE(4)).toBe(0);
        const id = Number(h!.readBigUInt64BE(8));
        if (reads.has(id)) expect((await c.read(192 * 1024))!.equals(reads.get(id)!.bytes)).toBe(true);
        if (id === flush) expect([...writes].filter((w) => !seen.has(w))).toEqual([]);
        seen.add(id);
      }
      const now = await volume.read(0, 16384);
      expect(Buffer.from(now as Uint8Array).equals(Buffer.from(expected))).toBe(true);
      // Each round's first write overlaps no write before it: it is applied beside the round before's.
      expect(pending.most).toBeGreaterThan(1);
      c.close();
    } finally {
      await server.close();
    }
  });

  clientIt('nbdcopy of a file into a writable export (four connections, many writes each in flight) leaves exactly the file\'s bytes', async () => {
    const { server, where, volume } = await lateServer(16 * 1024, 'copy-in.sock');
    try {
      const src = join(dir, 'copy-in.img');
      const data = new Uint8Array(32 * 1024 * SECTOR);
      for (let i = 0; i < data.length; i += 4) data[i] = (i * 2654435761) >>> 24;
      await fs.writeFile(src, data);
      await run('nbdcopy', ['--flush', '--request-size=65536', src, `nbd+unix:///w?socket=${where}`]);
      const now = await volume.read(0, 32 * 1024);
      expect(Buffer.from(now as Uint8Array).equals(Buffer.from(data))).toBe(true);
    } finally {
      await server.close();
    }
  });
});

describe('serving from worker processes (read-only, one engine per process)', () => {
  it('connections go to the workers and the listening process in turn and read the same bytes; stop ends the workers', async () => {
    await fs.writeFile(join(dir, 'm0.img'), members[0]!);
    await fs.writeFile(join(dir, 'm1.img'), members[1]!);
    const workers = await NbdWorkers.start(r0Spec('m0.img', 'm1.img'), 2, () => undefined);
    if (typeof workers === 'string') throw new Error(workers);
    expect(workers.pids).toHaveLength(2);
    let handed = 0;
    const wsock = join(dir, 'workers.sock');
    const srv = new NbdServer({
      exports: [{ name: 'r0', source: engine.get('r0')! }],
      handOff: (s) => {
        const took = workers.handOff(s);
        if (took) handed++;
        return took;
      },
    });
    await srv.listen(wsock);
    try {
      const conns = await Promise.all(Array.from({ length: 4 }, () => RawConnection.open(wsock)));
      for (const [i, c] of conns.entries()) {
        expect(await handshake(c, 'r0')).toBe(BigInt(volume.length));
        const at = i * 3 * CHUNK * SECTOR + 512;
        c.write(request(0, i, at, 2 * CHUNK * SECTOR));
        const r = await reply(c, 2 * CHUNK * SECTOR);
        expect(r?.error).toBe(0);
        expect(Buffer.from(r!.data!).equals(Buffer.from(volume.subarray(at, at + 2 * CHUNK * SECTOR)))).toBe(true);
        c.close();
      }
      // Turns: worker 1, worker 2, the listening process, worker 1.
      expect(handed).toBe(3);
      if (clients.available) {
        await run('nbdcopy', ['--connections=4', `nbd+unix:///r0?socket=${wsock}`, join(dir, 'w.raw')]);
        expect(Buffer.from(await fs.readFile(join(dir, 'w.raw'))).equals(Buffer.from(volume))).toBe(true);
      }
    } finally {
      await srv.close();
      await workers.stop();
    }
    expect(workers.pids.filter(alive)).toEqual([]);
  });

  it('a worker that cannot open a member: start says which file, and no worker is left running', async () => {
    const r = await NbdWorkers.start(r0Spec('gone.img', 'm1.img'), 2, () => undefined);
    expect(r).toMatch(/gone\.img/);
    const left = await run('pgrep', ['-P', String(process.pid), '-f', 'nbd-worker']).then((x) => x.stdout, () => '');
    expect(left).toBe('');
  });
});


/** Resident memory of a process in MiB (VmRSS), 0 once it is gone. */
function rssMiB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * A serving process with one worker (test/nbd-serve.mjs, built code) over a member file: its pids. With
 * `writeDelayMs` it serves writable, alone, each member write that much late.
 */
async function serveChild(at: string, file: string, sectors: number, writeDelayMs?: number) {
  const args = writeDelayMs === undefined ? ['1'] : ['0', String(writeDelayMs)];
  const child = spawn(process.execPath, [join(dirname(fileURLToPath(import.meta.url)), 'nbd-serve.mjs'), at, file, String(sectors), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const log: string[] = [];
  child.stderr!.on('data', (d: Buffer) => log.push(d.toString()));
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out);
    });
    child.once('exit', (code) => reject(new Error(`serving process ended (exit ${code}): ${log.join('')}`)));
  });
  const pids = (JSON.parse(line) as { pids: number[] }).pids;
  const rss = () => pids.reduce((sum, pid) => sum + rssMiB(pid), 0);
  const stop = async () => {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
  };
  return { pids, rss, log, stop };
}

describe('memory of the processes that serve, whatever clients do', () => {
  it('clients that queue thousands of 32 MiB reads and never read a reply keep the serving processes under 300 MiB, a client that reads is served meanwhile, and the memory comes back when they go', async () => {
    // A sparse volume: reads of holes cost the server nothing but the buffers the replies need.
    const file = join(dir, 'sparse.img');
    const sectors = 16 * 1024 * 1024 * 2; // 16 GiB
    await fs.writeFile(file, '');
    await fs.truncate(file, sectors * SECTOR);
    const data = patterned(3, 2048);
    const fh = await fs.open(file, 'r+');
    await fh.write(data, 0, data.length, 5 * 1024 * 1024 * 1024);
    await fh.close();
    const at = join(dir, 'hostile.sock');
    const served = await serveChild(at, file, sectors);
    try {
      const before = served.rss();
      // Four connections (two per serving process), each 200 reads of 32 MiB without reading a byte back.
      const hostile = await Promise.all(Array.from({ length: 4 }, () => RawConnection.open(at)));
      for (const c of hostile) {
        expect(await handshake(c, 'v')).toBe(BigInt(sectors * SECTOR));
        c.socket.pause();
        for (let i = 0; i < 200; i++) c.write(request(0, i, (i % 400) * 32 * 1024 * 1024, 32 * 1024 * 1024));
      }
      let peak = 0;
      const sample = () => (peak = Math.max(peak, served.rss()));
      const sampler = setInterval(sample, 20);
      try {
        // A client that reads its replies: correct data, a 32 MiB read included, while the others sit.
        for (let k = 0; k < 3; k++) {
          const ok = await RawConnection.open(at);
          expect(await handshake(ok, 'v')).toBe(BigInt(sectors * SECTOR));
          ok.write(request(0, 1, 5 * 1024 * 1024 * 1024, data.length));
          expect((await reply(ok, data.length))!.data!.equals(Buffer.from(data))).toBe(true);
          ok.write(request(0, 2, 5 * 1024 * 1024 * 1024 - 16 * 1024 * 1024 + 512, 32 * 1024 * 1024));
          const big = (await reply(ok, 32 * 1024 * 1024))!.data!;
          expect(big.subarray(0, 16 * 1024 * 1024 - 512).every((b) => b === 0)).toBe(true);
          expect(big.subarray(16 * 1024 * 1024 - 512, 16 * 1024 * 1024 - 512 + data.length).equals(Buffer.from(data))).toBe(true);
          ok.close();
        }
        if (clients.available) {
          const info = JSON.parse((await run('nbdinfo', ['--json', `nbd+unix:///v?socket=${at}`])).stdout) as { exports: { 'export-size': number }[] };
          expect(info.exports[0]!['export-size']).toBe(sectors * SECTOR);
        }
        // Long enough for the unbounded server to fill its buffers (about 2 GiB of replies).
        for (let i = 0; i < 40; i++) await new Promise((r) => setTimeout(r, 50));
      } finally {
        clearInterval(sampler);
      }
      sample();
      for (const c of hostile) c.close();
      let after = served.rss();
      for (let i = 0; i < 100 && after > before + 80; i++) {
        await new Promise((r) => setTimeout(r, 50));
        after = served.rss();
      }
      expect({ before: Math.round(before), peak: Math.round(peak), under: peak < 300 }).toEqual({ before: Math.round(before), peak: Math.round(peak), under: true });
      // Back down: what stays is at most the pools' reusable buffers (32 MiB per process) and a little more.
      expect(after).toBeLessThan(before + 80);
      expect(served.log.join('')).not.toMatch(/internal error/);
    } finally {
      await served.stop();
    }
  }, 60_000);
  it('clients that send many large writes, payloads stalled halfway or sent as fast as the socket takes them, and never read a reply keep a writable server under 300 MiB over storage slower than they are; a client that writes and reads back is served meanwhile', async () => {
    const file = join(dir, 'writable.img');
    const sectors = 4 * 1024 * 1024 * 2; // 4 GiB, sparse
    await fs.writeFile(file, '');
    await fs.truncate(file, sectors * SECTOR);
    const at = join(dir, 'hostile-w.sock');
    const served = await serveChild(at, file, sectors, 1000);
    const MiB = 1024 * 1024;
    const payload = Buffer.alloc(32 * MiB, 0x5a);
    /** Write without queueing more than the socket takes (the client's own memory stays small). */
    const push = (c: RawConnection, b: Buffer) => (c.socket.write(b) || c.closed ? Promise.resolve() : new Promise<void>((r) => {
      c.socket.once('drain', r);
      c.socket.once('close', r);
    }));
    try {
      const before = served.rss();
      let peak = 0;
      const sample = () => (peak = Math.max(peak, served.rss()));
      const sampler = setInterval(sample, 20);
      const open = async () => {
        const c = await RawConnection.open(at);
        expect(await handshake(c, 'v')).toBe(BigInt(sectors * SECTOR));
        c.socket.pause();
        return c;
      };
      // Twelve 32 MiB writes whose payloads stop 1 MiB short: a server that gathers a payload before
      // writing it holds 12 × 31 MiB.
      const stalled = await Promise.all(Array.from({ length: 12 }, () => open()));
      // Four connections of 16 writes of 8 MiB each, sent as fast as the socket takes them: a server that
      // reads on while the slow storage writes holds whatever it has read.
      const fast = await Promise.all(Array.from({ length: 4 }, () => open()));
      const sending = [
        ...stalled.map(async (c, k) => {
          await push(c, request(1, 1, k * 64 * MiB, 32 * MiB));
          await push(c, payload.subarray(0, 31 * MiB));
        }),
        ...fast.map(async (c, k) => {
          for (let i = 0; i < 16; i++) {
            await push(c, request(1, i, (1024 + k * 128 + i * 8) * MiB, 8 * MiB));
            await push(c, payload.subarray(0, 8 * MiB));
          }
        }),
      ];
      try {
        // Served meanwhile: a write, then a read of the same bytes, on a connection that reads its replies.
        const ok = await RawConnection.open(at);
        expect(await handshake(ok, 'v')).toBe(BigInt(sectors * SECTOR));
        const data = Buffer.from(patterned(7, 128));
        ok.write(Buffer.concat([request(1, 1, 3 * 1024 * MiB, data.length), data]));
        ok.write(request(0, 2, 3 * 1024 * MiB, data.length));
        expect((await reply(ok, 0))!.error).toBe(0);
        expect((await reply(ok, data.length))!.data!.equals(data)).toBe(true);
        ok.close();
        // Long enough for an unbounded server to take in what the clients send (about 900 MiB).
        for (let i = 0; i < 40; i++) await new Promise((r) => setTimeout(r, 50));
      } finally {
        clearInterval(sampler);
      }
      sample();
      for (const c of [...stalled, ...fast]) c.close();
      await Promise.all(sending);
      expect({ before: Math.round(before), peak: Math.round(peak), under: peak < 300 }).toEqual({ before: Math.round(before), peak: Math.round(peak), under: true });
      expect(served.log.join('')).not.toMatch(/internal error/);
    } finally {
      await served.stop();
    }
  }, 60_000);
});

describe('fuzz against a serving process, its memory measured', () => {
  it('a valid session cut at every byte, then mangled sessions from several clients at once that never read their replies: no internal error, the serving processes stay under 300 MiB, and serve on', async () => {
    const file = join(dir, 'fuzz-sparse.img');
    const sectors = 4 * 1024 * 1024 * 2; // 4 GiB, all hole but one patterned MiB
    await fs.writeFile(file, '');
    await fs.truncate(file, sectors * SECTOR);
    const data = patterned(5, 2048);
    const fh = await fs.open(file, 'r+');
    await fh.write(data, 0, data.length, 1024 * 1024 * 1024);
    await fh.close();
    const at = join(dir, 'fuzz-child.sock');
    const served = await serveChild(at, file, sectors);
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, served.rss())), 20);
    const big = 32 * 1024 * 1024;
    try {
      const session = Buffer.concat([
        Buffer.from([0, 0, 0, 3]),
        option(3),
        option(6, goData('v')),
        option(7, goData('v')),
        request(0, 1, 1024 * 1024 * 1024 + 100, 70_000),
        request(0, 2, 0, big),
        request(4, 3, 0, 512),
        request(3, 4, 0, 0),
        request(1, 5, 0, 700),
        Buffer.alloc(700, 0xee),
        request(0, 6, 3 * big - 512, big),
        request(2, 7, 0, 0),
      ]);
      // The client goes at every byte offset, half of the time closing its end, else vanishing.
      for (let cut = 0; cut <= session.length; cut++) {
        const c = await RawConnection.open(at);
        c.write(session.subarray(0, cut));
        if (cut % 2) c.socket.end();
        else {
          await new Promise((r) => setImmediate(r));
          c.close();
        }
        for (let i = 0; i < 400 && !c.closed; i++) await new Promise((r) => setTimeout(r, 5));
        expect(c.closed).toBe(true);
        c.close();
      }
      // Mangled sessions, four clients at a time, each sending many reads up to the maximum and never reading.
      const anyRequest = fc
        .record({
          type: fc.oneof({ arbitrary: fc.constant(0), weight: 8 }, { arbitrary: fc.integer({ min: 0, max: 9 }), weight: 2 }),
          offset: fc.oneof({ arbitrary: fc.nat({ max: sectors * SECTOR - big }), weight: 8 }, { arbitrary: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), weight: 1 }),
          length: fc.oneof({ arbitrary: fc.constant(big), weight: 6 }, { arbitrary: fc.nat({ max: big + 1 }), weight: 3 }, { arbitrary: fc.constant(0xffffffff), weight: 1 }),
          magic: fc.oneof({ arbitrary: fc.constant(0x25609513), weight: 100 }, { arbitrary: fc.nat(), weight: 1 }),
        })
        .map(({ type, offset, length, magic }) => request(type === 1 ? 0 : type, 1, offset, length, magic));
      const client = fc.record({
        options: fc.array(fc.record({ opt: fc.integer({ min: 0, max: 10 }), data: fc.uint8Array({ maxLength: 24 }) }).map(({ opt, data }) => option(opt, Buffer.from(data))), { maxLength: 3 }),
        requests: fc.array(anyRequest, { minLength: 1, maxLength: 60 }),
        cut: fc.nat(),
      });
      await fc.assert(
        fc.asyncProperty(fc.array(client, { minLength: 4, maxLength: 4 }), async (clients) => {
          const conns = await Promise.all(
            clients.map(async ({ options, requests, cut }) => {
              const c = await RawConnection.open(at);
              c.socket.pause();
              const all = Buffer.concat([Buffer.from([0, 0, 0, 3]), ...options, option(7, goData('v')), ...requests]);
              c.write(all.subarray(0, all.length - (cut % 29)));
              return c;
            }),
          );
          await new Promise((r) => setTimeout(r, 300));
          for (const c of conns) c.close();
        }),
        { numRuns: 25 },
      );
      const ok = await RawConnection.open(at);
      expect(await handshake(ok, 'v')).toBe(BigInt(sectors * SECTOR));
      ok.write(request(0, 1, 1024 * 1024 * 1024 - 512, data.length + 1024));
      const r = (await reply(ok, data.length + 1024))!.data!;
      expect(r.subarray(512, 512 + data.length).equals(Buffer.from(data))).toBe(true);
      ok.close();
    } finally {
      clearInterval(sampler);
      await served.stop();
    }
    expect(served.log.join('')).not.toMatch(/internal error/);
    expect({ peak: Math.round(peak), under: peak < 300 }).toEqual({ peak: Math.round(peak), under: true });
  }, 300_000);
});

// Reading block devices: synchronous reads while the device answers as fast as the page cache, the thread
// pool once a read is slow; the bytes are the image's either way, and an I/O error is a value naming the
// device. Loop devices over image files stand in for disks (root and losetup needed).
import { execFile } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import * as realFs from 'node:fs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { bufferLog, defineFormat, discoverRaidDevices, isIoError, openDevice, READ_AHEAD_BYTES, type FormatHandler } from '../src/index.js';

// Counts the synchronous and thread-pool reads, and fails them with EIO on demand.
const io = vi.hoisted(() => ({ sync: 0, async: 0, fail: false }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const eio = () => Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO', errno: -5 });
  return {
    ...fs,
    readSync: (...args: Parameters<typeof fs.readSync>) => {
      io.sync++;
      if (io.fail) throw eio();
      return fs.readSync(...args);
    },
    read: (...args: unknown[]) => {
      io.async++;
      const callback = args.at(-1) as (e: unknown) => void;
      if (io.fail) return void process.nextTick(() => callback(eio()));
      return (fs.read as (...a: unknown[]) => void)(...args);
    },
  };
});

const exec = promisify(execFile);
const loops = process.getuid?.() === 0 && (await exec('losetup', ['-f']).then(() => true, () => false));
const reason = 'needs root and a free loop device (losetup -f)';
/** `it` for a test that needs a loop device: skipped with the reason, failing under CI. */
const itLoop = (name: string, fn: () => Promise<void>) =>
  loops ? it(name, fn) : process.env.CI ? it(name, () => expect.fail(`a loop device is required under CI: ${reason}`)) : it.skip(`${name} [skipped: ${reason}]`, fn);

const dir = mkdtempSync(join(tmpdir(), 'core-device-read-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(() => Object.assign(io, { sync: 0, async: 0, fail: false }));

/** An image of random bytes (1 MiB unless given) attached read-only to a loop device: its bytes and the loop's path. */
async function loopOf(name: string, size = 1 << 20): Promise<{ bytes: Uint8Array; loop: string }> {
  const bytes = randomFillSync(new Uint8Array(size));
  const image = join(dir, name);
  writeFileSync(image, bytes);
  const loop = (await exec('losetup', ['-f', '--show', '-r', image])).stdout.trim();
  onTestFinished(() => exec('losetup', ['-d', loop]).then(() => undefined));
  return { bytes, loop };
}

// Head, unaligned, across a page boundary, a large piece, the last sector.
const pieces = [[0, 512], [4608, 48], [4000, 300], [65536, 200_000], [(1 << 20) - 512, 512]] as const;

describe('reading a block device', () => {
  itLoop('reads the bytes of the image beneath, synchronously while no read is slow', async () => {
    const { bytes, loop } = await loopOf('fast.img');
    // No read counts as slow (by default one slower than SLOW_READ_MS does: a cold cache may be).
    const d = await openDevice(loop, { slowReadMs: Infinity });
    if (isIoError(d)) throw new Error(d.message);
    onTestFinished(() => d.close());
    io.sync = 0; // opening reads sysfs attributes
    expect([d.isBlockDevice, d.sizeSectors]).toEqual([true, 2048]);
    for (const [at, n] of pieces) expect(await d.read(at, n)).toEqual(bytes.slice(at, at + n));
    expect(io.sync).toBe(pieces.length);
    expect(io.async).toBe(1); // the read-ahead of the device's end
  });

  itLoop("a block device's end is read once, when it is opened: the kernel reads nothing more for the reads there", async () => {
    const size = 8 << 20;
    const { bytes, loop } = await loopOf('tail.img', size);
    /** The kernel's count of the loop device's reads and sectors read (/sys/block/loopN/stat fields 1 and 3). */
    const kernel = () => realFs.readFileSync(`/sys/block/${basename(loop)}/stat`, 'utf8').trim().split(/\s+/).map(Number).filter((_, i) => i === 0 || i === 2);
    // Where discovery reads near the end: pdc's search N-991 ... N-63, sil's and others' blocks, the last sector.
    const tail = [991, 735, 300, 63, 2, 1].map((fromEnd) => [size - fromEnd * 512, fromEnd === 300 ? 8192 : 512] as const);
    const kernelReads: number[][] = [];
    for (const slowReadMs of [undefined, 0]) {
      const before = kernel();
      const d = await openDevice(loop, { slowReadMs });
      if (isIoError(d)) throw new Error(d.message);
      const [first, ...rest] = tail;
      expect(await d.read(first![0], first![1])).toEqual(bytes.slice(first![0], first![0] + first![1]));
      const afterFirst = kernel();
      for (const [at, n] of rest) expect(await d.read(at, n)).toEqual(bytes.slice(at, at + n));
      const after = kernel();
      await d.close(); // the last close: the kernel drops the device's page cache, the next round reads cold
      kernelReads.push([afterFirst[0]! - before[0]!, afterFirst[1]! - before[1]!, after[0]! - afterFirst[0]!]);
    }
    // Opened for a command: the region in one or two requests by the time the first read returns, nothing after.
    // The monitor (slowReadMs 0) reads no ahead: each cold page its own request, as before.
    const [command, monitor] = kernelReads;
    expect([command![0]! <= 2, command![1]! >= READ_AHEAD_BYTES / 512, command![2]]).toEqual([true, true, 0]);
    expect(monitor![2]).toBeGreaterThanOrEqual(4);
  });

  itLoop('after a slow read, the device is read through the thread pool, with the same bytes', async () => {
    const { bytes, loop } = await loopOf('slow.img');
    // Every read takes 10 ms by the clock: the first is synchronous, the rest go through the thread pool.
    let clock = 0;
    const now = vi.spyOn(performance, 'now').mockImplementation(() => (clock += 10));
    onTestFinished(() => now.mockRestore());
    const d = await openDevice(loop);
    if (isIoError(d)) throw new Error(d.message);
    onTestFinished(() => d.close());
    io.sync = 0; // opening reads sysfs attributes
    for (const [at, n] of pieces) expect(await d.read(at, n)).toEqual(bytes.slice(at, at + n));
    expect(io.sync).toBe(1);
    expect(io.async).toBeGreaterThanOrEqual(pieces.length - 1);
  });

  itLoop('slowReadMs 0 (the monitor): every read through the thread pool, the first too', async () => {
    const { bytes, loop } = await loopOf('pool.img');
    const d = await openDevice(loop, { slowReadMs: 0 });
    if (isIoError(d)) throw new Error(d.message);
    onTestFinished(() => d.close());
    io.sync = 0;
    for (const [at, n] of pieces) expect(await d.read(at, n)).toEqual(bytes.slice(at, at + n));
    expect(io.sync).toBe(0);
    expect(io.async).toBeGreaterThanOrEqual(pieces.length);
  });

  itLoop('an I/O error is an IoError naming the device, on either path, and discovery reports it and goes on', async () => {
    const { loop } = await loopOf('eio.img');
    const { loop: other } = await loopOf('ok.img');
    for (const slowReadMs of [undefined, 0]) {
      const d = await openDevice(loop, { slowReadMs });
      if (isIoError(d)) throw new Error(d.message);
      onTestFinished(() => d.close());
      io.fail = true;
      expect(await d.read(512, 512)).toEqual({ kind: 'io', path: loop, code: 'EIO', message: 'Input/output error' });
      io.fail = false;
    }

    const probe: FormatHandler = defineFormat({
      apiVersion: 1,
      name: 'probe',
      description: 'reads one sector',
      levels: '0',
      async read(device, ctx) {
        await ctx.read(device, 512, 512);
        return [];
      },
      group: () => undefined,
      check: () => true,
      log: () => [],
    });
    const bad = await openDevice(loop);
    const good = await openDevice(other);
    if (isIoError(bad) || isIoError(good)) throw new Error('open failed');
    onTestFinished(() => Promise.all([bad.close(), good.close()]).then(() => undefined));
    const { log, lines } = bufferLog();
    io.fail = true;
    await discoverRaidDevices({ handlers: [probe], devices: [bad], log });
    io.fail = false;
    await discoverRaidDevices({ handlers: [probe], devices: [good], log });
    expect(lines.filter((l) => l.level === 'error')).toEqual([{ level: 'error', text: `probe: reading ${loop}[Input/output error]` }]);
  });

  itLoop("a block device's size, sector size and serial come from sysfs: the serial from the VPD page when udev and sysfs have none", async () => {
    const { loop } = await loopOf('attributes.img');
    const st = realFs.statSync(loop);
    const node = join(dir, 'sys', 'dev', 'block', `${Math.floor(st.rdev / 256) & 0xfff}:${st.rdev & 0xff}`);
    realFs.mkdirSync(join(node, 'queue'), { recursive: true });
    realFs.mkdirSync(join(node, 'device'), { recursive: true });
    // Longer than one read of an attribute: the rest must be read too.
    writeFileSync(join(node, 'size'), `${' '.repeat(5000)}1536\n`);
    writeFileSync(join(node, 'queue', 'logical_block_size'), '4096\n');
    writeFileSync(join(node, 'device', 'vpd_pg80'), Uint8Array.from([0, 0x80, 0, 10, ...Buffer.from('  WD 12345')]));
    const d = await openDevice(loop, { sysfs: join(dir, 'sys') });
    if (isIoError(d)) throw new Error(d.message);
    onTestFinished(() => d.close());
    expect([d.sizeSectors, d.sectorSize, d.serial]).toEqual([1536, 4096, 'WD12345']);
    realFs.rmSync(join(node, 'size'));
    expect(await openDevice(loop, { sysfs: join(dir, 'sys') })).toMatchObject({ kind: 'io', path: loop, code: 'ENXIO' });
  });

  it('opening: a missing path, a folder and a character device are IoErrors naming the path', async () => {
    expect(await openDevice(join(dir, 'none.img'))).toMatchObject({ kind: 'io', path: join(dir, 'none.img'), code: 'ENOENT' });
    expect(await openDevice(dir)).toMatchObject({ kind: 'io', path: dir, code: 'EISDIR' });
    expect(await openDevice('/dev/null')).toMatchObject({ kind: 'io', path: '/dev/null', code: 'EINVAL', message: 'not a block device or image file' });
  });

  it('an image file is read synchronously whatever its reads cost, relative to the folder given', async () => {
    const bytes = randomFillSync(new Uint8Array(64 * 512));
    writeFileSync(join(dir, 'plain.img'), bytes);
    const d = await openDevice('plain.img', { cwd: dir, slowReadMs: 0 });
    if (isIoError(d)) throw new Error(d.message);
    onTestFinished(() => d.close());
    expect([d.path, d.isBlockDevice, d.sizeSectors]).toEqual(['plain.img', false, 64]);
    for (const at of [0, 512, 63 * 512]) expect(await d.read(at, 512)).toEqual(bytes.slice(at, at + 512));
    expect([io.sync, io.async]).toEqual([3, 0]);
    expect(realFs.existsSync(join(dir, 'plain.img'))).toBe(true);
  });
});

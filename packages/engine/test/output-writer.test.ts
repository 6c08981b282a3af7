/**
 * OutputWriter on its own: no thread for a short output, the caller writes while the thread starts, the thread takes over at the right
 * chunk, the count of written chunks only ever covers chunks that are on disk, and a failing write is an
 * error on either side of the hand-over.
 */
import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BufferPool, isIoError, skewed } from '../src/index.js';
import { OutputWriter } from '../src/output-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'engine-writer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SLOT = 256 * 1024;

/** Chunk `n`: its bytes all n + 1 (so a chunk written at the wrong place or twice shows). */
const fill = (buffer: Uint8Array, n: number) => buffer.fill((n % 250) + 1);

async function until(check: () => boolean) {
  const end = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Submit chunks `from`..`to` - 1 in turn, checking that written() never counts a chunk not yet on disk. */
async function submit(writer: OutputWriter, path: string, from: number, to: number) {
  for (let n = from; n < to; n++) {
    const slot = await writer.acquire();
    if (isIoError(slot)) throw new Error(slot.message);
    fill(slot.buffer, n);
    writer.submit(slot, SLOT, n * SLOT);
    const written = writer.written();
    const onDisk = await fs.readFile(path);
    for (let k = 0; k < written; k++) expect(onDisk[k * SLOT + SLOT - 1], `chunk ${k} counted as written`).toBe((k % 250) + 1);
  }
}

describe('OutputWriter', () => {
  it('writes in the caller until the thread runs, then in the thread from the next chunk on, in order', async () => {
    const path = join(dir, 'a.out');
    const handle = await fs.open(path, 'w');
    const writer = new OutputWriter(handle.fd, SLOT, 3, 0);
    // A thread needs milliseconds to start: these first chunks are submitted long before.
    await submit(writer, path, 0, 4);
    expect(writer.writtenBeforeThread).toBe(4);
    expect(writer.written()).toBe(4);
    await until(() => writer.threadStarted());
    await submit(writer, path, 4, 20);
    expect(await writer.finish()).toBe(true);
    await handle.close();
    // Only the first four went through the caller; the file holds every chunk at its place.
    expect(writer.writtenBeforeThread).toBe(4);
    expect(writer.written()).toBe(20);
    const bytes = await fs.readFile(path);
    expect(bytes.length).toBe(20 * SLOT);
    for (let n = 0; n < 20; n++) expect(bytes.subarray(n * SLOT, (n + 1) * SLOT).every((b) => b === (n % 250) + 1), `chunk ${n}`).toBe(true);
  });

  it('finishing before the thread has started ends it (no chunk lost, no hang)', async () => {
    const path = join(dir, 'b.out');
    const handle = await fs.open(path, 'w');
    const writer = new OutputWriter(handle.fd, SLOT, 2, 0);
    await submit(writer, path, 0, 3);
    expect(await writer.finish()).toBe(true);
    await handle.close();
    expect(writer.written()).toBe(3);
    expect((await fs.readFile(path)).length).toBe(3 * SLOT);
  });

  it('starts no thread for an output shorter than threadAfter; starts it once the caller has written that much', async () => {
    const path = join(dir, 'lazy.out');
    const handle = await fs.open(path, 'w');
    const short = new OutputWriter(handle.fd, SLOT, 2, 3 * SLOT);
    await submit(short, path, 0, 2);
    expect(await short.finish()).toBe(true);
    expect([short.threadCreated, short.written()]).toEqual([false, 2]);

    const long = new OutputWriter(handle.fd, SLOT, 2, 3 * SLOT);
    await submit(long, path, 0, 2);
    expect(long.threadCreated).toBe(false);
    await submit(long, path, 2, 3);
    expect(long.threadCreated).toBe(true);
    await until(() => long.threadStarted());
    await submit(long, path, 3, 12);
    expect(await long.finish()).toBe(true);
    await handle.close();
    // The caller wrote the three before the thread was started; the thread, ready by then, the rest.
    expect(long.writtenBeforeThread).toBe(3);
    const bytes = await fs.readFile(path);
    expect(bytes.length).toBe(12 * SLOT);
    for (let n = 0; n < 12; n++) expect(bytes.subarray(n * SLOT, (n + 1) * SLOT).every((b) => b === (n % 250) + 1), `chunk ${n}`).toBe(true);
  });

  for (const side of ['caller', 'thread'] as const) {
    it(`a write that fails in the ${side} is an error from finish and from any acquire after it`, async () => {
      const handle = await fs.open('/dev/full', 'w');
      const writer = new OutputWriter(handle.fd, SLOT, 2, side === 'thread' ? 0 : undefined);
      if (side === 'thread') await until(() => writer.threadStarted());
      const slot = await writer.acquire();
      if (isIoError(slot)) throw new Error(slot.message);
      writer.submit(slot, SLOT, 0);
      const finished = await writer.finish();
      const after = await writer.acquire();
      const fd = handle.fd;
      await handle.close();
      for (const r of [finished, after]) expect(isIoError(r) && [r.code, r.path]).toEqual(['ENOSPC', `fd ${fd}`]);
      expect(writer.writtenBeforeThread).toBe(0);
      expect(writer.written()).toBe(0);
    });
  }

  it('every slot, and every pooled or fresh read buffer, starts SKEW bytes past a page (the copy-speed layout)', async () => {
    const offsets: number[] = [];
    // A slot of whole pages and one of an odd number of sectors.
    for (const bytes of [SLOT, 1001 * 512]) {
      const path = join(dir, `c-${bytes}.out`);
      const handle = await fs.open(path, 'w');
      const writer = new OutputWriter(handle.fd, bytes, 4, 0);
      for (let n = 0; n < 4; n++) {
        const slot = await writer.acquire();
        if (isIoError(slot)) throw new Error(slot.message);
        offsets.push(slot.buffer.byteOffset % 4096);
        fill(slot.buffer, n);
        writer.submit(slot, bytes, n * bytes);
      }
      expect(await writer.finish()).toBe(true);
      await handle.close();
      // The thread wrote from the same places the caller filled.
      const onDisk = await fs.readFile(path);
      for (let n = 0; n < 4; n++) expect(onDisk.subarray(n * bytes, (n + 1) * bytes).every((b) => b === n + 1)).toBe(true);
    }
    const pool = new BufferPool(1 << 20);
    const taken = pool.take(100_000);
    pool.give(taken);
    expect([...offsets, taken.byteOffset, pool.take(65_536 + 1).byteOffset, skewed(512).byteOffset]).toEqual(Array(11).fill(16));
  });
});


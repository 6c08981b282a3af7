/**
 * extract(): the bytes, the holes, a failing output, a failing member, and an interrupted copy that
 * resumes; the output is written on its own thread, so each of these also shows the thread ends.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, promises as fs, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createEngine, extract, ioError, isIoError, isTableError, memorySource, SECTOR, stateFile, type Source } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'engine-extract-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CHUNK = 8192; // 4 MiB: four of extract's default reads (1 MiB)

/** A RAID0 of two 6 MiB members; the second 4 MiB of the volume is zero. */
async function volume(): Promise<{ source: Source; bytes: Uint8Array }> {
  const member = () => {
    const b = new Uint8Array(6 << 20);
    for (let i = 0; i < b.length; i += 4096) b[i] = ((i >>> 12) % 251) + 1;
    return b;
  };
  const m = [member(), member()];
  const sources = new Map(m.map((b, i) => [`m${i}`, memorySource(`m${i}`, b)]));
  const e = createEngine([{ name: 'v', table: `0 ${2 * (6 << 11)} striped 2 128 m0 0 m1 0` }], (p) => sources.get(p));
  if (isTableError(e)) throw new Error(e.message);
  const v = e.get('v')!;
  // Zero the volume's second chunk of 4 MiB through the engine.
  expect(await v.write(CHUNK, new Uint8Array(CHUNK * SECTOR))).toBe(true);
  const bytes = new Uint8Array(v.sizeSectors * SECTOR);
  expect(await v.readInto!(0, bytes)).toBe(true);
  return { source: v, bytes };
}

describe('extract', () => {
  it('writes the volume byte for byte and leaves a hole where a whole chunk is zero', async () => {
    const { source, bytes } = await volume();
    const out = join(dir, 'a.img');
    const r = await extract(source, out);
    expect(r).toEqual({ sectors: source.sizeSectors, startedAt: 0, holes: CHUNK, lost: [], complete: true });
    expect(Buffer.from(await fs.readFile(out)).equals(Buffer.from(bytes))).toBe(true);
    expect(statSync(out).blocks * 512).toBeLessThanOrEqual(bytes.length - CHUNK * SECTOR);
    expect(existsSync(stateFile(out))).toBe(false);
  });

  it('a write that fails (ENOSPC on /dev/full) is an error naming the output, not a hang; no state file in /dev', async () => {
    const { source } = await volume();
    rmSync(stateFile('/dev/full'), { force: true }); // left by versions before this test
    const r = await extract(source, '/dev/full');
    expect(isIoError(r) && [r.path, r.code]).toEqual(['/dev/full', 'ENOSPC']);
    expect(existsSync(stateFile('/dev/full'))).toBe(false);
  });

  it('into a pipe: the volume in order, no holes, no state file; --resume onto it is refused', async () => {
    const { source, bytes } = await volume();
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    // The reader is another process, as `| zstd` would be (a pipe is written with blocking writes).
    const copy = join(dir, 'from-fifo.img');
    const reader = spawn('sh', ['-c', 'cat "$1" > "$2"', 'sh', fifo, copy]);
    const drained = new Promise((resolve) => reader.on('exit', resolve));
    const r = await extract(source, fifo);
    expect(await drained).toBe(0);
    expect(r).toEqual({ sectors: source.sizeSectors, startedAt: 0, holes: 0, lost: [], complete: true });
    expect((await fs.readFile(copy)).equals(Buffer.from(bytes))).toBe(true);
    expect(existsSync(stateFile(fifo))).toBe(false);
    const again = await extract(source, fifo, { resume: true });
    expect(isIoError(again) && [again.path, again.code, again.message]).toEqual([fifo, 'EINVAL', 'cannot resume: no state is kept for a device or a pipe']);
  });

  it('a damaged state file is an error naming it, not a crash', async () => {
    const { source } = await volume();
    const out = join(dir, 'e.img');
    await fs.writeFile(stateFile(out), '{"volume": "v", "sizeSect');
    const r = await extract(source, out, { resume: true });
    expect(isIoError(r) && [r.path, r.code, r.message]).toEqual([stateFile(out), 'EINVAL', 'state file is damaged (remove it to start over)']);
  });

  it('a member that fails part-way (not a medium error) is its error; what came before is on disk', async () => {
    const { source, bytes } = await volume();
    const failing: Source = {
      ...source,
      name: source.name,
      readInto: async (sector, out) => (sector >= 2 * CHUNK ? ioError('/dev/sdz', 'ENXIO') : source.readInto!(sector, out)),
    };
    const out = join(dir, 'c.img');
    const r = await extract(failing, out);
    expect(isIoError(r) && [r.path, r.code]).toEqual(['/dev/sdz', 'ENXIO']);
    expect(Buffer.from((await fs.readFile(out)).subarray(0, CHUNK * SECTOR)).equals(Buffer.from(bytes.subarray(0, CHUNK * SECTOR)))).toBe(true);
  });

  /** An extract of `source` to `out` in 1024-sector chunks, stopped once 4096 sectors are done. */
  async function interruptedAt4096(source: Source, out: string): Promise<void> {
    const stop = new AbortController();
    const first = await extract(source, out, { chunkSectors: 1024, signal: stop.signal, progress: (done) => done >= 4096 && stop.abort() });
    expect(isIoError(first) ? first : first.complete).toBe(false);
  }

  it('stopped part-way, the state file names only what is written; --resume finishes it byte for byte', async () => {
    const { source, bytes } = await volume();
    const out = join(dir, 'd.img');
    await interruptedAt4096(source, out);
    const state = JSON.parse(await fs.readFile(stateFile(out), 'utf8')) as { done: number };
    expect(state.done).toBeGreaterThanOrEqual(4096);
    expect(state.done).toBeLessThan(source.sizeSectors);
    const partial = await fs.readFile(out);
    expect(Buffer.from(partial.subarray(0, state.done * SECTOR)).equals(Buffer.from(bytes.subarray(0, state.done * SECTOR)))).toBe(true);
    const second = await extract(source, out, { resume: true, chunkSectors: 1024 });
    expect(isIoError(second) ? second : [second.startedAt, second.complete]).toEqual([state.done, true]);
    expect(Buffer.from(await fs.readFile(out)).equals(Buffer.from(bytes))).toBe(true);
  });

  it('--resume onto another output than the state was written for (made again, shortened, gone) is refused', async () => {
    const { source, bytes } = await volume();
    const out = join(dir, 'e.img');
    await interruptedAt4096(source, out);
    const state = await fs.readFile(stateFile(out), 'utf8');
    const refused = [stateFile(out), 'EINVAL', `${out} is not the output this state file was written for (remove the state file to start over)`];
    const resume = async () => {
      const r = await extract(source, out, { resume: true, chunkSectors: 1024 });
      return isIoError(r) ? [r.path, r.code, r.message] : r;
    };
    // The output itself, cut short of what was copied (the same file: only its size tells).
    await fs.truncate(out, 4095 * SECTOR);
    expect(await resume()).toEqual(refused);
    // The same name and size, another file: the part already copied would be missing.
    await fs.rm(out);
    await fs.writeFile(out, Buffer.alloc(bytes.length));
    expect(await resume()).toEqual(refused);
    await fs.rm(out);
    expect(await resume()).toEqual(refused);
    expect(await fs.readFile(stateFile(out), 'utf8')).toBe(state);
  });
});

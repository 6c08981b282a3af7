/**
 * Copy a volume into a file: large sequential reads into a few chunk buffers (bounded memory) while a
 * thread of its own writes the chunks before them, holes where the data is zero, and a small state file
 * beside the output so an interrupted copy resumes where it stopped.
 */
import { promises as fs } from 'node:fs';
import { OutputWriter } from './output-writer.js';
import { isIoError, isZero, readInto, SECTOR, type IoError, type Source } from './source.js';

export interface ExtractOptions {
  /** Continue from the state file of an earlier, interrupted run (its volume size must match). */
  readonly resume?: boolean;
  /**
   * Sectors per read (default 2048 = 1 MiB): the ring of chunk buffers then stays in the CPU's cache
   * between the reading and the writing thread (4 MiB chunks, a 16 MiB ring, copied 7 % slower here).
   */
  readonly chunkSectors?: number;
  /** Chunk buffers shared with the writing thread (default 4): reads run this far ahead of the writes. */
  readonly parallel?: number;
  readonly progress?: (doneSectors: number, totalSectors: number) => void;
  /** Stop early (SIGINT): the state file then records how far the copy got. */
  readonly signal?: AbortSignal;
}

export interface ExtractResult {
  readonly sectors: number;
  /** Where this run started (non-zero after a resume). */
  readonly startedAt: number;
  /** Sectors left as holes. */
  readonly holes: number;
  readonly complete: boolean;
}

const SYNC_EVERY_MS = 10_000;

export const stateFile = (output: string) => `${output}.dmraid-extract`;

interface State {
  readonly volume: string;
  readonly sizeSectors: number;
  readonly done: number;
}

export async function extract(volume: Source, output: string, options: ExtractOptions = {}): Promise<ExtractResult | IoError> {
  const chunk = options.chunkSectors ?? 2048;
  const total = volume.sizeSectors;
  const statePath = stateFile(output);
  let start = 0;
  if (options.resume) {
    const text = await fs.readFile(statePath, 'utf8').catch(() => undefined);
    if (text !== undefined) {
      const state = JSON.parse(text) as State;
      if (state.volume !== volume.name || state.sizeSectors !== total) {
        return { kind: 'io', path: statePath, code: 'EINVAL', message: `state file is for ${state.volume} (${state.sizeSectors} sectors), not this volume` };
      }
      start = state.done;
    }
  }
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(output, start > 0 ? 'r+' : 'w');
  } catch (e) {
    return { kind: 'io', path: output, code: (e as NodeJS.ErrnoException).code ?? 'EIO', message: (e as Error).message };
  }
  let holes = 0;
  let done = start;
  const saveState = () => fs.writeFile(statePath, JSON.stringify({ volume: volume.name, sizeSectors: total, done } satisfies State));
  const writer = new OutputWriter(handle.fd, chunk * SECTOR, options.parallel ?? 4);
  try {
    const regular = (await handle.stat()).isFile();
    if (regular) await handle.truncate(total * SECTOR);
    let lastSave = Date.now();
    await saveState();
    // Chunks in the order they were read: the state may only move past one once it is on disk (or a hole).
    const order: { end: number; seq: number | undefined }[] = [];
    const advance = () => {
      const written = writer.written();
      while (order.length > 0 && (order[0]!.seq === undefined || order[0]!.seq < written)) done = order.shift()!.end;
      options.progress?.(done, total);
    };
    for (let next = start; next < total; ) {
      if (options.signal?.aborted) break;
      const n = Math.min(chunk, total - next);
      const slot = await writer.acquire();
      if (isIoError(slot)) return { ...slot, path: output };
      advance();
      const into = slot.buffer.subarray(0, n * SECTOR);
      const r = await readInto(volume, next, into);
      if (isIoError(r)) return r;
      if (regular && isZero(into)) {
        holes += n;
        order.push({ end: next + n, seq: undefined });
      } else order.push({ end: next + n, seq: writer.submit(slot, n * SECTOR, next * SECTOR) });
      next += n;
      // Syncing seldom keeps the copy at the speed of the page cache; a resume after a crash redoes at
      // most the chunks since.
      if (Date.now() - lastSave > SYNC_EVERY_MS) {
        advance();
        await handle.datasync();
        await saveState();
        lastSave = Date.now();
      }
    }
    const flushed = await writer.finish();
    if (isIoError(flushed)) return { ...flushed, path: output };
    advance();
    if (done === total) await fs.rm(statePath, { force: true });
    else await saveState();
    return { sectors: total, startedAt: start, holes, complete: done === total };
  } catch (e) {
    return { kind: 'io', path: output, code: (e as NodeJS.ErrnoException).code ?? 'EIO', message: (e as Error).message };
  } finally {
    await writer.finish();
    await handle.close();
  }
}

/**
 * Copy a volume into a file: large sequential reads a few at a time (bounded memory), holes where the data
 * is zero, and a small state file beside the output so an interrupted copy resumes where it stopped.
 */
import { promises as fs } from 'node:fs';
import { isIoError, isZero, SECTOR, type IoError, type Source } from './source.js';

export interface ExtractOptions {
  /** Continue from the state file of an earlier, interrupted run (its volume size must match). */
  readonly resume?: boolean;
  /** Sectors per read (default 8192 = 4 MiB). */
  readonly chunkSectors?: number;
  /** Reads in flight (default 4). */
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
  const chunk = options.chunkSectors ?? 8192;
  const parallel = options.parallel ?? 4;
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
  try {
    const regular = (await handle.stat()).isFile();
    if (regular) await handle.truncate(total * SECTOR);
    let lastSave = Date.now();
    await saveState();
    // Two long-lived buffers when the volume reads into it (fresh buffers cost more in page faults than
    // the copy): chunk n+1 is read while chunk n is written. Else reads run ahead a few at a time.
    const staging = volume.readInto ? [new Uint8Array(chunk * SECTOR), new Uint8Array(chunk * SECTOR)] : [];
    const depth = volume.readInto ? 1 : parallel;
    const pending: Promise<Uint8Array | IoError>[] = [];
    let next = start;
    let turn = 0;
    const fill = () => {
      while (pending.length < depth && next < total) {
        const n = Math.min(chunk, total - next);
        if (volume.readInto) {
          const into = staging[turn++ % 2]!.subarray(0, n * SECTOR);
          pending.push(volume.readInto(next, into).then((r) => (r === true ? into : r)));
        } else pending.push(volume.read(next, n));
        next += n;
      }
    };
    const writeAll = async (data: Uint8Array, at: number) => {
      let off = 0;
      while (off < data.length) {
        const { bytesWritten } = await handle.write(data, off, data.length - off, at * SECTOR + off);
        off += bytesWritten;
      }
    };
    fill();
    while (pending.length > 0) {
      if (options.signal?.aborted) break;
      const data = await pending.shift()!;
      if (isIoError(data)) return data;
      const writing = regular && isZero(data) ? undefined : writeAll(data, done);
      if (!writing) holes += data.length / SECTOR;
      fill();
      await writing;
      done += data.length / SECTOR;
      options.progress?.(done, total);
      // The state only ever advances past data already on disk, so a resume after a crash is safe; syncing
      // seldom keeps the copy at the speed of the page cache.
      if (Date.now() - lastSave > SYNC_EVERY_MS) {
        await handle.datasync();
        await saveState();
        lastSave = Date.now();
      }
    }
    if (done === total) await fs.rm(statePath, { force: true });
    else await saveState();
    return { sectors: total, startedAt: start, holes, complete: done === total };
  } catch (e) {
    return { kind: 'io', path: output, code: (e as NodeJS.ErrnoException).code ?? 'EIO', message: (e as Error).message };
  } finally {
    await handle.close();
  }
}

/**
 * Copy a volume into a file: large sequential reads into a few chunk buffers (bounded memory) while a
 * thread of its own writes the chunks before them, holes where the data is zero, and a small state file
 * beside the output so an interrupted copy resumes where it stopped.
 */
import { closeSync, constants, fdatasync as fdatasyncCb, fstatSync, ftruncateSync, open as openCb, openSync, readFileSync, rmSync, statSync, writeFileSync, type Stats } from 'node:fs';
import { promisify } from 'node:util';
import { claimError, DISK_IN_USE } from './claim.js';
import { OutputWriter } from './output-writer.js';
import { readSalvaging, type SectorRange } from './rescue.js';
import { extentsOf, fromNodeError, isIoError, isZero, SECTOR, type IoError, type Source } from './source.js';

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
  /**
   * Where to keep the state for --resume. Default: beside the output (`stateFile(output)`) when that is a
   * regular file (or does not exist yet); none for a device or a pipe, which then cannot resume.
   */
  readonly stateFile?: string;
  /** How errors name an output given as a file descriptor (default `fd N`). */
  readonly outputName?: string;
}

export interface ExtractResult {
  readonly sectors: number;
  /** Where this run started (non-zero after a resume). */
  readonly startedAt: number;
  /** Sectors left as holes. */
  readonly holes: number;
  readonly complete: boolean;
  /** The state file that records an incomplete copy (none for an output without one). */
  readonly state?: string;
  /**
   * Volume sectors no member could give (unreadable and not rebuilt from redundancy), written as zeros:
   * sorted, merged, exact to the sector. Those of a resumed run's earlier part are not known again.
   */
  readonly lost: readonly SectorRange[];
}

const SYNC_EVERY_MS = 10_000;
/** Sectors of allocation asked at a time (1 GiB): a striped volume's answer is then a few thousand runs. */
const MAP_WINDOW = 1 << 21;
const fdatasync = promisify(fdatasyncCb);
const open = promisify(openCb);

export const stateFile = (output: string) => `${output}.dmraid-extract`;

interface State {
  readonly volume: string;
  readonly sizeSectors: number;
  readonly done: number;
  /**
   * The output the copy went to (`file:DEV:INODE:BIRTH` or `disk:RDEV`): a resume onto another file (the output
   * removed and made again, an empty file of the same name) would leave the part before `done` unwritten.
   * Absent in state files of earlier versions.
   */
  readonly output?: string;
}

/**
 * The output's identity: a disk's device number, or a file's device, inode and birth time (a file made
 * again at once often gets the inode just freed; filesystems without birth times give 0 there).
 */
const outputIdentity = (st: Stats): string => (st.isBlockDevice() ? `disk:${st.rdev}` : `file:${st.dev}:${st.ino}:${st.birthtimeMs}`);

/**
 * Copy `volume` to `output`: a path, or an open file descriptor (left open; standard output for `-o -`),
 * named `options.outputName` in errors.
 */
export async function extract(volume: Source, output: string | number, options: ExtractOptions = {}): Promise<ExtractResult | IoError> {
  const chunk = options.chunkSectors ?? 2048;
  const total = volume.sizeSectors;
  const name = typeof output === 'number' ? (options.outputName ?? `fd ${output}`) : output;
  // A device or a pipe gets no state file beside it (that would be a file in /dev) unless the caller names
  // one; a pipe, a socket or a character device is written in order, without positions or holes.
  // The set-up below is a few system calls on local files: synchronous, as each trip through the thread pool
  // costs more than the call itself while the process is starting (only opening a pipe may wait).
  let existing: Stats | undefined;
  try {
    existing = typeof output === 'number' ? fstatSync(output) : statSync(output);
  } catch {
    existing = undefined;
  }
  // A regular file (one this open creates is): holes where the volume is zero, its size set first.
  const regular = typeof output === 'string' && (!existing || existing.isFile());
  // A descriptor is written in order whatever it is (it may be a file opened for appending).
  const sequential = typeof output === 'number' || (!!existing && !existing.isFile() && !existing.isBlockDevice());
  const statePath = options.stateFile ?? (regular ? stateFile(output as string) : undefined);
  let start = 0;
  if (options.resume) {
    if (statePath === undefined || sequential) {
      return { kind: 'io', path: name, code: 'EINVAL', message: 'cannot resume: no state is kept for a device or a pipe' };
    }
    let text: string | undefined;
    try {
      text = readFileSync(statePath, 'utf8');
    } catch {
      text = undefined;
    }
    if (text !== undefined) {
      let state: State;
      try {
        state = JSON.parse(text) as State;
        if (!Number.isSafeInteger(state.done) || state.done < 0 || state.done > total) throw new Error('bad');
      } catch {
        return { kind: 'io', path: statePath, code: 'EINVAL', message: 'state file is damaged (remove it to start over)' };
      }
      if (state.volume !== volume.name || state.sizeSectors !== total) {
        return { kind: 'io', path: statePath, code: 'EINVAL', message: `state file is for ${state.volume} (${state.sizeSectors} sectors), not this volume` };
      }
      // The output must be the one the state describes and (a regular file) still hold what was copied.
      const changed = state.done > 0 && (!existing || (state.output !== undefined && state.output !== outputIdentity(existing)) || (regular && existing.size < state.done * SECTOR));
      if (changed) {
        return { kind: 'io', path: statePath, code: 'EINVAL', message: `${name} is not the output this state file was written for (remove the state file to start over)` };
      }
      start = state.done;
    }
  }
  // Opening a pipe waits for its reader, so that open (and a device's) stays off the main thread. A disk is
  // claimed exclusively (O_EXCL, as mkfs does): one that is mounted, or has a mounted partition, or is held
  // by device-mapper or md, is not written (EBUSY).
  let opened: number | undefined;
  try {
    const disk = existing?.isBlockDevice() ? (start > 0 ? constants.O_RDWR : constants.O_WRONLY) | constants.O_EXCL : undefined;
    if (typeof output === 'string') opened = regular ? openSync(output, start > 0 ? 'r+' : 'w') : await open(output, disk ?? (start > 0 ? 'r+' : 'w'));
  } catch (e) {
    return claimError(name, e, DISK_IN_USE);
  }
  const fd = opened ?? (output as number);
  let holes = 0;
  const lost: SectorRange[] = [];
  let done = start;
  let identity: string | undefined;
  const saveState = () => {
    if (statePath === undefined) return;
    identity ??= outputIdentity(fstatSync(fd));
    writeFileSync(statePath, JSON.stringify({ volume: volume.name, sizeSectors: total, done, output: identity } satisfies State));
  };
  const writer = new OutputWriter(fd, chunk * SECTOR, options.parallel ?? 4);
  try {
    if (regular) ftruncateSync(fd, total * SECTOR);
    let lastSave = Date.now();
    saveState();
    // Chunks in the order they were read: the state may only move past one once it is on disk (or a hole).
    const order: { end: number; seq: number | undefined }[] = [];
    const advance = () => {
      const written = writer.written();
      while (order.length > 0 && (order[0]!.seq === undefined || order[0]!.seq < written)) done = order.shift()!.end;
      options.progress?.(done, total);
    };
    // What the members say is a hole is not read: skipped in a regular file, zeros written elsewhere. A
    // read stops where the data does, so it reads no hole either.
    let map: { end: number; zero: boolean }[] = [];
    let mapAt = 0;
    let mapEnd = start;
    /** The run holding `sector` (sectors only move forward: the runs before it are passed once). */
    const runAt = (sector: number): { end: number; zero: boolean } => {
      if (sector >= mapEnd) {
        map = [];
        mapAt = 0;
        let at = sector;
        mapEnd = Math.min(total, sector + MAP_WINDOW);
        for (const run of extentsOf(volume, sector, mapEnd - sector)) map.push({ end: (at += run.sectors), zero: run.zero });
      }
      while (map[mapAt]!.end <= sector) mapAt++;
      return map[mapAt]!;
    };
    for (let next = start; next < total; ) {
      if (options.signal?.aborted) break;
      const run = runAt(next);
      if (run.zero && regular) {
        holes += run.end - next;
        order.push({ end: run.end, seq: undefined });
        next = run.end;
        advance();
        continue;
      }
      const n = Math.min(chunk, run.end - next);
      const slot = await writer.acquire();
      if (isIoError(slot)) return { ...slot, path: name };
      advance();
      const into = slot.buffer.subarray(0, n * SECTOR);
      if (run.zero) {
        into.fill(0);
        order.push({ end: next + n, seq: writer.submit(slot, n * SECTOR, sequential ? -1 : next * SECTOR) });
        next += n;
        continue;
      }
      // A clean chunk is one read; a failing one is narrowed down to its lost sectors, left zero.
      const r = await readSalvaging(volume, next, into);
      if (isIoError(r)) return r;
      for (const range of r) {
        const prev = lost[lost.length - 1];
        if (prev && prev.start + prev.count === range.start) lost[lost.length - 1] = { start: prev.start, count: prev.count + range.count };
        else lost.push(range);
      }
      if (regular && isZero(into)) {
        holes += n;
        order.push({ end: next + n, seq: undefined });
      } else order.push({ end: next + n, seq: writer.submit(slot, n * SECTOR, sequential ? -1 : next * SECTOR) });
      next += n;
      // Syncing seldom keeps the copy at the speed of the page cache; a resume after a crash redoes at
      // most the chunks since.
      if (statePath !== undefined && Date.now() - lastSave > SYNC_EVERY_MS) {
        advance();
        await fdatasync(fd);
        saveState();
        lastSave = Date.now();
      }
    }
    const flushed = await writer.finish();
    if (isIoError(flushed)) return { ...flushed, path: name };
    // A disk is on stable storage before the copy is reported (it may be unplugged next); a file is left
    // to the page cache's write-back, as cp leaves it.
    if (existing?.isBlockDevice()) await fdatasync(fd);
    advance();
    if (done === total) {
      if (statePath !== undefined) rmSync(statePath, { force: true });
    } else saveState();
    return { sectors: total, startedAt: start, holes, lost, complete: done === total, ...(done < total && statePath !== undefined ? { state: statePath } : {}) };
  } catch (e) {
    return fromNodeError(name, e);
  } finally {
    await writer.finish();
    if (opened !== undefined) closeSync(opened);
  }
}

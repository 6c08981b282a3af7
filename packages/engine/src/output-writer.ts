/**
 * Writing a stream of chunks to a file descriptor on a thread of its own, so the next chunk is read while
 * this one is written (as the kernel's read-ahead and write-back overlap for `cat`). The chunks live in a
 * ring of shared buffers; the thread takes them in order and writes each in slices of `SLICE` bytes: one
 * large write(2) makes the page cache allocate large folios, which costs more than the copy on a machine
 * short of free contiguous memory (4 MiB writes took 2-3 times as long as 128 KiB ones here).
 *
 * A thread takes tens of milliseconds of CPU to start (a V8 isolate and Node's bootstrap), which a short
 * output never wins back: the caller writes each chunk itself, and starts the thread only once it has
 * written `threadAfter` bytes. Until the thread says it is ready the caller goes on writing; the first submit
 * after that hands the thread the sequence number to go on from, so the chunks still reach the file, and
 * the count, in order.
 */
import { writeSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { PAGE, SKEW } from './pool.js';
import { fromNodeError, type IoError } from './source.js';

const SLICE = 128 * 1024;
/**
 * Bytes the caller writes before it starts the thread: an output shorter than this (a mostly sparse volume's
 * data, a small set) is written without one; a longer one loses a few milliseconds of overlap at its start.
 */
export const THREAD_AFTER = 16 * 1024 * 1024;

/**
 * Write `length` bytes of `buffer` from `offset` to `fd` at `position` (-1: at its current offset) in
 * write(2)s of at most `slice` bytes, waiting for room on a non-blocking pipe (EAGAIN: a Node parent hands
 * its children non-blocking sockets). The caller and the thread both run this (the thread its source), so
 * it refers to nothing outside itself.
 */
function writeChunk(write: typeof writeSync, fd: number, buffer: Uint8Array, offset: number, length: number, position: number, slice: number): void {
  for (let off = 0; off < length; ) {
    try {
      off += write(fd, buffer, offset + off, Math.min(slice, length - off), position < 0 ? null : position + off);
    } catch (e) {
      if ((e as { code?: string }).code !== 'EAGAIN') throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}

/** Atomics.waitAsync (in Node since 16; TypeScript declares it from lib es2024 on). */
const waitAsync = (Atomics as unknown as {
  waitAsync(a: Int32Array, index: number, value: number): { async: false; value: string } | { async: true; value: Promise<string> };
}).waitAsync;

/** Slot states in the control array. */
const FREE = 0;
const FULL = 1;
const END = 2;
/** Control words after the per-slot states: data chunks written so far, an error flag, the thread's start. */
const WRITTEN = 0;
const FAILED = 1;
/** Set by the thread once it runs; then by the caller when it hands over, with the sequence to start at. */
const READY = 2;
const HANDED = 3;
const START = 4;
const CONTROL_WORDS = 5;

// The thread's code (CommonJS, as `eval` workers are): wait for slot n % slots to fill, write it, free it.
const THREAD = `
const { workerData, parentPort } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const { fd, slots, stride, skew, slice, control, meta, data } = workerData;
const state = new Int32Array(control, 0, slots);
const counters = new Int32Array(control, slots * 4, ${CONTROL_WORDS});
const where = new Float64Array(meta);
const bytes = new Uint8Array(data);
const writeChunk = ${writeChunk.toString()};
Atomics.store(counters, ${READY}, 1);
while (Atomics.load(counters, ${HANDED}) === 0) Atomics.wait(counters, ${HANDED}, 0);
for (let n = Atomics.load(counters, ${START}); ; n++) {
  const k = n % slots;
  while (Atomics.load(state, k) === ${FREE}) Atomics.wait(state, k, ${FREE});
  if (Atomics.load(state, k) === ${END}) break;
  const length = where[2 * k], position = where[2 * k + 1];
  try {
    writeChunk(writeSync, fd, bytes, k * stride + skew, length, position, slice);
  } catch (e) {
    parentPort.postMessage({ code: e.code || 'EIO', message: e.message });
    Atomics.store(counters, ${FAILED}, 1);
    for (let i = 0; i < slots; i++) Atomics.notify(state, i);
    break;
  }
  Atomics.add(counters, ${WRITTEN}, 1);
  Atomics.store(state, k, ${FREE});
  Atomics.notify(state, k);
}
`;

export interface Slot {
  readonly index: number;
  /** The chunk buffer to fill (shared with the writing thread). */
  readonly buffer: Uint8Array;
}

export class OutputWriter {
  private readonly state: Int32Array;
  private readonly counters: Int32Array;
  private readonly where: Float64Array;
  private readonly data: SharedArrayBuffer;
  /** Bytes from one slot's start to the next's: whole pages, so every slot starts SKEW bytes past one. */
  private readonly stride: number;
  private readonly workerData: object;
  private thread: Worker | undefined;
  private exited: Promise<void> = Promise.resolve();
  private readonly fd: number;
  private error: IoError | undefined;
  private submitted = 0;
  private ended = false;
  private handed = false;
  private here = 0;
  private hereBytes = 0;

  /**
   * Write to `fd` (left open) from `slots` buffers of `slotBytes` each; the thread starts once the caller
   * has written `threadAfter` bytes (0: at once).
   */
  constructor(fd: number, private readonly slotBytes: number, private readonly slots = 4, private readonly threadAfter = THREAD_AFTER) {
    const control = new SharedArrayBuffer(4 * (slots + CONTROL_WORDS));
    const meta = new SharedArrayBuffer(16 * slots);
    this.stride = Math.ceil(slotBytes / PAGE) * PAGE;
    this.data = new SharedArrayBuffer(this.stride * slots + SKEW);
    this.state = new Int32Array(control, 0, slots);
    this.counters = new Int32Array(control, slots * 4, CONTROL_WORDS);
    this.where = new Float64Array(meta);
    this.workerData = { fd, slots, stride: this.stride, skew: SKEW, slice: SLICE, control, meta, data: this.data };
    this.fd = fd;
    if (threadAfter <= 0) this.startThread();
  }

  private startThread(): void {
    const thread = new Worker(THREAD, { eval: true, workerData: this.workerData });
    this.thread = thread;
    thread.on('message', (m: { code: string; message: string }) => {
      this.error ??= fromNodeError(`fd ${this.fd}`, m);
    });
    // A thread that dies otherwise (out of memory...) fails the copy instead of leaving acquire() waiting.
    thread.on('error', (e) => {
      this.error ??= { kind: 'io', path: `fd ${this.fd}`, code: 'EIO', message: `writing thread failed: ${e.message}` };
    });
    this.exited = new Promise((resolve) =>
      thread.once('exit', () => {
        if (!this.ended) {
          Atomics.store(this.counters, FAILED, 1);
          for (let i = 0; i < this.slots; i++) Atomics.notify(this.state, i);
        }
        resolve();
      }),
    );
  }

  /** Whether a thread was started at all (an output shorter than `threadAfter` bytes needs none). */
  get threadCreated(): boolean {
    return this.thread !== undefined;
  }

  /** Chunks the caller wrote itself while the thread was starting. */
  get writtenBeforeThread(): number {
    return this.here;
  }

  /** Whether the thread has started (from then on, it writes what is submitted). */
  threadStarted(): boolean {
    return Atomics.load(this.counters, READY) === 1;
  }

  /** Data chunks on disk so far (in submission order: every chunk before this count is written). */
  written(): number {
    return Atomics.load(this.counters, WRITTEN);
  }

  /** The next buffer to fill, once the thread has written what it held; an error once a write failed. */
  async acquire(): Promise<Slot | IoError> {
    const index = this.submitted % this.slots;
    await this.free(index);
    if (Atomics.load(this.counters, FAILED)) return this.failure();
    return { index, buffer: new Uint8Array(this.data, index * this.stride + SKEW, this.slotBytes) };
  }

  /**
   * Hand a filled buffer to the thread: `length` bytes at `position` of the output (-1: at the output's
   * current offset, for a pipe; chunks are written in submission order either way). Its sequence number.
   */
  submit(slot: Slot, length: number, position: number): number {
    if (!this.handed && !this.handOver()) {
      this.writeHere(slot, length, position);
      return this.submitted++;
    }
    this.where[2 * slot.index] = length;
    this.where[2 * slot.index + 1] = position;
    Atomics.store(this.state, slot.index, FULL);
    Atomics.notify(this.state, slot.index);
    return this.submitted++;
  }

  /** Wait until every submitted chunk is written, then end the thread (again: no-op). */
  async finish(): Promise<true | IoError> {
    if (!this.ended) {
      this.ended = true;
      if (!this.handed) {
        // Everything was written here: the thread (if started) need not finish starting only to be told to end.
        await this.thread?.terminate();
        await this.exited;
        return Atomics.load(this.counters, FAILED) ? this.failure() : true;
      }
      const index = this.submitted % this.slots;
      await this.free(index);
      Atomics.store(this.state, index, END);
      Atomics.notify(this.state, index);
      await this.exited;
    }
    return Atomics.load(this.counters, FAILED) ? this.failure() : true;
  }

  /** Give the thread the writing once it runs (or, `now`, to let it end): whether it has it. */
  private handOver(now = false): boolean {
    if (!now && Atomics.load(this.counters, READY) === 0) return false;
    Atomics.store(this.counters, START, this.submitted);
    Atomics.store(this.counters, HANDED, 1);
    Atomics.notify(this.counters, HANDED);
    this.handed = true;
    return true;
  }

  /** Before the hand-over: write the chunk here, as the thread would. */
  private writeHere(slot: Slot, length: number, position: number): void {
    if (Atomics.load(this.counters, FAILED)) return;
    try {
      writeChunk(writeSync, this.fd, slot.buffer, 0, length, position, SLICE);
    } catch (e) {
      this.error ??= fromNodeError(`fd ${this.fd}`, e);
      Atomics.store(this.counters, FAILED, 1);
      return;
    }
    Atomics.add(this.counters, WRITTEN, 1);
    this.here++;
    this.hereBytes += length;
    if (!this.thread && !this.ended && this.hereBytes >= this.threadAfter) this.startThread();
  }

  private async free(index: number): Promise<void> {
    while (Atomics.load(this.state, index) === FULL) {
      const w = waitAsync(this.state, index, FULL);
      if (w.async) await w.value;
      if (Atomics.load(this.counters, FAILED)) return;
    }
  }

  private async failure(): Promise<IoError> {
    if (this.error) return this.error;
    // The thread posts the error before it sets the flag; the message may still be on its way.
    await Promise.race([this.exited, new Promise((r) => setTimeout(r, 1000))]);
    return this.error ?? { kind: 'io', path: 'output', code: 'EIO', message: 'write failed' };
  }
}

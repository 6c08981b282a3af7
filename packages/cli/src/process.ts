/**
 * Running the CLI as a process: real stdio, exit status.
 *
 * Standard output and standard error fail under a command line tool more often than anything it reads: a
 * reader that stopped early (`dmraid -r | head -1`, `grep -q`), a full disk (`> /dev/full`), a descriptor not
 * open for writing. Every byte the run prints passes through one `Stdio`, and the engine's own writes of
 * `--extract -o -` report a closed reader to it, so one place decides what a failure means:
 * - the reader went away (EPIPE, ECONNRESET), on either stream: stop quietly, status 141, as a shell reports
 *   a C tool that SIGPIPE ended (Node ignores SIGPIPE, so the process cannot die of it);
 * - any other error on standard output: one `ERROR:` line on standard error, status 1;
 * - any other error on standard error: nothing can say so; the run goes on, its status unchanged.
 * The failed stream takes no more output, and long work (--extract, --serve) stops as on SIGINT.
 *
 * Output is written with write(2) on the descriptor, as C does; Node's process.stdout is made only where that
 * cannot go on (a non-blocking descriptor whose reader is behind: EAGAIN), because making it loads Node's
 * stream and socket modules, ~3 ms and 2 MiB of every short command.
 */
import { writeSync } from 'node:fs';
import { fromNodeError } from '@dmraid/core';
import type { Io } from './context.js';
import { run, type RunOptions } from './main.js';

/** 128 + SIGPIPE: what `$?` shows for a C tool whose reader went away. */
export const READER_GONE_STATUS = 141;

/** Errors of a write that say the reading end is gone, not that writing failed. */
const READER_GONE = new Set(['EPIPE', 'ECONNRESET']);

type StreamName = 'stdout' | 'stderr';

const FD: Record<StreamName, number> = { stdout: 1, stderr: 2 };

class Stdio {
  private readonly stopping = new AbortController();
  /** Aborted once an output stream fails. */
  readonly signal = this.stopping.signal;
  /** The error code each failed stream gave. */
  private readonly failed: Partial<Record<StreamName, string>> = {};
  /** The streams that write through Node's stream (after an EAGAIN): everything after goes there, in order. */
  private readonly streamed = new Set<StreamName>();
  private readerGone = false;
  private stdoutError = false;

  write(name: StreamName, text: string): void {
    if (this.failed[name] !== undefined) return;
    // Output strings carry one character per byte (metadata strings are raw bytes, as C prints them).
    const bytes = Buffer.from(text, 'latin1');
    if (this.streamed.has(name)) return this.toStream(name, bytes);
    let done = 0;
    try {
      while (done < bytes.length) done += writeSync(FD[name], bytes, done);
    } catch (e) {
      if ((e as { code?: unknown }).code === 'EAGAIN') this.toStream(name, bytes.subarray(done));
      else this.fail(name, e);
    }
  }

  /** From now on `name` writes through Node's stream, which waits for a non-blocking descriptor's reader. */
  private toStream(name: StreamName, bytes: Uint8Array): void {
    const stream = process[name];
    if (!this.streamed.has(name)) {
      this.streamed.add(name);
      // Without a listener a failed write is an uncaught 'error' event: a stack trace.
      stream.on('error', (e) => this.fail(name, e));
    }
    stream.write(bytes);
    // A write that fails at once destroys the stream now but emits 'error' a tick later: the run must not
    // print on (or answer a prompt) meanwhile.
    if (stream.errored) this.fail(name, stream.errored);
  }

  /** Once `name`'s queued writes have left (a pipe's wait for a slow reader): whether the stream failed. */
  async settled(name: StreamName): Promise<boolean> {
    if (this.streamed.has(name)) {
      const stream = process[name];
      // Only queued writes are waited for: a write of nothing is no write to /dev/full, which fails it.
      if (stream.writableLength > 0 && !stream.destroyed) await new Promise<void>((written) => stream.write('', () => written()));
      if (stream.errored) this.fail(name, stream.errored);
    }
    return this.failed[name] !== undefined;
  }

  /** A write to `name` failed with `e` (a Node error, or an IoError of the engine's): first failure counts. */
  fail(name: StreamName, e: unknown): void {
    if (this.failed[name] !== undefined) return;
    const code = (e as { code?: unknown })?.code;
    this.failed[name] = typeof code === 'string' ? code : 'EIO';
    if (READER_GONE.has(this.failed[name])) this.readerGone = true;
    else if (name === 'stdout') {
      this.stdoutError = true;
      this.write('stderr', `ERROR: cannot write to standard output: ${fromNodeError('standard output', e).message}\n`);
    } else return;
    this.stopping.abort();
  }

  /** The process's status for a run that returned `status`. */
  status(status: number): number {
    if (this.stdoutError) return 1;
    return this.readerGone ? READER_GONE_STATUS : status;
  }
}

/** The process's standard streams as the run's Io (failures handled as above; main also sets the status). */
export function processIo(): Io {
  return ioOf(new Stdio());
}

function ioOf(stdio: Stdio): Io {
  let lines: AsyncIterator<string> | undefined;
  return {
    stdout: (t) => stdio.write('stdout', t),
    stderr: (t) => stdio.write('stderr', t),
    readLine: async () => {
      // A question that could not be shown gets no answer: wait until it is written (or failed), then look.
      if (await stdio.settled('stdout')) return null;
      // node:readline is loaded for the first question only: most runs ask none.
      lines ??= (await import('node:readline')).createInterface({ input: process.stdin, terminal: false })[Symbol.asyncIterator]();
      const next = await lines.next();
      return next.done ? null : next.value;
    },
    stdoutClosed: (e) => {
      if (!READER_GONE.has(e.code)) return false;
      stdio.fail('stdout', e);
      return true;
    },
    cwd: process.cwd(),
    // Asked by the commands that show progress; looking makes process.stderr (see the top of this file).
    get terminal() {
      return !!process.stderr.isTTY;
    },
  };
}

/** Runs the command line as a process; `options` are the embedder's (the meta-package passes its bundled handlers). */
export async function main(argv = process.argv.slice(2), options: Omit<RunOptions, 'signal'> = {}): Promise<void> {
  const stdio = new Stdio();
  const status = await run(argv, ioOf(stdio), { ...options, signal: stdio.signal });
  // Let buffered output drain, then leave even if stdin is still open.
  await Promise.all([stdio.settled('stdout'), stdio.settled('stderr')]);
  process.exit(stdio.status(status));
}

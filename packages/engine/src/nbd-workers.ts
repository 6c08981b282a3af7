/**
 * Serving read-only exports from several processes: the listening process accepts each connection and
 * serves it itself or hands the socket to one of a few worker processes, in turn, each worker with its own
 * engine over the same tables and member files. Reads then run on every core (one JS thread per process), as nbdkit's threads do.
 * Only for read-only serving: parity and mirror writes need one engine to order them.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TableSpec } from './engine.js';
import type { SectorRange } from './rescue.js';

/** What a worker needs to build the same engine: the tables and the member files they name. */
export interface WorkerSpec {
  readonly tables: readonly TableSpec[];
  /** Member files or block devices by the path the tables use (absolute or relative to `cwd`). */
  readonly members: readonly { readonly path: string; readonly sizeSectors: number; readonly unreadable?: readonly SectorRange[] }[];
  readonly cwd: string;
  /** Exported device names, in order (the first is the default export). */
  readonly exports: readonly string[];
}

/** Messages between the listening process and a worker. */
export type ToWorker = { readonly kind: 'spec'; readonly spec: WorkerSpec } | { readonly kind: 'socket' } | { readonly kind: 'stop' };
export type FromWorker = { readonly kind: 'ready' } | { readonly kind: 'failed'; readonly message: string } | { readonly kind: 'event'; readonly message: string };

/** The worker's entry: beside this module in dist/, or dist/ when this runs from src/ (tests). */
function workerEntry(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const beside = join(here, 'nbd-worker.js');
  return existsSync(beside) ? beside : join(here, '..', 'dist', 'nbd-worker.js');
}

/**
 * This process's Node flags minus export conditions: the worker is built code and must resolve packages
 * to their built files, whatever conditions the parent runs under (the tests resolve to sources).
 */
function workerExecArgv(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--conditions' || a === '-C') i++;
    else if (!a.startsWith('--conditions=') && !a.startsWith('-C=')) out.push(a);
  }
  return out;
}

export class NbdWorkers {
  private next = 0;
  private constructor(private readonly children: ChildProcess[]) {}

  /** The serving processes' ids. */
  get pids(): number[] {
    return this.children.flatMap((c) => (c.pid === undefined ? [] : [c.pid]));
  }

  /**
   * Start `count` workers and wait until each has built its engine; a worker that fails to start stops
   * them all and the message says why (the caller then serves in its own process).
   */
  static async start(spec: WorkerSpec, count: number, onEvent: (message: string) => void): Promise<NbdWorkers | string> {
    const entry = workerEntry();
    if (!existsSync(entry)) return `${entry} is missing (build @dmraid/engine)`;
    const children: ChildProcess[] = [];
    const started = await Promise.all(
      Array.from({ length: count }, () => {
        const child = fork(entry, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: workerExecArgv() });
        children.push(child);
        return new Promise<string | undefined>((resolve) => {
          child.once('exit', (code) => resolve(`a serving process ended (exit ${code})`));
          child.once('error', (e) => resolve(e.message));
          child.on('message', (m: FromWorker) => {
            if (m.kind === 'ready') resolve(undefined);
            else if (m.kind === 'failed') resolve(m.message);
            else onEvent(m.message);
          });
          child.send({ kind: 'spec', spec } satisfies ToWorker);
        });
      }),
    );
    const failed = started.find((r) => r !== undefined);
    const workers = new NbdWorkers(children);
    if (failed !== undefined) {
      await workers.stop();
      return failed;
    }
    return workers;
  }

  /**
   * Give a just-accepted socket to the next worker in turn; false when it is the listening process's own
   * turn (it serves as one of the processes) or no worker can take it.
   */
  handOff(socket: Socket): boolean {
    const turns = this.children.length + 1;
    for (let tries = 0; tries < turns; tries++) {
      const turn = this.next++ % turns;
      if (turn === this.children.length) return false;
      const child = this.children[turn]!;
      if (!child.connected) continue;
      child.send({ kind: 'socket' } satisfies ToWorker, socket, { keepOpen: false });
      return true;
    }
    return false;
  }

  /** End every worker's connections and wait for the workers to exit. */
  async stop(): Promise<void> {
    await Promise.all(
      this.children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
            child.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            if (child.connected) child.send({ kind: 'stop' } satisfies ToWorker);
            else child.kill('SIGTERM');
          }),
      ),
    );
  }
}

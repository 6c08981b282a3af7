/**
 * The monitor's output: one plain line per action on stdout (an error also as an `ERROR:` line on stderr),
 * or with --json one JSON object per line; and --program run per event as `mdadm --monitor` does.
 */
import { spawn } from 'node:child_process';
import { SCHEMA_VERSION } from '@dmraid/core';
import type { Io } from '../context.js';

export type MonitorEventName =
  | 'watching' | 'no-active-set' | 'failed' | 'recorded' | 'not-recorded' | 'reloaded' | 'created' | 'removed'
  | 'spare-added' | 'resync-progress' | 'rebuilt' | 'gone' | 'error';

export interface MonitorEvent {
  readonly event: MonitorEventName;
  readonly set?: string;
  /** The member disk concerned (failed, spare-added, rebuilt), as discovery names it. */
  readonly device?: string;
  readonly format?: string;
  readonly message: string;
  /** resync-progress: how far, of what (regions or sectors, as the kernel counts). */
  readonly done?: number;
  readonly total?: number;
}

export interface Reporter {
  emit(e: MonitorEvent): void;
  /** The --program runs still going (--once waits for them). */
  settled(): Promise<void>;
  /** Errors reported so far. */
  readonly errors: number;
}

/** The environment a --program run gets beside its arguments. */
export const programEnv = (e: MonitorEvent) => ({
  DMRAID_EVENT: e.event,
  DMRAID_SET: e.set ?? '',
  DMRAID_DEVICE: e.device ?? '',
  DMRAID_FORMAT: e.format ?? '',
  DMRAID_MESSAGE: e.message,
});

export function reporter(io: Io, options: { json: boolean; program: string | undefined; now?: () => Date }): Reporter {
  // One program at a time, in the order of the events: a program that appends to a log or pages someone sees
  // "failed" before "rebuilt" however the machine is loaded.
  let queue: Promise<void> = Promise.resolve();
  let errors = 0;
  const runOne = (e: MonitorEvent) =>
    new Promise<void>((resolve) => {
      const program = options.program!;
      const args = [e.event, e.set ?? '', ...(e.device !== undefined ? [e.device] : [])];
      const child = spawn(program, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...programEnv(e) } });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const fail = (why: string) => io.stderr(`ERROR: --program ${program} ${args.join(' ')}: ${why}\n`);
      child.on('error', (err) => {
        fail(err.message);
        resolve();
      });
      child.on('close', (code, signal) => {
        if (code !== 0) fail(`${signal ? `killed by ${signal}` : `exited with ${code}`}${stderr.trim() ? ` (${stderr.trim().split('\n')[0]})` : ''}`);
        resolve();
      });
    });
  const runProgram = (e: MonitorEvent) => {
    queue = queue.then(() => runOne(e));
  };
  return {
    get errors() {
      return errors;
    },
    emit(e) {
      if (e.event === 'error') errors++;
      const time = (options.now ?? (() => new Date()))().toISOString();
      if (options.json) io.stdout(`${JSON.stringify({ schemaVersion: SCHEMA_VERSION, time, ...e })}\n`);
      else {
        const where = [e.set !== undefined ? `RAID set "${e.set}"` : undefined, e.device].filter(Boolean).join(', ');
        io.stdout(`${e.event}: ${where ? `${where}: ` : ''}${e.message}\n`);
        if (e.event === 'error') io.stderr(`ERROR: ${where ? `${where}: ` : ''}${e.message}\n`);
      }
      // Progress comes every few seconds: a program is run for what changes the set, not for each step.
      if (options.program !== undefined && e.event !== 'resync-progress') runProgram(e);
    },
    async settled() {
      let seen: Promise<void> | undefined;
      while (seen !== queue) await (seen = queue);
    },
  };
}

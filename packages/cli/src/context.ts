/**
 * What a command gets: where it prints (Io, Output), the parsed options, the handlers, and how it opens and
 * discovers devices. Every command module imports this, never main.ts.
 */
import { readFileSync } from 'node:fs';
import { SCHEMA_VERSION, type BlockDevice, type DescribedHandler, type FormatHandler, type LoadedHandler, type Log, type LogLevel, type RaidDevice, type RaidSet } from '@dmraid/core';
import type { Options } from './options.js';

export interface Io {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /**
   * A write to standard output made without `stdout` failed (the engine writes `--extract -o -` itself):
   * whether that says its reader went away, which the process then ends quietly, as for such a `stdout`
   * write. Absent, or false: the command reports the error.
   */
  readonly stdoutClosed?: (e: { readonly code: string; readonly message: string }) => boolean;
  /** Reads one line of standard input; null at end of input (also when a question could not be shown). */
  readonly readLine: () => Promise<string | null>;
  readonly cwd: string;
  /** Standard error is a terminal: long work draws a progress bar there (else plain lines now and then). */
  readonly terminal?: boolean;
}

// The version changesets wrote into package.json (src/ and dist/ both sit one level below it). Read as a file:
// require() of it would first look for the package's own name in its exports (~1-4 ms at every start).
export const cliVersion = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Where a command prints: dmraid's plain lines and log levels, or one JSON document with --json. */
export class Output {
  readonly json: { level: LogLevel; text: string }[] = [];
  constructor(
    private readonly io: Io,
    private readonly o: Pick<Options, 'verbose' | 'debug' | 'json'>,
    /** The document's `command` (the mode's, from the registry). */
    private readonly command = '',
  ) {}
  line(text: string) {
    if (!this.o.json) this.io.stdout(`${text}\n`);
  }
  readonly log: Log = (level, text) => {
    if (this.o.json) {
      if (level !== 'debug' && level !== 'notice' && level !== 'info' && level !== 'warn') this.json.push({ level, text });
      else if ((level === 'info' && this.o.verbose >= 1) || (level === 'notice' && this.o.verbose >= 2) || (level === 'warn' && this.o.verbose >= 3)) this.json.push({ level, text });
      return;
    }
    switch (level) {
      case 'error':
        return this.io.stderr(`ERROR: ${text}\n`);
      case 'fatal':
        return this.io.stderr(`FATAL: ${text}\n`);
      case 'warning':
        return this.io.stderr(`WARNING: ${text}\n`);
      case 'print':
        return this.io.stdout(`${text}\n`);
      case 'info':
        if (this.o.verbose >= 1) this.io.stdout(`INFO: ${text}\n`);
        return;
      case 'notice':
        if (this.o.verbose >= 2) this.io.stdout(`NOTICE: ${text}\n`);
        return;
      case 'warn':
        if (this.o.verbose >= 3) this.io.stdout(`WARN: ${text}\n`);
        return;
      case 'debug':
        if (this.o.debug >= 1) this.io.stdout(`DEBUG: ${text}\n`);
        return;
    }
  };
  /** Whether the JSON document was printed (a --json run prints exactly one, failed or not). */
  emitted = false;
  /** Print the run's one document: its `command` and `schemaVersion`, the mode's fields, the messages. */
  emitJson(doc: Record<string, unknown>) {
    this.emitted = true;
    this.io.stdout(`${JSON.stringify({ command: this.command, schemaVersion: SCHEMA_VERSION, ...doc, messages: this.json }, null, 2)}\n`);
  }
}

/** What a command module gets from main: one mode's run. */
export interface CommandContext {
  readonly o: Options;
  readonly io: Io;
  readonly out: Output;
  readonly handlers: readonly FormatHandler[];
  readonly loaded: readonly LoadedHandler[];
  /** For a command whose registry row says describesHandlers: the installed handlers, described (handlers and loaded are empty). */
  readonly described?: readonly DescribedHandler[];
  /** The caller's stop signal, beside SIGINT/SIGTERM (RunOptions.signal). */
  readonly signal?: AbortSignal;
  /** RunOptions.progressEveryMs. */
  readonly progressEveryMs?: number;
  /** RunOptions.sysfs: where the extract looks up how block devices stack (default /sys). */
  readonly sysfs?: string;
  /**
   * The devices of --devices, or dmraid's scan; undefined after an error already printed. Close them.
   * `operands`: what the device arguments are without --devices: 'instead' of the scan (-b), or image files
   * 'also' opened beside it (-r, -n); by default they are no devices.
   */
  openDevices(writable: boolean, options?: { operands?: 'instead' | 'also' }): Promise<BlockDevice[] | undefined>;
  /** Every handler probes the devices (-f and handler options applied), only those of `paths` when given. */
  probe(devices: BlockDevice[], paths?: readonly string[]): Promise<Probed>;
  /**
   * Discovery, grouping and checking on opened devices (core's discoverSets): RAID devices and the (named)
   * sets; with keepFailed also the sets that fail their check, for recovery.
   */
  discover(devices: BlockDevice[], options?: { name?: string; paths?: readonly string[]; keepFailed?: boolean }): Promise<Discovered>;
}

/** A command module: what the registry loads for a mode. */
export interface CommandModule {
  default(ctx: CommandContext): Promise<number>;
}

export interface Probed {
  /** Every RAID device read (per-disk and per-volume). */
  readonly raidDevices: RaidDevice[];
  /** The per-disk RAID devices (what -r lists). */
  readonly disks: RaidDevice[];
  /** The per-disk RAID devices of formats that lost their disk to another's metadata (RaidDevice.supersededBy). */
  readonly superseded: RaidDevice[];
}

export interface Discovered extends Probed {
  /** The top-level sets, as -s lists them (only the named one when a name was given). */
  readonly sets: RaidSet[];
}

/** dmraid's yes_no_prompt: asks until a line holds y or n; end of input is "no". */
export async function confirm(io: Io, question: string): Promise<boolean> {
  for (;;) {
    io.stdout(question);
    const line = await io.readLine();
    if (line === null) {
      // dmraid loops forever at end of input; we take it as "no".
      io.stdout('\n');
      return false;
    }
    const answer = /[yn]/i.exec(line);
    if (answer) return answer[0].toLowerCase() === 'y';
  }
}

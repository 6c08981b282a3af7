/**
 * The dmraid command: parse options, find handlers and devices, run one mode, print as dmraid does.
 * `run` never throws and never exits; it returns the exit status.
 */
import { createRequire } from 'node:module';
import {
  blockDeviceToJson,
  buildSets,
  diskDevices,
  discoverRaidDevices,
  markStale,
  isIoError,
  openDevice,
  parseDeviceSpec,
  raidDeviceToJson,
  raidSetToJson,
  scanBlockDevices,
  setFormat,
  type BlockDevice,
  type FormatHandler,
  type Log,
  type LogLevel,
  type RaidDevice,
  type RaidSet,
  type WritableDevice,
} from '@dmraid/core';
import {
  blockDeviceLine,
  formatLine,
  HELP_TEXT,
  raidDeviceLine,
  setLines,
  VERSION_LINES,
} from './display.js';
import { JSON_COMMANDS, parseOptions, UsageError, type Options } from './options.js';
import { loadHandlers, type LoadedHandler } from './plugins.js';
import { dumpMetadata, eraseMetadata } from './metadata-io.js';

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

export interface RunOptions {
  /** Handlers to use instead of the installed ones (tests). */
  readonly handlers?: readonly LoadedHandler[];
  /** sysfs and /dev roots for scanning (tests). */
  readonly sysfs?: string;
  readonly dev?: string;
  /** Stops a long-running command (--extract, --serve) as SIGINT does: for callers that embed the CLI. */
  readonly signal?: AbortSignal;
  /** Milliseconds between plain progress lines when standard error is no terminal (default 10 s; tests). */
  readonly progressEveryMs?: number;
}

// The version changesets wrote into package.json (src/ and dist/ both sit one level below it).
const CLI_VERSION = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

/** Where a command prints: dmraid's plain lines and log levels, or one JSON document with --json. */
export class Output {
  readonly json: { level: LogLevel; text: string }[] = [];
  constructor(
    private readonly io: Io,
    private readonly o: Pick<Options, 'verbose' | 'debug' | 'json'>,
    /** The document's `command`: the mode's (JSON_COMMANDS). */
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
  /** Print the run's one document: its `command`, the mode's fields, the messages. */
  emitJson(doc: Record<string, unknown>) {
    this.emitted = true;
    this.io.stdout(`${JSON.stringify({ command: this.command, ...doc, messages: this.json }, null, 2)}\n`);
  }
}

export async function run(argv: readonly string[], io: Io, runOptions: RunOptions = {}): Promise<number> {
  let options: Options;
  try {
    options = parseOptions(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(e.raw ? `${e.message}\n` : `ERROR: ${e.message}\n${e.trailer.map((l) => `${l}\n`).join('')}`);
      return 1;
    }
    throw e;
  }
  const out = new Output(io, options, JSON_COMMANDS[options.mode] ?? options.mode);
  try {
    const status = await perform(options, io, out, runOptions);
    // A --json run that stopped early (a device that would not open, no set) still prints its document:
    // the messages say why.
    if (options.json && !out.emitted) out.emitJson({});
    return status;
  } catch (e) {
    // A bug must not end in a stack trace: one line, exit 1.
    io.stderr(`ERROR: internal error: ${(e as Error)?.message ?? String(e)}\n`);
    return 1;
  }
}

async function perform(o: Options, io: Io, out: Output, runOptions: RunOptions): Promise<number> {
  if (o.mode === 'help') {
    io.stdout(HELP_TEXT);
    return 0;
  }
  // The engine's commands over --tables read no metadata: they start without importing any handler.
  const tablesOnly = ENGINE_MODES.has(o.mode) && o.engine.tables !== undefined && !o.formats && o.handlerOptions.size === 0;
  const scan = runOptions.handlers
    ? { handlers: [...runOptions.handlers], problems: [] }
    : tablesOnly
      ? { handlers: [], problems: [] }
      : await loadHandlers(undefined, { report: (text) => out.log('error', text) });
  for (const p of scan.problems) out.log('error', p);
  const loaded = scan.handlers;
  const handlers = loaded.map((l) => l.handler);
  // Scanned disks of another logical sector size than 512 are dmraid's "unsupported sector size" unless a
  // handler takes them.
  const sectorSizes = new Set([512, ...handlers.flatMap((h) => h.sectorSizes ?? [])]);

  if (o.mode === 'version') {
    for (const l of VERSION_LINES()) out.line(l);
    out.line(`dmraid (TypeScript) cli:\t@dmraid/cli ${CLI_VERSION}`);
    for (const l of loaded) out.line(`format handler ${l.handler.name}:\t${l.packageName} ${l.version}`);
    if (o.json) out.emitJson({ formats: formatsJson(loaded) });
    return 0;
  }
  if (o.mode === 'list') {
    out.log('info', 'supported metadata formats:');
    for (const h of handlers) out.line(formatLine(h));
    if (o.json) out.emitJson({ formats: formatsJson(loaded) });
    return 0;
  }
  for (const format of o.handlerOptions.keys()) {
    if (!handlers.some((h) => h.name === format)) {
      io.stderr(`dmraid: unrecognized option '--${format}-${[...o.handlerOptions.get(format)!.keys()][0]}' (no format handler "${format}" is installed)\n`);
      return 1;
    }
  }
  if (o.formats && !o.formats.every((f) => handlers.some((h) => h.name.startsWith(f)))) {
    out.log('error', 'invalid format for -f at (see -l)');
    return 1;
  }
  const command = COMMANDS[o.mode];
  if (command) {
    const ctx: CommandContext = {
      o,
      io,
      out,
      handlers,
      loaded,
      signal: runOptions.signal,
      progressEveryMs: runOptions.progressEveryMs,
      sysfs: runOptions.sysfs,
      openDevices: (writable) => openDevices(o, out, runOptions, writable, io.cwd, sectorSizes),
      discover: (devices, discoverOptions = {}) => discoverSets(o, out, devices, handlers, discoverOptions),
    };
    const module = await command();
    return module.default(ctx);
  }

  const devices = await openDevices(o, out, runOptions, o.erase, io.cwd, sectorSizes);
  if (!devices) return 1;
  try {
    if (devices.length === 0) {
      out.log('print', 'no block devices found');
      return 1;
    }
    if (o.mode === 'block') {
      const shown = o.devices ? filterByPaths(devices, o.operands) : devices;
      out.log('info', `Block device${shown.length === 1 ? '' : 's'} discovered:\n`);
      if (o.json) out.emitJson({ blockDevices: shown.map(blockDeviceToJson) });
      else for (const d of shown) out.line(blockDeviceLine(d, o));
      return 0;
    }
    return await raidModes(o, io, out, devices, handlers);
  } finally {
    await Promise.all(devices.map((d) => d.close()));
  }
}

/**
 * The commands beyond listing and display live in their own modules under commands/, loaded only when
 * used (start-up stays small). Each gets the parsed options, the output and the handlers.
 */
const ENGINE_MODES: ReadonlySet<Options['mode']> = new Set(['extract', 'serve', 'check-data']);

const COMMANDS: Partial<Record<Options['mode'], () => Promise<{ default: (ctx: CommandContext) => Promise<number> }>>> = {
  activate: () => import('./commands/activate.js'),
  create: () => import('./commands/write.js'),
  rebuild: () => import('./commands/write.js'),
  spare: () => import('./commands/write.js'),
  remove: () => import('./commands/write.js'),
  extract: () => import('./commands/extract.js'),
  serve: () => import('./commands/serve.js'),
  'check-data': () => import('./commands/check-data.js'),
};

/** What a command module gets from main. */
export interface CommandContext {
  readonly o: Options;
  readonly io: Io;
  readonly out: Output;
  readonly handlers: readonly FormatHandler[];
  readonly loaded: readonly LoadedHandler[];
  /** The caller's stop signal, beside SIGINT/SIGTERM (RunOptions.signal). */
  readonly signal?: AbortSignal;
  /** RunOptions.progressEveryMs. */
  readonly progressEveryMs?: number;
  /** RunOptions.sysfs: where the extract looks up how block devices stack (default /sys). */
  readonly sysfs?: string;
  /** The devices of --devices, or dmraid's scan; undefined after an error already printed. Close them. */
  openDevices(writable: boolean): Promise<BlockDevice[] | undefined>;
  /** Discovery, grouping and checking on opened devices: RAID devices and the (named) sets. */
  discover(devices: BlockDevice[], options?: { name?: string; paths?: readonly string[] }): Promise<Discovered>;
}

export interface Discovered {
  /** Every RAID device read (per-disk and per-volume). */
  readonly raidDevices: RaidDevice[];
  /** The per-disk RAID devices (what -r lists). */
  readonly disks: RaidDevice[];
  /** The top-level sets, as -s lists them (only the named one when a name was given). */
  readonly sets: RaidSet[];
}

/** Every handler probes the devices (-f and handler options applied): all RAID devices, and the per-disk ones. */
async function probe(o: Options, out: Output, devices: BlockDevice[], handlers: readonly FormatHandler[], paths: readonly string[] | undefined) {
  const raidDevices = await discoverRaidDevices({ handlers, devices, formats: o.formats, paths, log: out.log, handlerOptions: o.handlerOptions });
  return { raidDevices, disks: diskDevices(raidDevices) };
}

async function discoverSets(
  o: Options,
  out: Output,
  devices: BlockDevice[],
  handlers: readonly FormatHandler[],
  options: { name?: string; paths?: readonly string[] },
): Promise<Discovered> {
  const { raidDevices, disks } = await probe(o, out, devices, handlers, options.paths);
  const sets = disks.length === 0 ? [] : buildSets(raidDevices, { handlers: [...handlers], log: out.log, name: options.name });
  return { raidDevices, disks, sets };
}

function formatsJson(loaded: readonly LoadedHandler[]) {
  return loaded.map((l) => ({
    name: l.handler.name,
    description: l.handler.description,
    levels: l.handler.levels ? l.handler.levels.split(',') : [],
    package: l.packageName,
    version: l.version,
  }));
}

function filterByPaths<T extends { path: string }>(devices: readonly T[], paths: readonly string[]): T[] {
  return paths.length === 0 ? [...devices] : devices.filter((d) => paths.includes(d.path));
}

/**
 * The device list: --devices in the order given, else dmraid's /sys/block scan; for -b without
 * --devices, the device arguments themselves in reverse order (as dmraid lists them).
 */
async function openDevices(
  o: Options,
  out: Output,
  runOptions: RunOptions,
  writable: boolean,
  cwd: string,
  sectorSizes: ReadonlySet<number>,
): Promise<BlockDevice[] | undefined> {
  const opened: WritableDevice[] = [];
  const fail = async (path: string, message: string) => {
    out.log('error', `cannot open device "${path}": ${message}`);
    await Promise.all(opened.map((d) => d.close()));
    return undefined;
  };
  if (o.devices) {
    for (const spec of o.devices) {
      const { path, serial } = await parseDeviceSpec(spec, cwd);
      const d = await openDevice(path, { serial, writable, sysfs: runOptions.sysfs, cwd });
      if (isIoError(d)) return fail(path, d.message);
      opened.push(d);
    }
    return opened;
  }
  if (o.mode === 'block' && o.operands.length > 0) {
    for (const path of [...o.operands].reverse()) {
      const d = await openDevice(path, { sysfs: runOptions.sysfs, cwd });
      if (isIoError(d)) return fail(path, d.message);
      opened.push(d);
    }
    return opened;
  }
  const scan = await scanBlockDevices(runOptions.sysfs, runOptions.dev);
  for (const n of scan.notices) out.log('notice', n);
  for (const entry of scan.devices) {
    const d = await openDevice(entry.path, { writable, sysfs: runOptions.sysfs });
    if (isIoError(d)) {
      out.log('notice', `skipping ${entry.path}: ${d.message}`);
      continue;
    }
    if (!sectorSizes.has(d.sectorSize)) {
      out.log('error', `unsupported sector size ${d.sectorSize} on ${d.path}.`);
      await d.close();
      continue;
    }
    opened.push(d);
  }
  // Device arguments name image files too: add those not found by the scan.
  if (o.mode === 'raid' || o.mode === 'native') {
    for (const path of o.operands) {
      if (opened.some((d) => d.path === path)) continue;
      const d = await openDevice(path, { writable, sysfs: runOptions.sysfs, cwd });
      if (isIoError(d)) return fail(path, d.message);
      opened.push(d);
    }
  }
  return opened;
}

function formatError(o: Options, what: 'disks' | 'sets'): string {
  let text = `no raid ${what}`;
  if (o.formatText !== undefined) text += ` with format: "${o.formatText}"`;
  if (o.operands.length > 0) text += ` and with names: "${o.operands.join(o.separator)}"`;
  return text;
}

async function raidModes(o: Options, io: Io, out: Output, devices: BlockDevice[], handlers: FormatHandler[]): Promise<number> {
  const pathFilter = o.mode === 'raid' || o.mode === 'native' ? o.operands : undefined;
  const { raidDevices: rds, disks } = await probe(o, out, devices, handlers, pathFilter);
  if (disks.length === 0) {
    if (o.json) out.emitJson({ command: o.mode === 'sets' ? 'sets' : 'raid_devices', raidDevices: [], sets: [] });
    else out.log('print', formatError(o, 'disks'));
    return 1;
  }
  const byName = new Map(handlers.map((h) => [h.name, h]));

  if (o.mode === 'native') {
    for (const rd of disks) {
      const h = byName.get(rd.format)!;
      for (const l of h.log(rd)) out.line(l);
      out.line('');
    }
    return 0;
  }

  if (o.mode === 'raid') {
    // -E dumps (its backup) after claiming the devices it erases.
    if (o.erase) return eraseMetadata(disks, byName, io, out.log, o.yes);
    if (o.dump && !(await dumpMetadata(disks, byName, io.cwd, out.log))) return 1;
    // Grouping marks stale members for the other modes; -r lists disks without grouping them.
    markStale(rds, handlers, out.log);
    out.log('info', `RAID device${disks.length === 1 ? '' : 's'} discovered:\n`);
    if (o.json) out.emitJson({ raidDevices: disks.map(raidDeviceToJson) });
    else for (const rd of disks) out.line(raidDeviceLine(rd, o));
    return 0;
  }

  // -s
  const name = o.operands[0];
  const sets = buildSets(rds, { handlers, log: out.log, name });
  if (sets.length === 0) {
    if (name === undefined) out.log('error', 'no RAID set found');
    else if (o.operands.length > 1 && !o.operands[1]!.startsWith('-')) out.log('error', 'only one argument allowed for this option');
    else out.log('error', 'either the required RAID set not found or more options required');
    if (o.json) out.emitJson({ sets: [] });
    else out.log('print', formatError(o, 'sets'));
    return 1;
  }
  if (o.json) {
    out.emitJson({ sets: sets.map((s) => raidSetToJson(s, setFormat(s) ?? null)) });
    return 0;
  }
  for (const set of sets) for (const l of setLines(set, o)) out.line(l);
  return 0;
}

export const cliVersion = CLI_VERSION;

/**
 * The dmraid command: parse options, find handlers, run the mode's command from the registry.
 * `run` never throws and never exits; it returns the exit status.
 */
import { describeHandlers, loadHandlers, type BundledHandler, type DescribedHandler, type LoadedHandler } from '@dmraid/core';
import { Output, type CommandContext, type Io } from './context.js';
import { deviceAccess } from './devices.js';
import { parseOptions, UsageError, type Options } from './options.js';
import { COMMANDS } from './registry.js';

export interface RunOptions {
  /** Handlers to use instead of the installed ones (tests). */
  readonly handlers?: readonly LoadedHandler[];
  /** Handlers compiled into the caller's bundle (the meta-package's), used for the installed packages they match. */
  readonly bundled?: readonly BundledHandler[];
  /** sysfs and /dev roots for scanning (tests). */
  readonly sysfs?: string;
  readonly dev?: string;
  /** Stops a long-running command (--extract, --serve) as SIGINT does: for callers that embed the CLI. */
  readonly signal?: AbortSignal;
  /** Milliseconds between plain progress lines when standard error is no terminal (default 10 s; tests). */
  readonly progressEveryMs?: number;
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
  const out = new Output(io, options, COMMANDS[options.mode].json ?? options.mode);
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
  const command = COMMANDS[o.mode];
  const wanted = !runOptions.handlers && (command.handlers?.(o) ?? true);
  // -V and -l show handlers without calling them: described, a bundled handler's code is not even loaded.
  const describing = wanted && command.describesHandlers === true;
  const scan = runOptions.handlers
    ? { handlers: [...runOptions.handlers], problems: [] }
    : wanted && !describing
      ? await loadHandlers(undefined, { report: (text) => out.log('error', text), bundled: runOptions.bundled })
      : { handlers: [], problems: [] };
  const description = describing ? await describeHandlers(undefined, { bundled: runOptions.bundled }) : undefined;
  for (const p of description?.problems ?? scan.problems) out.log('error', p);
  const loaded = scan.handlers;
  const described: readonly DescribedHandler[] | undefined = description?.handlers;
  const handlers = loaded.map((l) => l.handler);
  if (command.checksFormats !== false) {
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
  }
  const ctx: CommandContext = {
    o,
    io,
    out,
    handlers,
    loaded,
    described,
    signal: runOptions.signal,
    progressEveryMs: runOptions.progressEveryMs,
    sysfs: runOptions.sysfs,
    ...deviceAccess(o, out, io.cwd, handlers, runOptions),
  };
  const module = await command.load();
  return module.default(ctx);
}

/**
 * Every mode of the command, and the module that runs it: one module per mode under commands/, each with a
 * default `command(ctx)`, imported only when its mode runs (bundled as chunks: start-up stays small).
 */
import type { CommandModule } from './context.js';
import type { Mode, Options } from './options.js';

export interface CommandRow {
  readonly load: () => Promise<CommandModule>;
  /** The `command` of its --json document (OPTIONS' --json row says which modes take --json). */
  readonly json?: string;
  /** Whether it needs the installed handlers (default: it does); without, none is imported. */
  readonly handlers?: (o: Options) => boolean;
  /**
   * It shows the installed handlers without calling one (-V, -l): they are described (core's describeHandlers,
   * ctx.described), and a bundled handler's code is not loaded.
   */
  readonly describesHandlers?: true;
  /** false: -f and --<format>-<key>= are not checked against the handlers before it runs (dmraid's -l, -V). */
  readonly checksFormats?: false;
}

/** The engine's commands over --tables read no metadata: they start without importing any handler. */
const unlessTables = (o: Options) => o.engine.tables === undefined || o.formats !== undefined || o.handlerOptions.size > 0;

export const COMMANDS: Readonly<Record<Mode, CommandRow>> = {
  help: { load: () => import('./commands/help.js'), handlers: () => false },
  version: { load: () => import('./commands/version.js'), json: 'version', checksFormats: false, describesHandlers: true },
  list: { load: () => import('./commands/list.js'), json: 'formats', checksFormats: false, describesHandlers: true },
  block: { load: () => import('./commands/block.js'), json: 'block_devices' },
  raid: { load: () => import('./commands/raid.js'), json: 'raid_devices' },
  dump: { load: () => import('./commands/dump.js') },
  erase: { load: () => import('./commands/erase.js') },
  native: { load: () => import('./commands/native.js') },
  sets: { load: () => import('./commands/sets.js'), json: 'sets' },
  activate: { load: () => import('./commands/activate.js') },
  create: { load: () => import('./commands/create.js') },
  rebuild: { load: () => import('./commands/rebuild.js') },
  spare: { load: () => import('./commands/spare.js') },
  remove: { load: () => import('./commands/remove.js') },
  extract: { load: () => import('./commands/extract.js'), json: 'extract', handlers: unlessTables },
  serve: { load: () => import('./commands/serve.js'), json: 'serve', handlers: unlessTables },
  'check-data': { load: () => import('./commands/check-data.js'), json: 'check_data', handlers: unlessTables },
  infer: { load: () => import('./commands/infer.js'), json: 'infer', handlers: () => false },
  draw: { load: () => import('./commands/draw.js'), handlers: unlessTables },
  // --json: one object per event line (docs/monitor.md), not one document.
  monitor: { load: () => import('./commands/monitor.js'), json: 'monitor' },
  restore: { load: () => import('./commands/restore.js'), json: 'restore' },
  completion: { load: () => import('./commands/completion.js'), handlers: () => false, checksFormats: false },
};

// The registry of modes: every mode a command line can name runs its own module, the --json documents match
// the --json row, and cli/src has no import circle (a command module never imports main.ts).
import { promises as fs } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { run } from '../src/main.js';
import { OPTIONS, parseOptions, type Mode } from '../src/options.js';
import { COMMANDS } from '../src/registry.js';

// Each command module replaced by one that records that it ran, and for which mode.
const { ran, stub } = vi.hoisted(() => {
  const ran: { module: string; mode: string }[] = [];
  const stub = (module: string) => () => ({
    default: async (ctx: { o: { mode: string } }) => {
      ran.push({ module, mode: ctx.o.mode });
      return 0;
    },
  });
  return { ran, stub };
});
vi.mock('../src/commands/help.js', stub('help'));
vi.mock('../src/commands/version.js', stub('version'));
vi.mock('../src/commands/list.js', stub('list'));
vi.mock('../src/commands/block.js', stub('block'));
vi.mock('../src/commands/raid.js', stub('raid'));
vi.mock('../src/commands/dump.js', stub('dump'));
vi.mock('../src/commands/erase.js', stub('erase'));
vi.mock('../src/commands/native.js', stub('native'));
vi.mock('../src/commands/sets.js', stub('sets'));
vi.mock('../src/commands/activate.js', stub('activate'));
vi.mock('../src/commands/create.js', stub('create'));
vi.mock('../src/commands/rebuild.js', stub('rebuild'));
vi.mock('../src/commands/spare.js', stub('spare'));
vi.mock('../src/commands/remove.js', stub('remove'));
vi.mock('../src/commands/extract.js', stub('extract'));
vi.mock('../src/commands/serve.js', stub('serve'));
vi.mock('../src/commands/check-data.js', stub('check-data'));
vi.mock('../src/commands/infer.js', stub('infer'));
vi.mock('../src/commands/draw.js', stub('draw'));
vi.mock('../src/commands/monitor.js', stub('monitor'));
vi.mock('../src/commands/restore.js', stub('restore'));
vi.mock('../src/commands/completion.js', stub('completion'));

/** A command line for each mode, and the module that must run it. */
const LINES: Record<Mode, [argv: string[], module: string]> = {
  help: [['-h'], 'help'],
  version: [['-V'], 'version'],
  list: [['-l'], 'list'],
  block: [['-b'], 'block'],
  raid: [['-r'], 'raid'],
  dump: [['-r', '-D'], 'dump'],
  erase: [['-rE'], 'erase'],
  native: [['-n'], 'native'],
  sets: [['-s'], 'sets'],
  activate: [['-ay', '-t'], 'activate'],
  create: [['-C', 'NAME', '--type', '1'], 'create'],
  rebuild: [['-R', 'SET'], 'rebuild'],
  spare: [['-S', '-M', 'DEVICE'], 'spare'],
  remove: [['-x'], 'remove'],
  extract: [['--extract', 'SET', '-o', 'FILE', '--tables', 't'], 'extract'],
  serve: [['--serve', '--tables', 't'], 'serve'],
  'check-data': [['--check-data', 'SET', '--tables', 't'], 'check-data'],
  infer: [['--infer', '--devices', 'a.img,b.img'], 'infer'],
  draw: [['--draw', 'SET', '-o', 'x.svg', '--tables', 't'], 'draw'],
  monitor: [['--monitor', '--once'], 'monitor'],
  restore: [['--restore', 'dmraid.isw'], 'restore'],
  completion: [['--completion', 'bash'], 'completion'],
};

const io = () => ({ stdout: () => undefined, stderr: () => undefined, readLine: async () => null, cwd: process.cwd() });

describe('the registry of modes', () => {
  it('every mode a command line names runs its own module, with the parsed options', async () => {
    for (const [mode, [argv, module]] of Object.entries(LINES)) {
      expect(parseOptions(argv).mode, argv.join(' ')).toBe(mode);
      ran.length = 0;
      expect(await run(argv, io(), { handlers: [] })).toBe(0);
      expect(ran, argv.join(' ')).toEqual([{ module, mode }]);
    }
    expect(Object.keys(COMMANDS).sort()).toEqual(Object.keys(LINES).sort());
  });

  it('the modes with a --json document are those the --json row allows', () => {
    const json = OPTIONS.find((r) => r.long === 'json')!;
    const documented = Object.entries(COMMANDS).filter(([, row]) => row.json !== undefined).map(([mode]) => mode);
    expect(documented.sort()).toEqual([...json.modes!].sort());
  });

  it('cli/src has no import circle, and only index and process (the real process) import main.ts', async () => {
    const src = resolve(dirname(fileURLToPath(import.meta.url)), '../src');
    const files = (await fs.readdir(src, { recursive: true })).filter((f) => f.endsWith('.ts')).map((f) => join(src, f));
    const imports = new Map<string, string[]>();
    for (const file of files) {
      const text = await fs.readFile(file, 'utf8');
      // Static, type-only and dynamic imports alike: a circle of types is a circle of the design too.
      const targets = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)\.js'/g)].map((m) => resolve(dirname(file), `${m[1]}.ts`));
      imports.set(file, targets);
    }
    const importersOfMain = files.filter((f) => imports.get(f)!.includes(join(src, 'main.ts'))).map((f) => relative(src, f));
    expect(importersOfMain.sort()).toEqual(['index.ts', 'process.ts']);
    const circles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        circles.push([...path.slice(path.indexOf(file)), file].map((f) => relative(src, f)).join(' > '));
        return;
      }
      state.set(file, 'open');
      for (const t of imports.get(file) ?? []) visit(t, [...path, file]);
      state.set(file, 'done');
    };
    for (const f of files) visit(f, []);
    expect(circles).toEqual([]);
  });
});

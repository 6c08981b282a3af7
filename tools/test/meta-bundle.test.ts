// The meta-package's `dmraid` runs one CommonJS file built from the CLI, core, engine, activation and its pinned
// handlers: what it prints must be byte for byte what the CLI prints importing each package.
import { spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildTestbedImages, listTestbedSets, testbedDir } from '@dmraid/testkit';
import { repoRoot, requireBuilt, sh, tmp } from './helpers.js';

const meta = join(repoRoot, 'packages', 'dmraid');
const dmraid = join(meta, 'bin', 'dmraid.cjs');
const bundle = join(meta, 'dist', 'dmraid.cjs');
const dmraidCli = join(repoRoot, 'packages', 'cli', 'dist', 'bin.js');

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});

describe('the meta-package bundle of handlers', () => {
  it('lists every pinned handler package at its installed version, with the facts of the handler itself', async () => {
    requireBuilt(meta, 'dist/dmraid.cjs');
    const { bundledHandlers } = createRequire(import.meta.url)(bundle) as { bundledHandlers: { packageName: string; version: string; facts: object; load: () => Promise<{ name: string; description: string; levels: string }> }[] };
    const pins = (JSON.parse(await fs.readFile(join(meta, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies;
    const handlerPins = Object.keys(pins).filter((n) => n.startsWith('@dmraid/format-')).sort();
    expect(bundledHandlers.map((b) => b.packageName)).toEqual(handlerPins);
    for (const b of bundledHandlers) {
      const installed = JSON.parse(await fs.readFile(join(repoRoot, 'node_modules', b.packageName, 'package.json'), 'utf8')) as { version: string };
      expect(b.version, b.packageName).toBe(installed.version);
      const h = await b.load();
      expect(b.facts, b.packageName).toEqual({ name: h.name, description: h.description, levels: h.levels });
    }
  });

  it('is one file that requires only Node built-ins, and imports only what the handler scan finds elsewhere', async () => {
    const code = await fs.readFile(bundle, 'utf8');
    const required = new Set([...code.matchAll(/\brequire\("([^"]+)"\)/g)].map((m) => m[1]));
    expect([...required].filter((m) => !/^node:[a-z_/]+$|^[a-z_]+$/.test(m))).toEqual([]);
    // A handler package outside the bundle (by name or by file) is an ES module: imported through the loader's
    // import() (the file's own import() only where Node compiled the file); readline is required.
    const imports = [...code.matchAll(/\b(?:__dmraidImport|import)\(/g)].map((m) => code.slice(m.index - 60, m.index + 20));
    expect(imports.filter((i) => /importEntry=async/.test(i) && i.includes('__dmraidImport('))).toHaveLength(2);
    expect(imports.filter((i) => !i.includes('__dmraidImport('))).toEqual([expect.stringContaining('(specifier) => import(specifier)')]);
    expect(code).toContain('Promise.resolve(require("readline"))');
    // Each package's own files are found where it is installed (the CLI's package.json, the engine's worker).
    expect(code).toContain('__dmraidFileUrl("@dmraid/engine","dist/index.js")');
    expect(code).not.toMatch(/import\.meta/);
  });

  it('loads node:crypto only when a handler asks for randomness: a pdc spare still gets its random id', async () => {
    // (Counted from what this process had loaded before: \`node -e\` itself loads some crypto modules.)
    const probe = `const n = () => process.moduleLoadList.filter((m) => /crypto/.test(m)).length; const before = n(); const b = require(${JSON.stringify(bundle)}); (async () => { for (const h of b.bundledHandlers) await h.load(); console.log(n() - before); })();`;
    const loaded = await sh(process.execPath, ['-e', probe], meta);
    expect(loaded).toMatchObject({ stdout: '0\n', status: 0 });
    const dir = tmp('meta-bundle-spare');
    dirs.push(dir);
    const set = (await listTestbedSets(testbedDir, 'pdc')).find((s) => s.config === 'raid1-2')!;
    const devices = [...(await buildTestbedImages(set, dir)), 'spare.img:SPARE1'].flatMap((spec) => ['--devices', spec]);
    await fs.writeFile(join(dir, 'spare.img'), '');
    await fs.truncate(join(dir, 'spare.img'), 256 << 20);
    const name = /name\s+: (\S+)/.exec((await sh(process.execPath, [dmraid, ...devices, '-s'], dir)).stdout)![1]!;
    const made = await sh(process.execPath, [dmraid, ...devices, '-f', 'pdc', '-S', name, '-M', 'spare.img', '--yes'], dir);
    expect(made.status, made.stderr).toBe(0);
    expect((await sh(process.execPath, [dmraid, ...devices, '-r'], dir)).stdout).toContain('spare.img: pdc, "pdc_a", spare, ok, 393216 sectors, data@ 0\n');
  });

  it('extracts and serves from the bundle as dmraid-cli does; the NBD worker script is found in the engine package', async () => {
    const dir = tmp('meta-bundle-serve');
    dirs.push(dir);
    const set = (await listTestbedSets(testbedDir, 'hpt45x')).find((s) => s.config === 'raid0-2')!;
    const devices = (await buildTestbedImages(set, dir)).flatMap((spec) => ['--devices', spec]);
    const name = /name\s+: (\S+)/.exec((await sh(process.execPath, [dmraid, ...devices, '-s'], dir)).stdout)![1]!;
    for (const [bin, out] of [[dmraid, 'flat.img'], [dmraidCli, 'flat-cli.img']] as const) {
      const r = await sh(process.execPath, [bin, ...devices, '--extract', name, '-o', out], dir);
      expect(r.status, r.stderr).toBe(0);
    }
    const flat = await fs.readFile(join(dir, 'flat.img'));
    expect(flat.equals(await fs.readFile(join(dir, 'flat-cli.img')))).toBe(true);
    if (!(await sh('sh', ['-c', 'command -v nbdcopy'], dir)).stdout) {
      if (process.env.CI) throw new Error('nbdcopy is missing (apt-get install -y libnbd-bin)');
      return;
    }
    // Read-only serving hands connections to worker processes (one per further core); a worker that cannot
    // start is an INFO line and the server serves alone, so -v shows whether the worker came up.
    const server = spawn(process.execPath, [dmraid, ...devices, '--serve', '--listen', 'nbd.sock', '-v'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    server.stdout.on('data', (b: Buffer) => (out += b.toString()));
    server.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const closed = new Promise((done) => server.on('close', done));
    try {
      for (let i = 0; i < 200 && !out.includes('nbd+unix'); i++) await new Promise((later) => setTimeout(later, 50));
      const uri = /nbd\+unix:\S+/.exec(out)?.[0];
      expect(uri, out).toBeDefined();
      const copied = await sh('nbdcopy', [uri!, 'served.img'], dir);
      expect(copied.status, copied.stderr).toBe(0);
      expect((await fs.readFile(join(dir, 'served.img'))).equals(flat)).toBe(true);
    } finally {
      server.kill('SIGINT');
      await closed;
    }
    expect(out).not.toMatch(/serving from this process only|ERROR|\n\s+at /);
  });

  it('prints exactly what dmraid-cli prints: -V, -l (plain and --json), -h, and -r/-s on testbed sets', async () => {
    requireBuilt(join(repoRoot, 'packages', 'cli'), 'dist/bin.js');
    const dir = tmp('meta-bundle');
    dirs.push(dir);
    const images: string[] = [];
    for (const format of ['isw', 'ddf1', 'promise', 'nvidia']) {
      const set = (await listTestbedSets(testbedDir, format)).find((s) => !/missing|degraded|bad|broken/.test(s.config));
      if (!set) continue;
      for (const spec of await buildTestbedImages(set, join(dir, format))) images.push(join(format, spec));
    }
    expect(images.length).toBeGreaterThan(4);
    const devices = images.flatMap((i) => ['--devices', i]);
    for (const args of [['-V'], ['-V', '--json'], ['-l'], ['-l', '--json'], ['-h'], [...devices, '-r'], [...devices, '-s'], [...devices, '-s', '--json'], [...devices, '-n']]) {
      const [ours, cli] = [await sh(process.execPath, [dmraid, ...args], dir), await sh(process.execPath, [dmraidCli, ...args], dir)];
      expect(ours, args.join(' ')).toEqual(cli);
      expect(ours.stdout.length, args.join(' ')).toBeGreaterThan(0);
    }
  });

  it('is rebuilt by every build (nx does not restore it from a cache made before a handler changed)', async () => {
    const pkg = JSON.parse(await fs.readFile(join(meta, 'package.json'), 'utf8')) as { bin: Record<string, string>; scripts: { build: string }; nx?: { targets?: { build?: { cache?: boolean } } } };
    expect(pkg.scripts.build).toContain('scripts/bundle.mjs');
    expect(pkg.nx?.targets?.build?.cache).toBe(false);
    expect(existsSync(join(meta, 'scripts', 'bundle.mjs'))).toBe(true);
    expect(pkg.bin.dmraid).toBe('./bin/dmraid.cjs');
  });
});

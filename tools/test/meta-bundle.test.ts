// The meta-package's `dmraid` runs the CLI with its pinned handlers bundled in one file: what it prints must be
// byte for byte what the CLI prints importing each handler package, and the bundle must share @dmraid/core.
import { existsSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildTestbedImages, listTestbedSets, testbedDir } from '@dmraid/testkit';
import { repoRoot, requireBuilt, sh, tmp } from './helpers.js';

const meta = join(repoRoot, 'packages', 'dmraid');
const dmraid = join(meta, 'bin', 'dmraid.js');
const dmraidCli = join(repoRoot, 'packages', 'cli', 'dist', 'bin.js');

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});

describe('the meta-package bundle of handlers', () => {
  it('lists every pinned handler package at its installed version, with the facts of the handler itself', async () => {
    requireBuilt(meta, 'dist/handlers.js');
    const { bundledHandlers } = (await import(join(meta, 'dist', 'handlers.js'))) as { bundledHandlers: { packageName: string; version: string; facts: object; load: () => Promise<{ name: string; description: string; levels: string }> }[] };
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

  it('leaves @dmraid/core out: the bundled code imports it, as third-party handlers do, so there is one copy', async () => {
    const code = await fs.readFile(join(meta, 'dist', 'handlers-code.js'), 'utf8');
    const imported = new Set([...code.matchAll(/\bfrom\s*"([^"]+)"/g)].map((m) => m[1]));
    expect([...imported].filter((m) => !/^(node:)?[a-z_]+$/.test(m))).toEqual(['@dmraid/core']);
    // core's own definitions would be here if it were inlined.
    expect(code).not.toMatch(/function defineFormat\b/);
  });

  it('loads node:crypto only when a handler asks for randomness: a pdc spare still gets its random id', async () => {
    const probe = `await import(${JSON.stringify(join(meta, 'dist', 'handlers-code.js'))}); console.log(process.moduleLoadList.filter((m) => /crypto/.test(m)).length);`;
    const loaded = await sh(process.execPath, ['--input-type=module', '-e', probe], meta);
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
    const pkg = JSON.parse(await fs.readFile(join(meta, 'package.json'), 'utf8')) as { scripts: { build: string }; nx?: { targets?: { build?: { cache?: boolean } } } };
    expect(pkg.scripts.build).toContain('scripts/bundle-handlers.mjs');
    expect(pkg.nx?.targets?.build?.cache).toBe(false);
    expect(existsSync(join(meta, 'scripts', 'bundle-handlers.mjs'))).toBe(true);
  });
});

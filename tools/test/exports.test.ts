// What each published package promises in its package.json (exports, types, bin) is in the tarball npm
// would publish, after the build. publint's core checks, without a new dependency; the install test then
// resolves and type-checks the same entries from an installed copy.
import { existsSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, requireBuilt, sh } from './helpers.js';

interface Manifest {
  name: string;
  private?: boolean;
  main?: string;
  types?: string;
  bin?: string | Record<string, string>;
  exports?: unknown;
  files?: string[];
  keywords?: string[];
  dmraid?: { apiVersion?: number; format?: string };
  peerDependencies?: Record<string, string>;
}

/** The workspace's own resolution condition (tests and tsconfig read src/); never published, never resolved by users. */
const SOURCE_CONDITION = '@dmraid/source';

/** Every file an `exports` value points at, with its condition path; fails on a condition order TypeScript misreads. */
function exportTargets(value: unknown, path: string, out: { path: string; target: string }[]): void {
  if (typeof value === 'string') out.push({ path, target: value });
  else if (Array.isArray(value)) value.forEach((v, i) => exportTargets(v, `${path}[${i}]`, out));
  else if (value && typeof value === 'object') {
    const keys = Object.keys(value);
    // "types" must come before "import"/"default", or TypeScript resolves the .js file for types.
    if (keys.includes('types')) expect(keys.indexOf('types'), `${path}: "types" before "import"/"default"`).toBeLessThan(Math.min(...['import', 'default'].map((k) => (keys.includes(k) ? keys.indexOf(k) : Infinity))));
    for (const k of keys) if (k !== SOURCE_CONDITION) exportTargets((value as Record<string, unknown>)[k], `${path}.${k}`, out);
  }
}

const dirs = [
  ...(await fs.readdir(join(repoRoot, 'packages'))).map((p) => join(repoRoot, 'packages', p)),
  join(repoRoot, 'examples', 'dmraid-format-jmicron'),
].filter((d) => existsSync(join(d, 'package.json')));
const packages: { dir: string; manifest: Manifest }[] = [];
for (const dir of dirs) {
  const manifest = JSON.parse(await fs.readFile(join(dir, 'package.json'), 'utf8')) as Manifest;
  if (!manifest.private) packages.push({ dir, manifest });
}

describe('published package manifests point at built, packed files', () => {
  it('finds the published packages', () => expect(packages.map((p) => p.manifest.name)).toEqual(expect.arrayContaining(['@dmraid/core', '@dmraid/cli', 'dmraid', 'dmraid-format-jmicron'])));

  for (const { dir, manifest } of packages) {
    it(`${manifest.name}: exports, types and bin are in its tarball`, async () => {
      if (manifest.exports !== undefined) requireBuilt(dir, (manifest.types ?? 'dist/index.js').replace(/^\.\//, ''));
      const packed = await sh('npm', ['pack', '--dry-run', '--json', '--ignore-scripts', dir], repoRoot);
      expect(packed.status, packed.stderr).toBe(0);
      const files = new Set((JSON.parse(packed.stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path));
      const has = (target: string) => files.has(target.replace(/^\.\//, ''));

      const targets: { path: string; target: string }[] = [];
      exportTargets(manifest.exports, 'exports', targets);
      if (manifest.types) targets.push({ path: 'types', target: manifest.types });
      if (manifest.main) targets.push({ path: 'main', target: manifest.main });
      const bins = typeof manifest.bin === 'string' ? { [manifest.name]: manifest.bin } : (manifest.bin ?? {});
      for (const [name, target] of Object.entries(bins)) targets.push({ path: `bin.${name}`, target });
      expect(targets.length, 'an entry point (exports or bin)').toBeGreaterThan(0);
      for (const t of targets) expect(has(t.target), `${t.path} → ${t.target} (packed: ${[...files].join(', ')})`).toBe(true);
      for (const target of Object.values(bins)) expect((await fs.readFile(join(dir, target), 'utf8')).startsWith('#!/usr/bin/env node\n'), `${target} starts with a node shebang`).toBe(true);
    });
  }

  for (const { manifest } of packages.filter((p) => p.manifest.dmraid)) {
    it(`${manifest.name}: a handler manifest the CLI finds (name, keywords, dmraid field, peer @dmraid/core)`, () => {
      expect(manifest.name).toMatch(/^(@dmraid\/format-|(@[a-z0-9_.-]+\/)?dmraid-format-)[a-z0-9_.-]+$/);
      expect(manifest.keywords).toEqual(expect.arrayContaining(['dmraid', 'dmraid-format']));
      expect(manifest.dmraid).toEqual({ apiVersion: 1, format: expect.stringMatching(/^[a-z][a-z0-9_]{0,15}$/) });
      expect(manifest.peerDependencies?.['@dmraid/core']).toBeDefined();
    });
  }
});

/** Names a built module's declarations export (`export { a, b as c }` and `export type { ... }` statements). */
function declaredExports(dts: string): string[] {
  return [...dts.matchAll(/^export (?:type )?\{([^}]*)\}/gm)].flatMap((m) => m[1]!.split(',').map((n) => n.trim().split(/\s+as\s+/).pop()!).filter(Boolean));
}

/** Bare module specifiers a built file imports (relative paths left out). */
const bareImports = (js: string) => [...js.matchAll(/\bfrom\s*['"]([^'"]+)['"]|\bimport\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => (m[1] ?? m[2])!).filter((s) => !s.startsWith('.'));

// Testbed sets are test scaffolding: each handler publishes them as its `./testbed` subpath (plain data, the
// shape from `@dmraid/core/testbed`), and testkit builds them. A main entry carries only what users call.
const scaffolding = /testbed|serialStem/i;
const ours = packages.filter((p) => p.dir.startsWith(join(repoRoot, 'packages')));
const handlers = ours.filter((p) => p.manifest.dmraid);

describe('testbed sets are a ./testbed subpath of the built packages, not their main entry', () => {
  it('finds the handler packages', () => expect(handlers.length).toBeGreaterThanOrEqual(8));

  it('resolves ./testbed of core and every handler from dist/ as Node does, and no main entry exports testbed scaffolding', async () => {
    const names = [...ours.filter((p) => p.manifest.name === '@dmraid/core'), ...handlers].map((p) => p.manifest.name);
    for (const { dir } of handlers) requireBuilt(dir, 'dist/testbed.js');
    // A separate Node process: no vitest, no "@dmraid/source" condition, the packages' exports maps as published.
    const script = `const out = {};
for (const name of process.argv.slice(1)) {
  const main = await import(name);
  const testbed = await import(name + '/testbed');
  const sets = typeof testbed.testbedSets === 'function' ? testbed.testbedSets() : [];
  out[name] = { main: Object.keys(main), testbed: Object.keys(testbed), sets: sets.map((s) => [s.config, s.images.length]) };
}
console.log(JSON.stringify(out));`;
    const r = await sh(process.execPath, ['--input-type=module', '-e', script, ...names], repoRoot);
    expect(r.status, r.stderr).toBe(0);
    const found = JSON.parse(r.stdout) as Record<string, { main: string[]; testbed: string[]; sets: [string, number][] }>;
    expect(Object.keys(found).sort()).toEqual([...names].sort());
    for (const [name, { main, testbed, sets }] of Object.entries(found)) {
      expect(main.filter((k) => scaffolding.test(k)), `${name}: main entry exports`).toEqual([]);
      if (name === '@dmraid/core') continue;
      expect(testbed, `${name}/testbed exports`).toContain('testbedSets');
      expect(sets.length, `${name}/testbed: testbedSets()`).toBeGreaterThan(0);
      for (const [config, images] of sets) expect(images, `${name}/testbed: ${config} has member images`).toBeGreaterThan(0);
    }
  });

  for (const { dir, manifest } of [...ours.filter((p) => p.manifest.name === '@dmraid/core'), ...handlers]) {
    it(`${manifest.name}: main types name no testbed scaffolding; ./testbed imports nothing above core`, async () => {
      requireBuilt(dir, 'dist/index.d.ts');
      expect(declaredExports(await fs.readFile(join(dir, 'dist', 'index.d.ts'), 'utf8')).filter((n) => scaffolding.test(n))).toEqual([]);
      expect(manifest.exports).toHaveProperty(['./testbed']);
      // testkit is private and depends on the CLI: a published ./testbed reaching it would be an upward arrow.
      for (const file of ['testbed.js', 'testbed.d.ts']) {
        const text = await fs.readFile(join(dir, 'dist', file), 'utf8');
        for (const spec of bareImports(text)) expect(spec, `${manifest.name} dist/${file} imports`).toMatch(/^@dmraid\/core(\/testbed)?$/);
      }
    });
  }
});

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

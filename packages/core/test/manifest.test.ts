// A handler package's manifest is checked against manifest.schema.json by the validator generated at build time:
// the same verdicts as ajv compiling the published file, and a bad manifest is one problem naming the package.
import { promises as fs, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import Ajv2020 from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadHandlers, manifestProblems } from '@dmraid/core';
import manifestSchema from '@dmraid/core/manifest.schema.json' with { type: 'json' };

const GOOD = { name: 'dmraid-format-acme', version: '1.0.0', dmraid: { apiVersion: 1, format: 'acme' } };
const HANDLER = `export default { apiVersion: 1, name: 'acme', description: 'Acme', levels: '0',
  read: async () => [], group: () => undefined, check: () => true, log: () => [] };`;

describe('handler manifests', () => {
  it('a manifest as docs/plugins.md shows it passes; each kind of mistake is named by its field', () => {
    expect(manifestProblems(GOOD)).toEqual([]);
    expect(manifestProblems({ ...GOOD, dmraid: { ...GOOD.dmraid, template: true } })).toEqual([]);
    expect(manifestProblems({ ...GOOD, dmraid: { apiVersion: 1 } })).toEqual(["dmraid must have required property 'format'"]);
    expect(manifestProblems({ ...GOOD, dmraid: { apiVersion: 1, fromat: 'acme' } })).toEqual([
      "dmraid must have required property 'format'",
      'dmraid must NOT have additional properties ("fromat")',
    ]);
    expect(manifestProblems({ ...GOOD, dmraid: { apiVersion: '1', format: 'acme' } })).toEqual(['dmraid.apiVersion must be integer']);
    expect(manifestProblems({ ...GOOD, dmraid: { apiVersion: 1, format: 'Acme-RAID' } })).toEqual(['dmraid.format must match pattern "^[a-z][a-z0-9_]*$"']);
    expect(manifestProblems({ ...GOOD, dmraid: 'acme' })).toEqual(['dmraid must be object']);
    expect(manifestProblems({ dmraid: GOOD.dmraid })).toEqual(["package.json must have required property 'name'"]);
    // A later contract's manifest is left to the loader, which says the version is not supported.
    expect(manifestProblems({ ...GOOD, dmraid: { apiVersion: 2, formats: ['a', 'b'] } })).toEqual([]);
  });

  it('the generated validator agrees with ajv compiling the published manifest.schema.json', () => {
    const fresh = new Ajv2020({ strict: true, allErrors: true }).compile(manifestSchema);
    const value = fc.oneof(fc.constant(undefined), fc.string(), fc.integer({ min: -1, max: 3 }), fc.boolean(), fc.constantFrom('acme', 'x9_y', 'Bad', ''));
    // Mostly the documented manifest, each field now and then something else: valid and invalid ones alike.
    const field = (good: unknown) => fc.oneof({ arbitrary: fc.constant(good), weight: 4 }, { arbitrary: value, weight: 1 });
    const dmraid = fc.record({ apiVersion: field(1), format: field('acme'), template: fc.oneof(fc.constant(undefined), fc.boolean(), value), extra: field(undefined) });
    const manifest = fc.record({ name: field('dmraid-format-acme'), version: field('1.0.0'), dmraid: fc.oneof({ arbitrary: dmraid, weight: 4 }, { arbitrary: value, weight: 1 }) });
    const verdicts = { valid: 0, invalid: 0 };
    fc.assert(
      fc.property(manifest, (m) => {
        const clean = JSON.parse(JSON.stringify(m)) as unknown;
        const valid = fresh(clean);
        verdicts[valid ? 'valid' : 'invalid']++;
        expect(manifestProblems(clean).length === 0, JSON.stringify(clean)).toBe(valid);
      }),
      { numRuns: 2000 },
    );
    expect(verdicts.valid).toBeGreaterThan(100);
    expect(verdicts.invalid).toBeGreaterThan(100);
  });

  it('every handler package in this repository has a valid manifest', () => {
    const packages = fileURLToPath(new URL('../../', import.meta.url));
    const handlers = readdirSync(packages).filter((p) => p.startsWith('format-'));
    expect(handlers.length).toBeGreaterThanOrEqual(8);
    for (const p of handlers) {
      const json = JSON.parse(readFileSync(join(packages, p, 'package.json'), 'utf8')) as unknown;
      expect(manifestProblems(json), p).toEqual([]);
    }
  });

  it('the loader reports a package with a bad manifest or an unreadable package.json in one line naming it, and loads the rest', async () => {
    const root = await fs.mkdtemp(join(tmpdir(), 'dmraid-manifest-'));
    const start = join(root, 'node_modules', '@dmraid', 'cli', 'dist');
    await fs.mkdir(start, { recursive: true });
    const put = async (name: string, packageJson: string) => {
      const dir = join(root, 'node_modules', name);
      await fs.mkdir(dir, { recursive: true });
      await fs.writeFile(join(dir, 'package.json'), packageJson);
      await fs.writeFile(join(dir, 'index.js'), HANDLER);
    };
    const manifest = (name: string, dmraid: unknown) => JSON.stringify({ name, version: '1.2.3', type: 'module', exports: './index.js', dmraid });
    await put('dmraid-format-acme', manifest('dmraid-format-acme', { apiVersion: 1, format: 'acme' }));
    await put('dmraid-format-typo', manifest('dmraid-format-typo', { apiVersion: 1, fromat: 'acme' }));
    await put('@vendor/dmraid-format-stringy', manifest('@vendor/dmraid-format-stringy', { apiVersion: '1', format: 'acme' }));
    await put('dmraid-format-broken', '{ "name": "dmraid-format-broken", ');
    // A leftover folder without a package.json is no package; one without a dmraid field is no handler.
    await fs.mkdir(join(root, 'node_modules', 'dmraid-format-empty'));
    await put('dmraid-format-other', JSON.stringify({ name: 'dmraid-format-other', version: '1.0.0' }));
    const scan = await loadHandlers(start);
    expect(scan.handlers.map((h) => [h.handler.name, h.packageName, h.version])).toEqual([['acme', 'dmraid-format-acme', '1.2.3']]);
    expect(scan.problems).toEqual([
      '@vendor/dmraid-format-stringy: invalid handler manifest: dmraid.apiVersion must be integer',
      expect.stringMatching(/^dmraid-format-broken: cannot read package\.json: .*JSON/),
      'dmraid-format-typo: invalid handler manifest: dmraid must have required property \'format\'; dmraid must NOT have additional properties ("fromat")',
    ]);
    await fs.rm(root, { recursive: true, force: true });
  });
});

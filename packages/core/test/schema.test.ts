// The published JSON contract: schema.json and manifest.schema.json are the one source; the validators core
// runs are compiled from them at build time and must match a fresh compilation; the enums follow the model.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { jsonSchema, RAID6_LAYOUTS, RAID_STATUSES, RAID_TYPES, SCHEMA_ID, SCHEMA_VERSION } from '@dmraid/core';
import published from '@dmraid/core/schema.json' with { type: 'json' };
import manifestSchema from '@dmraid/core/manifest.schema.json' with { type: 'json' };
import { validatorSources, VALIDATORS } from '../schema-validators.js';

const core = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));
const pkg = JSON.parse(readFileSync(core('package.json'), 'utf8')) as { exports: Record<string, unknown>; files: string[] };
const enumOf = (s: unknown) => (s as { enum: string[] }).enum;

describe('the published JSON schema', () => {
  it('the generated validators are what ajv compiles from the schema files today (run `npm run build -w @dmraid/core` after editing one)', () => {
    const sources = validatorSources();
    expect([...sources.keys()].filter((p) => p.endsWith('.js'))).toEqual(VALIDATORS.map((v) => v.module));
    for (const [path, text] of sources) expect(readFileSync(core(path), 'utf8'), path).toBe(text);
  });

  it('the generated validator needs no ajv at run time (no import, no require)', () => {
    for (const v of VALIDATORS) {
      const text = readFileSync(core(v.module), 'utf8');
      expect(text).not.toMatch(/\bfrom\s*["']ajv|require\(\s*["']ajv|import\(\s*["']ajv/);
      expect(text).toMatch(new RegExp(`export const ${v.name} = `));
    }
    // It counts string lengths in UTF-16 units (unicode: false): right only while no bound is above 1.
    const bounds: [string, unknown][] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node && typeof node === 'object') {
        for (const [k, v] of Object.entries(node)) {
          if (k === 'minLength' || k === 'maxLength') bounds.push([k, v]);
          walk(v);
        }
      }
    };
    walk(manifestSchema);
    expect(bounds.length).toBeGreaterThan(0);
    for (const [k, v] of bounds) expect([k, v]).toEqual(['minLength', 1]);
  });

  it('core\'s jsonSchema is the file @dmraid/core/schema.json, a draft 2020-12 schema with its own address as $id', () => {
    expect(jsonSchema).toEqual(published);
    expect(JSON.parse(readFileSync(core('schema.json'), 'utf8'))).toEqual(published);
    for (const s of [published, manifestSchema]) {
      expect(s.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
      const ajv = new Ajv2020({ strict: true });
      expect(ajv.validateSchema(s), JSON.stringify(ajv.errors)).toBe(true);
      ajv.compile(s);
    }
    // The address jsDelivr serves the file at from the newest @dmraid/core of the major line.
    expect(SCHEMA_ID).toBe('https://cdn.jsdelivr.net/npm/@dmraid/core@1/schema.json');
    expect(manifestSchema.$id).toBe('https://cdn.jsdelivr.net/npm/@dmraid/core@1/manifest.schema.json');
    expect(published.properties.schemaVersion).toMatchObject({ const: SCHEMA_VERSION });
    expect(SCHEMA_VERSION).toBe(1);
    expect(published.required).toContain('schemaVersion');
    expect(published.$defs.monitorEvent.required).toContain('schemaVersion');
  });

  it('the package exports and packs both files', () => {
    expect(pkg.exports['./schema.json']).toBe('./schema.json');
    expect(pkg.exports['./manifest.schema.json']).toBe('./manifest.schema.json');
    const packed = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: core(''), encoding: 'utf8' })) as { files: { path: string }[] }[];
    const files = packed[0]!.files.map((f) => f.path);
    expect(files).toContain('schema.json');
    expect(files).toContain('manifest.schema.json');
  });

  it('its enums are the model\'s names: RAID types and statuses as displayed, raid6 layouts', () => {
    const d = published.$defs;
    for (const def of [d.raidDevice, d.raidSet]) {
      expect(enumOf(def.properties.type)).toEqual(expect.arrayContaining(Object.values(RAID_TYPES).map((t) => t.display)));
      expect([...enumOf(def.properties.status)].sort()).toEqual(Object.values(RAID_STATUSES).map((s) => s.display).sort());
    }
    expect(enumOf(d.raidSet.properties.raid6Layout)).toEqual([...RAID6_LAYOUTS]);
  });
});

// testkit's builder for what a handler's ./testbed lists: the members it keeps, their names and serials, and
// (against the committed testbed/ as independent truth) the exact dumps the recorder writes from every handler.
import { mkdtempSync, promises as fs, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { TestbedSetSpec } from '@dmraid/core/testbed';
import { buildTestbedSet, listTestbedSets, testbedDir, writeTestbedSet } from '../src/index.js';

const bytes = (...b: number[]) => new Uint8Array(b);
const one = (tag: number) => ({ sizeSectors: 100 + tag, offsetBytes: 512 * tag, data: bytes(tag) });

describe('buildTestbedSet', () => {
  const spec: TestbedSetSpec = { config: 'raid1-2-x', description: 'd', images: [one(1), one(2), one(3)], missing: [1], serials: { prefix: 'PF', stemLength: 4 } };

  it('keeps the images not missing, in the writer order, named sda, sdb, ...', () => {
    const set = buildTestbedSet(spec);
    expect(set.members.map((m) => [m.name, m.sizeSectors, m.areas])).toEqual([
      ['sda', 101, [{ offsetBytes: 512, data: bytes(1) }]],
      ['sdb', 103, [{ offsetBytes: 1536, data: bytes(3) }]],
    ]);
    expect([set.config, set.description, set.damaged]).toEqual(['raid1-2-x', 'd', false]);
  });

  it('makes serials from the prefix, the config stem and the kept index, or the writer index', () => {
    expect(buildTestbedSet(spec).members.map((m) => m.serial)).toEqual(['PFRAID0', 'PFRAID1']);
    expect(buildTestbedSet({ ...spec, serials: { prefix: 'PF', stemLength: 4, index: 'original' } }).members.map((m) => m.serial)).toEqual(['PFRAID0', 'PFRAID2']);
    expect(buildTestbedSet({ ...spec, serials: { prefix: 'T' } }).members.map((m) => m.serial)).toEqual(['TRAID12X0', 'TRAID12X1']);
  });

  it("takes an image's own serial over the rule, and refuses an image without either", () => {
    const own = { ...one(2), serial: 'DISK-B' };
    expect(buildTestbedSet({ ...spec, images: [one(1), own], missing: [] }).members.map((m) => m.serial)).toEqual(['PFRAID0', 'DISK-B']);
    expect(() => buildTestbedSet({ config: 'c', description: 'd', images: [one(1)] })).toThrow(/testbed set c: an image has no serial/);
  });

  it('dumps only offset and bytes of each area of a multi-area image, and carries the damaged flag', () => {
    const image = { sizeSectors: 9, areas: [{ offsetBytes: 0, data: bytes(7), copy: false }, { offsetBytes: 512, data: bytes(8), copy: true }] };
    const set = buildTestbedSet({ config: 'c', description: 'd', images: [image], serials: { prefix: 'P' }, damaged: true });
    expect(set.members[0]!.areas).toStrictEqual([
      { offsetBytes: 0, data: bytes(7) },
      { offsetBytes: 512, data: bytes(8) },
    ]);
    expect(set.damaged).toBe(true);
  });
});

const packagesDir = fileURLToPath(new URL('../../', import.meta.url));

/** Every file of a set folder but its recordings (expected/), by name. */
async function dumps(dir: string): Promise<Record<string, Buffer>> {
  const names = (await fs.readdir(dir)).filter((f) => f !== 'expected').sort();
  return Object.fromEntries(await Promise.all(names.map(async (f) => [f, await fs.readFile(join(dir, f))] as const)));
}

describe("the recorder's dumps of every handler's ./testbed equal the committed testbed/", async () => {
  for (const dir of readdirSync(packagesDir).filter((d) => d.startsWith('format-'))) {
    const manifest = JSON.parse(await fs.readFile(join(packagesDir, dir, 'package.json'), 'utf8')) as { name: string; exports: Record<string, unknown> };
    const testbed = (await import(`${manifest.name}/testbed`)) as { testbedSets?: () => TestbedSetSpec[] };
    if (!testbed.testbedSets) continue;
    const format = ((await import(manifest.name)) as { default: { name: string } }).default.name;
    const committed = new Map((await listTestbedSets(testbedDir, format)).map((s) => [s.config, s]));
    const specs = testbed.testbedSets();

    it(`${format}: every set of testbedSets() is committed under testbed/${format}/`, () => {
      expect(specs.map((s) => s.config).filter((c) => !committed.has(c))).toEqual([]);
    });

    for (const spec of specs.filter((s) => committed.has(s.config))) {
      it(`${format}/${spec.config}: set.json, sizes, offsets and metadata bytes are the committed ones`, async () => {
        const set = buildTestbedSet(spec);
        const out = join(mkdtempSync(join(tmpdir(), 'dmraid-testbed-set-')), spec.config);
        await writeTestbedSet(out, { description: set.description, members: set.members.map((m) => ({ name: m.name, serial: m.serial })) }, set.members);
        expect(await dumps(out)).toEqual(await dumps(committed.get(spec.config)!.dir));
        await fs.rm(out, { recursive: true, force: true });
      });
    }
  }
});

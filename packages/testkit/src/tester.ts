/**
 * formatTester.run(handler, cases): the tests every handler runs, ours and third-party ones — round-trip,
 * fuzz, truncation, the testbed's recorded reference outputs, and live comparison with the reference
 * dmraid on the testbed and on real member images.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { readContext, type FormatHandler } from '@dmraid/core';
import type { LoadedHandler } from '@dmraid/cli';
import { fixturesDir, reference, sharedFixtures, testbedDir, testIf } from './env.js';
import { diskFromSeed, fuzzHandler, type SeedDisk } from './fuzz.js';
import { runOurs, runReference } from './reference.js';
import { roundTrip } from './roundtrip.js';
import {
  buildTestbedImages,
  commandSlug,
  COMPARED_COMMANDS,
  listTestbedSets,
  parseExpected,
  readDeviation,
  readExpected,
  type TestbedSet,
} from './testbed.js';

export interface FixtureCase {
  /** File name in ../shared/fixtures/util-linux, e.g. hpt45x-raid.img.xz. */
  readonly file: string;
  readonly serial?: string;
  /**
   * Commands (by slug: `r`, `s_c_c_c`, ...) where the reference is wrong and we print something else on
   * purpose: the file (our output, in the expected-file format) that our output must equal instead.
   */
  readonly deviations?: Readonly<Record<string, string>>;
}

export interface FormatCases {
  /** Member disks of sets, for round-trip and fuzzing. */
  readonly seeds: readonly SeedDisk[][];
  /** Default 10,000. */
  readonly fuzzIterations?: number;
  readonly fixtures?: readonly FixtureCase[];
  /** Testbed folder of this format (default: the handler's name); false for none. */
  readonly testbed?: string | false;
  /** Handlers the CLI runs with (default: the installed ones). */
  readonly handlers?: readonly LoadedHandler[];
  /** Commands compared (default COMPARED_COMMANDS). */
  readonly commands?: readonly (readonly string[])[];
}

/** A fresh folder `dmraid-LABEL-...`, removed when the test that made it ends, pass or fail (call it in a test). */
export function testDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `dmraid-${label}-`));
  onTestFinished(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Decompress a shared fixture into a fresh temporary folder (removed when the test ends); returns the folder and image name. */
export function fixtureImage(file: string): { dir: string; image: string } {
  const dir = testDir('fixture');
  const image = file.replace(/\.xz$/, '');
  execFileSync('sh', ['-c', `xz -dc "$1" > "$2"`, 'sh', join(fixturesDir, file), join(dir, image)]);
  return { dir, image };
}

/**
 * One digest of the names and bytes of the files in `dir`, streamed (images may be larger than a Buffer can
 * hold): a test's "nothing was written". `recursive` takes in the files of its subfolders too; without it a
 * folder is left out (a dump run's dmraid.<format>/ is new output, not a change to the images).
 */
export async function hashFiles(dir: string, options: { readonly recursive?: boolean } = {}): Promise<string> {
  const h = createHash('sha256');
  const walk = async (sub: string) => {
    for (const e of (await fs.readdir(join(dir, sub), { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const name = join(sub, e.name);
      if (e.isDirectory() && options.recursive) await walk(name);
      if (!e.isFile()) continue;
      h.update(`${name}\0`);
      for await (const chunk of createReadStream(join(dir, name), { highWaterMark: 4 << 20 })) h.update(chunk as Buffer);
    }
  };
  await walk('');
  return h.digest('hex');
}

const label = (args: readonly string[]) => `dmraid ${args.join(' ')}`;

export const formatTester = {
  run(handler: FormatHandler, cases: FormatCases): void {
    const commands = cases.commands ?? COMPARED_COMMANDS;
    const testbedName = cases.testbed === false ? undefined : (cases.testbed ?? handler.name);

    describe(`${handler.name}: metadata`, () => {
      it('writes back what it reads byte-identically, and write → read → write is stable', async () => {
        const checked = await roundTrip(handler, cases.seeds.flat());
        expect(checked).toBe(cases.seeds.flat().length);
      });

      it(`survives ${cases.fuzzIterations ?? 10_000} fuzzed metadata images without an exception or hang`, async () => {
        const report = await fuzzHandler(handler, cases.seeds, cases.fuzzIterations ?? 10_000);
        // The mutations must not all be rejected trivially: some mutated sets are still recognised.
        expect(report.recognised).toBeGreaterThan(0);
      }, 600_000);

      it('reads disks cut short at any size without an exception', async () => {
        for (const seed of cases.seeds.flat()) {
          for (const size of [8, 9, 10, 11, 12, 13, 16, 64, 257, 1024, 2115, seed.sizeSectors - 1]) {
            if (size < 8 || size > seed.sizeSectors) continue;
            const dev = await diskFromSeed('/dev/short', { ...seed, sizeSectors: size });
            const found = await handler.read(dev, readContext(handler.name, () => undefined));
            expect(Array.isArray(found)).toBe(true);
          }
        }
      });
    });

    if (testbedName) {
      describe(`${handler.name}: testbed outputs equal the reference's recordings`, async () => {
        const sets = await listTestbedSets(testbedDir, testbedName);
        it('has testbed sets', () => expect(sets.length).toBeGreaterThan(0));
        for (const set of sets) {
          for (const args of commands) {
            it(`${set.config}: ${label(args)}`, async () => {
              const recorded = await readExpected(set, args);
              expect(recorded, `no recording for ${set.config} ${label(args)}`).toBeDefined();
              const expected = (await readDeviation(set, args)) ?? recorded;
              const dir = testDir(set.config);
              const images = await buildTestbedImages(set, dir);
              const ours = await runOurs(images, args, { cwd: dir, handlers: cases.handlers });
              expect(ours).toEqual(expected);
              await fs.rm(dir, { recursive: true, force: true });
            });
          }
        }
      });

      const ref = reference();
      describe(`${handler.name}: live comparison with the reference dmraid`, async () => {
        const sets: TestbedSet[] = await listTestbedSets(testbedDir, testbedName);
        const itRef = testIf(it, ref);
        for (const set of sets) {
          itRef(`${set.config}: every compared command prints what the reference prints, and nothing is written`, async () => {
            const dir = testDir(set.config);
            const images = await buildTestbedImages(set, dir);
            const before = await hashFiles(dir);
            for (const args of commands) {
              const theirs = await runReference(images, args, { cwd: dir });
              const ours = await runOurs(images, args, { cwd: dir, handlers: cases.handlers });
              const deviation = await readDeviation(set, args);
              if (deviation) {
                // The difference is real: the reference still prints its recording, and we print ours.
                expect(theirs, `${label(args)} (reference)`).toEqual(await readExpected(set, args));
                expect(ours, `${label(args)} (deviation)`).toEqual(deviation);
              } else expect(ours, label(args)).toEqual(theirs);
            }
            expect(await hashFiles(dir)).toBe(before);
            await fs.rm(dir, { recursive: true, force: true });
          }, 300_000);
        }
      });
    }

    if (cases.fixtures?.length) {
      const req = reference().available ? sharedFixtures() : reference();
      const itFix = testIf(it, req);
      describe(`${handler.name}: real member images (util-linux) against the reference`, () => {
        for (const fx of cases.fixtures!) {
          itFix(`${fx.file}: ${commands.map((c) => c.join(' ')).join(', ')} print what the reference prints`, async () => {
            const { dir, image } = fixtureImage(fx.file);
            const spec = fx.serial ? `${image}:${fx.serial}` : `${image}:FIXTURE1`;
            for (const args of commands) {
              const theirs = await runReference([spec], args, { cwd: dir });
              const ours = await runOurs([spec], args, { cwd: dir, handlers: cases.handlers });
              const deviation = fx.deviations?.[commandSlug(args)];
              if (deviation) {
                const want = parseExpected(await fs.readFile(deviation, 'latin1')).result;
                expect(ours, `${label(args)} (deviation)`).toEqual(want);
                expect(ours, `${label(args)} differs from the reference on purpose`).not.toEqual(theirs);
              } else expect(ours, label(args)).toEqual(theirs);
            }
            await fs.rm(dir, { recursive: true, force: true });
          }, 300_000);
        }
      });
    }
  },
};

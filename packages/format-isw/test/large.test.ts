// Sets of 2 TiB and more (test/large/isw/*, from largeTestbedSets()): the recorded outputs, our deliberate
// deviations (sizes from the *_hi words), and a live comparison with the reference. The shared testbed test
// hashes whole images to prove nothing is written, which cannot read terabyte files; here the metadata areas
// (where anything would be written) are compared instead.
import { createHash } from 'node:crypto';
import { mkdtempSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  buildTestbedImages,
  COMPARED_COMMANDS,
  listTestbedSets,
  readDeviation,
  readExpected,
  reference,
  runOurs,
  runReference,
  testIf,
  type TestbedSet,
} from '@dmraid/testkit';
import { largeTestbedSets } from '../src/testbed.js';

const root = join(dirname(fileURLToPath(import.meta.url)), 'large');
const sets = await listTestbedSets(root, 'isw');
const itRef = testIf(it, reference());
const label = (args: readonly string[]) => `dmraid ${args.join(' ')}`;

/** Hash of the last MiB of every image (the MPB and everything a write could touch) and the sizes. */
async function tails(dir: string, images: readonly string[]): Promise<string> {
  const h = createHash('sha256');
  for (const spec of images) {
    const path = join(dir, spec.split(':')[0]!);
    const { size } = await fs.stat(path);
    const fd = await fs.open(path, 'r');
    const buf = Buffer.alloc(Math.min(size, 1 << 20));
    await fd.read(buf, 0, buf.length, size - buf.length);
    await fd.close();
    h.update(`${spec}:${size}`).update(buf);
  }
  return h.digest('hex');
}

async function built(set: TestbedSet) {
  const dir = mkdtempSync(join(tmpdir(), `isw-large-${set.config}-`));
  return { dir, images: await buildTestbedImages(set, dir) };
}

describe('isw: members and volumes of 2 TiB and more', () => {
  it('has every large set of largeTestbedSets() recorded', () => {
    expect(sets.map((s) => s.config).sort()).toEqual(largeTestbedSets().map((s) => s.config).sort());
  });

  for (const set of sets) {
    it(`${set.config}: our outputs equal the recordings (our deviations where recorded)`, async () => {
      const { dir, images } = await built(set);
      for (const args of COMPARED_COMMANDS) {
        const expected = (await readDeviation(set, args)) ?? (await readExpected(set, args));
        expect(expected, `no recording for ${label(args)}`).toBeDefined();
        expect(await runOurs(images, args, { cwd: dir }), label(args)).toEqual(expected);
      }
      await fs.rm(dir, { recursive: true, force: true });
    }, 60_000);

    itRef(`${set.config}: live, the reference prints its recording, we print ours, nothing is written`, async () => {
      const { dir, images } = await built(set);
      const before = await tails(dir, images);
      for (const args of COMPARED_COMMANDS) {
        const theirs = await runReference(images, args, { cwd: dir });
        const ours = await runOurs(images, args, { cwd: dir });
        const deviation = await readDeviation(set, args);
        if (deviation) {
          expect(theirs, `${label(args)} (reference)`).toEqual(await readExpected(set, args));
          expect(ours, `${label(args)} (deviation)`).toEqual(deviation);
        } else expect(ours, label(args)).toEqual(theirs);
      }
      expect(await tails(dir, images)).toBe(before);
      await fs.rm(dir, { recursive: true, force: true });
    }, 300_000);
  }

  it('the 3 TiB sets really deviate only in sizes: -r and -n are the reference\'s', async () => {
    for (const set of sets.filter((s) => s.config.endsWith('-3tib') && !s.config.includes('volume'))) {
      for (const args of [['-r'], ['-n'], ['-r', '-c', '-c', '-c']]) expect(await readDeviation(set, args), `${set.config} ${label(args)}`).toBeUndefined();
      expect(await readDeviation(set, ['-s'])).toBeDefined();
    }
  });
});

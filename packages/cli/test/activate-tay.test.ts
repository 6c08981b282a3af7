/**
 * `dmraid -tay` on every testbed set equals the reference's recording (expected/tay.txt), or our own
 * recording (expected/tay.ours.txt) where the reference is wrong on purpose (docs/activation.md).
 */
import { mkdtempSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { buildTestbedImages, fixturesDir, listTestbedSets, parseExpected, reference, runOurs, runReference, sharedFixtures, testbedDir, testIf } from '@dmraid/testkit';

const sets = (await listTestbedSets(testbedDir)).filter((s) => s.members.length > 0);
const work = mkdtempSync(join(tmpdir(), 'dmraid-tay-'));
afterAll(() => fs.rm(work, { recursive: true, force: true }));

async function expected(dir: string) {
  for (const f of ['tay.ours.txt', 'tay.txt']) {
    const text = await fs.readFile(join(dir, 'expected', f), 'latin1').catch(() => undefined);
    if (text !== undefined) return { file: f, result: parseExpected(text).result };
  }
  return undefined;
}

describe('dmraid -tay equals the reference on every testbed set', () => {
  for (const set of sets) {
    it(`${set.format}/${set.config}`, async () => {
      const want = await expected(set.dir);
      if (!want) return; // not recorded yet (tools/testbed/record-tay.mjs)
      const dir = join(work, `${set.format}-${set.config}`);
      const images = await buildTestbedImages(set, dir);
      const ours = await runOurs(images, ['-tay'], { cwd: dir });
      expect({ stdout: ours.stdout, stderr: ours.stderr, status: ours.status }, want.file).toEqual(want.result);
    });
  }
});

describe('dmraid -tay equals the reference on the shared real member images', () => {
  const need = sharedFixtures().available ? reference() : sharedFixtures();
  const refIt = testIf(it, need);
  const images: Record<string, string | undefined> = {
    'hpt37x-raid.img.xz': undefined,
    'hpt45x-raid.img.xz': undefined,
    'nvidia-raid.img.xz': undefined,
    'promise-raid.img.xz': undefined,
    'via-raid.img.xz': undefined,
    'isw-raid.img.xz': 'Y25VXYQE',
  };
  for (const [file, serial] of Object.entries(images)) {
    refIt(file, async () => {
      const dir = join(work, 'fixtures', file);
      await fs.mkdir(dir, { recursive: true });
      const img = join(dir, file.replace(/\.xz$/, ''));
      await fs.writeFile(img, execFileSync('xz', ['-dc', join(fixturesDir, file)], { maxBuffer: 1 << 30 }));
      const spec = serial ? `${img}:${serial}` : img;
      const ref = await runReference([spec], ['-tay'], { cwd: dir });
      // Only images the reference accepts: where it finds no RAID disk, -r's own comparison covers the image.
      if (ref.stdout.startsWith('no raid disks')) return;
      const ours = await runOurs([spec], ['-tay'], { cwd: dir });
      expect(ours).toEqual(ref);
    }, 60_000);
  }
});

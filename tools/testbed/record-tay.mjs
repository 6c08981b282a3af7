#!/usr/bin/env node
// Records the reference dmraid's `-tay` output as testbed/<format>/<config>/expected/tay.txt for every
// testbed set (or the FORMAT[/CONFIG] arguments). Needs root and ../shared/tools/dmraid-ref.
//   node tools/testbed/record-tay.mjs [FORMAT[/CONFIG]...]
// (`-tay` is not among the testbed's COMPARED_COMMANDS: `npm run testbed -- record` leaves it alone.)
import { mkdtempSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTestbedImages, listTestbedSets, runReference, testbedDir, writeExpected } from '@dmraid/testkit';

const ARGS = ['-tay'];
const wanted = process.argv.slice(2);

for (const set of await listTestbedSets(testbedDir)) {
  if (wanted.length && !wanted.some((w) => w === set.format || w === `${set.format}/${set.config}`)) continue;
  const dir = mkdtempSync(join(tmpdir(), 'dmraid-tay-'));
  try {
    const images = await buildTestbedImages(set, dir).catch((e) => console.error(`skipping ${set.format}/${set.config}: ${e.message}`));
    if (!images) continue;
    await writeExpected(set, ARGS, await runReference(images, ARGS, { cwd: dir }));
    console.log(`recorded ${set.format}/${set.config}`);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

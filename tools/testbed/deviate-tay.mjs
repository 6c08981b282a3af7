#!/usr/bin/env node
// Records OUR `-tay` output as expected/tay.ours.txt for the named FORMAT/CONFIG sets whose output differs
// from the reference's recording (deliberate deviations, listed in docs/activation.md).
//   node tools/testbed/deviate-tay.mjs FORMAT/CONFIG...
import { mkdtempSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTestbedImages, listTestbedSets, readExpected, runOurs, testbedDir, writeDeviation } from '@dmraid/testkit';

for (const which of process.argv.slice(2)) {
  const [format, config] = which.split('/');
  const set = (await listTestbedSets(testbedDir, format)).find((s) => s.config === config);
  if (!set) throw new Error(`no testbed set ${which}`);
  const dir = mkdtempSync(join(tmpdir(), 'dmraid-tay-dev-'));
  const ours = await runOurs(await buildTestbedImages(set, dir), ['-tay'], { cwd: dir });
  const ref = await readExpected(set, ['-tay']);
  if (!ref || ours.stdout !== ref.stdout || ours.stderr !== ref.stderr || ours.status !== ref.status) {
    await writeDeviation(set, ['-tay'], ours);
    console.log(`deviation ${which}`);
  }
  await fs.rm(dir, { recursive: true, force: true });
}

#!/usr/bin/env node
// `npm run demo`: build the member images of the bundled hpt45x sample set (testbed/hpt45x/raid10-4) in a
// temporary folder and show what dmraid discovers on them (-r and -s), as a newcomer would run it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '@dmraid/cli';
import { buildTestbedImages, listTestbedSets, testbedDir } from '@dmraid/testkit';

const sample = 'raid10-4';
const set = (await listTestbedSets(testbedDir, 'hpt45x')).find((s) => s.config === sample);
if (!set) {
  console.error(`demo: the sample set testbed/hpt45x/${sample} is missing`);
  process.exit(1);
}
const dir = mkdtempSync(join(tmpdir(), 'dmraid-demo-'));
try {
  const images = await buildTestbedImages(set, dir);
  console.log(`Sample set: ${set.description}`);
  console.log(`Member images (sparse) in ${dir}: ${images.map((i) => i.split(':')[0]).join(' ')}\n`);
  const io = {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    readLine: async () => null,
    cwd: dir,
  };
  const devices = images.flatMap((i) => ['--devices', i]);
  let status = 0;
  for (const args of [['-r'], ['-s']]) {
    console.log(`$ dmraid ${devices.join(' ')} ${args.join(' ')}`);
    status ||= await run([...devices, ...args], io);
    console.log('');
  }
  process.exitCode = status;
} finally {
  rmSync(dir, { recursive: true, force: true });
}

#!/usr/bin/env node
// Records the reference dmraid's outputs (COMPARED_COMMANDS) for testbed/ddf1/mdadm-*/ only (`npm run testbed --
// record ddf1` would re-record every ddf1 set).   node tools/testbed/ddf1-record-mdadm.mjs [CONFIG...]
import { mkdtempSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTestbedImages, COMPARED_COMMANDS, listTestbedSets, runReference, testbedDir, writeExpected } from '@dmraid/testkit';
const only = process.argv.slice(2);
const sets = (await listTestbedSets(testbedDir, 'ddf1')).filter(
  (s) => s.config.startsWith('mdadm-') && (!only.length || only.includes(s.config))
);
for (const set of sets) {
  const dir = mkdtempSync(join(tmpdir(), 'dmraid-record-'));
  const images = await buildTestbedImages(set, dir);
  for (const args of COMPARED_COMMANDS) await writeExpected(set, args, await runReference(images, args, { cwd: dir }));
  await fs.rm(dir, { recursive: true, force: true });
  console.log(`recorded ${set.format}/${set.config}`);
}

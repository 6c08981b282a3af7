#!/usr/bin/env node
// The package's own testbed recorder (the repository's tools/testbed only knows packages/format-*):
//   npm run build && node tools/testbed.mjs generate   member dumps from testbedSets() into testbed/jmicron/
//   node tools/testbed.mjs record                      the reference dmraid's outputs (root, dmraid installed)
import { mkdtempSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTestbedImages, buildTestbedSet, COMPARED_COMMANDS, listTestbedSets, runReference, writeExpected, writeTestbedSet } from '@dmraid/testkit';
import { testbedSets } from '../dist/testbed.js';

const root = new URL('../testbed/', import.meta.url).pathname;
const command = process.argv[2];

if (command === 'generate') {
  for (const set of testbedSets().map(buildTestbedSet)) {
    await writeTestbedSet(join(root, 'jmicron', set.config), { description: set.description, members: set.members.map((m) => ({ name: m.name, serial: m.serial })) }, set.members);
    console.log(`generated jmicron/${set.config}`);
  }
} else if (command === 'record') {
  for (const set of await listTestbedSets(root, 'jmicron')) {
    const dir = mkdtempSync(join(tmpdir(), 'dmraid-record-'));
    const images = await buildTestbedImages(set, dir);
    for (const args of COMPARED_COMMANDS) await writeExpected(set, args, await runReference(images, args, { cwd: dir }));
    await fs.rm(dir, { recursive: true, force: true });
    console.log(`recorded jmicron/${set.config}`);
  }
} else {
  console.error('usage: node tools/testbed.mjs generate|record');
  process.exit(2);
}

#!/usr/bin/env node
// Testbed maintenance (needs `npm run build` first):
//   npm run testbed -- generate [FORMAT...]   write member dumps from testbedSets() in each handler's ./testbed
//   npm run testbed -- record [FORMAT...]     record expected outputs from the reference dmraid (root, dmraid)
//   npm run testbed -- build FORMAT/CONFIG DIR   build the member images of one set into DIR
//   npm run testbed -- deviate FORMAT/CONFIG...  record OUR output as expected/<cmd>.ours.txt wherever it
//                                                differs from the reference's recording (a deliberate fix;
//                                                list it in docs/deviations.md)
import { mkdtempSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildTestbedImages,
  buildTestbedSet,
  COMPARED_COMMANDS,
  listTestbedSets,
  readExpected,
  runOurs,
  runReference,
  testbedDir,
  writeDeviation,
  writeExpected,
  writeTestbedSet,
} from '@dmraid/testkit';

const [command, ...rest] = process.argv.slice(2);

/** Handler packages whose `./testbed` export lists testbed sets (`testbedSets()`), with their sets built. */
async function handlerPackages(wanted) {
  const packages = new URL('../../packages/', import.meta.url);
  const names = (await fs.readdir(packages)).filter((n) => n.startsWith('format-'));
  const out = [];
  for (const dir of names) {
    const manifest = JSON.parse(await fs.readFile(new URL(`${dir}/package.json`, packages), 'utf8'));
    if (!manifest.exports?.['./testbed']) continue;
    let handler;
    let testbed;
    try {
      handler = (await import(manifest.name)).default;
      testbed = await import(`${manifest.name}/testbed`);
    } catch (e) {
      console.error(`skipping ${manifest.name}: ${e.message.split('\n')[0]} (build it: cd packages/${dir} && npx tsup)`);
      continue;
    }
    if (typeof testbed.testbedSets !== 'function') continue;
    if (wanted.length && !wanted.includes(handler.name)) continue;
    out.push({ name: handler.name, sets: testbed.testbedSets().map(buildTestbedSet) });
  }
  return out;
}

if (command === 'generate') {
  for (const { name, sets } of await handlerPackages(rest)) {
    for (const set of sets) {
      await writeTestbedSet(join(testbedDir, name, set.config), { description: set.description, members: set.members.map((m) => ({ name: m.name, serial: m.serial })) }, set.members);
      console.log(`generated ${name}/${set.config}`);
    }
  }
} else if (command === 'record') {
  const sets = (await listTestbedSets(testbedDir)).filter((s) => !rest.length || rest.includes(s.format));
  for (const set of sets) {
    const dir = mkdtempSync(join(tmpdir(), 'dmraid-record-'));
    const images = await buildTestbedImages(set, dir);
    for (const args of COMPARED_COMMANDS) {
      await writeExpected(set, args, await runReference(images, args, { cwd: dir }));
    }
    await fs.rm(dir, { recursive: true, force: true });
    console.log(`recorded ${set.format}/${set.config}`);
  }
} else if (command === 'deviate') {
  for (const which of rest) {
    const [format, config] = which.split('/');
    const set = (await listTestbedSets(testbedDir, format)).find((s) => s.config === config);
    if (!set) throw new Error(`no testbed set ${which}`);
    const dir = mkdtempSync(join(tmpdir(), 'dmraid-deviate-'));
    const images = await buildTestbedImages(set, dir);
    for (const args of COMPARED_COMMANDS) {
      const ours = await runOurs(images, args, { cwd: dir });
      const recorded = await readExpected(set, args);
      if (!recorded || ours.stdout !== recorded.stdout || ours.stderr !== recorded.stderr || ours.status !== recorded.status) {
        await writeDeviation(set, args, ours);
        console.log(`deviation ${which}: dmraid ${args.join(' ')}`);
      }
    }
    await fs.rm(dir, { recursive: true, force: true });
  }
} else if (command === 'build') {
  const [which, out] = rest;
  const [format, config] = which.split('/');
  const set = (await listTestbedSets(testbedDir, format)).find((s) => s.config === config);
  if (!set) {
    console.error(`no testbed set ${which}`);
    process.exit(1);
  }
  console.log((await buildTestbedImages(set, out)).join(' '));
} else {
  console.error('usage: testbed generate|record [FORMAT...] | build FORMAT/CONFIG DIR');
  process.exit(2);
}

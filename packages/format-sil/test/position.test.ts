/**
 * RaidDevice.position for sil: disk_number (0x116) of RAID0, RAID1 and RAID5 members. With it a RAID5 set one
 * member short maps with `- -` in that member's place. The truth it is checked against is the reference's
 * own: disk_number as its recorded `-n` prints it, and the member order of its `-s -c -c -c` and tables.
 */
import { mkdtempSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RaidDevice, RaidSet } from '@dmraid/core';
import { buildTestbedImages, listTestbedSets, raidTargetLine, readImages, readDeviation, readExpected, reference, runOurs, runReference, setsOfImages, testbedDir, testIf, type TestbedSet } from '@dmraid/testkit';
import sil from '../src/index.js';

const TAY = ['-tay'];
const SETS = ['-s', '-c', '-c', '-c'];
const work = mkdtempSync(join(tmpdir(), 'sil-position-'));
afterAll(() => fs.rm(work, { recursive: true, force: true }));

/** The member devices of a `striped`/`mirror` table line, in table order. */
const tableDevices = (stdout: string) => [...stdout.matchAll(/(\S+\.img) \d+/g)].map((m) => m[1]!);

/** The members of the first set in `-s -c -c -c` output, in the order listed. */
const listedMembers = (stdout: string) => stdout.split('\n').slice(1).filter(Boolean).map((l) => l.split(':')[0]!);

/** disk_number of each disk as the reference's recorded `-n` prints it. */
async function referenceDiskNumbers(set: TestbedSet): Promise<Map<string, number>> {
  const n = await readExpected(set, ['-n']);
  const out = new Map<string, number>();
  let disk: string | undefined;
  for (const line of n!.stdout.split('\n')) {
    const head = /^(\S+) \(sil\):$/.exec(line);
    if (head) disk = head[1];
    const number = /^0x116 disk_number: (\d+)$/.exec(line);
    if (number && disk) out.set(disk, Number(number[1]));
  }
  return out;
}

/** Our model of the images: the one leaf set and each member's image name. */
async function leafOf(dir: string, specs: readonly string[]): Promise<{ leaf: RaidSet; image: (rd: RaidDevice) => string }> {
  const { sets, image } = await setsOfImages(sil, dir, specs);
  expect(sets).toHaveLength(1);
  return { leaf: sets[0]!, image };
}

const byPosition = (leaf: RaidSet, image: (rd: RaidDevice) => string) => [...leaf.devs].sort((a, b) => a.position! - b.position!).map(image);

const testbed = await listTestbedSets(testbedDir, 'sil');
const named = (config: string) => testbed.find((s) => s.config === config)!;

describe('sil position: disk_number', () => {
  for (const config of ['raid0-2', 'raid0-3', 'raid1-2', 'raid5-3']) {
    const set = named(config);
    const dir = join(work, config);
    const images = buildTestbedImages(set, dir);

    it(`${config}: is the disk_number the reference reads, and orders members as the reference lists them`, async () => {
      const { leaf, image } = await leafOf(dir, await images);
      const numbers = await referenceDiskNumbers(set);
      for (const rd of leaf.devs) expect(rd.position).toBe(numbers.get(image(rd)));
      expect(byPosition(leaf, image)).toEqual(listedMembers((await readExpected(set, SETS))!.stdout));
      // Where the reference maps the set (RAID0, RAID1), its table has the members in that order too.
      const table = (await readExpected(set, TAY))!.stdout;
      if (!table.includes('(null)')) expect(byPosition(leaf, image)).toEqual(tableDevices(table));
    });

    testIf(it, reference())(`${config}: the reference lists members by disk_number whatever order the disks are given in`, async () => {
      const specs = [...(await images)].reverse();
      const { leaf, image } = await leafOf(dir, specs);
      const theirs = await runReference(specs, SETS, { cwd: dir });
      expect(listedMembers(theirs.stdout)).toEqual(byPosition(leaf, image));
      expect(listedMembers((await runOurs(specs, SETS, { cwd: dir })).stdout)).toEqual(byPosition(leaf, image));
    });
  }

  it('is not set for RAID10 (disk_number counts across both stripe sets), JBOD or spares', async () => {
    for (const config of ['raid10-4', 'jbod-2', 'raid1-2-spare']) {
      const set = named(config);
      const dir = join(work, config);
      const { rds } = await readImages(sil, dir, await buildTestbedImages(set, dir));
      const expected = config === 'raid1-2-spare' ? [0, 1, undefined] : rds.map(() => undefined);
      expect(rds.map((rd) => rd.position), config).toEqual(expected);
    }
  });
});

describe('sil position: a RAID5 one member short', () => {
  const set = named('raid5-3');
  const dir = join(work, 'raid5-3-drop');
  const images = buildTestbedImages(set, dir);
  // The reference maps no sil RAID5 (it expects 0 members): our recording of the healthy set is the truth.
  const healthy = readDeviation(set, TAY).then((r) => raidTargetLine(r!.stdout)!);

  it('keeps the healthy table as recorded, whatever order the disks are given in', async () => {
    const specs = await images;
    const want = (await readDeviation(set, TAY))!;
    expect(await runOurs(specs, TAY, { cwd: dir })).toEqual(want);
    expect(await runOurs([...specs].reverse(), TAY, { cwd: dir })).toEqual(want);
    expect((await healthy).members).toEqual(listedMembers((await readExpected(set, SETS))!.stdout));
  });

  for (const [k, missing] of ['sda.img', 'sdb.img', 'sdc.img'].entries()) {
    it(`without ${missing}: \`- -\` at position ${k}, the others in their places`, async () => {
      const table = await healthy;
      const specs = (await images).filter((s) => !s.startsWith(`${missing}:`));
      const ours = await runOurs(specs, TAY, { cwd: dir });
      expect(ours.status).toBe(0);
      const got = raidTargetLine(ours.stdout);
      expect(got, ours.stderr).toBeDefined();
      expect(got!.members).toEqual(table.members.map((m) => (m === missing ? '-' : m)));
      expect([...got!.head.slice(0, 6), got!.head[9]]).toEqual([...table.head.slice(0, 6), table.head[9]]);
      expect(got!.head[6]).toBe('sync');
      expect(ours.stderr.split('\n').filter(Boolean)).toEqual(
        specs.map((s) => `ERROR: sil: wrong # of devices in RAID set "${table.name}" [2/3] on ${s.split(':')[0]}`),
      );
    });

    testIf(it, reference())(`without ${missing}: the reference maps nothing (wrong), listing the others in the same order`, async () => {
      const table = await healthy;
      const specs = (await images).filter((s) => !s.startsWith(`${missing}:`));
      const theirs = await runReference(specs, TAY, { cwd: dir });
      // dmraid expects 0 members of a sil RAID5 (docs/formats/sil.md), so it maps none, degraded or not.
      expect(theirs.stdout).toBe(`${table.name}: (null)\n`);
      const on = (r: { stderr: string }) => [...r.stderr.matchAll(/wrong # of devices .* on (\S+)$/gm)].map((m) => m[1]);
      expect(on(theirs)).toEqual(table.members.filter((m) => m !== missing));
      expect(on(await runOurs(specs, TAY, { cwd: dir }))).toEqual(on(theirs));
    });
  }

  it('maps the recorded degraded set with `- -` at the disk_number no present disk has', async () => {
    const degraded = named('raid5-3-degraded');
    const ddir = join(work, degraded.config);
    const specs = await buildTestbedImages(degraded, ddir);
    const numbers = await referenceDiskNumbers(degraded);
    const want = Array.from({ length: 3 }, (_, k) => [...numbers].find(([, n]) => n === k)?.[0] ?? '-');
    expect(want).toEqual(['sda.img', 'sdb.img', '-']);
    const ours = await runOurs(specs, TAY, { cwd: ddir });
    expect(raidTargetLine(ours.stdout)?.members, ours.stderr).toEqual(want);
    expect(ours.stderr).not.toMatch(/cannot tell the positions|no mapping possible/);
  });
});

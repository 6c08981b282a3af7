/**
 * RaidDevice.position for ddf1: a member's entry in its VD configuration record (phys_refs order). With it a
 * RAID4/5 set one member short maps with `- -` in that member's place. The truth it is checked against is the
 * reference's own: the member order of its recorded `-tay` tables and the drive map its recorded `-n` prints.
 */
import { mkdtempSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RaidDevice, RaidSet } from '@dmraid/core';
import { buildTestbedImages, listTestbedSets, raidTargetLine, readDeviation, readExpected, reference, runOurs, runReference, setsOfImages, testbedDir, testIf, type TestbedSet } from '@dmraid/testkit';
import ddf1, { buildDdf1Container, type Ddf1ContainerSpec } from '../src/index.js';

const TAY = ['-tay'];
const work = mkdtempSync(join(tmpdir(), 'ddf1-position-'));
afterAll(() => fs.rm(work, { recursive: true, force: true }));

/** Per disk (image name), the reference's `-n`: the disk's own PD reference and each drive map it prints. */
async function referenceDriveMaps(set: TestbedSet): Promise<Map<string, { ref: string; maps: string[][] }>> {
  const n = await readExpected(set, ['-n']);
  const out = new Map<string, { ref: string; maps: string[][] }>();
  let disk: { ref: string; maps: string[][] } | undefined;
  let map: string[] | undefined;
  for (const line of n!.stdout.split('\n')) {
    const head = /^(\S+) \(ddf1\):$/.exec(line);
    if (head) out.set(head[1]!, (disk = { ref: '', maps: [] }));
    const own = /^0x020 reference:\s+0x([0-9A-F]+)$/.exec(line);
    if (own && disk) disk.ref = own[1]!;
    if (line === 'Drive map:' && disk) disk.maps.push((map = []));
    const entry = /^(\d+): ([0-9A-F]+) @ \d+$/.exec(line);
    if (entry && map) {
      expect(Number(entry[1])).toBe(map.length);
      map.push(entry[2]!);
    }
  }
  return out;
}

/** Our model of the images: the RAID4/5 leaf set and each member's image name. */
async function leafOf(dir: string, specs: readonly string[]): Promise<{ leaf: RaidSet; image: (rd: RaidDevice) => string }> {
  const { sets, image } = await setsOfImages(ddf1, dir, specs);
  const leaves = sets.flatMap((s) => s.sets).filter((s) => /^raid[45]/.test(s.type));
  expect(leaves).toHaveLength(1);
  return { leaf: leaves[0]!, image };
}

const byPosition = (leaf: RaidSet, image: (rd: RaidDevice) => string) =>
  [...leaf.devs].sort((a, b) => a.position! - b.position!).map(image);

// Every ddf1 set the reference maps as one healthy RAID4/5: the member order of its table is its own truth.
const sets: { set: TestbedSet; table: NonNullable<ReturnType<typeof raidTargetLine>> }[] = [];
for (const set of await listTestbedSets(testbedDir, 'ddf1')) {
  const ref = await readExpected(set, TAY);
  const r = await readExpected(set, ['-r']);
  const table = ref && raidTargetLine(ref.stdout);
  if (table && !/broken/.test(r?.stdout ?? '')) sets.push({ set, table });
}

describe('ddf1 position: the member entry of the VD config record', () => {
  it('covers the RAID4/5 testbed sets, one with a record order that is not the disk order', () => {
    expect(sets.map((s) => s.set.config)).toEqual(['adaptec-le', 'mdadm-raid5-3', 'raid4-3-le', 'raid5-3-la', 'raid5-3-ls', 'raid5-3-rs']);
    expect(sets.find((s) => s.set.config === 'mdadm-raid5-3')!.table.members).toEqual(['sdb.img', 'sda.img', 'sdc.img']);
  });

  for (const { set, table } of sets) {
    describe(set.config, () => {
      const dir = join(work, set.config);
      const images = buildTestbedImages(set, dir);

      it("orders the members as the reference's table and the drive map of the reference's -n do", async () => {
        const specs = await images;
        const { leaf, image } = await leafOf(dir, specs);
        expect(leaf.devs.map((rd) => rd.position).sort()).toEqual(table.members.map((_, k) => k));
        expect(byPosition(leaf, image)).toEqual(table.members);
        // The reference's own decoding: each disk's PD reference at its index in the record's drive map.
        const maps = await referenceDriveMaps(set);
        for (const rd of leaf.devs) {
          const disk = maps.get(image(rd))!;
          expect(disk.maps).toHaveLength(1);
          expect(disk.maps[0]!.indexOf(disk.ref)).toBe(rd.position);
        }
      });

      it('keeps the healthy table as recorded, whatever order the disks are given in', async () => {
        const specs = await images;
        const want = (await readDeviation(set, TAY)) ?? (await readExpected(set, TAY))!;
        expect(await runOurs(specs, TAY, { cwd: dir })).toEqual(want);
        expect(await runOurs([...specs].reverse(), TAY, { cwd: dir })).toEqual(want);
        expect(raidTargetLine(want.stdout)!.members).toEqual(table.members);
      });

      for (const [k, missing] of table.members.entries()) {
        it(`without ${missing}: \`- -\` at position ${k}, the others in their places`, async () => {
          const specs = (await images).filter((s) => !s.startsWith(`${missing}:`) && s !== missing);
          const ours = await runOurs(specs, TAY, { cwd: dir });
          expect(ours.status).toBe(0);
          const got = raidTargetLine(ours.stdout);
          expect(got, ours.stderr).toBeDefined();
          expect(got!.name).toBe(table.name);
          expect(got!.members).toEqual(table.members.map((m) => (m === missing ? '-' : m)));
          // Same level, chunk, member count and size; `sync` since the set is inconsistent.
          expect([...got!.head.slice(0, 6), got!.head[9]]).toEqual([...table.head.slice(0, 6), table.head[9]]);
          expect(got!.head[6]).toBe('sync');
          expect(ours.stderr).not.toMatch(/cannot tell the positions/);
          const { leaf, image } = await leafOf(dir, specs);
          expect(leaf.status).toBe('inconsistent');
          expect(byPosition(leaf, image)).toEqual(table.members.filter((m) => m !== missing));
        });

        testIf(it, reference())(`without ${missing}: the reference reports the same count errors in member order but maps nothing (wrong)`, async () => {
          const specs = (await images).filter((s) => !s.startsWith(`${missing}:`) && s !== missing);
          const theirs = await runReference(specs, TAY, { cwd: dir });
          const ours = await runOurs(specs, TAY, { cwd: dir });
          // dmraid gives up on a RAID5 one member short, which the `raid` target runs degraded.
          expect(theirs.stdout).toBe(`${table.name}: (null)\n`);
          const counts = (r: { stderr: string }) => r.stderr.split('\n').filter((l) => l.includes('wrong # of devices'));
          expect(counts(ours)).toEqual(counts(theirs));
          const present = table.members.filter((m) => m !== missing);
          expect(counts(theirs).map((l) => / on (\S+)$/.exec(l)![1])).toEqual(present);
        });
      }
    });
  }
});

describe('ddf1 position: the recorded degraded RAID5', async () => {
  const set = (await listTestbedSets(testbedDir, 'ddf1')).find((s) => s.config === 'raid5-4-degraded')!;
  const dir = join(work, set.config);

  it("maps it with `- -` where the reference's drive map lists the PD no present disk is", async () => {
    const specs = await buildTestbedImages(set, dir);
    const maps = await referenceDriveMaps(set);
    const [map] = [...maps.values()][0]!.maps;
    const present = new Map([...maps].map(([image, d]) => [d.ref, image]));
    const want = map!.map((ref) => present.get(ref) ?? '-');
    expect(want.filter((m) => m === '-')).toHaveLength(1);
    const ours = await runOurs(specs, TAY, { cwd: dir });
    expect(raidTargetLine(ours.stdout)?.members, ours.stderr).toEqual(want);
    expect(ours.stderr).not.toMatch(/cannot tell the positions|no mapping possible/);
  });
});

describe('ddf1 position: per VD when a disk is in several', () => {
  // Disk 1 is entry 2 of the RAID5 and entry 0 of the mirror; disk 2 entry 0 and entry 1.
  const spec: Ddf1ContainerSpec = {
    endian: 'be',
    disks: 3,
    diskSectors: 16384,
    vds: [
      { name: 'Parity', level: 'raid5', members: [2, 0, 1], sectors: 4096, offset: 0 },
      { name: 'Mirror', level: 'raid1', members: [1, 2], sectors: 4096, offset: 4096 },
    ],
  };
  const dir = join(work, 'two-vds');
  const names = ['sda.img', 'sdb.img', 'sdc.img'];
  const written = (async () => {
    await fs.mkdir(dir, { recursive: true });
    for (const [i, image] of buildDdf1Container(spec).entries()) {
      const handle = await fs.open(join(dir, names[i]!), 'w');
      await handle.truncate(image.sizeSectors * 512);
      for (const a of image.areas) await handle.write(a.data, 0, a.data.length, a.offsetBytes);
      await handle.close();
    }
  })();

  it("gives each of a disk's volumes its own entry of that VD's record", async () => {
    await written;
    const sets = (await setsOfImages(ddf1, dir, names)).sets.flatMap((g) => g.sets);
    const members = (name: string) => sets.find((s) => s.name === name)!.devs.map((rd) => [rd.device.path, rd.position]);
    expect(members('ddf1_Parity')).toEqual([[join(dir, 'sdc.img'), 0], [join(dir, 'sda.img'), 1], [join(dir, 'sdb.img'), 2]]);
    expect(members('ddf1_Mirror')).toEqual([[join(dir, 'sdb.img'), 0], [join(dir, 'sdc.img'), 1]]);
  });

  it('maps the RAID5 without the disk of two VDs with `- -` at its entry of the RAID5', async () => {
    await written;
    const ours = await runOurs(['sda.img', 'sdb.img'], TAY, { cwd: dir });
    expect(raidTargetLine(ours.stdout)?.members, ours.stderr).toEqual(['-', 'sda.img', 'sdb.img']);
    expect(ours.stdout).toMatch(/^ddf1_Mirror: 0 4096 linear sdb\.img 4096$/m);
  });
});

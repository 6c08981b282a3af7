import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { buildTestbedImages, buildTestbedSet, formatTester, runOurs, testDir, writeTestbedSet } from '@dmraid/testkit';
import handler, { buildTemplateSet, templateLayout } from '../src/index.js';
import { sampleSets } from '../src/testbed.js';

const F = handler.name;
const pkg = JSON.parse(await fs.readFile(new URL('../package.json', import.meta.url), 'utf8')) as { name: string; version: string };
/** Our CLI runs with this handler alone, so the outputs do not depend on which other handlers are installed. */
const handlers = [{ handler, packageName: pkg.name, version: pkg.version }];

const seeds = sampleSets().map(buildTestbedSet)
  .filter((s) => !s.config.includes('degraded'))
  .map((s) => s.members.map((m) => ({ sizeSectors: m.sizeSectors, serial: m.serial, areas: m.areas })));

formatTester.run(handler, { seeds, testbed: false, handlers });

/** Our CLI on the member images of one sample set. */
async function dmraid(config: string, ...args: string[]) {
  const def = buildTestbedSet(sampleSets().find((s) => s.config === config)!);
  const dir = testDir(F);
  await writeTestbedSet(join(dir, 'set'), { description: def.description, members: def.members }, def.members);
  const images = await buildTestbedImages({ ...def, format: F, dir: join(dir, 'set') }, dir);
  return runOurs(images, args, { cwd: dir, handlers });
}

describe(`${F}: what dmraid prints`, () => {
  it('lists both members of a RAID0 with their data size', async () => {
    const r = await dmraid('raid0-2', '-r');
    expect(r).toEqual({
      stdout: `sda.img: ${F}, "${F}_cacb", stripe, ok, 32640 sectors, data@ 0\nsdb.img: ${F}, "${F}_cacb", stripe, ok, 32640 sectors, data@ 0\n`,
      stderr: '',
      status: 0,
    });
  });

  it('groups a RAID0 into one stripe set of twice the member size', async () => {
    const r = await dmraid('raid0-2', '-s', '-c', '-c', '-c');
    expect(r.stdout).toBe(`${F}_cacb:65280:128:stripe:ok:0:2:0\n` + ['sda', 'sdb'].map((d) => `${d}.img:${F}:${F}_cacb:stripe:ok:32640:0\n`).join(''));
  });

  it('groups a RAID1 into a mirror set', async () => {
    const r = await dmraid('raid1-2', '-s', '-c', '-c', '-c');
    expect(r.stdout).toBe(`${F}_dadb:32766:0:mirror:ok:0:2:0\n` + ['sda', 'sdb'].map((d) => `${d}.img:${F}:${F}_dadb:mirror:ok:32766:0\n`).join(''));
  });

  it('keeps a RAID1 with a member missing as an inconsistent mirror', async () => {
    const r = await dmraid('raid1-2-degraded', '-s', '-c', '-c', '-c');
    expect(r.stdout).toBe(`${F}_dadc:32766:0:mirror:inconsistent:0:1:0\nsda.img:${F}:${F}_dadc:mirror:inconsistent:32766:0\n`);
    expect(r.stderr).toContain(`ERROR: ${F}: wrong # of devices in RAID set "${F}_dadc" [1/2] on sda.img`);
  });

  it('prints the native metadata with -n', async () => {
    const r = await dmraid('raid1-2', '-n');
    expect(r.stdout.split('\n').slice(0, 4)).toEqual([`sda.img (${F}):`, '0x000 signature: DMRAIDTP', expect.stringMatching(/^0x008 checksum: 0x[0-9a-f]+$/), '0x00c set_id: 0x3031']);
    expect(r.stdout).toContain('0x020 label: "Volume12337"');
  });

  it('reports a damaged checksum and skips the disk', async () => {
    const [member] = buildTemplateSet({ level: 'raid0', id: 1, disks: 1, diskSectors: 64 });
    const data = member!.data.slice();
    data[0x30] = data[0x30]! ^ 1;
    const dir = testDir(F);
    const image = join(dir, 'sda.img');
    const bytes = new Uint8Array(64 * 512);
    bytes.set(data, member!.offsetBytes);
    await fs.writeFile(image, bytes);
    const r = await runOurs(['sda.img'], ['-r'], { cwd: dir, handlers });
    expect(r.stderr).toBe(`ERROR: ${F}: checksum error on sda.img\nERROR: ${F}: setting up RAID device sda.img\n`);
    expect(r.status).toBe(1);
  });
});

describe(`${F} layout`, () => {
  it('decodes and encodes any 64 bytes back to the same bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 64, maxLength: 64 }), (bytes) => {
        expect(templateLayout.encodeToBytes(templateLayout.decodeFrom(bytes))).toEqual(bytes);
      }),
    );
  });

  it('places the fields where the specification puts them', () => {
    expect(templateLayout.size).toBe(0x40);
    expect(templateLayout.offsetOf('data_sectors')).toBe(0x14);
    expect(templateLayout.offsetOf('label')).toBe(0x20);
  });
});

// After the monitor's `failed`, on image files: the survivors read degraded (ours and the reference), the
// set maps degraded, and -R onto a spare (-S) or a blank disk rebuilds the data and ends ok.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { blankImage, reference, runOurs, runReference, testDir, testIf, writeAtStart } from '@dmraid/testkit';
import { FAILED_DISK, IMSM_ORD_REBUILD, ISW_T_STATE_DEGRADED, ISW_T_STATE_NORMAL } from '../src/index.js';
import { failOnImages, mpbOfImage } from './fail-images.js';

const SECTORS = 131072;
const itRef = testIf(it, reference());

const blank = (path: string, sectors = SECTORS) => blankImage(path, sectors);

/** A RAID1 over d0 and d1 (-C), both members holding the same data. */
async function mirror(dir: string) {
  const specs = ['d0.img:FAILREB0', 'd1.img:FAILREB1'];
  for (const s of specs) await blank(join(dir, s.split(':')[0]!));
  const created = await runOurs(specs, ['-f', 'isw', '-C', 'Vol', '--type', '1', '--disk', 'd0.img,d1.img', '--yes'], { cwd: dir });
  expect(created.status, created.stderr).toBe(0);
  const name = (await runOurs(specs, ['-s', '-c'], { cwd: dir })).stdout.trim();
  const member = (await runOurs(specs, ['-s', '-c', '-c', '-c'], { cwd: dir })).stdout.split('\n').find((l) => l.startsWith('d0.img:'))!.split(':');
  const memberSectors = Number(member[5]);
  const data = randomBytes(memberSectors * 512);
  for (const s of specs) await writeAtStart(join(dir, s.split(':')[0]!), data);
  return { specs, name, memberSectors, data };
}

/** The set's members after the failure: every image but the failed one (it no longer answers). */
const without = (specs: string[], file: string) => specs.filter((s) => !s.startsWith(`${file}:`));

describe('isw after failed: degraded on the survivors, then -R onto a spare or a blank disk', () => {
  it('RAID1: the survivor records the failure; -s lists the volume without the failed disk, degraded; -tay maps it degraded', async () => {
    const dir = testDir('isw-failed-read');
    const { specs, name } = await mirror(dir);
    expect(await failOnImages(dir, specs, 'd1.img')).toEqual({ ok: true, errors: [] });
    const mpb = await mpbOfImage(join(dir, 'd0.img'));
    expect(mpb.disks[1]!.disk.status & FAILED_DISK).toBe(FAILED_DISK);
    expect(mpb.volumes[0]!.maps[0]!.ord).toEqual([0, 1 | IMSM_ORD_REBUILD]);
    expect(mpb.volumes[0]!.maps[0]!.map.map_state).toBe(ISW_T_STATE_DEGRADED);
    const survivors = without(specs, 'd1.img');
    const error = `ERROR: isw: wrong number of devices in RAID set "${name}" [1/2] on d0.img\n`;
    const s = await runOurs(survivors, ['-s', '-c', '-c', '-c'], { cwd: dir });
    expect(s).toEqual({ status: 0, stdout: `${name}:121856:128:mirror:inconsistent:0:1:0\nd0.img:isw:${name}:mirror:inconsistent:121864:0\n`, stderr: error });
    // -s --test: degraded but readable (exit 1); the JSON says so in words.
    expect((await runOurs(survivors, ['-s', '-t'], { cwd: dir })).status).toBe(1);
    const json = JSON.parse((await runOurs(survivors, ['-s', '--json'], { cwd: dir })).stdout);
    const volume = json.sets[0].sets[0];
    expect([volume.name, volume.health, volume.foundDevices, volume.expectedDevices]).toEqual([name, 'degraded', 1, 2]);
    const t = await runOurs(survivors, ['-tay'], { cwd: dir });
    expect(t).toEqual({ status: 0, stdout: `${name}: 0 121864 linear d0.img 0\n`, stderr: `${error}ERROR: creating degraded mirror mapping for "${name}"\n` });
  }, 60_000);

  itRef('the reference reads the survivor as we do: -s and -tay print the same', async () => {
    const dir = testDir('isw-failed-ref');
    const { specs } = await mirror(dir);
    await failOnImages(dir, specs, 'd1.img');
    const survivors = without(specs, 'd1.img');
    for (const args of [['-s'], ['-s', '-c', '-c', '-c'], ['-tay']]) {
      expect(await runOurs(survivors, args, { cwd: dir }), args.join(' ')).toEqual(await runReference(survivors, args, { cwd: dir }));
    }
  }, 120_000);

  itRef('RAID5: -s reads the survivors as the reference does; -tay maps the missing member `- -` where the reference maps nothing (docs/activation.md)', async () => {
    const dir = testDir('isw-failed-r5ref');
    const specs = ['d0.img:FAILR50', 'd1.img:FAILR51', 'd2.img:FAILR52'];
    for (const s of specs) await blank(join(dir, s.split(':')[0]!));
    const created = await runOurs(specs, ['-f', 'isw', '-C', 'Par', '--type', '5', '--disk', 'd0.img,d1.img,d2.img', '--yes'], { cwd: dir });
    expect(created.status, created.stderr).toBe(0);
    expect((await failOnImages(dir, specs, 'd1.img')).ok).toBe(true);
    const survivors = without(specs, 'd1.img');
    expect(await runOurs(survivors, ['-s'], { cwd: dir })).toEqual(await runReference(survivors, ['-s'], { cwd: dir }));
    const [ours, theirs] = [await runOurs(survivors, ['-tay'], { cwd: dir }), await runReference(survivors, ['-tay'], { cwd: dir })];
    expect(ours.stdout).toMatch(/^isw_\w+_Par: 0 \d+ raid raid5_la 4 128 sync region_size 128 3 - d0\.img - - - d2\.img\n$/);
    expect(theirs.stdout).toBe('');
    expect(theirs.stderr).toContain('ERROR: Cannot create error target for missing disk(s) in degraded array!\n');
  }, 120_000);

  for (const target of ['a spare made with -S', 'a blank disk'] as const) {
    it(`RAID1: -R onto ${target} copies the data, rebuilt ends it: -s ok, --check-data clean, no failed disk left`, async () => {
      const dir = testDir('isw-failed-rebuild');
      const { specs, name, memberSectors, data } = await mirror(dir);
      expect((await failOnImages(dir, specs, 'd1.img')).ok).toBe(true);
      await blank(join(dir, 'n.img'));
      const now = [...without(specs, 'd1.img'), 'n.img:FAILNEW'];
      if (target === 'a spare made with -S') {
        const spare = await runOurs(now, ['-f', 'isw', '-S', '-M', 'n.img', '--yes'], { cwd: dir });
        expect(spare.status, spare.stderr).toBe(0);
        expect((await runOurs(now, ['-r', '-c', '-c', '-c'], { cwd: dir })).stdout).toMatch(/^n\.img:isw:isw_\w+:spare:ok:/m);
      }
      const r = await runOurs(now, ['-R', name, 'n.img'], { cwd: dir });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toBe(`isw: drive to rebuild: n.img\n\nisw: n.img rebuilt (${(memberSectors / 2048).toFixed(1)} MiB of ${name})\n`);
      const copied = (await fs.readFile(join(dir, 'n.img'))).subarray(0, memberSectors * 512);
      expect(copied.equals(data)).toBe(true);
      expect(await runOurs(now, ['-s', '-c', '-c', '-c'], { cwd: dir })).toEqual({
        status: 0,
        stdout: `${name}:121856:128:mirror:ok:0:2:0\nd0.img:isw:${name}:mirror:ok:121864:0\nn.img:isw:${name}:mirror:ok:121864:0\n`,
        stderr: '',
      });
      const check = await runOurs(now, ['--check-data', name], { cwd: dir });
      expect([check.status, check.stdout]).toEqual([0, expect.stringContaining(`${name}: mismatch_cnt 0`)]);
      const mpb = await mpbOfImage(join(dir, 'n.img'));
      expect(mpb.disks.map((d) => d.disk.status & FAILED_DISK)).toEqual([0, 0]);
      expect(mpb.volumes[0]!.maps).toHaveLength(1);
      expect(mpb.volumes[0]!.maps[0]!.ord).toEqual([0, 1]);
      expect(mpb.volumes[0]!.maps[0]!.map.map_state).toBe(ISW_T_STATE_NORMAL);
    }, 60_000);
  }

  it('RAID5: a member fails, -R onto a spare reconstructs it and the volume is ok', async () => {
    const dir = testDir('isw-failed-raid5');
    const specs = ['d0.img:FAILR50', 'd1.img:FAILR51', 'd2.img:FAILR52'];
    for (const s of specs) await blank(join(dir, s.split(':')[0]!));
    const created = await runOurs(specs, ['-f', 'isw', '-C', 'Par', '--type', '5', '--disk', 'd0.img,d1.img,d2.img', '--yes'], { cwd: dir });
    expect(created.status, created.stderr).toBe(0);
    const name = (await runOurs(specs, ['-s', '-c'], { cwd: dir })).stdout.trim();
    const member = (await runOurs(specs, ['-s', '-c', '-c', '-c'], { cwd: dir })).stdout.split('\n').find((l) => l.startsWith('d0.img:'))!.split(':');
    const memberSectors = Number(member[5]);
    // Random data on two members, their XOR on the third: parity holds in every row whatever the layout.
    const [m0, m1] = [randomBytes(memberSectors * 512), randomBytes(memberSectors * 512)];
    const m2 = Buffer.from(m0);
    for (let i = 0; i < m2.length; i++) m2[i]! ^= m1[i]!;
    for (const [i, d] of [m0, m1, m2].entries()) await writeAtStart(join(dir, `d${i}.img`), d);
    expect((await failOnImages(dir, specs, 'd1.img')).ok).toBe(true);
    await blank(join(dir, 'n.img'));
    const now = [...without(specs, 'd1.img'), 'n.img:FAILR5NEW'];
    expect((await runOurs(now, ['-s', '-t'], { cwd: dir })).status).toBe(1);
    expect((await runOurs(now, ['-f', 'isw', '-S', '-M', 'n.img', '--yes'], { cwd: dir })).status).toBe(0);
    const r = await runOurs(now, ['-R', name, 'n.img'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    const rows = Math.floor(memberSectors / 256) * 256 * 512;
    expect((await fs.readFile(join(dir, 'n.img'))).subarray(0, rows).equals(m1.subarray(0, rows))).toBe(true);
    expect((await runOurs(now, ['-s', '-c', '-c', '-c'], { cwd: dir })).stdout).toMatch(new RegExp(`^${name}:\\d+:\\d+:raid5_la:ok:`));
    const check = await runOurs(now, ['--check-data', name], { cwd: dir });
    expect([check.status, check.stdout]).toEqual([0, expect.stringContaining(`${name}: mismatch_cnt 0`)]);
  }, 60_000);
});

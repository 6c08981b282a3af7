// -R SET DEV onto a disk too small to hold what a member of the set holds (its data, and the metadata the
// format keeps behind it) is refused before anything is written; the reference writes it (docs/deviations.md).
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hashFiles, reference, runOurs, runReference, testIf } from '@dmraid/testkit';
import { imagesOf, tmp } from './helpers.js';

/** A blank image of `sectors` sectors. */
async function blank(path: string, sectors: number) {
  await fs.writeFile(path, '');
  await fs.truncate(path, sectors * 512);
}

const itRef = testIf(it, reference());

describe('-R onto a disk too small for the set', () => {
  it('isw: refused below the member\'s data plus the MPB in the disk\'s last two sectors, nothing written; taken at that size', async () => {
    const dir = tmp('rebuild-small');
    const specs = ['d0.img:SMALLSER0', 'd1.img:SMALLSER1'];
    for (const s of specs) await blank(join(dir, s.split(':')[0]!), 131072);
    expect((await runOurs(specs, ['-f', 'isw', '-C', 'Mirror', '--type', '1', '--disk', 'd0.img,d1.img', '--yes'], { cwd: dir })).status).toBe(0);
    const name = (await runOurs(specs, ['-s', '-c'], { cwd: dir })).stdout.trim();
    // What a member holds: its data (the member line's size column, from offset 0) and the MPB at N-2
    // (docs/formats/isw.md).
    const member = (await runOurs(specs, ['-s', '-c', '-c', '-c'], { cwd: dir })).stdout.split('\n')[1]!.split(':');
    expect([member[0], member[6]]).toEqual(['d0.img', '0']);
    const needs = Number(member[5]) + 2;
    // The second disk dies; a smaller blank one takes its place.
    const replaced = [specs[0]!, 'd1.img:REPLACEMENT9'];
    for (const sectors of [65536, needs - 1]) {
      await blank(join(dir, 'd1.img'), sectors);
      const before = await hashFiles(dir, { recursive: true });
      const r = await runOurs(replaced, ['-R', name, 'd1.img'], { cwd: dir });
      expect(r).toEqual({
        status: 1,
        stdout: '',
        stderr: `ERROR: isw: wrong number of devices in RAID set "${name}" [1/2] on d0.img\nERROR: device "d1.img" is too small to rebuild RAID set "${name}" onto: it has ${sectors} sectors, a member needs ${needs} (its data and metadata)\n`,
      });
      expect(await hashFiles(dir, { recursive: true })).toBe(before);
    }
    await blank(join(dir, 'd1.img'), needs);
    const r = await runOurs(replaced, ['-R', name, 'd1.img'], { cwd: dir });
    // Taken, and the member's data copied onto it (cli/test/rebuild.test.ts): the set is whole again.
    expect([r.status, r.stdout]).toEqual([0, `isw: drive to rebuild: d1.img\n\nisw: d1.img rebuilt (${(Number(member[5]) / 2048).toFixed(1)} MiB of ${name})\n`]);
    expect((await runOurs(replaced, ['-s', '-c', '-c', '-c'], { cwd: dir })).stdout).toMatch(new RegExp(`^${name}:\\d+:128:mirror:ok:0:2:0\nd0.img:isw:${name}:mirror:ok:${member[5]}:0\nd1.img:isw:${name}:mirror:ok:${member[5]}:0\n$`));
  });

  itRef('the reference writes its metadata onto such a disk (the deviation)', async () => {
    const dir = tmp('rebuild-small-ref');
    const specs = ['d0.img:SMALLSER0', 'd1.img:SMALLSER1'];
    for (const s of specs) await blank(join(dir, s.split(':')[0]!), 131072);
    expect((await runOurs(specs, ['-f', 'isw', '-C', 'Mirror', '--type', '1', '--disk', 'd0.img,d1.img', '--yes'], { cwd: dir })).status).toBe(0);
    const name = (await runOurs(specs, ['-s', '-c'], { cwd: dir })).stdout.trim();
    await blank(join(dir, 'd1.img'), 65536);
    const r = await runReference([specs[0]!, 'd1.img:REPLACEMENT9'], ['-R', name, '/dev/sdb'], { cwd: dir });
    // It then fails to activate the set (no kernel for it here): the metadata is written by then.
    expect(r.stdout).toMatch(/^isw: drive to rebuild: d1\.img\n/);
    const mpb = (await fs.readFile(join(dir, 'd1.img'))).subarray((65536 - 2) * 512, (65536 - 1) * 512);
    expect(mpb.subarray(0, 24).toString('latin1')).toBe('Intel Raid ISM Cfg Sig. ');
  }, 60_000);

  it('an ataraid format (nvidia) is measured the same way: data N-2 and metadata at N-2 need the whole member', async () => {
    const dir = tmp('rebuild-small-nv');
    const [member] = await imagesOf(dir, 'nvidia/raid1-2-degraded');
    const name = (await runOurs([member!], ['-s', '-c'], { cwd: dir })).stdout.trim();
    expect(name).toMatch(/^nvidia_[a-j]+$/);
    const specs = [member!, 'new.img:NEWDISK1'];
    // The member's size N: nvidia keeps data in sectors 0..N-3 and its metadata at N-2 (docs/formats/nvidia.md).
    const needs = (await fs.stat(join(dir, member!.split(':')[0]!))).size / 512;
    await blank(join(dir, 'new.img'), needs - 1);
    const before = await hashFiles(dir, { recursive: true });
    const r = await runOurs(specs, ['-R', name, 'new.img'], { cwd: dir });
    expect([r.status, r.stdout, r.stderr.split('\n').at(-2)]).toEqual([1, '', `ERROR: device "new.img" is too small to rebuild RAID set "${name}" onto: it has ${needs - 1} sectors, a member needs ${needs} (its data and metadata)`]);
    expect(await hashFiles(dir, { recursive: true })).toBe(before);
    // At the member's size it is taken: nvidia's metadata lands at N-2 and the set is whole again.
    await blank(join(dir, 'new.img'), needs);
    expect((await runOurs(specs, ['-R', name, 'new.img'], { cwd: dir })).status).toBe(0);
    const sig = (await fs.readFile(join(dir, 'new.img'))).subarray((needs - 2) * 512, (needs - 2) * 512 + 8);
    expect(sig.toString('latin1')).toBe('NVIDIA  ');
    expect((await runOurs(specs, ['-s', '-c', '-c', '-c'], { cwd: dir })).stdout).toMatch(new RegExp(`^${name}:\\d+:\\d+:mirror:ok:0:2:0\n`));
  });
});

describe('-R of a set that does not exist', () => {
  itRef('says so on stderr as one ERROR, nothing else (the reference: the other sets\' discovery errors, then "raid volume X not found" on stdout)', async () => {
    const dir = tmp('rebuild-nosuch');
    const specs = ['a.img:NOSUCHA', 'b.img:NOSUCHB', 'e.img:NOSUCHE'];
    for (const s of specs) await blank(join(dir, s.split(':')[0]!), 131072);
    expect((await runOurs(specs.slice(0, 2), ['-f', 'isw', '-C', 'One', '--type', '1', '--disk', 'a.img,b.img', '--yes'], { cwd: dir })).status).toBe(0);
    const kept = [specs[0]!, specs[2]!];
    const name = (await runOurs(kept, ['-s', '-c'], { cwd: dir })).stdout.trim();
    const before = await hashFiles(dir, { recursive: true });
    const ours = await runOurs(kept, ['-R', 'nosuch', 'e.img'], { cwd: dir });
    const ref = await runReference(kept, ['-R', 'nosuch', '/dev/sdb'], { cwd: dir });
    const discovery = `ERROR: isw: wrong number of devices in RAID set "${name}" [1/2] on a.img\n`;
    expect(ref).toEqual({ status: 1, stdout: 'raid volume "nosuch" not found\n\n', stderr: discovery });
    expect(ours).toEqual({ status: 1, stdout: '', stderr: 'ERROR: no RAID set found with name "nosuch"\n' });
    expect(await hashFiles(dir, { recursive: true })).toBe(before);
  }, 60_000);
});

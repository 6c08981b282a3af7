// -S, -R and -x for sil on images: a -f sil -C set holding data loses a member, a blank disk (or a spare
// made with -S) takes its place, the engine copies the data, then the metadata says it current. Judges: the
// lost member's bytes, --check-data, and the reference dmraid reading the rebuilt set exactly as it read the
// set we created; refusals are ERROR lines with nothing written.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { blankImage, hashFiles, reference, runOurs, runReference, testIf, writeAtStart } from '@dmraid/testkit';
import type { WritableDevice } from '@dmraid/core';
import { silLayout } from '@dmraid/format-sil';
import { tmp } from './helpers.js';

const itRef = testIf(it, reference());
const SECTORS = 131072;

const blank = (path: string, sectors = SECTORS) => blankImage(path, sectors);

/** The first copy (sector N-1) of the Medley block on an image. */
async function block(path: string) {
  const bytes = await fs.readFile(path);
  return silLayout.decodeFrom(bytes.subarray(bytes.length - 512));
}

/**
 * A -C set over `n` blank images; each mirror's legs get the same random bytes at their start (RAID1: every
 * disk; RAID10: disks 0 and 2, 1 and 3, the halves' same places), as writes through the volume leave them.
 */
async function filledSet(dir: string, level: '0' | '1' | '10', n: number, extra = 0) {
  const files = Array.from({ length: n + extra }, (_, i) => `d${i}.img`);
  for (const f of files) await blank(join(dir, f));
  const created = await runOurs(files, ['-f', 'sil', '-C', 'x', '--type', level, '--disk', files.slice(0, n).join(','), '--yes'], { cwd: dir });
  expect(created.status, created.stderr).toBe(0);
  const name = (await runOurs(files, ['-s', '-c'], { cwd: dir })).stdout.trim();
  expect(name).toMatch(/^sil_[a-j]{12}$/);
  const legs = level === '10' ? 2 : level === '1' ? 1 : n;
  const data = Array.from({ length: legs }, () => randomBytes(4 << 20));
  for (const [i, f] of files.slice(0, n).entries()) await writeAtStart(join(dir, f), data[i % legs]!);
  return { files, name };
}

async function lose(dir: string, file: string): Promise<Buffer> {
  const lost = await fs.readFile(join(dir, file));
  await blank(join(dir, file));
  return lost;
}

describe('-R SET DEV for sil: the data onto the new disk, then the block current', () => {
  for (const [level, n] of [
    ['1', 2],
    ['10', 4],
  ] as const) {
    itRef(`RAID${level} over ${n}: the blank disk gets the lost member's bytes, --check-data clean, both tools read the set as created`, async () => {
      const dir = tmp(`ops-sil-${level}`);
      const { files, name } = await filledSet(dir, level, n);
      const refBefore = await runReference(files, ['-s', '-c', '-c', '-c'], { cwd: dir });
      const oursBefore = await runOurs(files, ['-s', '-c', '-c', '-c'], { cwd: dir });
      const lost = await lose(dir, 'd1.img');
      const r = await runOurs(files, ['-R', name, 'd1.img'], { cwd: dir });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^sil: drive to rebuild: d1.img \\(member 1 of RAID set "${name}"\\)\\n\\nsil: d1.img rebuilt `));
      const now = await fs.readFile(join(dir, 'd1.img'));
      // Data below the four copies; the block differs in its generation only (and checksum1).
      const dataEnd = (SECTORS - 2048) * 512;
      expect(now.subarray(0, dataEnd).equals(lost.subarray(0, dataEnd))).toBe(true);
      const [was, is] = [silLayout.decodeFrom(lost.subarray(lost.length - 512)), await block(join(dir, 'd1.img'))];
      expect({ ...is, checksum1: 0 }).toEqual({ ...was, incarnation_no: 3, checksum1: 0 });
      const check = await runOurs(files, ['--check-data', name], { cwd: dir });
      expect([check.status, check.stdout]).toEqual([0, expect.stringContaining(`${name}: mismatch_cnt 0`)]);
      expect((await runOurs(files, ['-s', '-c', '-c', '-c'], { cwd: dir })).stdout).toBe(oursBefore.stdout);
      expect((await runReference(files, ['-s', '-c', '-c', '-c'], { cwd: dir })).stdout).toBe(refBefore.stdout);
    }, 180_000);
  }

  it('onto a spare made with -S: the spare becomes the member', async () => {
    const dir = tmp('ops-sil-spare');
    const { files, name } = await filledSet(dir, '1', 2, 1);
    const s = await runOurs(files, ['-f', 'sil', '-S', '-M', 'd2.img', '--yes'], { cwd: dir });
    expect(s.status, s.stderr).toBe(0);
    const spare = await block(join(dir, 'd2.img'));
    expect([spare.type, spare.incarnation_no, spare.vendor_id, spare.major_ver]).toEqual([3, 1, 0x1095, 2]);
    expect((await runOurs(files, ['-r'], { cwd: dir })).stdout).toMatch(/^d2\.img: sil, "sil_[a-j]+", spare, ok, 129534 sectors, data@ 0$/m);
    const lost = await lose(dir, 'd1.img');
    const r = await runOurs(files.filter((f) => f !== 'd1.img'), ['-R', name, 'd2.img'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect((await fs.readFile(join(dir, 'd2.img'))).subarray(0, 4 << 20).equals(lost.subarray(0, 4 << 20))).toBe(true);
    const member = await block(join(dir, 'd2.img'));
    expect([member.type, member.disk_number, member.member_status]).toEqual([1, 1, 1]);
  }, 120_000);

  itRef('a rebuild in progress (stopped before the copy ends) reads as rebuilding to us and as a whole set to the reference', async () => {
    const dir = tmp('ops-sil-mid');
    const { files, name } = await filledSet(dir, '1', 2);
    await lose(dir, 'd1.img');
    const sil = (await import('@dmraid/format-sil')).default;
    const { openDevice, isIoError, allDevices, buildSets, readContext } = await import('@dmraid/core');
    const devs: WritableDevice[] = [];
    for (const f of files) {
      const d = await openDevice(join(dir, f), { writable: true });
      if (isIoError(d)) throw new Error(d.message);
      devs.push(d);
    }
    const rds = (await Promise.all(devs.map((d) => sil.read(d, readContext('sil', () => undefined))))).flat();
    const [set] = buildSets(rds, { handlers: [sil], log: () => undefined });
    expect(allDevices(set!)).toHaveLength(1);
    const ok = await sil.rebuild!(set!, devs[1]!, {
      format: 'sil',
      log: () => undefined,
      error: (t: string) => {
        throw new Error(t);
      },
      openWritable: async (p: string) => devs.find((d) => d.path === p) as never,
    } as never);
    for (const d of devs) await d.close();
    expect(ok).toBe(true);
    const b = await block(join(dir, 'd1.img'));
    expect([b.member_status, b.rebuild_ptr_low, b.disk_number]).toEqual([2, 0, 1]);
    const ours = await runOurs(files, ['-s', '--json'], { cwd: dir });
    expect(ours.stdout).toContain('rebuilding');
    const ref = await runReference(files, ['-s', '-c', '-c', '-c'], { cwd: dir });
    expect(ref.stdout).toContain(`${name}:129534:0:mirror:ok:0:2:0`);
  }, 120_000);
});

describe('refusals: an ERROR, nothing written', () => {
  it('-R of a RAID0, -R onto a member of another set, -R of no set, -S onto a member', async () => {
    const dir = tmp('ops-sil-refuse');
    const { files, name } = await filledSet(dir, '0', 2, 1);
    const before = await hashFiles(dir);
    const cases: [string[], RegExp][] = [
      [['-R', name, 'd2.img'], new RegExp(`ERROR: sil: cannot rebuild RAID set "${name}": its level \\(raid0\\) has no redundancy`)],
      [['-R', 'sil_nosuchset', 'd2.img'], /ERROR: no RAID set found with name "sil_nosuchset"/],
      [['-f', 'sil', '-S', '-M', 'd0.img'], /ERROR: sil: d0.img already carries sil metadata/],
    ];
    for (const [args, error] of cases) {
      const r = await runOurs(files, [...args, '--yes'], { cwd: dir });
      expect(r.status, args.join(' ')).not.toBe(0);
      expect(r.stderr).toMatch(error);
      expect(await hashFiles(dir)).toBe(before);
    }
  }, 120_000);

  it('-R onto a disk of another sil set', async () => {
    const dir = tmp('ops-sil-refuse2');
    const { files, name } = await filledSet(dir, '1', 2, 2);
    // A Medley set is named by its creation second: the second set is made in another one.
    await new Promise((r) => setTimeout(r, 1100));
    const other = await runOurs(files, ['-f', 'sil', '-C', 'y', '--type', '0', '--disk', 'd2.img,d3.img', '--yes'], { cwd: dir });
    expect(other.status, other.stderr).toBe(0);
    await lose(dir, 'd1.img');
    const before = await hashFiles(dir);
    const r = await runOurs(files, ['-R', name, 'd2.img', '--yes'], { cwd: dir });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('ERROR: sil: d2.img is a member of another sil set');
    expect(await hashFiles(dir)).toBe(before);
  }, 120_000);
});

describe('-x SET for sil', () => {
  itRef('every member block zeroed at all four places; neither tool finds the set, the data stays', async () => {
    const dir = tmp('ops-sil-x');
    const { files, name } = await filledSet(dir, '10', 4);
    const data = (await fs.readFile(join(dir, 'd0.img'))).subarray(0, 4 << 20);
    const r = await runOurs(files, ['-x', name, '--yes'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    for (const f of files) {
      const bytes = await fs.readFile(join(dir, f));
      for (let k = 0; k < 4; k++) expect(bytes.subarray(bytes.length - 512 * (1 + 512 * k), bytes.length - 512 * 512 * k).every((b) => b === 0)).toBe(true);
    }
    expect((await fs.readFile(join(dir, 'd0.img'))).subarray(0, 4 << 20).equals(data)).toBe(true);
    expect((await runOurs(files, ['-r'], { cwd: dir })).stdout).toBe('no raid disks\n');
    expect((await runReference(files, ['-r'], { cwd: dir })).stdout).toBe('no raid disks\n');
  }, 120_000);
});

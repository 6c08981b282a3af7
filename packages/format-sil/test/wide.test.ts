// 64-bit array sizes (array_sectors_high:array_sectors_low) at the edge of what a number holds: a member
// length past 2^53 sectors is refused with the field named (the reference prints it, docs/deviations.md);
// below it every size, the set's sum past 2^53 included, is printed exactly as the reference prints it.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { reference, runOurs, runReference, testDir, testIf } from '@dmraid/testkit';
import { SIL_AREAS, SIL_AREA_STEP, buildSilBlock, sealSil, type SilLevel } from '../src/index.js';

const DISK = 65536;
const itRef = testIf(it, reference());

/** Member images of a set whose metadata says the array has `array` sectors; image specs for the CLIs. */
async function wideSet(dir: string, name: string, level: SilLevel, disks: number, array: bigint, stride?: number): Promise<string[]> {
  const specs: string[] = [];
  for (let i = 0; i < disks; i++) {
    const s = buildSilBlock({ level, created: [11, 2, 3, 4, 5, 6], disks, diskSectors: DISK, ...(stride === undefined ? {} : { stride }) }, i);
    s.array_sectors_high = Number(array >> 32n);
    s.array_sectors_low = Number(array & 0xffffffffn);
    const block = sealSil(s);
    const handle = await fs.open(join(dir, `${name}${i}.img`), 'w');
    await handle.truncate(DISK * 512);
    for (let k = 0; k < SIL_AREAS; k++) await handle.write(block, 0, block.length, (DISK - 1 - SIL_AREA_STEP * k) * 512);
    await handle.close();
    specs.push(`${name}${i}.img:SILWIDE${name}${i}`);
  }
  return specs;
}

/** The issue's case: high word 0x7fffffff, low word 200000; a RAID0 of two gives each member half. */
const ISSUE_ARRAY = (0x7fffffffn << 32n) + 200000n;
const refused = (images: readonly string[], sectors: bigint) => ({
  stdout: 'no raid disks\n',
  stderr:
    images
      .map((spec) => spec.split(':')[0])
      .map(
        (image) =>
          `ERROR: sil: data length (array_sectors_high:array_sectors_low) of ${sectors} sectors on ${image}: 2^53 or more, larger than any disk\n` +
          `ERROR: sil: setting up RAID device ${image}\n`,
      )
      .join(''),
  status: 1,
});

describe('sil: 64-bit array sizes', () => {
  it('a member length of 2^53 sectors or more is refused with the field and its exact value, not rounded', async () => {
    const dir = testDir('sil-wide');
    const images = await wideSet(dir, 'stripe', 'raid0', 2, ISSUE_ARRAY);
    expect(await runOurs(images, ['-r'], { cwd: dir })).toEqual(refused(images, ISSUE_ARRAY / 2n));
    const mirror = await wideSet(dir, 'mirror', 'raid1', 2, 0x7fffffff00000000n);
    expect(await runOurs(mirror, ['-r'], { cwd: dir })).toEqual(refused(mirror, 0x7fffffff00000000n));
  });

  itRef('deviation: the reference prints such a member length as it is (4611686016280004256 sectors)', async () => {
    const dir = testDir('sil-wide');
    const images = await wideSet(dir, 'stripe', 'raid0', 2, ISSUE_ARRAY);
    const theirs = await runReference(images, ['-r'], { cwd: dir });
    expect(theirs.stdout).toBe(images.map((i) => `${i.split(':')[0]}: sil, "sil_bbacadaeafag", stripe, ok, 4611686016280004256 sectors, data@ 0\n`).join(''));
  }, 120_000);

  it('members just below 2^53 sectors print exactly, and so does their sum past 2^53', async () => {
    const dir = testDir('sil-wide');
    // Three members of 2^52 + 1 sectors, no stride: the array (odd, past 2^53) has no exact double.
    const array = 3n * (2n ** 52n + 1n);
    const images = await wideSet(dir, 'stripe', 'raid0', 3, array, 0);
    const r = await runOurs(images, ['-s', '-c', '-c', '-c'], { cwd: dir });
    expect(r.stdout.split('\n')).toEqual([
      `sil_bbacadaeafag:${array}:0:stripe:ok:0:3:0`,
      ...images.map((i) => `${i.split(':')[0]}:sil:sil_bbacadaeafag:stripe:ok:${2n ** 52n + 1n}:0`),
      '',
    ]);
    const last = await wideSet(dir, 'mirror', 'raid1', 2, 2n ** 53n - 1n);
    expect((await runOurs(last, ['-s'], { cwd: dir })).stdout).toContain(`size   : ${2n ** 53n - 1n}\n`);
  });

  itRef('members just below 2^53 sectors: -r, -s and -s -c -c -c print what the reference prints', async () => {
    const dir = testDir('sil-wide');
    for (const images of [await wideSet(dir, 'stripe', 'raid0', 3, 3n * (2n ** 52n + 1n), 0), await wideSet(dir, 'mirror', 'raid1', 2, 2n ** 53n - 1n)]) {
      for (const args of [['-r'], ['-s'], ['-s', '-c', '-c', '-c']]) {
        expect(await runOurs(images, args, { cwd: dir }), args.join(' ')).toEqual(await runReference(images, args, { cwd: dir }));
      }
    }
  }, 300_000);
});

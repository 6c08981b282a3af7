// 64-bit sizes and LBAs at the edge of what a number holds, on a testbed set with one field changed (CRCs
// made right again): table LBAs past the disk are the reference's seek error with its exact offset; a size
// or data offset of 2^53 sectors or more is refused with the field named (the reference prints it:
// docs/deviations.md); the native log (-n) still shows the records of a disk whose volume is refused.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isIoError, openDevice, readContext } from '@dmraid/core';
import { buildTestbedImages, listTestbedSets, reference, runOurs, runReference, testbedDir, testDir, testIf } from '@dmraid/testkit';
import { metadataAreas, readDdf1, updateCrcs, type Ddf1 } from '../src/index.js';

const itRef = testIf(it, reference());
const HUGE = 0x7fffffff00030d40n;
const DISK_BYTES = 16384n * 512n;

/** The two members of testbed set raid0-2-be, each with `change` applied to its decoded tables. */
async function changed(change: (d: Ddf1) => void): Promise<{ dir: string; images: string[] }> {
  const set = (await listTestbedSets(testbedDir, 'ddf1')).find((s) => s.config === 'raid0-2-be')!;
  const dir = testDir('ddf1-wide');
  const images = await buildTestbedImages(set, dir);
  for (const spec of images) {
    const dev = await openDevice(join(dir, spec.split(':')[0]!), { writable: true });
    if (isIoError(dev)) throw new Error(dev.message);
    const d = (await readDdf1(dev, readContext('ddf1', () => undefined)))!;
    change(d);
    updateCrcs(d);
    for (const a of metadataAreas(d)) expect(await dev.write(a.offsetSectors * 512, a.data)).toBe(true);
    await dev.close();
  }
  return { dir, images };
}

const paths = (images: readonly string[]) => images.map((s) => s.split(':')[0]!);
const tooLarge = (what: string, value: bigint, path: string) => `ERROR: ddf1: ${what} of ${value} sectors on ${path}: 2^53 or more, larger than any disk\n`;
/** The -n text without what differs between runs of the reference: heap addresses. */
const masked = (text: string) => text.replace(/ at 0x[0-9a-f]+$/gm, ' at <address>');

describe('ddf1: 64-bit LBAs and sizes', () => {
  for (const [label, lba] of [['2^63 and more', HUGE], ['just past the disk', DISK_BYTES / 512n + 1n]] as const) {
    it(`a primary header LBA ${label} is the seek error with the exact offset (modulo 2^64), as the reference prints it`, async () => {
      const { dir, images } = await changed((d) => {
        d.anchor.value.primary_table_lba = lba;
      });
      const offset = BigInt.asUintN(64, lba * 512n);
      const want = { stdout: 'no raid disks\n', stderr: paths(images).map((p) => `ERROR: ddf1: seeking device "${p}" to ${offset}\n`).join(''), status: 1 };
      expect(await runOurs(images, ['-r'], { cwd: dir })).toEqual(want);
    });
  }

  it('a primary header LBA that wraps around 2^64 as a byte offset is read where dmraid reads it', async () => {
    const plain = await changed(() => undefined);
    const want = await runOurs(plain.images, ['-s', '-c', '-c', '-c'], { cwd: plain.dir });
    expect(want.stdout).toContain('ddf1_Stripe:16384:128:stripe:ok:0:2:0\n');
    const { dir, images } = await changed((d) => {
      d.anchor.value.primary_table_lba += 2n ** 55n;
    });
    expect(await runOurs(images, ['-s', '-c', '-c', '-c'], { cwd: dir })).toEqual(want);
  });

  itRef('table LBAs past the disk or wrapping around: -r and -s -c -c -c print what the reference prints', async () => {
    for (const lba of [HUGE, DISK_BYTES / 512n + 1n, 2n ** 64n - 1n, 2n ** 55n + 16339n]) {
      const { dir, images } = await changed((d) => {
        d.anchor.value.primary_table_lba = lba;
      });
      for (const args of [['-r'], ['-s', '-c', '-c', '-c']]) {
        expect(await runOurs(images, args, { cwd: dir }), `${lba} ${args.join(' ')}`).toEqual(await runReference(images, args, { cwd: dir }));
      }
    }
  }, 300_000);

  it('a member length of 2^53 sectors or more leaves that volume out with the field named; the disks stay', async () => {
    const { dir, images } = await changed((d) => {
      const r = d.records[0]!;
      if (r.kind === 'vd') r.cr.sectors = HUGE;
    });
    // A RAID0 member is cut to whole stripes (128 sectors) first.
    const cut = HUGE - (HUGE % 128n);
    const ours = await runOurs(images, ['-s', '-c', '-c', '-c'], { cwd: dir });
    expect(ours).toEqual({
      stdout: 'no raid sets\n',
      stderr: paths(images).map((p) => tooLarge('member length (config record sectors)', cut, p)).join('') + 'ERROR: no RAID set found\n',
      status: 1,
    });
    expect((await runOurs(images, ['-r'], { cwd: dir })).stdout).toBe(paths(images).map((p) => `${p}: ddf1, ".ddf1_disks", GROUP, ok, 16339 sectors, data@ 0\n`).join(''));
  });

  itRef('deviation: the reference prints that member length, and -n shows the same records as ours', async () => {
    const { dir, images } = await changed((d) => {
      const r = d.records[0]!;
      if (r.kind === 'vd') r.cr.sectors = HUGE;
    });
    const theirs = await runReference(images, ['-s', '-c', '-c', '-c'], { cwd: dir });
    expect(theirs.stdout).toContain(`:stripe:ok:${HUGE - (HUGE % 128n)}:0\n`);
    const n = await runOurs(images, ['-n'], { cwd: dir });
    const nTheirs = await runReference(images, ['-n'], { cwd: dir });
    expect(masked(n.stdout)).toBe(masked(nTheirs.stdout));
    expect(n.stdout).toContain(`0x048 sector count:\t${HUGE}\n`);
  }, 300_000);

  it('a data offset of 2^53 sectors or more leaves that member out; the other one is used', async () => {
    const { dir, images } = await changed((d) => {
      const r = d.records[0]!;
      if (r.kind === 'vd' && d.pdIndex === 1) r.offsets[1] = HUGE;
    });
    const [a, b] = paths(images);
    const ours = await runOurs(images, ['-s', '-c', '-c', '-c'], { cwd: dir });
    expect(ours.stderr).toBe(
      tooLarge('member data offset (config record LBA)', HUGE, b!) + `ERROR: ddf1: wrong # of devices in RAID set "ddf1_Stripe" [1/2] on ${a}\n`,
    );
    expect(ours.stdout).toBe(`ddf1_Stripe:8192:128:stripe:broken:0:1:0\n${a}:ddf1:ddf1_Stripe:stripe:broken:8192:0\n`);
  });

  it('a physical drive size of 2^53 sectors or more leaves the disk out', async () => {
    const { dir, images } = await changed((d) => {
      for (const pd of d.pds) pd.size = HUGE;
    });
    expect(await runOurs(images, ['-r'], { cwd: dir })).toEqual({
      stdout: 'no raid disks\n',
      stderr: paths(images).map((p) => tooLarge('physical drive size', HUGE, p) + `ERROR: ddf1: setting up RAID device ${p}\n`).join(''),
      status: 1,
    });
  });
});

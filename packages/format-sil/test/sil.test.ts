import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bufferLog, buildSets, readContext, sparseDevice } from '@dmraid/core';
import {
  buildTestbedImages,
  buildTestbedSet,
  COMPARED_COMMANDS,
  fixtureImage,
  formatTester,
  listTestbedSets,
  readDeviation,
  reference,
  runOurs,
  runReference,
  testbedDir,
  testIf,
  type CommandResult,
} from '@dmraid/testkit';
import sil, {
  SIL_BLOCK_SIZE,
  buildSilBlock,
  buildSilSet,
  sealSil,
  setName,
  silChecksum1,
  silLayout,
} from '../src/index.js';
import { testbedSets } from '../src/testbed.js';

const seeds = testbedSets().map(buildTestbedSet)
  .filter((s) => !/degraded|copy/.test(s.config))
  .map((s) => s.members.map((m) => ({ sizeSectors: m.sizeSectors, serial: m.serial, areas: m.areas })));

const NATIVE = ['-n'];
const notNative = COMPARED_COMMANDS.filter((c) => c.join(' ') !== NATIVE.join(' '));

// -n is compared below: the reference prints an address difference as the offset of two lines.
formatTester.run(sil, {
  seeds,
  commands: notNative,
  fixtures: [{ file: 'silicon-raid.img.xz' }],
});

/** The two lines whose offset the reference takes from a heap address. */
const unreproducible = (r: CommandResult): CommandResult => ({
  ...r,
  stdout: r.stdout.replace(/^0x[0-9a-f]+ (seconds|minutes): /gm, '0x??? $1: '),
});

describe('sil: -n (native log)', async () => {
  const sets = await listTestbedSets(testbedDir, 'sil');
  const ref = reference();
  for (const set of sets) {
    it(`${set.config}: prints the recorded log, with the field offsets on the seconds and minutes lines`, async () => {
      const want = await readDeviation(set, NATIVE);
      expect(want, 'expected/n.ours.txt').toBeDefined();
      const dir = await fs.mkdtemp(join((await import('node:os')).tmpdir(), 'sil-n-'));
      const ours = await runOurs(await buildTestbedImages(set, dir), NATIVE, { cwd: dir });
      expect(ours).toEqual(want);
      expect(ours.stdout).not.toMatch(/^0x(?!10c|10d)[0-9a-f]+ (seconds|minutes): /m);
      await fs.rm(dir, { recursive: true, force: true });
    });
    testIf(it, ref)(`${set.config}: equals the reference's -n but for the two address-derived offsets`, async () => {
      const dir = await fs.mkdtemp(join((await import('node:os')).tmpdir(), 'sil-n-'));
      const images = await buildTestbedImages(set, dir);
      const theirs = await runReference(images, NATIVE, { cwd: dir });
      const ours = await runOurs(images, NATIVE, { cwd: dir });
      expect(unreproducible(ours)).toEqual(unreproducible(theirs));
      await fs.rm(dir, { recursive: true, force: true });
    }, 120_000);
  }
  testIf(it, ref)('silicon-raid.img: -n prints what the reference prints', async () => {
    const { dir, image } = fixtureImage('silicon-raid.img.xz');
    const spec = `${image}:FIXTURE1`;
    expect(await runOurs([spec], NATIVE, { cwd: dir })).toEqual(await runReference([spec], NATIVE, { cwd: dir }));
    await fs.rm(dir, { recursive: true, force: true });
  }, 120_000);
});

describe('sil layout', () => {
  it('decodes and encodes any 512 bytes back to the same bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: SIL_BLOCK_SIZE, maxLength: SIL_BLOCK_SIZE }), (bytes) => {
        expect(silLayout.encodeToBytes(silLayout.decodeFrom(bytes))).toEqual(bytes);
      }),
      { numRuns: 300 },
    );
  });

  it('places the fields where the C header puts them', () => {
    expect(silLayout.offsetOf('magic')).toBe(0x60);
    expect(silLayout.offsetOf('thisdisk_sectors')).toBe(0x78);
    expect(silLayout.offsetOf('seconds')).toBe(0x10c);
    expect(silLayout.offsetOf('disk_number')).toBe(0x116);
    expect(silLayout.offsetOf('mirrored_set_number')).toBe(0x11b);
    expect(silLayout.offsetOf('text_type')).toBe(0x12e);
    expect(silLayout.offsetOf('checksum1')).toBe(0x13e);
    expect(silLayout.offsetOf('checksum2')).toBe(0x1fe);
  });
});

describe('sil checksum', () => {
  it('is the negated 16-bit sum of the 159 words before checksum1', () => {
    const block = new Uint8Array(SIL_BLOCK_SIZE);
    const view = new DataView(block.buffer);
    view.setUint16(0, 0x0001, true);
    view.setUint16(0x13c, 0x0002, true);
    view.setUint16(0x13e, 0x7777, true);
    view.setUint16(0x140, 0x1234, true);
    expect(silChecksum1(block)).toBe(0xfffd);
  });

  it('holds for every block the writer builds, and any flipped bit before it breaks it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 0x13d * 8 - 1 }), (year, bit) => {
        const block = sealSil(buildSilBlock({ level: 'raid0', created: [year, 1, 2, 3, 4, 5], disks: 2, diskSectors: 65536 }, 0));
        expect(silChecksum1(block)).toBe(silLayout.decodeFrom(block).checksum1);
        block[bit >> 3] = block[bit >> 3]! ^ (1 << (bit & 7));
        expect(silChecksum1(block)).not.toBe(silLayout.decodeFrom(block).checksum1);
      }),
      { numRuns: 300 },
    );
  });
});

async function disk(path: string, image: { sizeSectors: number; areas: { offsetBytes: number; data: Uint8Array }[] }) {
  const dev = sparseDevice(path, image.sizeSectors, undefined);
  for (const a of image.areas) await dev.write(a.offsetBytes, a.data);
  return dev;
}

describe('sil reading', () => {
  it('names sets by creation time in letters', () => {
    const s = buildSilBlock({ level: 'raid10', created: [9, 12, 31, 23, 59, 58], disks: 4, diskSectors: 65536 }, 3);
    expect(setName(s, false)).toBe('sil_ajbcdbcdfjfi');
    expect(setName(s, true)).toBe('sil_ajbcdbcdfjfi-1');
    s.striped_set_number = -1;
    // dmraid prints the signed byte unsigned and leaves the last two characters as digits.
    expect(setName(s, true)).toBe('sil_ajbcdbcdfjfi-ecjejghc95');
  });

  it('uses the first valid copy when others are damaged and says which', async () => {
    const [image] = buildSilSet({
      level: 'raid1',
      created: [9, 1, 1, 1, 1, 1],
      disks: 2,
      diskSectors: 4000,
      damaged: { 0: { 0: 'checksum', 1: 'gone' } },
    });
    const { log, lines } = bufferLog();
    const [rd] = await sil.read(await disk('/dev/x', image!), readContext('sil', log));
    expect(lines.filter((l) => l.level === 'error').map((l) => l.text)).toEqual([
      'sil: invalid metadata checksum in area 1 on /dev/x',
      'sil: only 2/4 metadata areas found on /dev/x, electing...',
    ]);
    expect(rd!.areas.map((a) => a.offsetSectors)).toEqual([3999, 3487, 2975, 2463]);
    expect(rd!.areas.every((a) => a.data === image!.areas[2]!.data || a.data.every((b, i) => b === image!.areas[2]!.data[i]))).toBe(true);
  });

  it('dumps the i-th valid copy under position i, leaving missing ones empty (as dmraid)', async () => {
    const [image] = buildSilSet({ level: 'raid0', created: [9, 1, 1, 1, 1, 1], disks: 2, diskSectors: 4000, damaged: { 0: { 1: 'gone' } } });
    const [rd] = await sil.read(await disk('/dev/x', image!), readContext('sil', () => undefined));
    const files = await sil.dump!(rd!);
    expect(files.map((f) => [f.suffix, f.data.length, f.offsetBytes])).toEqual([
      ['_0', 512, 3999 * 512],
      ['_1', 512, 3487 * 512],
      ['_2', 512, 2975 * 512],
      ['_3', 0, undefined],
    ]);
  });

  it('gives RAID10 members their stripe set share, so the set has the array size', async () => {
    const images = buildSilSet({ level: 'raid10', created: [9, 1, 1, 1, 1, 2], disks: 4, diskSectors: 65536 });
    const rds = [];
    for (const [i, image] of images.entries()) rds.push(...(await sil.read(await disk(`/dev/sd${'abcd'[i]}`, image), readContext('sil', () => undefined))));
    const array = silLayout.decodeFrom(images[0]!.areas[0]!.data).array_sectors_low;
    expect(rds.map((r) => r.sectors)).toEqual([array / 2, array / 2, array / 2, array / 2]);
    const sets = buildSets(rds, { handlers: [sil], log: () => undefined });
    expect(sets.map((s) => [s.name, s.sets.map((h) => h.name)])).toEqual([['sil_ajababababac', ['sil_ajababababac-0', 'sil_ajababababac-1']]]);
  });
});

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bufferLog, buildSets, readContext, sparseDevice } from '@dmraid/core';
import { buildTestbedSet, formatTester } from '@dmraid/testkit';
import pdc, {
  PDC_BLOCK_SIZE,
  buildPdcBlock,
  buildPdcSet,
  pdcChecksum,
  pdcLayout,
  pdcRaidLayout,
  setName,
} from '../src/index.js';
import { testbedSets } from '../src/testbed.js';

const seeds = testbedSets().map(buildTestbedSet)
  .filter((s) => !/degraded|badsum|end16/.test(s.config))
  .map((s) => s.members.map((m) => ({ sizeSectors: m.sizeSectors, serial: m.serial, areas: m.areas })));

formatTester.run(pdc, {
  seeds,
  fixtures: [{ file: 'promise-raid.img.xz' }],
});

async function disk(path: string, image: { sizeSectors: number; areas: { offsetBytes: number; data: Uint8Array }[] }) {
  const dev = sparseDevice(path, image.sizeSectors, undefined);
  for (const a of image.areas) await dev.write(a.offsetBytes, a.data);
  return dev;
}

describe('pdc layout', () => {
  it('decodes and encodes any 2048 bytes back to the same bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: PDC_BLOCK_SIZE, maxLength: PDC_BLOCK_SIZE }), (bytes) => {
        expect(pdcLayout.encodeToBytes(pdcLayout.decodeFrom(bytes))).toEqual(bytes);
      }),
      { numRuns: 200 },
    );
  });

  it('places the fields where the C header puts them', () => {
    expect(pdcLayout.offsetOf('unknown_2')).toBe(0x28);
    expect(pdcLayout.offsetOf('raid')).toBe(0x200);
    expect(pdcLayout.offsetOf('checksum')).toBe(0x7fc);
    expect(0x200 + pdcRaidLayout.offsetOf('status')).toBe(0x21e);
    expect(0x200 + pdcRaidLayout.offsetOf('magic_1')).toBe(0x22c);
    expect(0x200 + pdcRaidLayout.offsetOf('disk')).toBe(0x234);
    expect(0x200 + pdcRaidLayout.size).toBe(0x294);
  });
});

describe('pdc checksum', () => {
  it('is the wrapping sum of the first 511 dwords', () => {
    const block = new Uint8Array(PDC_BLOCK_SIZE);
    const view = new DataView(block.buffer);
    view.setUint32(0, 0xffffffff, true);
    view.setUint32(4, 2, true);
    view.setUint32(0x7f8, 5, true);
    view.setUint32(0x7fc, 0x12345678, true);
    expect(pdcChecksum(block)).toBe(6);
  });

  it('holds for every block the writer builds, and any flipped bit breaks it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0xffffffff }), fc.integer({ min: 0, max: 0x7fb * 8 - 1 }), (id, bit) => {
        const block = buildPdcBlock({ level: 'raid0', id, disks: 2 }, 0, 0, 60000, 7);
        expect(pdcChecksum(block)).toBe(pdcLayout.decodeFrom(block).checksum);
        block[bit >> 3] = block[bit >> 3]! ^ (1 << (bit & 7));
        expect(pdcChecksum(block)).not.toBe(pdcLayout.decodeFrom(block).checksum);
      }),
      { numRuns: 200 },
    );
  });
});

describe('pdc reading', () => {
  it('names sets by raid.magic_1 in letters, RAID10 halves by disk position', () => {
    const block = pdcLayout.decodeFrom(buildPdcBlock({ level: 'raid10', id: 0x747f0521, disks: 4 }, 0, 3, 60000, 7));
    expect(setName(block, false)).toBe('pdc_bjfeeibeeb');
    expect(setName(block, true)).toBe('pdc_bjfeeibeeb-1');
  });

  it('finds the block at every end offset of the reference binary', async () => {
    for (const s of [63, 255, 256, 399, 591, 675, 735, 974, 991, 911, 951]) {
      const [image] = buildPdcSet({ diskSectors: 20000, endOffset: s, arrays: [{ level: 'raid1', id: 7, disks: 2 }] });
      const rds = await pdc.read(await disk('/dev/x', image!), readContext('pdc', () => undefined));
      expect(rds.map((r) => r.areas[0]!.offsetSectors)).toEqual([20000 - s]);
    }
  });

  it('does not probe offset 3087 (later upstream only)', async () => {
    const [image] = buildPdcSet({ diskSectors: 20000, endOffset: 3087, arrays: [{ level: 'raid1', id: 7, disks: 2 }] });
    expect(await pdc.read(await disk('/dev/x', image!), readContext('pdc', () => undefined))).toEqual([]);
  });

  it('turns further blocks into volumes of the disk, grouped but listed under the disk only', async () => {
    const images = buildPdcSet({
      diskSectors: 65536,
      arrays: [
        { level: 'raid0', id: 1, disks: 2, sectorsPerMember: 30000 },
        { level: 'raid1', id: 2, disks: 2, start: 30000, sectorsPerMember: 30000 },
      ],
    });
    const rds = [];
    for (const [i, image] of images.entries()) rds.push(...(await pdc.read(await disk(`/dev/sd${'ab'[i]}`, image), readContext('pdc', () => undefined))));
    expect(rds.map((r) => [r.name, r.offset, !!r.volumeOf])).toEqual([
      ['pdc_b', 0, false],
      ['pdc_c', 30000, true],
      ['pdc_b', 0, false],
      ['pdc_c', 30000, true],
    ]);
    const { log } = bufferLog();
    const sets = buildSets(rds, { handlers: [pdc], log });
    expect(sets.map((s) => [s.name, s.status, s.devs.length])).toEqual([
      ['pdc_b', 'ok', 2],
      ['pdc_c', 'ok', 2],
    ]);
    expect(pdc.log(rds[0]!).filter((l) => l.endsWith('(pdc):'))).toHaveLength(2);
    expect((await pdc.dump!(rds[0]!))[0]!.data.length).toBe(2 * PDC_BLOCK_SIZE);
  });

  it('reports an invalid total_disks with both magic pairs', async () => {
    const [image] = buildPdcSet({ diskSectors: 20000, arrays: [{ level: 'raid0', id: 9, disks: 2 }] });
    image!.areas[0]!.data[0x220] = 9;
    const { log, lines } = bufferLog();
    expect(await pdc.read(await disk('/dev/x', image!), readContext('pdc', log))).toEqual([]);
    expect(lines.map((l) => l.text)).toEqual([
      'pdc: identifying /dev/x, magic_0: 0x71000009/0x71000009, magic_1: 0x10009/0x9, total_disks: 9',
    ]);
  });

  it('falls back to the absolute sector 268435377 and keeps the area where the block is', async () => {
    const size = 268435377 + 1000;
    const [image] = buildPdcSet({ diskSectors: size, endOffset: 1000, arrays: [{ level: 'raid1', id: 5, disks: 2, sectorsPerMember: 50000 }] });
    const rds = await pdc.read(await disk('/dev/big', image!), readContext('pdc', () => undefined));
    expect(rds.map((r) => [r.name, r.sectors, r.areas[0]!.offsetSectors])).toEqual([['pdc_f', 49920, 268435377]]);
  });

  it('reads past the end for blocks at N-16 (the reference read error) and dumps the slots it went through', async () => {
    const [image] = buildPdcSet({ diskSectors: 20000, endOffset: 16, arrays: [{ level: 'raid1', id: 7, disks: 2 }] });
    const { log, lines } = bufferLog();
    const rds = await pdc.read(await disk('/dev/x', image!), readContext('pdc', log));
    expect(lines.map((l) => l.text)).toEqual(['pdc: reading /dev/x[Invalid argument]']);
    expect(rds).toHaveLength(1);
    const [file] = await pdc.dump!(rds[0]!);
    expect([file!.data.length, file!.offsetBytes]).toEqual([2 * PDC_BLOCK_SIZE, (20000 - 16) * 512]);
  });

  it('erases only the first block, as dmraid', async () => {
    const images = buildPdcSet({
      diskSectors: 65536,
      arrays: [
        { level: 'raid0', id: 1, disks: 2, sectorsPerMember: 30000 },
        { level: 'raid1', id: 2, disks: 2, start: 30000, sectorsPerMember: 30000 },
      ],
    });
    const dev = await disk('/dev/sda', images[0]!);
    const [rd] = await pdc.read(dev, readContext('pdc', () => undefined));
    const ctx = { format: 'pdc', log: () => undefined, error: () => undefined, openWritable: async () => dev };
    expect(await pdc.write!(rd!, dev, ctx, true)).toBe(true);
    const first = (await dev.read(images[0]!.areas[0]!.offsetBytes, PDC_BLOCK_SIZE)) as Uint8Array;
    const second = (await dev.read(images[0]!.areas[1]!.offsetBytes, PDC_BLOCK_SIZE)) as Uint8Array;
    expect(first.every((b) => b === 0)).toBe(true);
    expect(second).toEqual(images[0]!.areas[1]!.data);
  });
});

// hpt37x's create: the bytes the testbed's vendor-shaped set has (but for the random set id) in sector 9 of
// every disk, and bytes our reader and writer give back unchanged.
import { describe, expect, it } from 'vitest';
import type { CreateRequest } from '@dmraid/core';
import { createOnSparse, roundTrip, type SparseDisk } from '@dmraid/testkit';
import hpt37x, { buildHpt37xSet, HPT37X_CONFIG_SECTOR, hpt37xLayout, type Hpt37xLevel } from '../src/index.js';

type Sparse = SparseDisk;

const create = (level: string, sizes: readonly number[], extra: Partial<CreateRequest> = {}) => createOnSparse(hpt37x, level, sizes, extra);

const block = async (d: Sparse) => (await d.read(HPT37X_CONFIG_SECTOR * 512, hpt37xLayout.size)) as Uint8Array;
const decoded = async (d: Sparse) => hpt37xLayout.decodeFrom(await block(d));

describe('hpt37x create', () => {
  const shapes: { level: string; writer: Hpt37xLevel; disks: number; shift?: number; strip?: number }[] = [
    { level: '0', writer: 'raid0', disks: 2 },
    { level: '0', writer: 'raid0', disks: 3, shift: 6, strip: 64 },
    { level: '1', writer: 'raid1', disks: 2 },
    { level: '10', writer: 'raid10', disks: 4 },
    { level: '01', writer: 'raid01', disks: 4 },
  ];
  for (const s of shapes) {
    it(`--type ${s.level} on ${s.disks} disks writes the testbed's ${s.writer} bytes but for the id`, async () => {
      const r = await create(s.level, Array(s.disks).fill(65536), { stripSectors: s.strip });
      expect(r.errors).toEqual([]);
      expect(r.ok).toBe(true);
      const first = await decoded(r.devices[0]!);
      const id = first.magic_1 || first.magic_0;
      expect(id).toBeGreaterThan(0);
      const vendor = buildHpt37xSet({ level: s.writer, id, disks: s.disks, diskSectors: 65536, shift: s.shift });
      for (const [i, d] of r.devices.entries()) expect(await block(d), d.path).toEqual(vendor[i]!.data);
      expect(r.lines.map((l) => l.text).join('\n')).toContain('(hpt37x stores no name: "Vol0" is not written)');
      expect(await roundTrip(hpt37x, r.devices.map((d, i) => ({ sizeSectors: d.sizeSectors, areas: [{ offsetBytes: HPT37X_CONFIG_SECTOR * 512, data: vendor[i]!.data }] })))).toBe(s.disks);
    });
  }

  it('sizes the set by the smallest disk', async () => {
    const r = await create('0', [80000, 65536]);
    expect(r.ok).toBe(true);
    const [a, b] = [await decoded(r.devices[0]!), await decoded(r.devices[1]!)];
    expect(a.total_secs).toBe(2 * Math.floor((65536 - 10) / 128) * 128);
    expect(b).toEqual({ ...a, disk_number: 1 });
  });

  it('--size: whole stripes per member, as the BIOS rounds; a RAID01 stripes two mirrors', async () => {
    const r = await create('01', [65536, 65536, 65536, 65536], { sizeSectors: 20000 });
    expect(r.ok).toBe(true);
    // 10000 per half, down to 78 stripes of 128; each mirror half records its own size.
    expect((await decoded(r.devices[0]!)).total_secs).toBe(78 * 128);
    const m = await create('1', [65536, 65536], { sizeSectors: 20000 });
    expect((await decoded(m.devices[1]!)).total_secs).toBe(20000);
  });

  it('two sets never share an id', async () => {
    const ids = new Set<number>();
    for (let i = 0; i < 8; i++) ids.add((await decoded((await create('1', [65536, 65536])).devices[0]!)).magic_0);
    expect(ids.size).toBe(8);
  });

  it('refuses what the metadata cannot describe, writing nothing', async () => {
    for (const [level, n, extra, error] of [
      ['5', 3, {}, /unsupported RAID level "5"/],
      ['1', 3, {}, /wrong number of disks \(3\) for RAID1/],
      ['0', 9, {}, /wrong number of disks \(9\) for RAID0/],
      ['10', 5, {}, /wrong number of disks \(5\) for RAID10/],
      ['01', 2, {}, /wrong number of disks \(2\) for RAID01/],
      ['0', 2, { stripSectors: 16 }, /stripe size 8k/],
      ['0', 2, { sizeSectors: 1 << 20 }, /does not fit/],
    ] as const) {
      const r = await create(level, Array(n).fill(65536), extra);
      expect(r.ok).toBe(false);
      expect(r.errors.join()).toMatch(error);
      for (const d of r.devices) expect(d.sectors.size).toBe(0);
    }
  });
});

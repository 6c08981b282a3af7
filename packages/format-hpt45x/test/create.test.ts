// hpt45x's create: the bytes the testbed's vendor-shaped set has (but for the random set id), at each
// disk's own N-11, and bytes our reader and writer give back unchanged.
import { describe, expect, it } from 'vitest';
import type { CreateRequest } from '@dmraid/core';
import { createOnSparse, roundTrip, type SparseDisk } from '@dmraid/testkit';
import hpt45x, { buildHpt45xSet, HPT45X_END_OFFSET, hpt45xLayout, type Hpt45xLevel } from '../src/index.js';

type Sparse = SparseDisk;

const create = (level: string, sizes: readonly number[], extra: Partial<CreateRequest> = {}) => createOnSparse(hpt45x, level, sizes, extra);

const block = async (d: Sparse) => (await d.read((d.sizeSectors - HPT45X_END_OFFSET) * 512, hpt45xLayout.size)) as Uint8Array;

describe('hpt45x create', () => {
  const shapes: { level: string; writer: Hpt45xLevel; disks: number; shift?: number; strip?: number }[] = [
    { level: '0', writer: 'raid0', disks: 2 },
    { level: '0', writer: 'raid0', disks: 3, shift: 6, strip: 64 },
    { level: '1', writer: 'raid1', disks: 2 },
    { level: '10', writer: 'raid10', disks: 4 },
    { level: '01', writer: 'raid10', disks: 4 },
  ];
  for (const s of shapes) {
    it(`--type ${s.level} on ${s.disks} disks writes the testbed's ${s.writer} bytes but for the id`, async () => {
      const r = await create(s.level, Array(s.disks).fill(65536), { stripSectors: s.strip });
      expect(r.errors).toEqual([]);
      expect(r.ok).toBe(true);
      const first = hpt45xLayout.decodeFrom(await block(r.devices[0]!));
      expect(first.magic_0).toBeGreaterThan(0);
      const vendor = buildHpt45xSet({ level: s.writer, id: first.magic_0, disks: s.disks, diskSectors: 65536, shift: s.shift });
      for (const [i, d] of r.devices.entries()) expect(await block(d), d.path).toEqual(vendor[i]!.data);
      const summary = r.lines.map((l) => l.text).join('\n');
      expect(summary).toContain('(hpt45x stores no name: "Vol0" is not written)');
      expect(await roundTrip(hpt45x, r.devices.map((d, i) => ({ sizeSectors: d.sizeSectors, areas: [{ offsetBytes: (d.sizeSectors - HPT45X_END_OFFSET) * 512, data: vendor[i]!.data }] })))).toBe(s.disks);
    });
  }

  it('sizes the set by the smallest disk and puts each block at its own disk\'s end', async () => {
    const r = await create('0', [65536, 80000]);
    expect(r.ok).toBe(true);
    const [a, b] = [hpt45xLayout.decodeFrom(await block(r.devices[0]!)), hpt45xLayout.decodeFrom(await block(r.devices[1]!))];
    expect(a.total_secs).toBe(2 * Math.floor((65536 - 11) / 128) * 128);
    expect(b).toEqual({ ...a, disk_number: 1 });
  });

  it('--size: whole stripes per member, as the BIOS rounds', async () => {
    const r = await create('10', [65536, 65536, 65536, 65536], { sizeSectors: 20000 });
    expect(r.ok).toBe(true);
    // 10000 per member, down to 78 stripes of 128.
    expect(hpt45xLayout.decodeFrom(await block(r.devices[0]!)).total_secs).toBe(2 * 78 * 128);
  });

  it('two sets never share an id', async () => {
    const ids = new Set<number>();
    for (let i = 0; i < 8; i++) ids.add(hpt45xLayout.decodeFrom(await block((await create('1', [65536, 65536])).devices[0]!)).magic_0);
    expect(ids.size).toBe(8);
  });

  it('refuses what the metadata cannot describe, writing nothing', async () => {
    for (const [level, n, extra, error] of [
      ['5', 3, {}, /unsupported RAID level "5"/],
      ['1', 3, {}, /wrong number of disks \(3\) for RAID1/],
      ['0', 9, {}, /wrong number of disks \(9\) for RAID0/],
      ['10', 6 - 1, {}, /wrong number of disks \(5\) for RAID10/],
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

// via's create: the bytes the testbed's vendor-shaped set has (but for the random serial checksums, and the
// checksum byte that follows them), at each disk's own last sector, and bytes our reader and writer give back
// unchanged.
import { describe, expect, it } from 'vitest';
import type { CreateRequest } from '@dmraid/core';
import { createOnSparse, roundTrip, type SparseDisk } from '@dmraid/testkit';
import via, { buildViaSet, setName, VIA_END_OFFSET, viaChecksum, viaLayout, type ViaLevel } from '../src/index.js';

type Sparse = SparseDisk;

const create = (level: string, sizes: readonly number[], extra: Partial<CreateRequest> = {}) => createOnSparse(via, level, sizes, extra);

const block = async (d: Sparse) => (await d.read((d.sizeSectors - VIA_END_OFFSET) * 512, viaLayout.size)) as Uint8Array;

/** A block with the serial checksums of `from`, the checksum byte recomputed. */
function withSerials(data: Uint8Array, from: Uint8Array): Uint8Array {
  const v = viaLayout.decodeFrom(data);
  const f = viaLayout.decodeFrom(from);
  v.serial_checksum = f.serial_checksum;
  v.array.serial_checksum = f.array.serial_checksum;
  v.checksum = viaChecksum(viaLayout.encodeToBytes(v));
  return viaLayout.encodeToBytes(v);
}

describe('via create', () => {
  const shapes: { level: string; writer: ViaLevel; disks: number; code?: number; strip?: number }[] = [
    { level: '0', writer: 'raid0', disks: 2 },
    { level: '0', writer: 'raid0', disks: 3, code: 3, strip: 64 },
    { level: '1', writer: 'raid1', disks: 2 },
    { level: '10', writer: 'raid01', disks: 4 },
    { level: '01', writer: 'raid01', disks: 4 },
  ];
  for (const s of shapes) {
    it(`--type ${s.level} on ${s.disks} disks writes the testbed's ${s.writer} bytes but for the serial checksums`, async () => {
      const r = await create(s.level, Array(s.disks).fill(65536), { stripSectors: s.strip });
      expect(r.errors).toEqual([]);
      expect(r.ok).toBe(true);
      const vendor = buildViaSet({ level: s.writer, id: 0x210, disks: s.disks, diskSectors: 65536, strideCode: s.code });
      const ours = await Promise.all(r.devices.map(block));
      for (const [i, b] of ours.entries()) {
        expect(viaChecksum(b)).toBe(b[viaLayout.size - 1]);
        expect(withSerials(vendor[i]!.data, b), `member ${i}`).toEqual(b);
      }
      const summary = r.lines.map((l) => l.text).join('\n');
      expect(summary).toContain(`RAID name:      ${setName(viaLayout.decodeFrom(ours[0]!), false)} (via stores no name: "Vol0" is not written)`);
      expect(await roundTrip(via, r.devices.map((d, i) => ({ sizeSectors: d.sizeSectors, areas: [{ offsetBytes: (d.sizeSectors - VIA_END_OFFSET) * 512, data: ours[i]! }] })))).toBe(s.disks);
    });
  }

  it('sizes the set by the smallest disk and puts each block at its own disk\'s last sector', async () => {
    const r = await create('0', [80000, 65536]);
    expect(r.ok).toBe(true);
    const [a, b] = [viaLayout.decodeFrom(await block(r.devices[0]!)), viaLayout.decodeFrom(await block(r.devices[1]!))];
    expect(a.array.capacity_low).toBe(2 * Math.floor((65536 - 1) / 128) * 128);
    expect(b.array.capacity_low).toBe(a.array.capacity_low);
  });

  it('two sets never share a name', async () => {
    const names = new Set<string>();
    for (let i = 0; i < 8; i++) names.add(setName(viaLayout.decodeFrom(await block((await create('1', [65536, 65536])).devices[0]!)), false));
    expect(names.size).toBe(8);
  });

  it('refuses what the metadata cannot describe, writing nothing', async () => {
    for (const [level, n, extra, error] of [
      ['5', 3, {}, /unsupported RAID level "5"/],
      ['1', 3, {}, /wrong number of disks \(3\) for RAID1/],
      ['0', 8, {}, /wrong number of disks \(8\) for RAID0/],
      ['10', 6 - 1, {}, /wrong number of disks \(5\) for RAID10/],
      ['01', 10, {}, /wrong number of disks \(10\) for RAID01/],
      ['0', 2, { stripSectors: 12 }, /stripe size 6k/],
      ['0', 2, { sizeSectors: 20000 }, /no --size/],
    ] as const) {
      const r = await create(level, Array(n).fill(65536), extra);
      expect(r.ok).toBe(false);
      expect(r.errors.join()).toMatch(error);
      for (const d of r.devices) expect(d.sectors.size).toBe(0);
    }
  });
});

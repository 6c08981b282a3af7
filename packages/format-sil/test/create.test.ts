/**
 * sil's -C on memory disks: the Medley limits (member counts, strips, sizes), the block at all four places,
 * named by the creation time, and the refusal of a disk already in a sil set. The CLI judges (reference,
 * blkid, testbed shapes, VM) are in packages/cli/test/create-nv-pdc-sil*.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { nullLog, readContext, type BlockDevice } from '@dmraid/core';
import { deviceWriteContext, memoryDisks as disks } from '@dmraid/testkit';
import sil, { SIL_T_RAID10, silLayout } from '../src/index.js';
import { createSil, createdAt, planSil } from '../src/create.js';
import { setName } from '../src/handler.js';

const writeContext = (devices: readonly BlockDevice[], errors: string[]) => deviceWriteContext('sil', devices, errors);

const NOW = new Date(2026, 11, 7, 4, 5, 6);

describe('sil -C', () => {
  it.each([
    ['1', 3, undefined, undefined, 'wrong number of disks (3) for RAID level 1'],
    ['10', 6, undefined, undefined, 'wrong number of disks (6) for RAID level 10'],
    ['10', 4, undefined, undefined, undefined],
    ['0', 8, undefined, undefined, undefined],
    ['0', 9, undefined, undefined, 'wrong number of disks (9) for RAID level 0'],
    ['0', 1, undefined, undefined, 'wrong number of disks (1) for RAID level 0'],
    ['5', 3, undefined, undefined, 'unsupported RAID level "5" (sil creates 0, 1 and 10)'],
    ['0', 2, 4, undefined, 'stripe size 4 blocks is not a power of two from 4k to 1024k'],
    ['0', 2, 2048, undefined, undefined],
    ['0', 2, 4096, undefined, 'stripe size 4096 blocks is not a power of two from 4k to 1024k'],
    ['1', 2, 128, undefined, 'a mirror has no stripe size'],
    ['1', 2, undefined, 65536, 'size 65536 does not fit on the disks'],
    ['0', 2, undefined, 100, 'size too small'],
  ] as const)('--type %s on %i disks, strip %s, size %s: %s', (level, n, stripSectors, sizeSectors, error) => {
    const plan = planSil({ name: 'N', level, devices: disks(n), stripSectors, sizeSectors }, createdAt(NOW));
    if (error) expect(plan).toBe(error);
    else expect(typeof plan).toBe('object');
  });

  it('RAID10: the same block at all four places, named by the creation time, halves by mirrored pairs', async () => {
    const devices = disks(4);
    const errors: string[] = [];
    expect(await createSil({ name: 'Ignored', level: '10', devices, sizeSectors: 50000 }, writeContext(devices, errors), { read: (d) => sil.read(d, readContext('sil', nullLog)), setName: (s) => setName(s, false) }, NOW)).toBe(true);
    expect(errors).toEqual([]);
    for (const [i, d] of devices.entries()) {
      const copies = await Promise.all([1, 513, 1025, 1537].map((back) => d.read((65536 - back) * 512, 512)));
      for (const c of copies) expect(c).toEqual(copies[0]);
      const block = silLayout.decodeFrom(copies[0] as Uint8Array);
      expect(block.type).toBe(SIL_T_RAID10);
      expect(block.disk_number).toBe(i);
      expect(block.striped_set_number).toBe(i < 2 ? 0 : 1);
      expect([block.year, block.month, block.day, block.hour, block.minutes, block.seconds]).toEqual([26, 12, 7, 4, 5, 6]);
      expect(block.array_sectors_low).toBe(2 * (25000 - (25000 % 128)));
      const [rd] = await sil.read(d, readContext('sil', nullLog));
      expect(rd!.name).toBe(`sil_cgbcahaeafag-${i < 2 ? 0 : 1}`);
    }
  });

  it('refuses a disk already in a sil set, writing nothing', async () => {
    const devices = disks(2);
    expect(await sil.create!({ name: 'First', level: '1', devices }, writeContext(devices, []))).toBe(true);
    const before = await Promise.all(devices.map((d) => d.read((d.sizeSectors - 1537) * 512, 1537 * 512)));
    const errors: string[] = [];
    expect(await sil.create!({ name: 'Second', level: '0', devices }, writeContext(devices, errors))).toBe(false);
    expect(errors[0]).toMatch(/^d0 is a member of sil set sil_[a-j]+; erase it first/);
    expect(await Promise.all(devices.map((d) => d.read((d.sizeSectors - 1537) * 512, 1537 * 512)))).toEqual(before);
  });
});

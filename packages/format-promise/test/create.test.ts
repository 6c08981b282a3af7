/**
 * pdc's -C on memory disks: the FastTrak limits (member counts, strips, sizes), the block it writes at N-63
 * with the label and the zeroed further slots, and the refusal of a disk already in a pdc set. The CLI judges
 * (reference, blkid, testbed shapes, VM) are in packages/cli/test/create-nv-pdc-sil*.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { nullLog, readContext, type BlockDevice } from '@dmraid/core';
import { deviceWriteContext, memoryDisks as disks } from '@dmraid/testkit';
import pdc, { PDC_MAGIC, PDC_T_RAID1, pdcLayout } from '../src/index.js';
import { planPdc } from '../src/create.js';

const writeContext = (devices: readonly BlockDevice[], errors: string[]) => deviceWriteContext('pdc', devices, errors);

describe('pdc -C', () => {
  it.each([
    ['1', 3, undefined, undefined, 'wrong number of disks (3) for RAID level 1'],
    ['10', 2, undefined, undefined, 'wrong number of disks (2) for RAID level 10'],
    ['10', 6, undefined, undefined, undefined],
    ['10', 8, undefined, undefined, 'wrong number of disks (8) for RAID level 10'],
    ['0', 7, undefined, undefined, undefined],
    ['0', 8, undefined, undefined, 'wrong number of disks (8) for RAID level 0'],
    ['5', 3, undefined, undefined, 'unsupported RAID level "5" (pdc creates 0, 1 and 10)'],
    ['0', 2, 4, undefined, 'stripe size 4 blocks is not a power of two from 4k to 1024k'],
    ['0', 2, 2048, undefined, undefined],
    ['0', 2, 4096, undefined, 'stripe size 4096 blocks is not a power of two from 4k to 1024k'],
    ['1', 2, 128, undefined, 'a mirror has no stripe size'],
    ['0', 2, undefined, 2 * 65536, 'size 131072 does not fit on the disks'],
    ['0', 2, undefined, 100, 'size too small'],
  ] as const)('--type %s on %i disks, strip %s, size %s: %s', (level, n, stripSectors, sizeSectors, error) => {
    const plan = planPdc({ name: 'N', level, devices: disks(n), stripSectors, sizeSectors }, 1);
    if (error) expect(plan).toBe(error);
    else expect(typeof plan).toBe('object');
  });

  it('--size is per set, members rounded down to whole strips', () => {
    const plan = planPdc({ name: 'N', level: '0', devices: disks(3), sizeSectors: 40000 }, 1);
    expect(typeof plan === 'object' && plan.totalSectors).toBe(3 * (Math.ceil(40000 / 3) - (Math.ceil(40000 / 3) % 128)));
  });

  it('RAID10 as Promise stores it: one block at N-63 with the label, the further slots zeroed, read as pdc', async () => {
    const devices = disks(4);
    // A block of an older array in the second slot must not survive as a second array.
    const stale = new Uint8Array(2048);
    stale.set(new TextEncoder().encode(PDC_MAGIC));
    for (const d of devices) await (d as never as { write(o: number, b: Uint8Array): Promise<unknown> }).write((65536 - 63 + 14) * 512, stale);
    const errors: string[] = [];
    expect(await pdc.create!({ name: 'Both', level: '10', devices, sizeSectors: 60000 }, writeContext(devices, errors))).toBe(true);
    expect(errors).toEqual([]);
    for (const [i, d] of devices.entries()) {
      const rds = await pdc.read(d, readContext('pdc', nullLog));
      expect(rds, d.path).toHaveLength(1);
      expect(rds[0]!.areas[0]!.offsetSectors).toBe(65536 - 63);
      const block = pdcLayout.decodeFrom(rds[0]!.areas[0]!.data);
      expect(block.raid.type).toBe(PDC_T_RAID1);
      expect(block.raid.total_disks).toBe(4);
      expect(block.raid.disk_number).toBe(i);
      expect(block.raid.total_secs).toBe(2 * (30000 - (30000 % 128)));
      expect(new TextDecoder().decode(block.name)).toBe('Both'.padEnd(32, ' '));
      expect(rds[0]!.name).toMatch(new RegExp(`^pdc_[a-j]+-${i < 2 ? 0 : 1}$`));
    }
  });

  it('refuses a disk already in a pdc set, writing nothing', async () => {
    const devices = disks(2);
    expect(await pdc.create!({ name: 'First', level: '1', devices }, writeContext(devices, []))).toBe(true);
    const before = await Promise.all(devices.map((d) => d.read((d.sizeSectors - 63) * 512, 2048)));
    const errors: string[] = [];
    expect(await pdc.create!({ name: 'Second', level: '0', devices }, writeContext(devices, errors))).toBe(false);
    expect(errors[0]).toMatch(/^d0 is a member of pdc set pdc_[a-j]+; erase it first/);
    expect(await Promise.all(devices.map((d) => d.read((d.sizeSectors - 63) * 512, 2048)))).toEqual(before);
  });
});

/**
 * nvidia's -C on memory disks: the MediaShield limits (member counts, strips, no --size), the blocks it writes
 * (at each disk's own N-2, read back as one set of the level asked for) and the refusal of a disk that is
 * already an nvidia member. The CLI judges (reference, blkid, testbed shapes, VM) are in
 * packages/cli/test/create-nv-pdc-sil*.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { memoryDevice, nullLog, readContext, type BlockDevice } from '@dmraid/core';
import { deviceWriteContext, memoryDisks as disks } from '@dmraid/testkit';
import nvidia, { NV_LEVEL_5_SYM, NV_SCDB_INIT_RAID, nvLayout } from '../src/index.js';
import { planNvidia } from '../src/create.js';

const disk = (path: string, sectors = 65536) => memoryDevice(path, new Uint8Array(sectors * 512), `S-${path}`);

const writeContext = (devices: readonly BlockDevice[], errors: string[]) => deviceWriteContext('nvidia', devices, errors);

const STRIP = 'is not one of 4k, 8k, 16k, 32k, 64k, 128k';

describe('nvidia -C', () => {
  it.each([
    ['5', 2, undefined, undefined, 'wrong number of disks (2) for RAID level 5'],
    ['1', 3, undefined, undefined, 'wrong number of disks (3) for RAID level 1'],
    ['10', 6, undefined, undefined, undefined],
    ['10', 5, undefined, undefined, 'wrong number of disks (5) for RAID level 10'],
    ['0', 1, undefined, undefined, 'wrong number of disks (1) for RAID level 0'],
    ['6', 4, undefined, undefined, 'unsupported RAID level "6" (nvidia creates 0, 1, 10 and 5)'],
    ['0', 2, 4, undefined, `stripe size 4 blocks ${STRIP}`],
    ['0', 2, 256, undefined, undefined],
    ['0', 2, 512, undefined, `stripe size 512 blocks ${STRIP}`],
    ['0', 2, 96, undefined, `stripe size 96 blocks ${STRIP}`],
    ['1', 2, 128, undefined, 'a mirror has no stripe size'],
    ['0', 2, undefined, 20480, 'an nvidia set spans whole disks; --size is not supported'],
  ] as const)('--type %s on %i disks, strip %s, size %s: %s', (level, n, stripSectors, sizeSectors, error) => {
    const plan = planNvidia({ name: 'N', level, devices: disks(n, 8192), stripSectors, sizeSectors });
    if (error) expect(plan).toBe(error);
    else expect(typeof plan).toBe('object');
  });

  it('RAID5 over disks of different sizes: each block at its own N-2, capacity from the smallest, initialising', async () => {
    const devices = [disk('d0'), disk('d1'), disk('big', 70000)];
    const errors: string[] = [];
    expect(await nvidia.create!({ name: 'Parity', level: '5', devices }, writeContext(devices, errors))).toBe(true);
    expect(errors).toEqual([]);
    const ids = new Set<number>();
    for (const [i, d] of devices.entries()) {
      const [rd] = await nvidia.read(d, readContext('nvidia', nullLog));
      expect(rd, d.path).toBeDefined();
      expect(rd!.areas[0]!.offsetSectors).toBe(d.sizeSectors - 2);
      const nv = nvLayout.decodeFrom(rd!.areas[0]!.data);
      expect(nv.unitNumber).toBe(i);
      expect(nv.array.raidLevel).toBe(NV_LEVEL_5_SYM);
      expect(nv.array.raidJobCode).toBe(NV_SCDB_INIT_RAID);
      expect(nv.capacity).toBe(Math.floor((65536 - 2) / 128) * 128 * 2);
      expect(new TextDecoder().decode(nv.productID)).toBe('Parity'.padEnd(16, ' '));
      expect(rd!.status).toBe('nosync');
      ids.add(nv.array.signature[0]!);
    }
    expect(ids.size).toBe(1);
  });

  it('RAID0 is written idle (nothing to bring in step)', async () => {
    const devices = disks(2);
    expect(await nvidia.create!({ name: 'Fast', level: '0', devices }, writeContext(devices, []))).toBe(true);
    const [rd] = await nvidia.read(devices[0]!, readContext('nvidia', nullLog));
    expect(nvLayout.decodeFrom(rd!.areas[0]!.data).array.raidJobCode).toBe(0);
    expect(rd!.status).toBe('ok');
  });

  it('refuses a disk already in an nvidia set, writing nothing', async () => {
    const devices = disks(2);
    expect(await nvidia.create!({ name: 'First', level: '1', devices }, writeContext(devices, []))).toBe(true);
    const before = await Promise.all(devices.map((d) => d.read((d.sizeSectors - 2) * 512, 512)));
    const errors: string[] = [];
    expect(await nvidia.create!({ name: 'Second', level: '0', devices }, writeContext(devices, errors))).toBe(false);
    expect(errors[0]).toMatch(/^d0 is a member of nvidia set nvidia_[a-j]+; erase it first/);
    expect(await Promise.all(devices.map((d) => d.read((d.sizeSectors - 2) * 512, 512)))).toEqual(before);
  });
});

// spare / rebuild / rebuilt / remove on testbed members, field by field as FreeBSD's md_nvidia.c writes them.
import { describe, expect, it } from 'vitest';
import { allDevices, isIoError, type BlockDevice, type RaidDevice } from '@dmraid/core';
import { failedHarness } from '@dmraid/testkit';
import nvidia, { NV_ARRAY_FLAG_ERROR, nvChecksum, nvChecksumOk, nvLayout, type Nv } from '../src/index.js';
import { NV_UNIT_REBUILDING } from '../src/ops.js';

const { open, testbed, readSets, writeContext } = failedHarness(nvidia);

async function blockAt(path: string): Promise<{ nv: Nv; raw: Uint8Array }> {
  const dev = await open(path);
  const raw = await dev.read((dev.sizeSectors - 2) * 512, nvLayout.size);
  if (isIoError(raw)) throw new Error(raw.message);
  return { nv: nvLayout.decodeFrom(raw), raw };
}

/** A fresh zeroed disk the size of the testbed's members. */
async function blankLike(path: string): Promise<BlockDevice> {
  const dev = await open(path);
  await dev.write((dev.sizeSectors - 2) * 512, new Uint8Array(nvLayout.size));
  return dev;
}

describe('nvidia rebuild, then rebuilt', () => {
  it('DEV takes the missing unit rebuilding (raidJobCode 3, unitFlags 0x100); rebuilt leaves every member idle and whole', async () => {
    const { paths } = await testbed('raid1-2');
    const { nv: survivorBefore } = await blockAt(paths[0]!);
    // The failure recorded first: the survivor carries the degraded bit.
    const [whole] = await readSets(paths);
    expect(await nvidia.failed!(whole!, allDevices(whole!)[1]!.device as BlockDevice, writeContext(paths[1]!).ctx)).toBe(true);
    const target = await blankLike(paths[1]!);
    const [set] = await readSets([paths[0]!]);
    const { ctx, errors } = writeContext('');
    expect(await nvidia.rebuild!(set!, target, ctx)).toBe(true);
    expect(errors).toEqual([]);
    const t = await blockAt(paths[1]!);
    const s = await blockAt(paths[0]!);
    expect(nvChecksumOk(t.nv, t.raw) && nvChecksumOk(s.nv, s.raw)).toBe(true);
    expect([t.nv.unitNumber, t.nv.unitFlags, t.nv.array.raidJobCode, t.nv.array.raidJobMark]).toEqual([1, NV_UNIT_REBUILDING, 3, 0]);
    expect([s.nv.unitNumber, s.nv.unitFlags, s.nv.array.raidJobCode, s.nv.array.flags & NV_ARRAY_FLAG_ERROR]).toEqual([0, 0, 3, NV_ARRAY_FLAG_ERROR]);
    expect(t.nv.array.signature).toEqual(survivorBefore.array.signature);

    const [rebuilding] = await readSets(paths);
    const rds = allDevices(rebuilding!);
    expect(rds.map((rd: RaidDevice) => rd.outOfSync)).toEqual([undefined, 'rebuilding (array.raidJobCode 3, unitFlags 0x100)']);
    expect(await nvidia.rebuilt!(rebuilding!, target, writeContext('').ctx)).toBe(true);
    for (const p of paths) {
      const { nv, raw } = await blockAt(p);
      expect(nvChecksumOk(nv, raw)).toBe(true);
      expect([nv.unitFlags, nv.array.raidJobCode, nv.array.raidJobMark, nv.array.flags]).toEqual([0, 0, 0, 0]);
    }
    const [done] = await readSets(paths);
    expect([done!.status, allDevices(done!).map((rd) => rd.status)]).toEqual(['ok', ['ok', 'ok']]);
  });

  it('refuses a set without redundancy, a set with nothing missing, and rebuilt onto a disk not rebuilding', async () => {
    const { paths } = await testbed('raid0-2');
    const [set] = await readSets(paths);
    const dev = allDevices(set!)[1]!.device as BlockDevice;
    const w = writeContext('');
    expect(await nvidia.rebuild!(set!, dev, w.ctx)).toBe(false);
    expect(w.errors.join('\n')).toMatch(/has no redundancy/);
    expect(w.opened).toEqual([]);
    const m = await testbed('raid1-2');
    const [mirror] = await readSets(m.paths);
    const w2 = writeContext('');
    expect(await nvidia.rebuild!(mirror!, allDevices(mirror!)[1]!.device as BlockDevice, w2.ctx)).toBe(false);
    expect(await nvidia.rebuilt!(mirror!, allDevices(mirror!)[1]!.device as BlockDevice, w2.ctx)).toBe(false);
    expect(w2.errors).toEqual([`nvidia: RAID set "${mirror!.name}" has no missing member to rebuild`, `nvidia: RAID set "${mirror!.name}" is not rebuilding onto ${m.paths[1]}`]);
    expect(w2.opened).toEqual([]);
  });
});

describe('nvidia rebuild onto the array\'s own spare', () => {
  it('the spare takes the missing unit and leaves the count: totalVolumes one less on every disk, so the set expects its data members only', async () => {
    const { paths } = await testbed('raid1-2-spare');
    const before = (await blockAt(paths[0]!)).nv.array.totalVolumes;
    expect(before).toBe(3);
    const [whole] = await readSets(paths);
    expect(await nvidia.failed!(whole!, allDevices(whole!)[1]!.device as BlockDevice, writeContext(paths[1]!).ctx)).toBe(true);
    const left = [paths[0]!, paths[2]!];
    const [set] = await readSets(left);
    const spare = allDevices(set!).find((rd) => rd.type === 'spare')!.device as BlockDevice;
    expect(spare.path).toBe(paths[2]);
    expect(await nvidia.rebuild!(set!, spare, writeContext('').ctx)).toBe(true);
    for (const p of left) expect((await blockAt(p)).nv.array.totalVolumes).toBe(2);
    const [rebuilding] = await readSets(left);
    expect(await nvidia.rebuilt!(rebuilding!, spare, writeContext('').ctx)).toBe(true);
    const [done] = await readSets(left);
    expect([done!.status, done!.foundDevs, allDevices(done!).map((rd) => [rd.type, rd.status])]).toEqual(['ok', 2, [['raid1', 'ok'], ['raid1', 'ok']]]);
  });
});

describe('nvidia spare and remove', () => {
  it('a spare is the array block past the data units, counted in totalVolumes on every disk; remove zeroes all', async () => {
    const { paths } = await testbed('raid1-2-spare');
    const spareBefore = await blockAt(paths[2]!);
    const [vendor] = await readSets(paths);
    // The same set without its spare, then the spare added by us: the bytes are the vendor's.
    const target = await blankLike(paths[2]!);
    // Two members that count three disks: take the spare back out of their count as before it was added.
    for (const p of paths.slice(0, 2)) {
      const { nv } = await blockAt(p);
      nv.array.totalVolumes = 2;
      nv.chksum = nvChecksum(nv);
      const dev = await open(p);
      await dev.write((dev.sizeSectors - 2) * 512, nvLayout.encodeToBytes(nv));
    }
    const [two] = await readSets(paths.slice(0, 2));
    expect(await nvidia.spare!(target, two!, writeContext('').ctx)).toBe(true);
    expect(Buffer.from((await blockAt(paths[2]!)).raw).equals(Buffer.from(spareBefore.raw))).toBe(true);
    const [after] = await readSets(paths);
    expect(after!.devs.map((rd) => [rd.device.path, rd.type])).toEqual(vendor!.devs.map((rd) => [rd.device.path, rd.type]));
    expect(await nvidia.remove!(after!, writeContext('').ctx)).toBe(true);
    for (const p of paths) expect((await blockAt(p)).raw.every((b) => b === 0)).toBe(true);
  });
});

describe('nvidia RAID5 one member short: kept degraded, so rebuild finds it', () => {
  it('idle or flagged degraded: the set is inconsistent, its members placed by unitNumber; rebuild gives DEV the missing unit', async () => {
    const { paths } = await testbed('raid5-3');
    const left = [paths[0]!, paths[2]!];
    const [set] = await readSets(left);
    expect([set?.status, allDevices(set!).map((rd) => [rd.status, rd.position])]).toEqual(['inconsistent', [['inconsistent', 0], ['inconsistent', 2]]]);
    // As the monitor leaves it: failed() (the set as read before) flags the survivors.
    const [whole] = await readSets(paths);
    expect(await nvidia.failed!(whole!, allDevices(whole!)[1]!.device as BlockDevice, writeContext(paths[1]!).ctx)).toBe(true);
    const [flagged] = await readSets(left);
    expect(flagged?.status).toBe('inconsistent');
    const target = await blankLike(paths[1]!);
    const { ctx, errors } = writeContext('');
    expect(await nvidia.rebuild!(flagged!, target, ctx)).toBe(true);
    expect(errors).toEqual([]);
    const t = await blockAt(paths[1]!);
    expect([t.nv.unitNumber, t.nv.unitFlags, t.nv.array.raidJobCode]).toEqual([1, NV_UNIT_REBUILDING, 3]);
    const [rebuilding] = await readSets(paths);
    expect(allDevices(rebuilding!).map((rd) => [rd.position, rd.outOfSync !== undefined])).toEqual([[0, false], [1, true], [2, false]]);
    // Whole again but rebuilding: every member keeps its own state (raidJobCode 3), none reads ok.
    expect([rebuilding!.status, allDevices(rebuilding!).map((rd) => rd.status)]).toEqual(['inconsistent', ['inconsistent', 'inconsistent', 'inconsistent']]);
  });

  it('no longer kept: an initialising RAID5 (nosync: no parity yet) one short, and any RAID5 two short', async () => {
    const init = await testbed('raid5-3-init');
    expect(await readSets([init.paths[0]!, init.paths[1]!])).toEqual([]);
    const whole = await testbed('raid5-3');
    expect(await readSets([whole.paths[0]!])).toEqual([]);
  });

  it('a whole set keeps its own member statuses: initialising stays nosync', async () => {
    const { paths } = await testbed('raid5-3-init');
    const [set] = await readSets(paths);
    expect([set?.status, allDevices(set!).map((rd) => rd.status)]).toEqual(['nosync', ['nosync', 'nosync', 'nosync']]);
  });
});

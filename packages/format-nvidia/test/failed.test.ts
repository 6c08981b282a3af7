// A member's failure recorded by the surviving members (the monitor's `failed`): the array's degraded bit in
// their blocks, read back by our handler (degraded, not broken; a returning failed disk is stale) and by the
// reference dmraid.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { allDevices, isIoError, type BlockDevice, type RaidDevice } from '@dmraid/core';
import { failedHarness, reference, runOurs, runReference, testIf } from '@dmraid/testkit';
import nvidia, { NV_ARRAY_FLAG_ERROR, nvChecksum, nvChecksumOk, nvLayout, recordFailure, status } from '../src/index.js';

const itRef = testIf(it, reference());
const FLAGS = nvLayout.offsetOf('array') + 0x40;

const { open, testbed, readSets, writeContext } = failedHarness(nvidia);

async function blockOf(rd: RaidDevice): Promise<Uint8Array> {
  const data = await (await open(rd.device.path)).read(rd.areas[0]!.offsetSectors * 512, nvLayout.size);
  if (isIoError(data)) throw new Error(data.message);
  return data;
}

/** Any 120 bytes made a valid block: size 30, chksum. */
const validBlock = fc.uint8Array({ minLength: nvLayout.size, maxLength: nvLayout.size }).map((bytes) => {
  const nv = nvLayout.decodeFrom(bytes);
  nv.size = 30;
  nv.chksum = nvChecksum(nv);
  return nvLayout.encodeToBytes(nv);
});

describe('nvidia failed: the bytes', () => {
  it('sets the array degraded bit and recomputes chksum; nothing else changes', () => {
    fc.assert(
      fc.property(validBlock, (bytes) => {
        const before = nvLayout.decodeFrom(bytes);
        const out = recordFailure(bytes);
        const after = nvLayout.decodeFrom(out);
        expect(nvLayout.encodeToBytes(after)).toEqual(out);
        expect(nvChecksumOk(after, out)).toBe(true);
        expect(after.array.flags).toBe((before.array.flags | NV_ARRAY_FLAG_ERROR) >>> 0);
        const changed = [...out.keys()].filter((i) => out[i] !== bytes[i]);
        expect(changed.filter((i) => !(i >= FLAGS && i < FLAGS + 4) && !(i >= 0x0c && i < 0x10))).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('reads the bit as degraded on a mirror, RAID1+0 or RAID5 member and as broken on a stripe or JBOD member', () => {
    const nv = nvLayout.decodeFrom(new Uint8Array(nvLayout.size));
    nv.array.flags = NV_ARRAY_FLAG_ERROR;
    const of = (level: number) => status({ ...nv, array: { ...nv.array, raidLevel: level } });
    expect([0x81, 0x8180, 0x95, 0x80, 0xff].map(of)).toEqual(['inconsistent', 'inconsistent', 'inconsistent', 'broken', 'broken']);
  });
});

describe('nvidia failed: on the members', () => {
  it('flags the survivor only; the set reads degraded; a failed disk that returns is stale', async () => {
    const { paths } = await testbed('raid1-2');
    const [set] = await readSets(paths);
    const [a, b] = allDevices(set!);
    const before = await blockOf(a!);
    const failedBefore = await blockOf(b!);
    const { ctx, errors, opened } = writeContext(paths[1]!);
    expect(await nvidia.failed!(set!, b!.device as BlockDevice, ctx)).toBe(true);
    expect(errors).toEqual([]);
    expect(opened).toEqual([paths[0]]);
    const after = await blockOf(a!);
    expect(after).toEqual(recordFailure(before));
    expect(await blockOf(b!)).toEqual(failedBefore);

    const [alone] = await readSets([paths[0]!]);
    expect([alone!.status, alone!.devs.map((rd) => rd.status)]).toEqual(['inconsistent', ['inconsistent']]);
    const [again] = await readSets(paths);
    expect(again!.status).toBe('inconsistent');
    expect(again!.devs.map((rd) => rd.device.path)).toEqual([paths[0]]);
    expect(again!.stale?.map((rd) => [rd.device.path, rd.stale])).toEqual([
      [paths[1], `the metadata on ${paths[0]} records the array degraded (array.flags 0x2) and its own does not`],
    ]);

    // A second report finds the bit set and writes nothing.
    expect(await nvidia.failed!(set!, b!.device as BlockDevice, writeContext(paths[1]!).ctx)).toBe(true);
    expect(await blockOf(a!)).toEqual(after);
  });

  it('flags every other member of a RAID1+0, spare included', async () => {
    const { paths } = await testbed('raid10-4-spare');
    const [set] = await readSets(paths);
    const rds = allDevices(set!);
    expect(rds.some((rd) => rd.type === 'spare')).toBe(true);
    const gone = rds.find((rd) => rd.type !== 'spare')!;
    const befores = await Promise.all(rds.map(blockOf));
    expect(await nvidia.failed!(set!, gone.device as BlockDevice, writeContext(gone.device.path).ctx)).toBe(true);
    for (const [i, rd] of rds.entries()) expect(await blockOf(rd)).toEqual(rd === gone ? befores[i] : recordFailure(befores[i]!));

    // A spare without the bit (one added after the failure) holds no data: it stays a spare, not stale.
    const spare = rds.find((rd) => rd.type === 'spare')!;
    expect(await (await open(spare.device.path)).write(spare.areas[0]!.offsetSectors * 512, befores[rds.indexOf(spare)]!)).toBe(true);
    const [again] = await readSets(paths);
    const stale = allDevices(again!).concat(again!.sets.flatMap((s) => s.stale ?? []), again!.stale ?? []).filter((rd) => rd.stale !== undefined);
    expect(stale.map((rd) => rd.device.path)).toEqual([gone.device.path]);
  });

  it('leaves the stripe-set rule alone: a RAID0 member flagged by the testbed is broken, the other member not stale', async () => {
    const { paths } = await testbed('raid0-2-broken');
    const [set] = await readSets(paths);
    expect(set!.stale ?? []).toEqual([]);
    expect(set!.devs.map((rd) => rd.status)).toEqual(['ok', 'broken']);
  });

  it('writes nothing when a survivor changed since it was read, and says which', async () => {
    const { paths } = await testbed('raid5-3');
    const [set] = await readSets(paths);
    const rds = allDevices(set!);
    const spoiled = rds.find((rd) => rd.device.path === paths[2])!;
    const nv = nvLayout.decodeFrom(spoiled.areas[0]!.data);
    nv.array.raidJobCode = 3;
    nv.chksum = nvChecksum(nv);
    expect(await (await open(paths[2]!)).write(spoiled.areas[0]!.offsetSectors * 512, nvLayout.encodeToBytes(nv))).toBe(true);
    const befores = await Promise.all(rds.map(blockOf));
    const { ctx, errors } = writeContext(paths[0]!);
    expect(await nvidia.failed!(set!, rds.find((rd) => rd.device.path === paths[0])!.device as BlockDevice, ctx)).toBe(false);
    expect(errors).toEqual([`nvidia: the metadata of RAID set "${set!.name}" on ${paths[2]} changed since it was read; nothing written`]);
    for (const [i, rd] of rds.entries()) expect(await blockOf(rd)).toEqual(befores[i]);
  });

  it('refuses a device that is no member of the set', async () => {
    const { paths } = await testbed('raid1-2');
    const other = await testbed('raid0-2');
    const [set] = await readSets(paths);
    const { ctx, errors } = writeContext(other.paths[0]!);
    expect(await nvidia.failed!(set!, await open(other.paths[0]!), ctx)).toBe(false);
    expect(errors).toEqual([`nvidia: ${other.paths[0]} is no member of RAID set "${set!.name}"`]);
  });
});

describe('nvidia failed: read by the reference', () => {
  itRef('the survivor alone reads as the reference reads it (-s); -n shows the bit with a good checksum', async () => {
    const { dir, images, paths } = await testbed('raid1-2');
    const [set] = await readSets(paths);
    const [, b] = allDevices(set!);
    expect(await nvidia.failed!(set!, b!.device as BlockDevice, writeContext(paths[1]!).ctx)).toBe(true);
    const survivor = [images[0]!];
    for (const args of [['-s'], ['-s', '-c', '-c', '-c'], ['-n']]) {
      expect(await runOurs(survivor, args, { cwd: dir }), args.join(' ')).toEqual(await runReference(survivor, args, { cwd: dir }));
    }
    const n = await runReference(survivor, ['-n'], { cwd: dir });
    expect(n.stdout).toContain('0x074 array->flags 0x2\n');
    expect(n.stderr).toBe('');
  }, 120_000);

  itRef('deviation: the reference reads the flagged survivor broken (-r) and, with the failed disk back, maps it as a member', async () => {
    const { dir, images, paths } = await testbed('raid1-2');
    const [set] = await readSets(paths);
    const [, b] = allDevices(set!);
    expect(await nvidia.failed!(set!, b!.device as BlockDevice, writeContext(paths[1]!).ctx)).toBe(true);
    expect((await runReference([images[0]!], ['-r'], { cwd: dir })).stdout).toBe('sda.img: nvidia, "nvidia_eaefajde", mirror, broken, 65534 sectors, data@ 0\n');
    expect((await runOurs([images[0]!], ['-r'], { cwd: dir })).stdout).toBe('sda.img: nvidia, "nvidia_eaefajde", mirror, inconsistent, 65534 sectors, data@ 0\n');
    const theirs = await runReference(images, ['-s', '-c', '-c', '-c'], { cwd: dir });
    expect(theirs.stdout).toBe(
      'nvidia_eaefajde:65408:128:mirror:inconsistent:0:2:0\nsda.img:nvidia:nvidia_eaefajde:mirror:broken:65534:0\nsdb.img:nvidia:nvidia_eaefajde:mirror:ok:65534:0\n',
    );
    const ours = await runOurs(images, ['-s', '-c', '-c', '-c'], { cwd: dir });
    expect(ours.stdout).toContain('nvidia_eaefajde:65408:128:mirror:inconsistent:0:1:0\nsda.img:nvidia:nvidia_eaefajde:mirror:inconsistent:65534:0\n');
    expect(ours.stderr).toContain('sdb.img is stale, not used: the metadata on sda.img records the array degraded (array.flags 0x2) and its own does not');
  }, 120_000);
});

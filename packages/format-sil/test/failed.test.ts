// A member's failure recorded by the surviving members (the monitor's `failed`): a newer generation in every
// copy of their block, read back by our handler (a returning failed disk is stale) and by the reference dmraid.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { allDevices, isIoError, type BlockDevice, type RaidDevice } from '@dmraid/core';
import { failedHarness, reference, runOurs, runReference, testIf } from '@dmraid/testkit';
import sil, { SIL_BLOCK_SIZE, newerIncarnation, recordFailure, silChecksum1, silLayout } from '../src/index.js';

const itRef = testIf(it, reference());

const { open, testbed, readSets, writeContext } = failedHarness(sil);

/** The four copies of a member, in area order. */
async function copies(rd: RaidDevice): Promise<Uint8Array[]> {
  const dev = await open(rd.device.path);
  const out: Uint8Array[] = [];
  for (const a of rd.areas) {
    const data = await dev.read(a.offsetSectors * 512, SIL_BLOCK_SIZE);
    if (isIoError(data)) throw new Error(data.message);
    out.push(data);
  }
  return out;
}

const validBlock = fc.uint8Array({ minLength: SIL_BLOCK_SIZE, maxLength: SIL_BLOCK_SIZE }).map((bytes) => {
  const b = new Uint8Array(bytes);
  new DataView(b.buffer).setUint16(0x13e, silChecksum1(b), true);
  return b;
});

describe('sil failed: the bytes', () => {
  it('raises the generation (incarnation_no) by one and recomputes checksum1; nothing else changes', () => {
    fc.assert(
      fc.property(validBlock, (bytes) => {
        const before = silLayout.decodeFrom(bytes);
        const out = recordFailure(bytes);
        const after = silLayout.decodeFrom(out);
        expect(silLayout.encodeToBytes(after)).toEqual(out);
        expect(silChecksum1(out)).toBe(after.checksum1);
        expect(after.incarnation_no).toBe((before.incarnation_no + 1) >>> 0);
        expect(newerIncarnation(after.incarnation_no, before.incarnation_no)).toBe(true);
        const changed = [...out.keys()].filter((i) => out[i] !== bytes[i]);
        expect(changed.filter((i) => !(i >= 0x124 && i < 0x128) && i !== 0x13e && i !== 0x13f)).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('compares generations as 32-bit serial numbers (FreeBSD)', () => {
    expect([newerIncarnation(2, 1), newerIncarnation(0, 0xffffffff), newerIncarnation(1, 1), newerIncarnation(1, 2)]).toEqual([true, true, false, false]);
  });
});

describe('sil failed: on the members', () => {
  it('writes the next generation to every copy on the survivor only; a failed disk that returns is stale', async () => {
    const { paths } = await testbed('raid1-2');
    const [set] = await readSets(paths);
    const [a, b] = allDevices(set!);
    const [before] = await copies(a!);
    const failedBefore = await copies(b!);
    const { ctx, errors, opened } = writeContext(paths[1]!);
    expect(await sil.failed!(set!, b!.device as BlockDevice, ctx)).toBe(true);
    expect(errors).toEqual([]);
    expect(opened).toEqual([paths[0]]);
    const after = await copies(a!);
    expect(after).toEqual([0, 1, 2, 3].map(() => recordFailure(before!)));
    expect(await copies(b!)).toEqual(failedBefore);

    const [again] = await readSets(paths);
    expect(again!.status).toBe('inconsistent');
    expect(again!.devs.map((rd) => rd.device.path)).toEqual([paths[0]]);
    expect(again!.stale?.map((rd) => [rd.device.path, rd.stale])).toEqual([
      [paths[1], `its metadata (generation 1) is older than the metadata on ${paths[0]} (generation 2)`],
    ]);

    // A second report of the same failure finds the newer generation and writes nothing.
    expect(await sil.failed!(set!, b!.device as BlockDevice, writeContext(paths[1]!).ctx)).toBe(true);
    expect(await copies(a!)).toEqual(after);
  });

  it('takes the copy in use when the first one is damaged, and writes it to all four places', async () => {
    const { paths } = await testbed('raid1-2-badcopy');
    const [set] = await readSets(paths);
    const [a, b] = allDevices(set!);
    const [, inUse] = await copies(a!);
    expect(await sil.failed!(set!, b!.device as BlockDevice, writeContext(paths[1]!).ctx)).toBe(true);
    expect(await copies(a!)).toEqual([0, 1, 2, 3].map(() => recordFailure(inUse!)));
  });

  it('records a RAID10 member in the three others', async () => {
    const { paths } = await testbed('raid10-4');
    const [set] = await readSets(paths);
    const rds = allDevices(set!);
    const gone = rds.find((rd) => rd.device.path === paths[1])!;
    const befores = await Promise.all(rds.map(copies));
    expect(await sil.failed!(set!, gone.device as BlockDevice, writeContext(paths[1]!).ctx)).toBe(true);
    for (const [i, rd] of rds.entries()) {
      const now = await copies(rd);
      expect(now).toEqual(rd === gone ? befores[i] : [0, 1, 2, 3].map(() => recordFailure(befores[i]![0]!)));
    }
  });

  it('writes nothing when a survivor changed since it was read, and says which', async () => {
    const { paths } = await testbed('raid10-4');
    const [set] = await readSets(paths);
    const rds = allDevices(set!);
    const spoiled = rds.find((rd) => rd.device.path === paths[3])!;
    const block = silLayout.decodeFrom(spoiled.areas[0]!.data);
    block.auto_rebuild ^= 1;
    block.checksum1 = silChecksum1(silLayout.encodeToBytes(block));
    expect(await (await open(paths[3]!)).write(spoiled.areas[0]!.offsetSectors * 512, silLayout.encodeToBytes(block))).toBe(true);
    const befores = await Promise.all(rds.map(copies));
    const { ctx, errors } = writeContext(paths[0]!);
    expect(await sil.failed!(set!, rds.find((rd) => rd.device.path === paths[0])!.device as BlockDevice, ctx)).toBe(false);
    expect(errors).toEqual([`sil: the metadata of RAID set "${set!.name}" on ${paths[3]} changed since it was read; nothing written`]);
    for (const [i, rd] of rds.entries()) expect(await copies(rd)).toEqual(befores[i]);
  });

  it('refuses a device that is no member of the set', async () => {
    const { paths } = await testbed('raid1-2');
    const other = await testbed('raid0-2');
    const [set] = await readSets(paths);
    const { ctx, errors } = writeContext(other.paths[0]!);
    expect(await sil.failed!(set!, await open(other.paths[0]!), ctx)).toBe(false);
    expect(errors).toEqual([`sil: ${other.paths[0]} is no member of RAID set "${set!.name}"`]);
  });
});

describe('sil failed: read by the reference', () => {
  itRef('the survivor reads as the reference reads it (-s, -r; -n shows the new generation)', async () => {
    const { dir, images, paths } = await testbed('raid1-2');
    const [set] = await readSets(paths);
    const [, b] = allDevices(set!);
    expect(await sil.failed!(set!, b!.device as BlockDevice, writeContext(paths[1]!).ctx)).toBe(true);
    const survivor = [images[0]!];
    for (const args of [['-s'], ['-s', '-c', '-c', '-c'], ['-r']]) {
      expect(await runOurs(survivor, args, { cwd: dir }), args.join(' ')).toEqual(await runReference(survivor, args, { cwd: dir }));
    }
    const n = await runReference(survivor, ['-n'], { cwd: dir });
    expect(n.stdout).toContain('0x124 incarnation_no: 2\n');
    expect(n.stderr).toBe('');
  }, 120_000);

  itRef('deviation: with the failed disk back, the reference shows the set ok; ours sets the disk aside as stale', async () => {
    const { dir, images, paths } = await testbed('raid1-2');
    const [set] = await readSets(paths);
    const [, b] = allDevices(set!);
    expect(await sil.failed!(set!, b!.device as BlockDevice, writeContext(paths[1]!).ctx)).toBe(true);
    const theirs = await runReference(images, ['-s', '-c', '-c', '-c'], { cwd: dir });
    expect(theirs.stdout).toBe('sil_bbacadaeafag:63998:0:mirror:ok:0:2:0\nsda.img:sil:sil_bbacadaeafag:mirror:ok:63998:0\nsdb.img:sil:sil_bbacadaeafag:mirror:ok:63998:0\n');
    const ours = await runOurs(images, ['-s', '-c', '-c', '-c'], { cwd: dir });
    expect(ours.stdout).toContain('sil_bbacadaeafag:63998:0:mirror:inconsistent:0:1:0\n');
    expect(ours.stderr).toContain('sdb.img is stale, not used: its metadata (generation 1) is older than the metadata on sda.img (generation 2)');
  }, 120_000);
});

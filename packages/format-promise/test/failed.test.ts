// A member's failure recorded in the surviving members' blocks (the monitor's `failed`): the bytes written, the
// record read back by our handler (a returning failed disk is stale) and by the reference dmraid.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { allDevices, isIoError, type BlockDevice, type RaidDevice } from '@dmraid/core';
import { failedHarness, reference, runOurs, runReference, testIf } from '@dmraid/testkit';
import pdc, {
  PDC_BLOCK_SIZE,
  PDC_F_DOWN,
  PDC_F_ONLINE,
  PDC_F_REDIR,
  PDC_MAGIC,
  PDC_S_DEGRADED,
  newerGeneration,
  pdcChecksum,
  pdcLayout,
  recordFailure,
  slotOf,
} from '../src/index.js';

const itRef = testIf(it, reference());
const R = pdcLayout.offsetOf('raid');

/** A testbed set built as image files; `paths` absolute, `images` as the CLIs take them (relative to `dir`). */
const { open, testbed, readSets, writeContext } = failedHarness(pdc);

async function blockAt(path: string, rd: RaidDevice): Promise<Uint8Array> {
  const data = await (await open(path)).read(rd.areas[0]!.offsetSectors * 512, PDC_BLOCK_SIZE);
  if (isIoError(data)) throw new Error(data.message);
  return data;
}

/** Byte offsets where two blocks differ. */
const changed = (a: Uint8Array, b: Uint8Array) => [...a.keys()].filter((i) => a[i] !== b[i]);

/** Offsets recordFailure may change for member `slot`: its flags byte, status, generation, checksum. */
const allowed = (slot: number) => {
  const entry = R + 0x34 + 12 * slot;
  return new Set([entry, R + 0x1e, R + 0x1c, R + 0x1d, 0x7fc, 0x7fd, 0x7fe, 0x7ff]);
};

/** Any 2048 bytes made a valid block: signature, 1..7 members, checksum. */
const validBlock = fc
  .tuple(fc.uint8Array({ minLength: PDC_BLOCK_SIZE, maxLength: PDC_BLOCK_SIZE }), fc.integer({ min: 1, max: 7 }))
  .map(([bytes, disks]) => {
    const b = new Uint8Array(bytes);
    b.set(new TextEncoder().encode(PDC_MAGIC), 0);
    b[R + 0x20] = disks;
    new DataView(b.buffer).setUint32(0x7fc, pdcChecksum(b), true);
    return b;
  });

describe('pdc failed: the bytes', () => {
  it('marks the entry DOWN|REDIR and not ONLINE, the array DEGRADED, the generation one up; nothing else but the checksum', () => {
    fc.assert(
      fc.property(validBlock, fc.nat(6), (bytes, n) => {
        const before = pdcLayout.decodeFrom(bytes);
        const slot = n % before.raid.total_disks;
        const out = recordFailure(bytes, slot);
        const after = pdcLayout.decodeFrom(out);
        expect(pdcLayout.encodeToBytes(after)).toEqual(out);
        expect(pdcChecksum(out)).toBe(after.checksum);
        const flags = after.raid.disk[slot]!.unknown_0;
        expect(flags & (PDC_F_DOWN | PDC_F_REDIR)).toBe(PDC_F_DOWN | PDC_F_REDIR);
        expect(flags & PDC_F_ONLINE).toBe(0);
        expect(flags >> 8).toBe(before.raid.disk[slot]!.unknown_0 >> 8);
        expect(after.raid.status).toBe(before.raid.status | PDC_S_DEGRADED);
        expect(after.raid.unknown_4).toBe((before.raid.unknown_4 + 1) & 0xffff);
        expect(newerGeneration(after.raid.unknown_4, before.raid.unknown_4)).toBe(true);
        const ok = allowed(slot);
        expect(changed(bytes, out).filter((i) => !ok.has(i))).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('finds a member by its disk id, not by its position', () => {
    const p = pdcLayout.decodeFrom(new Uint8Array(PDC_BLOCK_SIZE));
    p.raid.total_disks = 3;
    p.raid.disk[0]!.magic_0 = 5;
    p.raid.disk[1]!.magic_0 = 7;
    p.raid.disk[2]!.magic_0 = 6;
    expect([slotOf(p, 6), slotOf(p, 7), slotOf(p, 8)]).toEqual([2, 1, -1]);
  });

  it('compares generations as 16-bit serial numbers (FreeBSD)', () => {
    expect([newerGeneration(1, 0), newerGeneration(0, 0xffff), newerGeneration(0xffff, 0), newerGeneration(3, 3)]).toEqual([true, true, false, false]);
  });
});

describe('pdc failed: on the members', () => {
  it('writes the record to the survivor only, and a failed disk that returns is stale (the set degraded)', async () => {
    const { paths } = await testbed('raid1-2');
    const [set] = await readSets(paths);
    const [a, b] = allDevices(set!);
    const before = await blockAt(paths[0]!, a!);
    const failedBefore = await blockAt(paths[1]!, b!);
    const { ctx, errors, opened } = writeContext(paths[1]!);
    expect(await pdc.failed!(set!, b!.device as BlockDevice, ctx)).toBe(true);
    expect(errors).toEqual([]);
    expect(opened).toEqual([paths[0]]);
    const after = await blockAt(paths[0]!, a!);
    const slot = slotOf(pdcLayout.decodeFrom(before), pdcLayout.decodeFrom(failedBefore).raid.magic_0);
    expect(slot).toBe(1);
    expect(after).toEqual(recordFailure(before, slot));
    expect(await blockAt(paths[1]!, b!)).toEqual(failedBefore);

    const [again] = await readSets(paths);
    expect(again!.status).toBe('inconsistent');
    expect(again!.devs.map((rd) => rd.device.path)).toEqual([paths[0]]);
    expect(again!.stale?.map((rd) => [rd.device.path, rd.stale])).toEqual([
      [paths[1], `${paths[0]} records it failed (generation 18, its own 17)`],
    ]);

    // A second report of the same failure finds it recorded and writes nothing.
    const second = writeContext(paths[1]!);
    expect(await pdc.failed!(set!, b!.device as BlockDevice, second.ctx)).toBe(true);
    expect(await blockAt(paths[0]!, a!)).toEqual(after);
  });

  it('records a RAID10 member in all three others, each at its own entry', async () => {
    const { paths } = await testbed('raid10-4');
    const [set] = await readSets(paths);
    const rds = allDevices(set!);
    const gone = rds.find((rd) => rd.device.path === paths[2])!;
    const befores = await Promise.all(rds.map((rd) => blockAt(rd.device.path, rd)));
    const { ctx, errors } = writeContext(paths[2]!);
    expect(await pdc.failed!(set!, gone.device as BlockDevice, ctx)).toBe(true);
    expect(errors).toEqual([]);
    const id = pdcLayout.decodeFrom(befores[rds.indexOf(gone)]!).raid.magic_0;
    for (const [i, rd] of rds.entries()) {
      const now = await blockAt(rd.device.path, rd);
      if (rd === gone) expect(now).toEqual(befores[i]);
      else expect(now).toEqual(recordFailure(befores[i]!, slotOf(pdcLayout.decodeFrom(befores[i]!), id)));
    }
    // dmraid's rule keeps a RAID10 with both halves present ok; the half without the disk is broken.
    const [again] = await readSets(paths);
    expect(allDevices(again!).map((rd) => rd.device.path)).toEqual(allDevices(set!).map((rd) => rd.device.path).filter((p) => p !== paths[2]));
    expect(again!.sets.map((s) => s.status)).toEqual(['ok', 'broken']);
  });

  it('on a disk with two arrays, changes the block of the failed set only', async () => {
    const { paths } = await testbed('two-arrays');
    const sets = await readSets(paths);
    const mirror = sets.find((s) => s.type === 'raid1')!;
    const stripe = sets.find((s) => s.type === 'raid0')!;
    const [ma, mb] = allDevices(mirror);
    const [sa] = allDevices(stripe);
    const stripeBefore = await blockAt(paths[0]!, sa!);
    const mirrorBefore = await blockAt(paths[0]!, ma!);
    const { ctx, errors } = writeContext(paths[1]!);
    expect(await pdc.failed!(mirror, mb!.device as BlockDevice, ctx)).toBe(true);
    expect(errors).toEqual([]);
    expect(await blockAt(paths[0]!, sa!)).toEqual(stripeBefore);
    expect(await blockAt(paths[0]!, ma!)).not.toEqual(mirrorBefore);
  });

  it('writes nothing when a survivor block changed since it was read, and says which', async () => {
    const { paths } = await testbed('raid10-4');
    const [set] = await readSets(paths);
    const rds = allDevices(set!);
    const spoiled = rds.find((rd) => rd.device.path === paths[3])!;
    const dev = await open(paths[3]!);
    const at = spoiled.areas[0]!.offsetSectors * 512;
    expect(await dev.write(at + 0x7fc, new Uint8Array([1, 2, 3, 4]))).toBe(true);
    const befores = await Promise.all(rds.map((rd) => blockAt(rd.device.path, rd)));
    const { ctx, errors } = writeContext(paths[0]!);
    expect(await pdc.failed!(set!, rds.find((rd) => rd.device.path === paths[0])!.device as BlockDevice, ctx)).toBe(false);
    expect(errors).toEqual([`pdc: the metadata of RAID set "${set!.name}" on ${paths[3]} changed since it was read; nothing written`]);
    for (const [i, rd] of rds.entries()) expect(await blockAt(rd.device.path, rd)).toEqual(befores[i]);
  });

  it('refuses a device that is no member of the set', async () => {
    const { paths } = await testbed('raid1-2');
    const other = await testbed('raid0-2');
    const [set] = await readSets(paths);
    const { ctx, errors } = writeContext(other.paths[0]!);
    expect(await pdc.failed!(set!, await open(other.paths[0]!), ctx)).toBe(false);
    expect(errors).toEqual([`pdc: ${other.paths[0]} is no member of RAID set "${set!.name}"`]);
  });
});

describe('pdc failed: read by the reference', () => {
  itRef('the survivor reads as the reference reads it (-s, -n with the new fields and a good checksum)', async () => {
    const { dir, images, paths } = await testbed('raid1-2');
    const [set] = await readSets(paths);
    const [, b] = allDevices(set!);
    expect(await pdc.failed!(set!, b!.device as BlockDevice, writeContext(paths[1]!).ctx)).toBe(true);
    const survivor = [images[0]!];
    for (const args of [['-s'], ['-s', '-c', '-c', '-c'], ['-r'], ['-n']]) {
      expect(await runOurs(survivor, args, { cwd: dir }), args.join(' ')).toEqual(await runReference(survivor, args, { cwd: dir }));
    }
    const n = (await runReference(survivor, ['-n'], { cwd: dir })).stdout;
    expect(n).toContain('0x21c raid.unknown_4: 0x12 18\n');
    expect(n).toContain('0x21e raid.status: 0x9f\n');
    expect(n).toContain('0x240 raid.disk[1].unknown_0: 0x65\n');
    expect(n).toMatch(/0x7fc checksum: 0x[0-9a-f]+ Ok\n/);
  }, 120_000);

  itRef('deviation: with the failed disk back, the reference shows the set ok; ours sets the disk aside as stale', async () => {
    const { dir, images, paths } = await testbed('raid1-2');
    const [set] = await readSets(paths);
    const [, b] = allDevices(set!);
    expect(await pdc.failed!(set!, b!.device as BlockDevice, writeContext(paths[1]!).ctx)).toBe(true);
    const theirs = await runReference(images, ['-s', '-c', '-c', '-c'], { cwd: dir });
    expect(theirs.stdout).toBe('pdc_ddddb:64512:0:mirror:ok:0:2:0\nsda.img:pdc:pdc_ddddb:mirror:ok:64512:0\nsdb.img:pdc:pdc_ddddb:mirror:ok:64512:0\n');
    const ours = await runOurs(images, ['-s', '-c', '-c', '-c'], { cwd: dir });
    expect(ours.stdout).toContain('pdc_ddddb:64512:0:mirror:inconsistent:0:1:0\n');
    expect(ours.stderr).toContain('sdb.img is stale, not used: sda.img records it failed (generation 18, its own 17)');
  }, 120_000);
});

/**
 * Unreadable member areas (ddrescue mapfiles): the mapfile reader, and every target level read through
 * members with bad sectors. Truth: the volume is written first with every sector stamped with its own number,
 * so the volume sectors a bad member sector held are read off the member's bytes (not the layout code), and
 * what comes back is compared with the volume written.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkData, createEngine, extract, isIoError, isTableError, memorySource, parseRescueMap, readSalvaging, salvaging, SECTOR, unreadable, type SectorRange, type Source } from '../src/index.js';
import { seededBytes, xorshift32 } from '@dmraid/testkit';

const u32 = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset, b.length).getUint32(at, true);
const check = (n: number) => Math.imul(n + 1, 0x9e3779b1) >>> 0;

/** A volume of `sectors` random sectors, each stamped with its number and a check word of it. */
function stampedVolume(sectors: number, seed: number): Uint8Array {
  const v = seededBytes(sectors * SECTOR, xorshift32(seed));
  const dv = new DataView(v.buffer);
  for (let n = 0; n < sectors; n++) {
    dv.setUint32(n * SECTOR, n, true);
    dv.setUint32(n * SECTOR + 4, check(n), true);
  }
  return v;
}

/** The volume sector a member sector holds (data), or undefined (parity, or nothing of the volume). */
const stampOf = (member: Uint8Array, sector: number): number | undefined => {
  const s = member.subarray(sector * SECTOR, (sector + 1) * SECTOR);
  const n = u32(s, 0);
  return u32(s, 4) === check(n) ? n : undefined;
};

const ranges = (sectors: number[]): SectorRange[] => {
  const out: SectorRange[] = [];
  for (const s of [...new Set(sectors)].sort((a, b) => a - b)) {
    const last = out[out.length - 1];
    if (last && last.start + last.count === s) out[out.length - 1] = { start: last.start, count: last.count + 1 };
    else out.push({ start: s, count: 1 });
  }
  return out;
};

interface Level {
  readonly name: string;
  readonly disks: number;
  /** Volume sectors over `disks` members of `memberSectors` each. */
  readonly size: (memberSectors: number) => number;
  readonly table: (size: number, names: readonly string[]) => string;
}

const CHUNK = 16;
const LEVELS: Record<string, Level> = {
  mirror: { name: 'mirror', disks: 2, size: (m) => m, table: (n, d) => `0 ${n} mirror core 2 64 nosync 2 ${d.map((x) => `${x} 0`).join(' ')}` },
  striped: { name: 'striped', disks: 3, size: (m) => 3 * m, table: (n, d) => `0 ${n} striped 3 ${CHUNK} ${d.map((x) => `${x} 0`).join(' ')}` },
  raid5: { name: 'raid5_ls', disks: 4, size: (m) => 3 * m, table: (n, d) => `0 ${n} raid raid5_ls 1 ${CHUNK} 4 ${d.map((x) => `- ${x}`).join(' ')}` },
  raid6: { name: 'raid6_zr', disks: 5, size: (m) => 3 * m, table: (n, d) => `0 ${n} raid raid6_zr 1 ${CHUNK} 5 ${d.map((x) => `- ${x}`).join(' ')}` },
};

const MEMBER = 8 * CHUNK;

/** Members holding a stamped volume of `level`, written through the engine. */
async function build(level: Level): Promise<{ volume: Uint8Array; members: Uint8Array[]; names: string[] }> {
  const names = Array.from({ length: level.disks }, (_, i) => `m${i}`);
  const members = names.map(() => new Uint8Array(MEMBER * SECTOR));
  const size = level.size(MEMBER);
  const e = createEngine([{ name: 'v', table: level.table(size, names) }], (p) => memorySource(p, members[names.indexOf(p)]!));
  if (isTableError(e)) throw new Error(e.message);
  const volume = stampedVolume(size, level.disks * 7919);
  expect(await e.get('v')!.write(0, volume)).toBe(true);
  return { volume, members, names };
}

/** The volume read with member bad sectors `bad[i]`, salvaged: data with zeros where lost, and the lost ranges. */
async function readWithBad(level: Level, members: Uint8Array[], names: string[], bad: Record<number, SectorRange[]>) {
  const size = level.size(MEMBER);
  const e = createEngine([{ name: 'v', table: level.table(size, names) }], (p) => {
    const i = names.indexOf(p);
    return unreadable(memorySource(p, members[i]!), bad[i] ?? []);
  });
  if (isTableError(e)) throw new Error(e.message);
  const out = new Uint8Array(size * SECTOR);
  // Read in pieces larger than a row, as extract does: failures must be narrowed inside them.
  const lost: SectorRange[] = [];
  for (let at = 0; at < size; at += 40) {
    const n = Math.min(40, size - at);
    const r = await readSalvaging(e.get('v')!, at, out.subarray(at * SECTOR, (at + n) * SECTOR));
    if (isIoError(r)) throw new Error(r.message);
    lost.push(...r);
  }
  return { out, lost: ranges(lost.flatMap((r) => Array.from({ length: r.count }, (_, k) => r.start + k))), volume: e.get('v')! };
}

/** The volume with `lost` zeroed: what a salvaging read must give. */
const expected = (volume: Uint8Array, lost: readonly SectorRange[]) => {
  const v = volume.slice();
  for (const r of lost) v.fill(0, r.start * SECTOR, (r.start + r.count) * SECTOR);
  return v;
};

/** Volume sectors the member sectors `bad` held (by their stamps). */
const heldBy = (member: Uint8Array, bad: readonly SectorRange[]) =>
  bad.flatMap((r) => Array.from({ length: r.count }, (_, k) => stampOf(member, r.start + k))).filter((s): s is number => s !== undefined);

const same = (a: Uint8Array, b: Uint8Array) => expect(Buffer.compare(Buffer.from(a), Buffer.from(b))).toBe(0);

describe('parseRescueMap: GNU ddrescue mapfiles, read strictly', () => {
  const map = (lines: string[]) => `# Mapfile. Created by GNU ddrescue version 1.27\n# current_pos  current_status  current_pass\n${lines.join('\n')}\n`;
  it('only finished (+) blocks are readable; hex and decimal; partial sectors are whole bad sectors', () => {
    const text = map(['0x00000000     +               1', '#      pos        size  status', '0x00000000  0x00000400  +', '0x00000400  0x00000200  -', '1536  1000  +', '2536 100 /', '0x0A9C 0x164 *', '0xC00 0x400 ?', '0x1000 0x1000 +']);
    expect(parseRescueMap(text, 'm.map', 0x2000)).toEqual([
      { start: 2, count: 1 },
      // 2536-2636 and 2716-3072 (0xA9C-0xC00), 3072-4096: sectors 4-7 (2048-4096).
      { start: 4, count: 4 },
    ]);
  });
  it('what the map does not cover is unreadable (never tried)', () => {
    expect(parseRescueMap(map(['0 +', '512 1024 +']), 'm', 4096)).toEqual([
      { start: 0, count: 1 },
      { start: 3, count: 5 },
    ]);
  });
  it('a malformed line, blocks out of order, and a block beyond the image are errors naming the file and line', () => {
    const cases: [string, number, RegExp][] = [
      [map(['0 +', '0 512 +', '512 512 x']), 5, /block line/],
      [map(['0 +', '0 512']), 4, /block line/],
      [map(['0 +', '0 512 + extra']), 4, /block line/],
      [map(['0 +', '0 0x2g0 +']), 4, /block line/],
      [map(['0 +', '512 512 +', '0 512 +']), 5, /overlaps or precedes/],
      [map(['0 +', '0 512 +', '256 512 +']), 5, /overlaps or precedes/],
      [map(['0 +', '0 1024 +', '1024 4096 -']), 5, /beyond the end of the image \(4096 bytes\)/],
      [map(['0 Q', '0 512 +']), 3, /status line/],
      [map(['0 512 +']), 3, /status line/],
      [map(['0 + 0']), 3, /status line/],
      [map(['0 +', '0 0 +']), 4, /size 0/],
      ['# only comments\n', 1, /no status line/],
    ];
    for (const [text, line, message] of cases) {
      const r = parseRescueMap(text, 'dir/m.map', 4096);
      expect(r, text).toMatchObject({ kind: 'rescue-map', path: 'dir/m.map', line });
      expect((r as { message: string }).message).toMatch(message);
    }
  });
});

describe('reads over unreadable member sectors: rebuilt where the set has redundancy, else lost exactly', () => {
  it('unreadable(): a read touching a bad sector fails with EIO naming the member; others pass', async () => {
    const s = unreadable(memorySource('m', new Uint8Array(64 * SECTOR)), [{ start: 10, count: 2 }]);
    expect(await s.read(0, 10)).toBeInstanceOf(Uint8Array);
    expect(await s.read(12, 52)).toBeInstanceOf(Uint8Array);
    expect(await s.read(11, 1)).toMatchObject({ code: 'EIO', path: 'm' });
    expect(await s.read(0, 64)).toMatchObject({ code: 'EIO', path: 'm' });
  });

  it('mirror: one leg bad gives every sector from the other; both bad at the same place is lost, exactly there', async () => {
    const level = LEVELS.mirror!;
    const { volume, members, names } = await build(level);
    const one = await readWithBad(level, members, names, { 0: [{ start: 5, count: 30 }, { start: 100, count: 3 }] });
    expect(one.lost).toEqual([]);
    same(one.out, volume);
    const both = await readWithBad(level, members, names, { 0: [{ start: 5, count: 30 }], 1: [{ start: 20, count: 30 }] });
    expect(both.lost).toEqual([{ start: 20, count: 15 }]);
    same(both.out, expected(volume, both.lost));
  });

  it('striped: whatever a bad member sector held is lost, exactly', async () => {
    const level = LEVELS.striped!;
    const { volume, members, names } = await build(level);
    const bad = { 1: [{ start: 3, count: 20 }], 2: [{ start: 70, count: 1 }] };
    const r = await readWithBad(level, members, names, bad);
    const truth = ranges([...heldBy(members[1]!, bad[1]), ...heldBy(members[2]!, bad[2])]);
    expect(truth.length).toBeGreaterThan(1);
    expect(r.lost).toEqual(truth);
    same(r.out, expected(volume, r.lost));
  });

  it('RAID5: one bad member is rebuilt from parity; two bad in the same rows lose exactly their data sectors there', async () => {
    const level = LEVELS.raid5!;
    const { volume, members, names } = await build(level);
    // Bad sectors on several members, never two at the same member sector: all rebuilt.
    const apart = await readWithBad(level, members, names, { 0: [{ start: 2, count: 40 }], 2: [{ start: 50, count: 10 }], 3: [{ start: 90, count: 30 }] });
    expect(apart.lost).toEqual([]);
    same(apart.out, volume);
    // Members 1 and 2 both bad at sectors 20-27 (and 1 alone elsewhere): those of the two that hold data there are lost.
    const bad = { 1: [{ start: 10, count: 18 }], 2: [{ start: 20, count: 12 }] };
    const r = await readWithBad(level, members, names, bad);
    const both = [{ start: 20, count: 8 }];
    const truth = ranges([...heldBy(members[1]!, both), ...heldBy(members[2]!, both)]);
    expect(truth.length).toBeGreaterThan(0);
    expect(r.lost).toEqual(truth);
    same(r.out, expected(volume, r.lost));
  });

  it('RAID6: two bad members at the same place are rebuilt from P and Q; three lose exactly their data sectors there', async () => {
    const level = LEVELS.raid6!;
    const { volume, members, names } = await build(level);
    const two = await readWithBad(level, members, names, { 0: [{ start: 4, count: 40 }], 3: [{ start: 30, count: 40 }] });
    expect(two.lost).toEqual([]);
    same(two.out, volume);
    const at = [{ start: 36, count: 5 }];
    const r = await readWithBad(level, members, names, { 0: at, 1: at, 4: at });
    const truth = ranges([0, 1, 4].flatMap((m) => heldBy(members[m]!, at)));
    expect(truth.length).toBeGreaterThan(0);
    expect(r.lost).toEqual(truth);
    same(r.out, expected(volume, r.lost));
  });

  it('salvaging(): a read a smaller one rebuilds succeeds; one over lost sectors fails with EIO', async () => {
    const level = LEVELS.mirror!;
    const { volume, members, names } = await build(level);
    const { volume: v } = await readWithBad(level, members, names, { 0: [{ start: 5, count: 10 }], 1: [{ start: 12, count: 10 }, { start: 40, count: 1 }] });
    const served: Source = salvaging(v);
    const ok = await served.read(0, 12);
    expect(ok).toBeInstanceOf(Uint8Array);
    same(ok as Uint8Array, volume.subarray(0, 12 * SECTOR));
    // Legs bad at 5-14 and 12-21: 0-11 and 15-39 read, each whole read failing on the leg tried first.
    same((await served.read(15, 25)) as Uint8Array, volume.subarray(15 * SECTOR, 40 * SECTOR));
    expect(await served.read(0, 64)).toMatchObject({ code: 'EIO' });
    expect(await served.read(13, 1)).toMatchObject({ code: 'EIO' });
  });
});

describe('extract over unreadable member sectors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dmraid-rescue-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('fills the lost sectors with zeros, lists them exactly, and copies the rest in full (chunks larger than a failure)', async () => {
    const level = LEVELS.striped!;
    const { volume, members, names } = await build(level);
    const bad = { 0: [{ start: 1, count: 2 }, { start: 60, count: 9 }] };
    const { volume: v } = await readWithBad(level, members, names, bad);
    const out = join(dir, 'v.img');
    const r = await extract(v, out, { chunkSectors: 64 });
    if (isIoError(r)) throw new Error(r.message);
    const truth = ranges(heldBy(members[0]!, bad[0]));
    expect(r.lost).toEqual(truth);
    expect(r.complete).toBe(true);
    same(new Uint8Array(readFileSync(out)), expected(volume, truth));
  });
});

describe('check-data over unreadable member sectors', () => {
  it('sets apart the units it cannot read and checks the rest (a mismatch elsewhere still found)', async () => {
    const level = LEVELS.raid5!;
    const { members, names } = await build(level);
    // A flipped byte in member 0's last chunk row: a parity mismatch there.
    members[0]![(MEMBER - 1) * SECTOR]! ^= 1;
    const e = createEngine([{ name: 'v', table: level.table(level.size(MEMBER), names) }], (p) => {
      const i = names.indexOf(p);
      return unreadable(memorySource(p, members[i]!), i === 2 ? [{ start: 20, count: 2 }] : []);
    });
    if (isTableError(e)) throw new Error(e.message);
    const r = await checkData(e, ['v']);
    if (isIoError(r)) throw new Error(r.message);
    // Row 1 (member sectors 16-31) holds the bad sectors: its 3 × 16 volume sectors are not checked.
    expect(r.unreadable).toEqual([{ device: 'v', kind: 'parity', start: 48, length: 48 }]);
    expect(r.ranges).toEqual([{ device: 'v', kind: 'parity', start: 7 * 48, length: 48 }]);
    expect(r.mismatches).toBe(1);
  });
});

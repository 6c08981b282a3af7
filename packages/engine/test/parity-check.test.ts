/**
 * The RAID4/5 parity check's fast path (parity-scan.ts: members read into the WebAssembly module's memory,
 * their XOR tested there; the plain word loop where SIMD is missing): it must miss no flipped byte. The
 * truth is independent of the code under test: members whose XOR is zero are a consistent RAID4/5 under
 * every layout (a row's chunks sit at the same member offset on every member), and one flipped byte at
 * member offset o makes exactly the row holding o wrong, in exactly one sector.
 */
import { describe, expect, it } from 'vitest';
import { parityModuleBytes, parityScan, plainParityScan, type ParityScan } from '../src/parity-scan.js';
import { checkData, createEngine, isIoError, isTableError, memorySource, raid5Place, SECTOR } from '../src/index.js';
import { RAID45_TYPES } from '../src/targets/raid.js';
import { seededBytes, xorshift32 } from '@dmraid/testkit';

/** xorshift32: reproducible "random" bytes. */
const randomBytes = (n: number, seed: number): Uint8Array => seededBytes(n, xorshift32(seed));

/** `count` random members of `bytes`, the last the XOR of the others (so all of them XOR to zero). */
function consistent(count: number, bytes: number, seed: number): Uint8Array[] {
  const ms = Array.from({ length: count - 1 }, (_, k) => randomBytes(bytes, seed * 31 + k));
  const last = new Uint8Array(bytes);
  for (const m of ms) for (let i = 0; i < bytes; i++) last[i]! ^= m[i]!;
  return [...ms, last];
}

/** Byte by byte, sector by sector: shares nothing with the loops under test. */
function slowOdd(bufs: readonly Uint8Array[]): number[] {
  const out: number[] = [];
  for (let s = 0; s < bufs[0]!.length / SECTOR; s++) {
    let odd = 0;
    for (let i = s * SECTOR; i < (s + 1) * SECTOR; i++) if (bufs.reduce((x, b) => x ^ b[i]!, 0) !== 0) odd = 1;
    out.push(odd);
  }
  return out;
}

const wasm = (globalThis as unknown as { WebAssembly: { validate(bytes: Uint8Array): boolean } }).WebAssembly;

describe('the parity scan', () => {
  it('is valid WebAssembly with SIMD, and this Node runs it (Node 20, 22 and 24 all have SIMD)', () => {
    expect(wasm.validate(parityModuleBytes())).toBe(true);
    expect(parityScan().simd).toBe(true);
  });

  it('reads into WebAssembly memory 32 bytes past a page (a WebAssembly memory starts on one; the kernel copies 8-24 bytes past a page at a third of the speed: pool.ts)', () => {
    for (const [count, bytes] of [[3, 256 * 1024], [5, 1001 * 512]] as const) {
      const bufs = parityScan().buffers(count, bytes);
      expect(bufs.map((b) => b.byteOffset % 4096)).toEqual(Array(count).fill(32));
      // Apart: no buffer runs into the next.
      for (let k = 1; k < count; k++) expect(bufs[k]!.byteOffset).toBeGreaterThanOrEqual(bufs[k - 1]!.byteOffset + bytes);
    }
  });

  const scans: [string, () => ParityScan][] = [
    ['simd', parityScan],
    ['plain', plainParityScan],
  ];
  for (const [label, make] of scans) {
    for (const count of [3, 4, 5, 6]) {
      it(`${label}, ${count} buffers: finds a flipped byte at the first, every 16th-step edge and the last byte of a sector, in every buffer`, () => {
        const scan = make();
        const sectors = 5;
        const bytes = sectors * SECTOR;
        const members = consistent(count, bytes, count);
        const bufs = scan.buffers(count, bytes);
        // The offsets in a sector where an unrolled 16- or 64-byte step starts or ends.
        const offsets = [0, 1, 15, 16, 47, 48, 63, 64, 255, 256, 447, 448, 495, 496, 510, 511];
        for (let d = 0; d < count; d++) {
          for (const o of offsets) {
            for (const s of [0, 2, sectors - 1]) {
              bufs.forEach((b, k) => b.set(members[k]!));
              expect(scan.oddSectors(bufs).every((x) => x === 0)).toBe(true);
              bufs[d]![s * SECTOR + o]! ^= 0x80;
              const want = new Array<number>(sectors).fill(0);
              want[s] = 1;
              expect([...scan.oddSectors(bufs)]).toEqual(want);
            }
          }
        }
      });
    }

    it(`${label}: agrees with a byte-by-byte XOR on random damage, over sizes the buffers are made again for`, () => {
      const scan = make();
      for (const [count, sectors] of [[3, 1], [3, 64], [4, 33], [7, 9], [3, 200], [5, 1]] as const) {
        const bytes = sectors * SECTOR;
        const members = consistent(count, bytes, sectors);
        const noise = randomBytes(64, count * 1000 + sectors);
        const bufs = scan.buffers(count, bytes);
        bufs.forEach((b, k) => b.set(members[k]!));
        for (let j = 0; j < 8; j++) bufs[noise[j]! % count]![(noise[8 + j]! * 4099 + noise[16 + j]!) % bytes]! ^= 1 << (j % 8);
        expect([...scan.oddSectors(bufs)]).toEqual(slowOdd(bufs));
      }
    });

    it(`${label}: buffers of its own or not, aligned or not, it scans them all alike`, () => {
      const scan = make();
      const members = consistent(3, 4 * SECTOR, 9);
      // Odd byte offsets: not the scanner's buffers, not on a word boundary.
      const foreign = members.map((m, k) => {
        const b = new Uint8Array(m.length + 3).subarray(k + 1, k + 1 + m.length);
        b.set(m);
        return b;
      });
      foreign[1]![3 * SECTOR + 511]! ^= 4;
      expect([...scan.oddSectors(foreign)]).toEqual([0, 0, 0, 1]);
    });
  }

  it('refuses buffers of different lengths or of part of a sector', () => {
    const scan = parityScan();
    expect(() => scan.oddSectors([new Uint8Array(512), new Uint8Array(1024), new Uint8Array(512)])).toThrow(RangeError);
    expect(() => scan.oddSectors([new Uint8Array(500), new Uint8Array(500), new Uint8Array(500)])).toThrow(RangeError);
  });
});

/** Every RAID4/5 type of the raid target, with its md layout (which member holds a row's parity). */
const TYPES = Object.keys(RAID45_TYPES);

describe('check-data of RAID4/5 misses no flipped byte', () => {
  // Row counts that leave the last step of check-data (8192 sectors) partial; a chunk whose rows do not
  // divide that step (24 sectors over 3 data members: 72-sector rows) as well as a power of two.
  const shapes = [
    { disks: 3, chunk: 16, rows: 300 },
    { disks: 4, chunk: 24, rows: 130 },
    { disks: 5, chunk: 8, rows: 270 },
  ];
  for (const type of TYPES) {
    for (const { disks, chunk, rows } of shapes) {
      it(`${type} over ${disks} members, chunk ${chunk}: the first, a middle and the last byte of a row's chunk, in data and in parity, first, middle and last row`, async () => {
        const memberSectors = rows * chunk;
        const members = consistent(disks, memberSectors * SECTOR, disks * 7 + chunk);
        const names = members.map((_, k) => `m${k}`);
        const dataDisks = disks - 1;
        const rowSectors = chunk * dataDisks;
        const table = `0 ${memberSectors * dataDisks} raid ${type} 1 ${chunk} ${disks} ${names.map((n) => `- ${n}`).join(' ')}`;
        const e = createEngine([{ name: 'v', table }], (p) => memorySource(p, members[names.indexOf(p)]!));
        if (isTableError(e)) throw new Error(e.message);
        const clean = await checkData(e, ['v']);
        if (isIoError(clean)) throw new Error(clean.message);
        expect(clean).toMatchObject({ mismatches: 0, ranges: [], checked: ['v'], sectors: memberSectors * dataDisks });
        for (const row of [0, Math.floor(rows / 2), rows - 1]) {
          const { dev, parity } = raid5Place(RAID45_TYPES[type]!, disks, row, dataDisks - 1);
          for (const d of [dev, parity]) {
            const chunkAt = row * chunk * SECTOR;
            for (const at of [chunkAt, chunkAt + Math.floor((chunk * SECTOR) / 2) + 7, chunkAt + chunk * SECTOR - 1]) {
              members[d]![at]! ^= 0x01;
              const r = await checkData(e, ['v']);
              members[d]![at]! ^= 0x01;
              if (isIoError(r)) throw new Error(r.message);
              expect({ row, member: d, at, mismatches: r.mismatches, ranges: r.ranges }).toEqual({
                row, member: d, at, mismatches: 1, ranges: [{ device: 'v', kind: 'parity', start: row * rowSectors, length: rowSectors }],
              });
            }
          }
        }
      });
    }
  }

  it('counts each odd sector of a row once, and names neighbouring bad rows as one range', async () => {
    const [disks, chunk, rows] = [3, 16, 40];
    const members = consistent(disks, rows * chunk * SECTOR, 5);
    const names = ['a', 'b', 'c'];
    const e = createEngine([{ name: 'v', table: `0 ${rows * chunk * 2} raid raid5_ls 1 ${chunk} 3 - a - b - c` }], (p) => memorySource(p, members[names.indexOf(p)]!));
    if (isTableError(e)) throw new Error(e.message);
    // Row 4: sector 3 of its chunks on two members (one odd sector, the XOR of two flips of different
    // bits), sector 9 on one; row 5: its last sector. Row 20: its first.
    members[0]![(4 * chunk + 3) * SECTOR]! ^= 1;
    members[1]![(4 * chunk + 3) * SECTOR + 100]! ^= 2;
    members[2]![(4 * chunk + 9) * SECTOR + 17]! ^= 4;
    members[1]![(6 * chunk - 1) * SECTOR + 511]! ^= 8;
    members[2]![20 * chunk * SECTOR]! ^= 16;
    const r = await checkData(e, ['v']);
    if (isIoError(r)) throw new Error(r.message);
    expect(r.mismatches).toBe(4);
    expect(r.ranges).toEqual([
      { device: 'v', kind: 'parity', start: 4 * 32, length: 64 },
      { device: 'v', kind: 'parity', start: 20 * 32, length: 32 },
    ]);
  });
});

/**
 * RAID6 without the kernel: GF(2^8) as lib/raid6 defines it, every layout's stripes, P/Q encode and the
 * recovery of any one or two lost members (random data), and the `raid raid6_*` target end to end in memory:
 * written healthy, read back with every pair of members missing, written degraded, checked (P and Q apart).
 * The kernel's own bytes are compared in raid6-vm.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { seededBytes, xorshift32 } from '@dmraid/testkit';
import {
  checkData,
  createEngine,
  encodePQ,
  GF_EXP,
  GF_LOG,
  gfInv,
  gfMul,
  isIoError,
  isTableError,
  memorySource,
  RAID6_TYPES,
  raid6Stripe,
  recoverStripe,
  SECTOR,
  type Engine,
  type Raid6Type,
  type Source,
} from '../src/index.js';

/** Byte equality without vitest's element-wise diff (megabytes compared many times). */
const same = (a: Uint8Array | { kind: string }, b: Uint8Array) => a instanceof Uint8Array && Buffer.compare(a, b) === 0;

const TYPES = Object.keys(RAID6_TYPES) as Raid6Type[];

/** Reproducible "random" data: successive calls continue one xorshift32 sequence. */
function random(seed: number) {
  const next = xorshift32(seed);
  return (n: number) => seededBytes(n, next);
}

const pairs = (n: number) => Array.from({ length: n }, (_, a) => Array.from({ length: n - a - 1 }, (_, k) => [a, a + k + 1] as const)).flat();

describe('GF(2^8), polynomial 0x11d, generator 2', () => {
  it('g generates the field: its 255 powers are every non-zero element once, g^255 = 1', () => {
    expect(new Set(GF_EXP.subarray(0, 255)).size).toBe(255);
    expect(GF_EXP.subarray(0, 255).includes(0)).toBe(false);
    expect(GF_EXP[255]).toBe(1);
    expect(GF_EXP[8]).toBe(0x1d); // x^8 = x^4 + x^3 + x^2 + 1
  });
  it('multiplication agrees with carry-less multiply mod 0x11d, and every non-zero element has an inverse', () => {
    const slow = (a: number, b: number) => {
      let r = 0;
      for (; b; b >>= 1, a = a & 0x80 ? ((a << 1) ^ 0x11d) & 0xff : a << 1) if (b & 1) r ^= a;
      return r;
    };
    for (let a = 0; a < 256; a++) for (let b = 0; b < 256; b++) expect(gfMul(a, b)).toBe(slow(a, b));
    for (let a = 1; a < 256; a++) expect(gfMul(a, gfInv(a))).toBe(1);
    for (let a = 1; a < 256; a++) expect(GF_EXP[GF_LOG[a]!]).toBe(a);
  });
});

describe('raid6 layouts (md raid5_compute_sector, level 6)', () => {
  it.each(TYPES)('%s: every stripe puts P, Q and each data chunk on its own device, with distinct Q coefficients', (type) => {
    for (const disks of [4, 5, 6, 7]) {
      for (let row = 0; row < disks * (disks - 1) * 2; row++) {
        const s = raid6Stripe(type, disks, row);
        expect(new Set([s.p, s.q, ...s.data]).size).toBe(disks);
        expect(new Set(s.coef).size).toBe(disks - 2);
      }
    }
  });
  it('places P and Q as md documents (dm-raid.rst): zr, nr, nc on 5 disks, n_6 and la_6 on 4', () => {
    const pq = (t: Raid6Type, disks: number, rows: number) => Array.from({ length: rows }, (_, r) => raid6Stripe(t, disks, r)).map((s) => [s.p, s.q]);
    // rotating-zero-restart: P on device 0 first, then rightwards, Q after it (Q first when P is last).
    expect(pq('raid6_zr', 5, 5)).toEqual([[0, 1], [1, 2], [2, 3], [3, 4], [4, 0]]);
    // rotating-n-restart: first stripe D D D P Q.
    expect(pq('raid6_nr', 5, 5)).toEqual([[3, 4], [2, 3], [1, 2], [0, 1], [4, 0]]);
    // rotating-n-continue: P last first, Q before it.
    expect(pq('raid6_nc', 5, 5)).toEqual([[4, 3], [3, 2], [2, 1], [1, 0], [0, 4]]);
    expect(pq('raid6_n_6', 4, 2)).toEqual([[2, 3], [2, 3]]);
    expect(pq('raid6_la_6', 4, 4)).toEqual([[2, 3], [1, 3], [0, 3], [2, 3]]);
    // DDF layouts weigh data by device number, md's from the device after Q.
    expect(raid6Stripe('raid6_zr', 5, 1).coef).toEqual([1, 8, 16]);
    expect(raid6Stripe('raid6_nc', 5, 0).coef).toEqual([1, 2, 4]);
  });
});

describe('P/Q encode and recovery', () => {
  it.each(TYPES)('%s: random stripes rebuild equal with any one or two members dropped', (type) => {
    const gen = random(type.length * 7919);
    for (const disks of [4, 5, 6, 8]) {
      for (let row = 0; row < disks * 2; row++) {
        const s = raid6Stripe(type, disks, row);
        const chunks = Array.from({ length: disks }, () => gen(64));
        encodePQ(s, s.data.map((d) => chunks[d]!), chunks[s.p]!, chunks[s.q]!);
        const losses = [...Array.from({ length: disks }, (_, d) => [d] as const), ...pairs(disks)];
        for (const lost of losses) {
          const copy = chunks.map((c, d) => (lost.includes(d) ? gen(64) : c.slice()));
          recoverStripe(s, copy, lost);
          expect(copy.every((c, d) => same(c, chunks[d]!)), `disks ${disks} row ${row} lost ${lost.join('+')}`).toBe(true);
        }
      }
    }
  });
  it('rebuilds equal from chunks at odd byte offsets (the byte-wise loops, not the 16-bit lanes)', () => {
    const gen = random(77);
    for (const type of TYPES) {
      const s = raid6Stripe(type, 5, 3);
      const chunks = Array.from({ length: 5 }, () => gen(65).subarray(1));
      encodePQ(s, s.data.map((d) => chunks[d]!), chunks[s.p]!, chunks[s.q]!);
      for (const lost of pairs(5)) {
        const copy = chunks.map((c, d) => (lost.includes(d) ? gen(65).subarray(1) : c.slice()));
        recoverStripe(s, copy, lost);
        expect(copy.every((c, d) => same(c, chunks[d]!)), `${type} lost ${lost.join('+')}`).toBe(true);
      }
    }
  });
  it('rebuilds equal from chunks 2 bytes off a word (the 16-bit lanes, not the 32-bit words)', () => {
    const gen = random(78);
    for (const type of TYPES) {
      const s = raid6Stripe(type, 5, 2);
      const chunks = Array.from({ length: 5 }, () => gen(66).subarray(2));
      encodePQ(s, s.data.map((d) => chunks[d]!), chunks[s.p]!, chunks[s.q]!);
      for (const lost of [...Array.from({ length: 5 }, (_, d) => [d]), ...pairs(5)]) {
        const copy = chunks.map((c, d) => (lost.includes(d) ? gen(66).subarray(2) : c.slice()));
        recoverStripe(s, copy, lost);
        expect(copy.every((c, d) => same(c, chunks[d]!)), `${type} lost ${lost.join('+')}`).toBe(true);
      }
    }
  });
  it('refuses three lost members', () => {
    const s = raid6Stripe('raid6_zr', 5, 0);
    expect(() => recoverStripe(s, Array.from({ length: 5 }, () => new Uint8Array(8)), [0, 1, 2])).toThrow(RangeError);
  });
});

const CHUNK = 8;

function raid6Engine(type: Raid6Type, members: Uint8Array[], missing: readonly number[] = []): Engine {
  const rows = members[0]!.length / SECTOR / CHUNK;
  const length = rows * CHUNK * (members.length - 2);
  const devs = members.map((_, i) => (missing.includes(i) ? '- -' : `- m${i}`)).join(' ');
  const e = createEngine([{ name: 'r6', table: `0 ${length} raid ${type} 1 ${CHUNK} ${members.length} ${devs}` }], (p) => {
    const i = Number(p.slice(1));
    return memorySource(p, members[i]!);
  });
  if (isTableError(e)) throw new Error(e.message);
  return e;
}

describe('the raid target with raid6 types', () => {
  it.each(TYPES)('%s: written healthy, read equal with each member and each pair missing; degraded writes keep P and Q', async (type) => {
    const gen = random(type.length * 31);
    for (const disks of [4, 5]) {
      const rows = 6;
      const members = Array.from({ length: disks }, () => new Uint8Array(rows * CHUNK * SECTOR));
      const length = rows * CHUNK * (disks - 2);
      const volume = gen(length * SECTOR);
      const e = raid6Engine(type, members);
      // Unaligned writes: read-modify-write of rows.
      expect(await e.get('r6')!.write(0, volume.subarray(0, 5 * SECTOR))).toBe(true);
      expect(await e.get('r6')!.write(5, volume.subarray(5 * SECTOR))).toBe(true);
      expect(same(await e.get('r6')!.read(0, length), volume)).toBe(true);
      const clean = await checkData(e, ['r6']);
      expect(!isIoError(clean) && [clean.mismatches, clean.syndromeMismatches]).toEqual([0, 0]);
      for (const lost of [...Array.from({ length: disks }, (_, d) => [d]), ...pairs(disks)]) {
        const d = raid6Engine(type, members, lost);
        expect(same(await d.get('r6')!.read(0, length), volume), `lost ${lost.join('+')}`).toBe(true);
        // A piece at an odd place: rebuilt from its stripe all the same.
        expect(same(await d.get('r6')!.read(3, 11), volume.subarray(3 * SECTOR, 14 * SECTOR))).toBe(true);
      }
      // Written with two members missing: the members left hold P and Q of the new data.
      const [a, b] = [1, disks - 1];
      const degraded = raid6Engine(type, members, [a, b]);
      const patch = gen(13 * SECTOR);
      expect(await degraded.get('r6')!.write(7, patch)).toBe(true);
      volume.set(patch, 7 * SECTOR);
      expect(same(await degraded.get('r6')!.read(0, length), volume)).toBe(true);
      // And with a third member taken instead of one of the two: P and Q of the written rows agree.
      const c = a === 1 ? 0 : 1;
      expect(same(await raid6Engine(type, members, [c, b]).get('r6')!.read(0, length), volume)).toBe(false);
    }
  });

  it('reads degraded straight into any buffer (0, 1 or 2 bytes off a word) from preadv, readInto or read-only members', async () => {
    const gen = random(4242);
    const kinds = {
      preadv: (m: Source): Source => ({
        ...m,
        readvInto: async (sector, outs) => {
          for (const o of outs) {
            const r = await m.readInto!(sector, o);
            if (r !== true) return r;
            sector += o.length / SECTOR;
          }
          return true;
        },
      }),
      readInto: (m: Source): Source => m,
      read: (m: Source): Source => ({ name: m.name, sizeSectors: m.sizeSectors, read: m.read, write: m.write }),
    };
    for (const disks of [4, 5]) {
      const rows = 8;
      const members = Array.from({ length: disks }, () => new Uint8Array(rows * CHUNK * SECTOR));
      const length = rows * CHUNK * (disks - 2);
      const volume = gen(length * SECTOR);
      expect(await raid6Engine('raid6_zr', members).get('r6')!.write(0, volume)).toBe(true);
      for (const [kind, wrap] of Object.entries(kinds)) {
        for (const lost of [...Array.from({ length: disks }, (_, d) => [d]), ...pairs(disks)]) {
          const devs = members.map((_, i) => (lost.includes(i) ? '- -' : `- m${i}`)).join(' ');
          const e = createEngine([{ name: 'r6', table: `0 ${length} raid raid6_zr 1 ${CHUNK} ${disks} ${devs}` }], (p) => wrap(memorySource(p, members[Number(p.slice(1))]!)));
          if (isTableError(e)) throw new Error(e.message);
          const t = e.get('r6')!;
          for (const [sector, count] of [[0, length], [3, length - 5], [CHUNK, 2 * CHUNK], [CHUNK + 1, 1]] as const) {
            for (const skew of [0, 1, 2]) {
              const out = new Uint8Array(count * SECTOR + skew).subarray(skew);
              expect(await t.readInto!(sector, out)).toBe(true);
              expect(same(out, volume.subarray(sector * SECTOR, (sector + count) * SECTOR)), `${kind} disks ${disks} lost ${lost.join('+')} at ${sector}+${count} skew ${skew}`).toBe(true);
            }
          }
        }
      }
    }
  });

  it('check-data counts P and Q mismatches apart, each in sectors, over the row', async () => {
    const type = 'raid6_zr';
    const members = Array.from({ length: 5 }, () => new Uint8Array(4 * CHUNK * SECTOR));
    const e = raid6Engine(type, members);
    expect(await e.get('r6')!.write(0, random(5)(4 * CHUNK * 3 * SECTOR))).toBe(true);
    // Row 1: P on device 1, Q on device 2.
    const s = raid6Stripe(type, 5, 1);
    members[s.p]![(CHUNK + 2) * SECTOR + 9]! ^= 0x40;
    let r = await checkData(e, ['r6']);
    if (isIoError(r)) throw new Error(r.message);
    expect([r.mismatches, r.syndromeMismatches]).toEqual([1, 0]);
    expect(r.ranges).toEqual([{ device: 'r6', kind: 'parity', start: 3 * CHUNK, length: 3 * CHUNK }]);
    members[s.q]![(CHUNK + 4) * SECTOR]! ^= 1;
    members[s.q]![(CHUNK + 5) * SECTOR]! ^= 1;
    r = await checkData(e, ['r6']);
    if (isIoError(r)) throw new Error(r.message);
    expect([r.mismatches, r.syndromeMismatches]).toEqual([1, 2]);
  });

  it('refuses three missing members and fewer than four devices, as dm-raid does', () => {
    const m = Array.from({ length: 5 }, () => new Uint8Array(CHUNK * SECTOR));
    expect(() => raid6Engine('raid6_nr', m, [0, 1, 2])).toThrow('Insufficient redundancy to activate array');
    expect(() => raid6Engine('raid6_nr', m.slice(0, 3))).toThrow('Invalid number of raid devices');
  });
});

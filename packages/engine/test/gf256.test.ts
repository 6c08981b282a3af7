/**
 * RAID6's GF(2^8) kernels: the WebAssembly SIMD module (gf256-simd.ts) and the table loops (gf256.ts) against
 * each other and against a multiply by shift-and-add, on random data, random coefficients and every
 * length and alignment the loops special-case (16-byte steps, a slot boundary, odd offsets, aliasing).
 */
import { describe, expect, it } from 'vitest';
import { SLOT, simdKernels, simdModuleBytes } from '../src/gf256-simd.js';
import { tableKernels, type GfKernels } from '../src/gf256.js';
import { seededBytes, xorshift32 } from '@dmraid/testkit';

/** Carry-less multiply mod 0x11d, bit by bit: shares nothing with the tables under test. */
function slowMul(a: number, b: number): number {
  let r = 0;
  for (; b; b >>= 1, a = a & 0x80 ? ((a << 1) ^ 0x11d) & 0xff : a << 1) if (b & 1) r ^= a;
  return r;
}

/** xorshift32: reproducible "random" numbers. */
function random(seed: number) {
  const next = xorshift32(seed);
  return {
    byte: () => next() & 0xff,
    nonZero: () => 1 + (next() % 255),
    below: (n: number) => next() % n,
    bytes: (n: number) => seededBytes(n, next),
  };
}

/** A copy of b at `skew` bytes past a fresh buffer's start (odd and 2-off offsets push the loops off words). */
function at(b: Uint8Array, skew: number): Uint8Array {
  const out = new Uint8Array(b.length + skew).subarray(skew);
  out.set(b);
  return out;
}

const simd = simdKernels();
const kernels: [string, GfKernels | undefined][] = [
  ['simd', simd],
  ['tables', tableKernels],
];
// Around the 16-byte step and the 64 KiB slot: the tails and the second slot are where a kernel goes wrong.
const LENGTHS = [1, 15, 16, 17, 100, 4096, SLOT - 4, SLOT, SLOT + 20, 2 * SLOT + 16];

describe('the WebAssembly SIMD module', () => {
  it('is valid WebAssembly with SIMD, and this Node runs it (Node 20, 22 and 24 all have SIMD)', () => {
    // The project's lib has no DOM types and @types/node declares WebAssembly as a namespace only.
    const wasm = (globalThis as unknown as { WebAssembly: { validate(bytes: Uint8Array): boolean } }).WebAssembly;
    expect(wasm.validate(simdModuleBytes())).toBe(true);
    expect(simd?.simd).toBe(true);
  });
});

describe.each(kernels)('GF(2^8) kernels: %s', (_, k) => {
  const run = k ? it : it.skip;
  run('mulXorInto: dst ^= c*src, for random c (0 and 1 included), lengths and offsets', () => {
    const r = random(1);
    for (const [i, n] of LENGTHS.entries()) {
      const c = i === 0 ? 0 : i === 1 ? 1 : r.byte();
      const src = at(r.bytes(n), r.below(4));
      const dst = at(r.bytes(n), r.below(4));
      const want = dst.map((d, j) => d ^ slowMul(c, src[j]!));
      k!.mulXorInto(dst, src, c);
      expect(Buffer.compare(dst, want), `n ${n} c ${c}`).toBe(0);
    }
  });
  run('solve1: dst = inv*(q ^ c*src), into its own chunk and into q (aliased)', () => {
    const r = random(2);
    for (const n of LENGTHS) {
      const [c, inv] = [r.nonZero(), r.nonZero()];
      const q = at(r.bytes(n), r.below(4));
      const src = at(r.bytes(n), r.below(4));
      const want = q.map((v, j) => slowMul(inv, v ^ slowMul(c, src[j]!)));
      const dst = at(r.bytes(n), r.below(4));
      k!.solve1(dst, q, src, c, inv);
      expect(Buffer.compare(dst, want), `n ${n}`).toBe(0);
      k!.solve1(q, q, src, c, inv);
      expect(Buffer.compare(q, want), `n ${n}, aliased`).toBe(0);
    }
  });
  run('solve2: x = a*q ^ b*p, y = p ^ x, into fresh chunks and into q and p (aliased)', () => {
    const r = random(3);
    for (const n of LENGTHS) {
      const [a, b] = [r.nonZero(), r.nonZero()];
      const p = at(r.bytes(n), r.below(4));
      const q = at(r.bytes(n), r.below(4));
      const wantX = q.map((v, j) => slowMul(a, v) ^ slowMul(b, p[j]!));
      const wantY = p.map((v, j) => v ^ wantX[j]!);
      const [x, y] = [at(new Uint8Array(n), r.below(4)), at(new Uint8Array(n), r.below(4))];
      k!.solve2(x, y, p, q, a, b);
      expect(Buffer.compare(x, wantX), `n ${n}`).toBe(0);
      expect(Buffer.compare(y, wantY), `n ${n}`).toBe(0);
      k!.solve2(q, p, p, q, a, b);
      expect(Buffer.compare(q, wantX), `n ${n}, aliased`).toBe(0);
      expect(Buffer.compare(p, wantY), `n ${n}, aliased`).toBe(0);
    }
  });
});

describe('SIMD and tables agree', () => {
  (simd ? it : it.skip)('on 200 random chunks, coefficients and offsets, for each kernel', () => {
    const r = random(4);
    for (let round = 0; round < 200; round++) {
      const n = 1 + r.below(3000);
      const [c0, c1] = [r.nonZero(), r.nonZero()];
      const [p, q] = [r.bytes(n), r.bytes(n)];
      const outs = [simd!, tableKernels].map((k) => {
        const [x, y, d] = [at(new Uint8Array(n), r.below(4)), at(new Uint8Array(n), r.below(4)), at(q, r.below(4))];
        k.solve2(x, y, at(p, r.below(4)), at(q, r.below(4)), c0, c1);
        k.mulXorInto(d, p, c0);
        const s = at(new Uint8Array(n), r.below(4));
        k.solve1(s, p, q, c0, c1);
        return Buffer.concat([x, y, d, s]);
      });
      expect(Buffer.compare(outs[0]!, outs[1]!), `round ${round}`).toBe(0);
    }
  });
});

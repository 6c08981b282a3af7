/**
 * RAID6's GF(2^8) loops on WebAssembly SIMD, 16 bytes a step: c*x is two 16-entry lookups, one by each
 * nibble of x (`i8x16.swizzle`), XORed (c*x = c*(x & 0x0f) ^ c*(x & 0xf0)), as ISA-L and the kernel's
 * raid6 ssse3/avx2 recovery do with pshufb. The module is about 500 bytes, emitted by the tiny encoder
 * of wasm.ts (no toolchain, no dependency). Its memory holds the nibble tables and four 64 KiB slots; the
 * operands are copied in and the results out, a slot at a time: with the copies, 2.5 times the speed of
 * the 16-bit table loops (docs/benchmarks.md), and the callers' buffers stay ordinary memory.
 */
import { gfMul, type GfKernels } from './gf256.js';
import { and, funcBody, get, i32Add, i32Const, i32LtU, I32, load, moduleBytes, set, shrU8, splat8, store, swizzle, tee, V128, wasmApi, xor, type WasmApi } from './wasm.js';

/** Where the kernels find their coefficients: two pairs of nibble tables (c*lo, c*(hi<<4)), 16 bytes each. */
const TABLES = 0;
export const SLOT = 64 * 1024;
/** Operand slots start on the second page: the tables' page stays apart. */
const slotAt = (k: number) => SLOT * (1 + k);
const PAGES = 5;

/**
 * Every kernel's signature is (a, b, c, d, n: i32 addresses and a byte count, a multiple of 16). Locals
 * after the five parameters: i (byte offset), the nibble mask, the two coefficients' four tables, scratch.
 */
const I = 5;
const MASK = 6;
const T0L = 7;
const T0H = 8;
const T1L = 9;
const T1H = 10;
const X = 11;
const V = 12;
const TMP = 13;

/** c*x for x on the stack, c's tables in locals lo and hi. */
const mul = (lo: number, hi: number) => [...set(TMP), ...get(lo), ...get(TMP), ...get(MASK), ...and, ...swizzle, ...get(hi), ...get(TMP), ...i32Const(4), ...shrU8, ...swizzle, ...xor];
/** Address parameter p plus the running offset. */
const at = (p: number) => [...get(p), ...get(I), ...i32Add];

/** A kernel: load the mask and tables, then `body` for each 16 bytes while i < n. */
function kernel(body: number[]): number[] {
  const prologue = [
    ...i32Const(15), ...splat8, ...set(MASK),
    ...i32Const(TABLES), ...load(0), ...set(T0L),
    ...i32Const(TABLES), ...load(16), ...set(T0H),
    ...i32Const(TABLES), ...load(32), ...set(T1L),
    ...i32Const(TABLES), ...load(48), ...set(T1H),
  ];
  // block / loop: skip everything when n is 0, else do the body, i += 16, repeat while i < n.
  const loop = [
    0x02, 0x40, ...get(4), 0x45, 0x0d, 0,
    0x03, 0x40, ...body, ...get(I), ...i32Const(16), ...i32Add, ...tee(I), ...get(4), ...i32LtU, 0x0d, 0, 0x0b,
    0x0b,
  ];
  return funcBody([[1, I32], [TMP - MASK + 1, V128]], [...prologue, ...loop]);
}

/** The kernels, by export name; parameters 0-3 are addresses, 4 the byte count. */
const KERNELS: Record<string, number[]> = {
  // (dst, src): dst ^= c0*src
  mulXor: kernel([...at(0), ...at(0), ...load(), ...at(1), ...load(), ...mul(T0L, T0H), ...xor, ...store]),
  // (dst, q, s): dst = c1*(q ^ c0*s) (one data chunk from Q, the last present term and the division fused)
  solve1: kernel([...at(0), ...at(1), ...load(), ...at(2), ...load(), ...mul(T0L, T0H), ...xor, ...mul(T1L, T1H), ...store]),
  // (x, y, p, q): v = c0*q ^ c1*p, x = v, y = p ^ v (two data chunks from P and Q)
  solve2: kernel([
    ...at(2), ...load(), ...set(X),
    ...at(3), ...load(), ...mul(T0L, T0H), ...get(X), ...mul(T1L, T1H), ...xor, ...set(V),
    ...at(0), ...get(V), ...store,
    ...at(1), ...get(X), ...get(V), ...xor, ...store,
  ]),
};

/** The module's bytes: one function type, the kernels, a memory of PAGES pages, all exported. */
export function simdModuleBytes(): Uint8Array {
  return moduleBytes(5, PAGES, KERNELS);
}

type Kernel = (a: number, b: number, c: number, d: number, n: number) => void;
interface Exports {
  readonly memory: { readonly buffer: ArrayBuffer };
  readonly mulXor: Kernel;
  readonly solve1: Kernel;
  readonly solve2: Kernel;
}
/** c's nibble tables, lo then hi (32 bytes). */
const nibbles = new Map<number, Uint8Array>();
function nibbleTables(c: number): Uint8Array {
  let t = nibbles.get(c);
  if (!t) {
    t = new Uint8Array(32);
    for (let i = 0; i < 16; i++) {
      t[i] = gfMul(c, i);
      t[16 + i] = gfMul(c, i << 4);
    }
    nibbles.set(c, t);
  }
  return t;
}

const round16 = (n: number) => (n + 15) & ~15;

function instantiate(wasm: WasmApi): GfKernels {
  const ex = new wasm.Instance(new wasm.Module(simdModuleBytes())).exports as Exports;
  // The memory never grows, so one view of it stays valid.
  const mem = new Uint8Array(ex.memory.buffer);
  const [s0, s1, s2, s3] = [slotAt(0), slotAt(1), slotAt(2), slotAt(3)];
  const coefs = (c0: number, c1 = 1) => {
    mem.set(nibbleTables(c0), TABLES);
    mem.set(nibbleTables(c1), TABLES + 32);
  };
  // Every operand is copied in before the kernel runs and the results out after: aliased arguments
  // (Q gathered in the chunk it rebuilds) read their old bytes, as the byte loops do.
  return {
    simd: true,
    mulXorInto(dst, src, c) {
      if (c === 0) return;
      coefs(c);
      for (let off = 0; off < dst.length; off += SLOT) {
        const len = Math.min(SLOT, dst.length - off);
        mem.set(dst.subarray(off, off + len), s0);
        mem.set(src.subarray(off, off + len), s1);
        ex.mulXor(s0, s1, 0, 0, round16(len));
        dst.set(mem.subarray(s0, s0 + len), off);
      }
    },
    solve1(dst, q, src, c, inv) {
      coefs(c, inv);
      for (let off = 0; off < dst.length; off += SLOT) {
        const len = Math.min(SLOT, dst.length - off);
        mem.set(q.subarray(off, off + len), s1);
        mem.set(src.subarray(off, off + len), s2);
        ex.solve1(s0, s1, s2, 0, round16(len));
        dst.set(mem.subarray(s0, s0 + len), off);
      }
    },
    solve2(x, y, p, q, a, b) {
      coefs(a, b);
      for (let off = 0; off < x.length; off += SLOT) {
        const len = Math.min(SLOT, x.length - off);
        mem.set(p.subarray(off, off + len), s2);
        mem.set(q.subarray(off, off + len), s3);
        ex.solve2(s0, s1, s2, s3, round16(len));
        x.set(mem.subarray(s0, s0 + len), off);
        y.set(mem.subarray(s1, s1 + len), off);
      }
    },
  };
}

let kernels: GfKernels | undefined | null = null;
/** The SIMD kernels, or undefined where WebAssembly or its SIMD is missing (built once, on first use). */
export function simdKernels(): GfKernels | undefined {
  if (kernels === null) {
    try {
      kernels = wasmApi?.validate(simdModuleBytes()) ? instantiate(wasmApi) : undefined;
    } catch {
      kernels = undefined;
    }
  }
  return kernels;
}

/**
 * A tiny WebAssembly encoder: just the opcodes the engine's SIMD kernels use (WebAssembly core spec 1.0 +
 * fixed-width SIMD), so each kernel module is a few hundred bytes emitted at load, with no toolchain and no
 * dependency. RAID6's GF(2^8) loops (gf256-simd.ts) and the parity check (parity-scan.ts) are written in it.
 */

export const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
};
/** Signed LEB128, as i32.const takes its value (64 in unsigned LEB128 would read as -64). */
export const sleb = (n: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
};
export const vec = (items: readonly number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const name = (s: string): number[] => [...uleb(s.length), ...Buffer.from(s, 'ascii')];

export const I32 = 0x7f;
export const V128 = 0x7b;
export const get = (l: number) => [0x20, l];
export const set = (l: number) => [0x21, l];
export const tee = (l: number) => [0x22, l];
export const i32Const = (v: number) => [0x41, ...sleb(v)];
export const i32Add = [0x6a];
export const i32LtU = [0x49];
/** i32.store8 at the address on the stack (alignment 0, offset 0). */
export const store8 = [0x3a, 0, 0];
export const simd = (op: number, ...imm: number[]) => [0xfd, ...uleb(op), ...imm];
/** v128.load/store with alignment hint 0 and a constant offset. */
export const load = (offset = 0) => simd(0x00, 0, ...uleb(offset));
export const store = simd(0x0b, 0, 0);
/** v128.const of sixteen zero bytes. */
export const zero128 = simd(0x0c, ...new Array<number>(16).fill(0));
export const swizzle = simd(0x0e);
export const splat8 = simd(0x0f);
export const and = simd(0x4e);
export const or = simd(0x50);
export const xor = simd(0x51);
/** v128.any_true: 1 when a bit of the vector is set. */
export const anyTrue = simd(0x53);
export const shrU8 = simd(0x6d);

/**
 * The module's bytes: one function type (`params` i32 parameters, no result), the kernels (each the
 * encoded body of `kernel` below or alike: locals and code), a memory of `pages` 64 KiB pages, all exported.
 */
export function moduleBytes(params: number, pages: number, kernels: Record<string, number[]>): Uint8Array {
  const names = Object.keys(kernels);
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec([[0x60, ...vec(new Array<number[]>(params).fill([I32])), 0]])),
    ...section(3, vec(names.map(() => [0]))),
    ...section(5, vec([[0x00, ...uleb(pages)]])),
    ...section(7, vec([[...name('memory'), 0x02, 0], ...names.map((n, i) => [...name(n), 0x00, i])])),
    ...section(10, vec(names.map((n) => kernels[n]!))),
  ];
  return Uint8Array.from(bytes);
}

/** A function body: its locals (count, type pairs) and code, with the closing `end` and the size before it. */
export function funcBody(locals: readonly [number, number][], code: readonly number[]): number[] {
  const all = [...vec(locals.map(([n, t]) => [n, t])), ...code, 0x0b];
  return [...uleb(all.length), ...all];
}

/** The little of the WebAssembly API used here (the project's lib has no DOM types, @types/node declares too little). */
export interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { readonly exports: unknown };
}
export const wasmApi = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

/** An exported memory: its buffer is replaced (the old one detached) when it grows. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

/**
 * GF(2^8) as Linux's lib/raid6 uses it: the polynomial x^8+x^4+x^3+x^2+1 (0x11d) and the generator g = 2.
 * RAID6's Q is the sum of g^slot * D over the data blocks of a stripe; recovering data from Q divides.
 */

/** g^i for i in [0, 510): doubled so that exp[log a + log b] needs no reduction mod 255. */
export const GF_EXP = new Uint8Array(510);
/** log_g(a) for a != 0; GF_LOG[0] is unused. */
export const GF_LOG = new Uint8Array(256);
{
  let x = 1;
  for (let i = 0; i < 255; i++) {
    GF_EXP[i] = x;
    GF_EXP[i + 255] = x;
    GF_LOG[x] = i;
    x <<= 1;
    if (x & 0x100) x ^= 0x11d;
  }
}

export function gfMul(a: number, b: number): number {
  return a === 0 || b === 0 ? 0 : GF_EXP[GF_LOG[a]! + GF_LOG[b]!]!;
}

/** The multiplicative inverse of a non-zero element. */
export function gfInv(a: number): number {
  if (a === 0) throw new RangeError('0 has no inverse in GF(2^8)');
  return GF_EXP[255 - GF_LOG[a]!]!;
}

/** g^n. */
export const gfPow2 = (n: number): number => GF_EXP[((n % 255) + 255) % 255]!;

/** Per coefficient, the 256 products c*x: one table lookup a byte (cached; a stripe uses few coefficients). */
const tables = new Map<number, Uint8Array>();
export function gfTable(c: number): Uint8Array {
  let t = tables.get(c);
  if (!t) {
    t = new Uint8Array(256);
    for (let x = 0; x < 256; x++) t[x] = gfMul(c, x);
    tables.set(c, t);
  }
  return t;
}

/** dst ^= c * src, bytewise. */
export function gfMulXorInto(dst: Uint8Array, src: Uint8Array, c: number): void {
  const n = dst.length;
  if (c === 0) return;
  if (c === 1) {
    for (let i = 0; i < n; i++) dst[i]! ^= src[i]!;
    return;
  }
  const t = gfTable(c);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    dst[i]! ^= t[src[i]!]!;
    dst[i + 1]! ^= t[src[i + 1]!]!;
    dst[i + 2]! ^= t[src[i + 2]!]!;
    dst[i + 3]! ^= t[src[i + 3]!]!;
  }
  for (; i < n; i++) dst[i]! ^= t[src[i]!]!;
}

/** buf = c * buf, in place. */
export function gfScale(buf: Uint8Array, c: number): void {
  if (c === 1) return;
  const t = gfTable(c);
  for (let i = 0; i < buf.length; i++) buf[i] = t[buf[i]!]!;
}

/**
 * Per coefficient, c times both bytes of a 16-bit lane (128 KiB): the hot recovery loops look up two bytes
 * at a time (1.5-2 times the speed of byte lookups in V8 here); read and written as 32-bit words, two
 * lookups a word, they go about 1.4 times faster again (fewer loads and stores of the data).
 */
const tables16 = new Map<number, Uint16Array>();
export function gfTable16(c: number): Uint16Array {
  let t = tables16.get(c);
  if (!t) {
    const b = gfTable(c);
    t = new Uint16Array(65536);
    for (let x = 0; x < 65536; x++) t[x] = b[x & 0xff]! | (b[x >>> 8]! << 8);
    tables16.set(c, t);
  }
  return t;
}

/** 16-bit lanes of a byte array, when it starts on an even byte and has an even length. */
export const lanes16 = (b: Uint8Array): Uint16Array | undefined =>
  b.byteOffset % 2 === 0 && b.length % 2 === 0 ? new Uint16Array(b.buffer, b.byteOffset, b.length / 2) : undefined;

/** 32-bit words of a byte array, when it starts on a multiple of 4 bytes and its length is one. */
export const lanes32 = (b: Uint8Array): Uint32Array | undefined =>
  b.byteOffset % 4 === 0 && b.length % 4 === 0 ? new Uint32Array(b.buffer, b.byteOffset, b.length / 4) : undefined;

/**
 * RAID6's hot GF(2^8) loops over whole chunks. Arguments may alias (P' or Q' gathered in the chunk being
 * rebuilt): each byte's inputs are read before its outputs are written.
 */
export interface GfKernels {
  /** WebAssembly SIMD (gf256-simd.ts), or these table loops. */
  readonly simd: boolean;
  /** dst ^= c * src. */
  mulXorInto(dst: Uint8Array, src: Uint8Array, c: number): void;
  /** dst = inv * (q ^ c * src): one lost data chunk from Q, the last present chunk's term and the division in one pass. */
  solve1(dst: Uint8Array, q: Uint8Array, src: Uint8Array, c: number, inv: number): void;
  /** v = a * q ^ b * p, x = v, y = p ^ v: two lost data chunks from P' and Q'. */
  solve2(x: Uint8Array, y: Uint8Array, p: Uint8Array, q: Uint8Array, a: number, b: number): void;
}

/** The kernels on lookup tables: 32-bit words where every operand is aligned, else 16-bit lanes, else bytes. */
export const tableKernels: GfKernels = {
  simd: false,
  mulXorInto: gfMulXorInto,
  solve1(dst, q, src, c, inv) {
    const n = dst.length;
    const [d32, q32, s32] = [lanes32(dst), lanes32(q), lanes32(src)];
    if (d32 && q32 && s32) {
      const [tc, ti] = [gfTable16(c), gfTable16(inv)];
      for (let i = 0; i < n / 4; i++) {
        const d = q32[i]!;
        const v = s32[i]!;
        d32[i] = ti[(d & 0xffff) ^ tc[v & 0xffff]!]! | (ti[(d >>> 16) ^ tc[v >>> 16]!]! << 16);
      }
      return;
    }
    const [d16, q16, s16] = [lanes16(dst), lanes16(q), lanes16(src)];
    const [w, tc, ti, D, Q, S] =
      d16 && q16 && s16 ? [n / 2, gfTable16(c), gfTable16(inv), d16, q16, s16] : [n, gfTable(c), gfTable(inv), dst, q, src];
    for (let i = 0; i < w; i++) D[i] = ti[Q[i]! ^ tc[S[i]!]!]!;
  },
  solve2(x, y, p, q, a, b) {
    const n = x.length;
    const [x32, y32, p32, q32] = [lanes32(x), lanes32(y), lanes32(p), lanes32(q)];
    if (x32 && y32 && p32 && q32) {
      const [ta, tb] = [gfTable16(a), gfTable16(b)];
      for (let i = 0; i < n / 4; i++) {
        const qv = q32[i]!;
        const pv = p32[i]!;
        const v = (ta[qv & 0xffff]! ^ tb[pv & 0xffff]!) | ((ta[qv >>> 16]! ^ tb[pv >>> 16]!) << 16);
        x32[i] = v;
        y32[i] = pv ^ v;
      }
      return;
    }
    const [x16, y16, p16, q16] = [lanes16(x), lanes16(y), lanes16(p), lanes16(q)];
    const [w, ta, tb, X, Y, P, Q] =
      x16 && y16 && p16 && q16 ? [n / 2, gfTable16(a), gfTable16(b), x16, y16, p16, q16] : [n, gfTable(a), gfTable(b), x, y, p, q];
    for (let i = 0; i < w; i++) {
      const pv = P[i]!;
      const v = ta[Q[i]!]! ^ tb[pv]!;
      X[i] = v;
      Y[i] = pv ^ v;
    }
  },
};

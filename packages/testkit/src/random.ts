/**
 * xorshift32: a small deterministic generator, so that a test's "random" data is the same on every run (and a
 * failure reproduces). `next()` gives the next 32-bit value, unsigned.
 */
export function xorshift32(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

/** `n` bytes from a generator: the low byte of each value, one value a byte. */
export function seededBytes(n: number, next: () => number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = next() & 0xff;
  return b;
}

/**
 * How well two byte streams join: an order-3 byte model (4-gram counts, hashed) trained on the members'
 * own content. A chunk boundary of the right geometry continues the stream it cut (a file's text, an inode
 * table, a bitmap), so the bytes after it are likely under the bytes before; a wrong pairing is not. The
 * score of a join is a log-likelihood ratio in nats against the bytes' plain frequency, so sums over many
 * boundaries compare as evidence.
 */
const HASH_BITS = 22;
const MASK = (1 << HASH_BITS) - 1;
/** Smoothing weight of the unigram prior in a context seen few times. */
const PRIOR = 4;
/** Bytes of the cut that enter the score: the first JOIN bytes after the boundary, each with 3 bytes before. */
export const JOIN = 3;

const hash3 = (a: number, b: number, c: number) => (Math.imul((a << 16) | (b << 8) | c, 0x9e3779b1) >>> (32 - HASH_BITS)) & MASK;
const hash4 = (a: number, b: number, c: number, d: number) => (Math.imul(((a << 16) | (b << 8) | c) ^ Math.imul(d + 1, 0x85ebca6b), 0xc2b2ae35) >>> (32 - HASH_BITS)) & MASK;

export class JoinModel {
  private readonly grams = new Uint32Array(1 << HASH_BITS);
  private readonly contexts = new Uint32Array(1 << HASH_BITS);
  private readonly logUnigram = new Float64Array(256);

  constructor(samples: readonly Uint8Array[]) {
    const counts = new Float64Array(256);
    let total = 0;
    for (const s of samples) {
      for (let i = 3; i < s.length; i++) {
        const a = s[i - 3]!, b = s[i - 2]!, c = s[i - 1]!, d = s[i]!;
        this.grams[hash4(a, b, c, d)]!++;
        this.contexts[hash3(a, b, c)]!++;
        counts[d]!++;
        total++;
      }
    }
    for (let c = 0; c < 256; c++) this.logUnigram[c] = Math.log((counts[c]! + 1) / (total + 256));
  }

  /** log P(d | a b c) − log P(d). */
  private gain(a: number, b: number, c: number, d: number): number {
    const p1 = Math.exp(this.logUnigram[d]!);
    const p = (this.grams[hash4(a, b, c, d)]! + PRIOR * p1) / (this.contexts[hash3(a, b, c)]! + PRIOR);
    return Math.log(p) - this.logUnigram[d]!;
  }

  /**
   * The evidence that `head` continues `tail` (the 3 bytes before the cut, the JOIN after it); 0 when both
   * sides are one repeated byte (zeros on both sides say nothing about which chunk comes next).
   */
  join(tail: Uint8Array, head: Uint8Array): number {
    const w = [tail[0]!, tail[1]!, tail[2]!, ...head.subarray(0, JOIN)];
    if (w.every((x) => x === w[0])) return 0;
    let s = 0;
    for (let i = 3; i < w.length; i++) s += this.gain(w[i - 3]!, w[i - 2]!, w[i - 1]!, w[i]!);
    return s;
  }
}

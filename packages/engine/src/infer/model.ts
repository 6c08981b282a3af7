/**
 * How well two byte streams join: a byte model trained on the members' own content, of order ORDER (the
 * next byte given the ORDER before it, counts hashed), backing off to order 2. A chunk boundary of the right
 * geometry continues the stream it cut (a file's text, an inode table, a bitmap), so the bytes after it are
 * likely under the bytes before; a wrong pairing is not. A join's score is a log-likelihood ratio in nats
 * against the same bytes with the cut's left side unknown (order 2 within the head), so sums over many
 * boundaries compare as evidence.
 */
const HASH_BITS = 22;
const MASK = (1 << HASH_BITS) - 1;
/** Bytes of context: the longer, the surer a right join (a line of a log continues, a field of a record). */
const ORDER = 6;
/** Bytes after the cut that enter the score; their contexts reach across it. */
export const JOIN = ORDER;
/** Bytes before the cut the score reads. */
export const TAIL = ORDER;
/** How many sightings of a long context it takes to trust it over the short one. */
const PRIOR = 2;

const mix = (h: number, byte: number) => Math.imul(h ^ byte, 0x01000193) >>> 0;
const slot = (h: number) => (Math.imul(h, 0x9e3779b1) >>> (32 - HASH_BITS)) & MASK;

export class JoinModel {
  private readonly long = new Uint32Array(1 << HASH_BITS);
  private readonly longContexts = new Uint32Array(1 << HASH_BITS);
  private readonly short = new Uint32Array(1 << HASH_BITS);
  private readonly shortContexts = new Uint32Array(1 << HASH_BITS);
  private readonly unigram = new Float64Array(256);

  constructor(samples: readonly Uint8Array[]) {
    const counts = new Float64Array(256);
    let total = 0;
    for (const s of samples) {
      for (let i = ORDER; i < s.length; i++) {
        const longCtx = this.context(s, i - ORDER, ORDER);
        const shortCtx = this.context(s, i - 2, 2);
        this.long[slot(mix(longCtx, s[i]!))]!++;
        this.longContexts[slot(longCtx)]!++;
        this.short[slot(mix(shortCtx, s[i]!))]!++;
        this.shortContexts[slot(shortCtx)]!++;
        counts[s[i]!]!++;
        total++;
      }
    }
    for (let c = 0; c < 256; c++) this.unigram[c] = (counts[c]! + 1) / (total + 256);
  }

  private context(b: ArrayLike<number>, at: number, length: number): number {
    let h = 0x811c9dc5 ^ length;
    for (let k = at; k < at + length; k++) h = mix(h, b[k]!);
    return h;
  }

  private shortP(b: ArrayLike<number>, i: number): number {
    const ctx = this.context(b, i - 2, 2);
    return (this.short[slot(mix(ctx, b[i]!))]! + PRIOR * this.unigram[b[i]!]!) / (this.shortContexts[slot(ctx)]! + PRIOR);
  }

  private longP(b: ArrayLike<number>, i: number): number {
    const ctx = this.context(b, i - ORDER, ORDER);
    return (this.long[slot(mix(ctx, b[i]!))]! + PRIOR * this.shortP(b, i)) / (this.longContexts[slot(ctx)]! + PRIOR);
  }

  /**
   * The evidence that `head` continues `tail` (the TAIL bytes before the cut, the JOIN after it); 0 when both
   * sides are one repeated byte (zeros on both sides say nothing about which chunk comes next).
   */
  join(tail: Uint8Array, head: Uint8Array): number {
    const w = [...tail.subarray(0, TAIL), ...head.subarray(0, JOIN)];
    if (w.every((x) => x === w[0])) return 0;
    let s = 0;
    for (let i = TAIL; i < w.length; i++) {
      // Against the head alone: the byte given what of the head is before it (order 2 once there is some).
      const alone = i - TAIL >= 2 ? this.shortP(w, i) : this.unigram[w[i]!]!;
      s += Math.log(this.longP(w, i)) - Math.log(alone);
    }
    return s;
  }
}

/**
 * `dmraid --infer`: a set's geometry from its members' content alone, when no metadata says it. What
 * recovery practice uses: mirror legs are equal; a RAID5 row XORs to zero; the byte stream of a volume
 * joins across chunk boundaries only in the right order (model.ts); filesystem structures sit where the
 * volume's first sector says (probes.ts). Candidates are scored in nats of evidence and ranked.
 */
import { isIoError, readInto, SECTOR, type IoError, type Source } from '../source.js';
import { dataSlots, RAID5_LAYOUTS, slotOf, volumeSectors, type Geometry, type InferLevel, type Raid5Layout } from './geometry.js';
import { raid5Place } from '../targets/raid5-layout.js';
import { JOIN, JoinModel, TAIL } from './model.js';
import { startKind, structureScore, type VolumeRead } from './probes.js';

/** The most of each member inference reads. */
export const MAX_SAMPLE_BYTES = 256 * 1024 * 1024;
const DEFAULT_SAMPLE_BYTES = 64 * 1024 * 1024;
/** Chunk sizes tried, in sectors: 4 KiB to 1 MiB. */
const CHUNKS = [8, 16, 32, 64, 128, 256, 512, 1024, 2048];
/** Rows of the sample whose boundaries are scored (evenly spread), per chunk size and data offset. */
const ROWS = 768;
/**
 * What a geometry with a member not given must explain better than one without: its missing member is the
 * XOR of the others, which fits the zeros and copies of a sparse volume's rows as well as any member would.
 */
const MISSING_PENALTY = 1000;
/** Nats per sector that tells the parity member (parityScore): sectors of one file are not independent. */
const PARITY_WEIGHT = 0.25;
/** How many standard errors below its extrapolated sum a candidate's join score is taken (rowJoins). */
const NOISE_RANGE = 2;
/** The model learns from this much of each member. */
const TRAIN_BYTES = 8 * 1024 * 1024;
/** Where a volume's first sector is looked for on each member (a data offset is metadata in front). */
const START_SCAN_BYTES = 16 * 1024 * 1024;

export interface InferOptions {
  /** Bytes read from the start of each member (at most MAX_SAMPLE_BYTES). */
  readonly sampleBytes?: number;
  /** How many candidates to return, best first. */
  readonly keep?: number;
}

export interface Candidate extends Geometry {
  /** Evidence in nats (higher is better). */
  readonly score: number;
  /** The candidate's share of the evidence among all tried (a posterior under equal priors), 0..1. */
  readonly confidence: number;
  /** What decided the level: equal members, zero XOR, or joins and structures. */
  readonly basis: 'mirror-equal' | 'parity' | 'continuity';
}

export type InferResult = { readonly candidates: readonly Candidate[]; readonly sampledBytes: number } | { readonly error: string } | IoError;

interface Sampled {
  readonly bytes: readonly Uint8Array[];
  /** XOR of all members: a RAID5's missing member, when one is missing. */
  readonly xor: Uint8Array;
}

export async function inferGeometry(sources: readonly Source[], options: InferOptions = {}): Promise<InferResult> {
  if (sources.length < 2) return { error: 'inference needs at least 2 members' };
  const memberSectors = Math.min(...sources.map((s) => s.sizeSectors));
  const sampleBytes = Math.min(options.sampleBytes ?? DEFAULT_SAMPLE_BYTES, MAX_SAMPLE_BYTES, memberSectors * SECTOR);
  const length = Math.floor(sampleBytes / SECTOR) * SECTOR;
  const bytes: Uint8Array[] = [];
  for (const s of sources) {
    const b = new Uint8Array(length);
    const r = await readInto(s, 0, b);
    if (isIoError(r)) return r;
    bytes.push(b);
  }
  const xor = new Uint8Array(length);
  for (const b of bytes) for (let i = 0; i < length; i++) xor[i]! ^= b[i]!;
  const sample: Sampled = { bytes, xor };
  const keep = options.keep ?? 5;

  const data = dataBlocks(bytes);
  if (data === 0) return { error: `the first ${mib(length)} of every member are zeros: nothing to infer from` };
  if (equalMembers(bytes)) {
    const offset = startOffsets(bytes[0]!)[0] ?? 0;
    const g: Geometry = { level: 'mirror', order: bytes.map((_, i) => i), chunkSectors: 0, dataOffsetSectors: offset, sizeSectors: memberSectors - offset };
    return { candidates: [{ ...g, score: 0, confidence: 1, basis: 'mirror-equal' }], sampledBytes: length };
  }
  const offsets = [...new Set([0, ...bytes.flatMap(startOffsets)])].filter((o) => o < length / SECTOR).slice(0, 6);
  // What lies in front of a data offset (a format's metadata) is no part of any row's parity.
  const parity = sources.length >= 3 && zeroXorShare(bytes, xor, Math.max(...offsets) * SECTOR) > 0.99;
  const model = new JoinModel(bytes.flatMap(trainingPieces));
  const odd = oddSectors(parity ? bytes : [...bytes, xor]);
  const n = sources.length;
  const shapes: { level: InferLevel; layout?: Raid5Layout; slots: number; virtual: boolean }[] = parity
    ? RAID5_LAYOUTS.map((layout) => ({ level: 'raid5' as const, layout, slots: n, virtual: false }))
    : [{ level: 'striped', slots: n, virtual: false }, ...RAID5_LAYOUTS.map((layout) => ({ level: 'raid5' as const, layout, slots: n + 1, virtual: true }))];

  const scored: { g: Geometry; order: number[]; score: number; variance: number }[] = [];
  // What a candidate's per-row evidence is recomputed from, by chunk size and data offset.
  const tables = new Map<string, { joins: ReturnType<typeof rowJoins>; firstRow: number; rows: number }>();
  const shapeKey = (g: Geometry) => `${g.chunkSectors}/${g.dataOffsetSectors}`;
  for (const chunk of CHUNKS) {
    for (const offset of offsets) {
      const rows = Math.floor((length / SECTOR - offset) / chunk) - 1;
      if (rows < 2) continue;
      // Only rows past every offset tried: what lies in front of one (metadata, noise) is scored for none.
      const joins = rowJoins(model, sample, chunk, offset, rows, Math.max(...offsets) * SECTOR, !parity);
      const firstRow = Math.max(0, Math.ceil((Math.max(...offsets) - offset) / chunk));
      tables.set(`${chunk}/${offset}`, { joins, firstRow, rows });
      for (const shape of shapes) {
        const members = shape.virtual ? n + 1 : n;
        for (const order of permutations(members)) {
          const g: Geometry = {
            level: shape.level,
            ...(shape.layout ? { layout: shape.layout } : {}),
            // The virtual member (index n, the XOR of all) is the one not given.
            order: order.map((m) => (m === n ? -1 : m)),
            chunkSectors: chunk,
            dataOffsetSectors: offset,
            sizeSectors: volumeSectors(shape.level, shape.slots, chunk, offset, memberSectors),
          };
          const p = shape.level === 'raid5' ? parityScore(odd, g, order, firstRow, rows) : { score: 0, variance: 0 };
          const j = joins.score(g, order);
          scored.push({ g, order, score: j.score + p.score - (shape.virtual ? MISSING_PENALTY : 0), variance: j.variance + p.variance });
        }
      }
    }
  }
  scored.sort((a, b) => b.score - a.score);
  // The structures are read for the best few only: they decide between candidates the joins left close.
  // With the best of each chunk size and data offset: the joins of two offsets a few rows apart are alike.
  const firstOfShape = scored.filter((c, i) => scored.findIndex((d) => shapeKey(d.g) === shapeKey(c.g)) === i);
  const finalists = [...new Set([...scored.slice(0, 40), ...firstOfShape])].map((c) => ({ ...c, score: c.score + structureScore(volumeReader(c.g, sample)) }));
  finalists.sort((a, b) => b.score - a.score);
  const best = finalists[0]!;
  // The joins of neighbouring rows are not independent evidence, so exp(score) overstates a lead. A
  // candidate's weight is instead how likely the lead over it is noise: its size in standard errors of the
  // difference (row by row against the best when both cut the sample alike, else of the two scores), as a
  // normal tail. Close candidates share the confidence; it never rises above a better candidate's.
  const rowsOf = (c: (typeof finalists)[number]) => {
    const t = tables.get(shapeKey(c.g))!;
    return { joins: t.joins.rowValues(c.g, c.order), parity: c.g.level === 'raid5' ? parityRows(odd, c.g, c.order, t.firstRow, t.rows) : undefined };
  };
  const bestRows = rowsOf(best);
  const spread = (a: Float64Array, b: Float64Array | undefined) => {
    let s = 0;
    let sq = 0;
    for (let i = 0; i < a.length; i++) {
      const d = a[i]! - (b ? b[i]! : 0);
      s += d;
      sq += d * d;
    }
    const mean = s / Math.max(1, a.length);
    return Math.max(0, sq / Math.max(1, a.length) - mean * mean);
  };
  const differenceVariance = (c: (typeof finalists)[number]) => {
    if (shapeKey(c.g) !== shapeKey(best.g)) return best.variance + c.variance;
    const rows = rowsOf(c);
    const n = bestRows.joins.length;
    const joins = n === 0 ? 0 : (spread(bestRows.joins, rows.joins) / n) * ROWS * ROWS;
    const length = (bestRows.parity ?? rows.parity)?.length ?? 0;
    const parityPart = length === 0 ? 0 : spread(bestRows.parity ?? new Float64Array(length), rows.parity) * length * PARITY_WEIGHT * PARITY_WEIGHT;
    return joins + parityPart;
  };
  let previous = 1;
  const weights = finalists.map((c) => (previous = Math.min(previous, Math.exp(-((best.score - c.score) ** 2) / (2 * Math.max(1, differenceVariance(c)))))));
  const total = weights.reduce((s, w) => s + w, 0);
  const candidates = finalists.slice(0, keep).map((c, i) => ({ ...c.g, score: c.score, confidence: weights[i]! / total, basis: parity ? ('parity' as const) : ('continuity' as const) }));
  if (best.score <= 0) return { error: `no geometry explains the members' content (best evidence ${best.score.toFixed(1)}): the sample holds too little data, or the members are no set` };
  return { candidates, sampledBytes: length };
}

const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;

/**
 * What the model learns from: pieces spread over the whole sample, those holding data (a filesystem's
 * files may start far in, after its inode tables), TRAIN_BYTES of each member at most.
 */
function trainingPieces(b: Uint8Array): Uint8Array[] {
  const piece = 64 * 1024;
  const count = Math.floor(b.length / piece);
  const withData = [];
  for (let k = 0; k < count; k++) if (!isZeroRange(b, k * piece, 512)) withData.push(k);
  const every = Math.max(1, withData.length / (TRAIN_BYTES / piece));
  const out: Uint8Array[] = [];
  for (let i = 0; i < withData.length; i += every) out.push(b.subarray(withData[Math.floor(i)]! * piece, (withData[Math.floor(i)]! + 1) * piece));
  return out;
}

/** 4 KiB blocks (sampled) holding data on some member. */
function dataBlocks(bytes: readonly Uint8Array[]): number {
  let n = 0;
  for (let at = 0; at + 4096 <= bytes[0]!.length; at += 4096 * 7) if (bytes.some((b) => !isZeroRange(b, at, 4096))) n++;
  return n;
}

function isZeroRange(b: Uint8Array, at: number, length: number): boolean {
  for (let i = at; i < at + length; i++) if (b[i] !== 0) return false;
  return true;
}

/** Every member holds the same bytes (a mirror's legs): compared whole. */
function equalMembers(bytes: readonly Uint8Array[]): boolean {
  const first = Buffer.from(bytes[0]!.buffer, bytes[0]!.byteOffset, bytes[0]!.length);
  return bytes.slice(1).every((b) => first.equals(b));
}

/** Of the 4 KiB blocks holding data, the share whose XOR over all members is zero (RAID4/5 parity). */
function zeroXorShare(bytes: readonly Uint8Array[], xor: Uint8Array, from: number): number {
  let data = 0;
  let zero = 0;
  for (let at = Math.ceil(from / 4096) * 4096; at + 4096 <= xor.length; at += 4096) {
    if (bytes.every((b) => isZeroRange(b, at, 4096))) continue;
    data++;
    if (isZeroRange(xor, at, 4096)) zero++;
  }
  return data === 0 ? 0 : zero / data;
}

/** Sector offsets on a member where a volume's first sector could sit (a partition table or a filesystem). */
function startOffsets(b: Uint8Array): number[] {
  const out: number[] = [];
  for (let at = 0; at + 2048 <= Math.min(b.length, START_SCAN_BYTES); at += SECTOR) {
    // Cheap filters first: a boot signature, GPT's "EFI PART" or ext's magic.
    if ((b[at + 510] === 0x55 && b[at + 511] === 0xaa) || (b[at + 512] === 0x45 && b[at + 513] === 0x46) || (b[at + 1080] === 0x53 && b[at + 1081] === 0xef)) {
      if (startKind(b.subarray(at, at + 2048))) out.push(at / SECTOR);
    }
  }
  return out;
}

function* permutations(n: number): Generator<number[]> {
  const a = Array.from({ length: n }, (_, i) => i);
  const c = new Array<number>(n).fill(0);
  yield [...a];
  let i = 0;
  while (i < n) {
    if (c[i]! < i) {
      const j = i % 2 === 0 ? 0 : c[i]!;
      [a[j], a[i]] = [a[i]!, a[j]!];
      yield [...a];
      c[i]!++;
      i = 0;
    } else {
      c[i] = 0;
      i++;
    }
  }
}

/**
 * Join scores of every ordered pair of members at sampled rows: `same[r][a][b]` for member a's chunk of
 * row r followed by member b's chunk of the same row, `next[r][a][b]` followed by b's chunk of row r+1. A
 * candidate's score is then a sum of table entries.
 */
function rowJoins(model: JoinModel, sample: Sampled, chunk: number, offset: number, rows: number, from: number, withXor: boolean) {
  const members = [...sample.bytes, sample.xor];
  const m = members.length;
  const cb = chunk * SECTOR;
  const base = offset * SECTOR;
  const first = Math.max(0, Math.ceil((from - base) / cb));
  const step = Math.max(1, Math.floor((rows - first) / ROWS));
  const picked: number[] = [];
  for (let r = first; r < rows && picked.length < ROWS; r += step) picked.push(r);
  if (picked.length === 0) return { score: () => ({ score: 0, variance: 0 }), rowValues: () => new Float64Array(0) };
  const tail = (k: number, r: number) => members[k]!.subarray(base + (r + 1) * cb - TAIL, base + (r + 1) * cb);
  const head = (k: number, r: number) => members[k]!.subarray(base + r * cb, base + r * cb + JOIN);
  const same = new Float64Array(picked.length * m * m);
  const next = new Float64Array(picked.length * m * m);
  // The members a candidate can place: the XOR member only stands in for a missing one.
  const used = withXor ? m : m - 1;
  for (const [i, r] of picked.entries()) {
    for (let a = 0; a < used; a++) {
      // A tail of one repeated byte (zeros, padding) says nothing of what follows it: no join from it counts.
      const t = tail(a, r);
      if (t.every((x) => x === t[0])) continue;
      for (let b = 0; b < used; b++) {
        if (a !== b) same[(i * m + a) * m + b] = model.join(tail(a, r), head(b, r));
        next[(i * m + a) * m + b] = model.join(tail(a, r), head(b, r + 1));
      }
      // A join counts as its likelihood against the other heads this tail could meet at the same place: what
      // makes every pairing alike (zeros, text following text anywhere) cancels, and each candidate is
      // scored on the same boundaries.
      const values: number[] = [];
      for (let b = 0; b < used; b++) {
        if (a !== b) values.push(same[(i * m + a) * m + b]!);
        values.push(next[(i * m + a) * m + b]!);
      }
      const norm = values.reduce((t, v) => t + v, 0) / values.length;
      for (let b = 0; b < used; b++) {
        if (a !== b) same[(i * m + a) * m + b]! -= norm;
        next[(i * m + a) * m + b]! -= norm;
      }
    }
  }
  const rowValue = (g: Geometry, order: readonly number[], d: number, i: number, r: number) => {
    let prev = order[slotOf(g, r, 0)]!;
    let row = 0;
    for (let k = 1; k < d; k++) {
      const cur = order[slotOf(g, r, k)]!;
      row += same[(i * m + prev) * m + cur]!;
      prev = cur;
    }
    return row + next[(i * m + prev) * m + order[slotOf(g, r + 1, 0)]!]!;
  };
  return {
    /** Each sampled row's evidence. */
    rowValues: (g: Geometry, order: readonly number[]) => Float64Array.from(picked, (r, i) => rowValue(g, order, dataSlots(g), i, r)),
    /** The evidence and its variance (from the spread of the rows' sums). */
    score(g: Geometry, order: readonly number[]): { score: number; variance: number } {
      const d = dataSlots(g);
      let s = 0;
      let sq = 0;
      for (const [i, r] of picked.entries()) {
        const row = rowValue(g, order, d, i, r);
        s += row;
        sq += row * row;
      }
      // As evidence from ROWS rows: a large chunk has fewer rows in the sample, not less right joins. But
      // what few rows say is noisy, and a lucky few would outscore the right chunk's many: the score is the
      // lower end, NOISE_RANGE standard errors below the extrapolated sum.
      const n = picked.length;
      const mean = s / n;
      const variance = (Math.max(0, sq / n - mean * mean) / n) * ROWS * ROWS;
      return { score: mean * ROWS - NOISE_RANGE * Math.sqrt(variance), variance };
    },
  };
}

/** A sector of text: printable ASCII and line ends only. */
function isText(b: Uint8Array, at: number): boolean {
  for (let i = at; i < at + SECTOR; i++) {
    const c = b[i]!;
    if (c > 0x7e || (c < 0x20 && c !== 0x0a && c !== 0x09 && c !== 0x0d)) return false;
  }
  return true;
}

/**
 * Per member, the running count of sectors where it alone is not text and every other member is: a RAID5
 * row over text holds the XOR of texts on its parity member, which is not text. `prefix[m][s]` counts
 * sectors before s.
 */
function oddSectors(members: readonly Uint8Array[]): Uint32Array[] {
  const sectors = members[0]!.length / SECTOR;
  const prefix = members.map(() => new Uint32Array(sectors + 1));
  for (let s = 0; s < sectors; s++) {
    let notText = -1;
    let count = 0;
    for (let k = 0; k < members.length && count < 2; k++) {
      if (!isText(members[k]!, s * SECTOR)) {
        notText = k;
        count++;
      }
    }
    for (let k = 0; k < members.length; k++) prefix[k]![s + 1] = prefix[k]![s]! + (count === 1 && k === notText ? 1 : 0);
  }
  return prefix;
}

/**
 * The evidence of where parity sits: each sector that tells the parity member (see oddSectors) counts
 * PARITY_WEIGHT for a candidate whose parity is that member in that row, and as much against one whose
 * parity is another. Every row of the sample past `firstRow` is counted, so chunk sizes compare on the same
 * sectors; a wrong chunk size or rotation puts parity on a text member in most rows.
 */
function parityScore(odd: readonly Uint32Array[], g: Geometry, order: readonly number[], firstRow: number, rows: number): { score: number; variance: number } {
  const values = parityRows(odd, g, order, firstRow, rows);
  let s = 0;
  let sq = 0;
  for (const row of values) {
    s += row;
    sq += row * row;
  }
  const count = Math.max(1, values.length);
  const mean = s / count;
  return { score: s * PARITY_WEIGHT, variance: Math.max(0, sq / count - mean * mean) * count * PARITY_WEIGHT * PARITY_WEIGHT };
}

/** Each row's count for parityScore (before PARITY_WEIGHT). */
function parityRows(odd: readonly Uint32Array[], g: Geometry, order: readonly number[], firstRow: number, rows: number): Float64Array {
  // order's index `members` (one past the given) is the XOR member, oddSectors' last.
  const n = g.order.length;
  const base = g.dataOffsetSectors;
  const out = new Float64Array(Math.max(0, rows - firstRow));
  for (let r = firstRow; r < rows; r++) {
    const from = base + r * g.chunkSectors;
    const to = from + g.chunkSectors;
    const p = order[raid5Place(g.layout!, n, r, 0).parity]!;
    let all = 0;
    for (const prefix of odd) all += prefix[to]! - prefix[from]!;
    const here = odd[p]![to]! - odd[p]![from]!;
    out[r - firstRow] = here - (all - here);
  }
  return out;
}

/** The candidate's volume over the sampled bytes: what the structure probes read. */
function volumeReader(g: Geometry, sample: Sampled): VolumeRead {
  const cb = g.chunkSectors * SECTOR;
  const base = g.dataOffsetSectors * SECTOR;
  const d = dataSlots(g);
  const member = (m: number) => (m < 0 ? sample.xor : sample.bytes[m]!);
  return (byte, length) => {
    if (byte + length > g.sizeSectors * SECTOR) return undefined;
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const v = byte + done;
      if (g.level === 'mirror') {
        if (base + v + length - done > sample.xor.length) return undefined;
        out.set(sample.bytes[g.order[0]!]!.subarray(base + v, base + v + length - done), done);
        break;
      }
      const k = Math.floor(v / cb);
      const within = v % cb;
      const row = Math.floor(k / d);
      const at = base + row * cb + within;
      const n = Math.min(cb - within, length - done);
      if (at + n > sample.xor.length) return undefined;
      out.set(member(g.order[slotOf(g, row, k % d)]!).subarray(at, at + n), done);
      done += n;
    }
    return out;
  };
}

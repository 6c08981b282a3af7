/**
 * Fuzzing a handler: mutated copies of real metadata (bit flips, boundary values in random places, random
 * bytes, truncated disks) must never make read/group/check/log throw or hang. Deterministic: a failure
 * names the seed and iteration that reproduce it.
 */
import {
  buildSets,
  checkContext,
  readContext,
  sparseDevice,
  type FormatHandler,
  type LogLine,
  type RaidDevice,
} from '@dmraid/core';

export interface SeedDisk {
  readonly sizeSectors: number;
  readonly serial?: string;
  readonly areas: readonly { readonly offsetBytes: number; readonly data: Uint8Array }[];
}

/** mulberry32: small, fast, reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BOUNDARY = [0x00, 0xff, 0x7f, 0x80, 0x01];
const BOUNDARY32 = [0, 1, 2, 7, 8, 255, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe];

export function mutate(seed: SeedDisk, rand: () => number): SeedDisk {
  const pick = (n: number) => Math.floor(rand() * n);
  const areas = seed.areas.map((a) => ({ offsetBytes: a.offsetBytes, data: new Uint8Array(a.data) }));
  let sizeSectors = seed.sizeSectors;
  const kind = pick(6);
  const area = areas[pick(areas.length)];
  if (!area || area.data.length === 0) return { ...seed, areas };
  const d = area.data;
  const view = new DataView(d.buffer, d.byteOffset, d.byteLength);
  switch (kind) {
    case 0: // bit flips
      for (let i = 1 + pick(8); i > 0; i--) {
        const at = pick(d.length);
        d[at] = d[at]! ^ (1 << pick(8));
      }
      break;
    case 1: // boundary bytes
      for (let i = 1 + pick(4); i > 0; i--) d[pick(d.length)] = BOUNDARY[pick(BOUNDARY.length)]!;
      break;
    case 2: // boundary words at aligned offsets (counts, sizes, offsets)
      for (let i = 1 + pick(3); i > 0 && d.length >= 4; i--) {
        view.setUint32(pick(d.length >> 2) << 2, BOUNDARY32[pick(BOUNDARY32.length)]!, true);
      }
      break;
    case 3: // a random run of bytes
      for (let at = pick(d.length), n = 1 + pick(64); n > 0 && at < d.length; n--, at++) d[at] = pick(256);
      break;
    case 4: // truncated disk: metadata found relative to the end moves or vanishes
      sizeSectors = pick(seed.sizeSectors + 1);
      break;
    case 5: // metadata cut short: the tail of the area zeroed
      d.fill(0, pick(d.length));
      break;
  }
  return { sizeSectors, serial: seed.serial, areas };
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer after ${ms} ms (hang)`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function diskFromSeed(path: string, seed: SeedDisk) {
  const dev = sparseDevice(path, seed.sizeSectors, seed.serial);
  for (const a of seed.areas) {
    const end = seed.sizeSectors * 512;
    // Areas outside a truncated disk are simply gone.
    if (a.offsetBytes >= 0 && a.offsetBytes + a.data.length <= end) await dev.write(a.offsetBytes, a.data);
  }
  return dev;
}

export interface FuzzReport {
  readonly iterations: number;
  readonly recognised: number;
  readonly messages: number;
}

/**
 * Run `iterations` mutated reads. Each iteration reads one mutated disk (and its unmutated fellow members,
 * so grouping and checking see whole sets), then groups, checks and logs what was found.
 */
export async function fuzzHandler(handler: FormatHandler, seeds: readonly SeedDisk[][], iterations: number, seed = 0x5eed): Promise<FuzzReport> {
  const rand = prng(seed);
  let recognised = 0;
  let messages = 0;
  for (let i = 0; i < iterations; i++) {
    const set = seeds[Math.floor(rand() * seeds.length)]!;
    const victim = Math.floor(rand() * set.length);
    const where = `${handler.name} fuzz seed ${seed} iteration ${i}`;
    const lines: LogLine[] = [];
    const log = (level: LogLine['level'], text: string) => void lines.push({ level, text });
    const rds: RaidDevice[] = [];
    try {
      for (const [k, disk] of set.entries()) {
        const mutated = k === victim ? mutate(disk, rand) : disk;
        const dev = await diskFromSeed(`/dev/fuzz${k}`, mutated);
        if (dev.sizeSectors < 8) continue;
        const found = await withTimeout(handler.read(dev, readContext(handler.name, log)), 5000, where);
        if (!Array.isArray(found)) throw new Error('read returned no array');
        rds.push(...found);
      }
      if (rds.length) recognised++;
      for (const rd of rds) if (!rd.volumeOf) handler.log(rd);
      const sets = buildSets(rds, { handlers: [handler], log });
      for (const s of sets) handler.check(s, checkContext(handler.name, () => undefined));
    } catch (e) {
      throw new Error(`${where}: ${(e as Error).stack ?? String(e)}`);
    }
    messages += lines.length;
    for (const l of lines) {
      if (/failed: /.test(l.text)) throw new Error(`${where}: the handler threw inside the machinery: ${l.text}`);
    }
  }
  return { iterations, recognised, messages };
}

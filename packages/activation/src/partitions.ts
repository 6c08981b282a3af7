/**
 * Partition tables on an activated set: dmraid's `dos` handler (lib/format/partition/dos.c: primaries by
 * slot, then the first extended entry's chain of logical partitions from 5) and, beyond dmraid, GPT.
 * Each partition becomes a linear device over the set: `0 <length> linear /dev/mapper/<set> <start>`.
 */
import { mappedRef } from '@dmraid/core';
import { dmDevice, type DmDevice } from './plan.js';

export interface Partition {
  /** 1-4 primaries (GPT: entry number), 5.. logicals. */
  readonly number: number;
  readonly start: number;
  readonly sectors: number;
}

/** Reads `count` sectors at `sector` of the set's volume; undefined on an I/O error. */
export type VolumeReader = (sector: number, count: number) => Promise<Uint8Array | undefined>;

const EXTENDED = new Set([0x05, 0x0f, 0x85]);
const u32 = (b: Uint8Array, at: number) => (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
const u64 = (b: Uint8Array, at: number) => u32(b, at) + u32(b, at + 4) * 2 ** 32;
const hasMbrMagic = (b: Uint8Array) => b[510] === 0x55 && b[511] === 0xaa;

interface Entry {
  readonly type: number;
  readonly start: number;
  readonly sectors: number;
}
const entries = (b: Uint8Array): Entry[] =>
  [0, 1, 2, 3].map((i) => {
    const at = 446 + 16 * i;
    return { type: b[at + 4]!, start: u32(b, at + 8), sectors: u32(b, at + 12) };
  });

/** The partitions of a volume of `sizeSectors`, or [] when it has no (readable) table. */
export async function readPartitions(read: VolumeReader, sizeSectors: number, options: { gpt?: boolean } = {}): Promise<Partition[]> {
  const mbr = await read(0, 1);
  if (!mbr || mbr.length < 512 || !hasMbrMagic(mbr)) return [];
  const primary = entries(mbr);
  if (primary.some((e) => e.type === 0xee)) return options.gpt === false ? [] : readGpt(read, sizeSectors);
  const out: Partition[] = [];
  primary.forEach((e, i) => {
    if (e.type === 0 || e.sectors === 0 || e.start === 0 || e.start + e.sectors > sizeSectors) return;
    if (EXTENDED.has(e.type)) return;
    out.push({ number: i + 1, start: e.start, sectors: e.sectors });
  });
  const ext = primary.find((e) => EXTENDED.has(e.type) && e.start !== 0);
  if (ext) {
    let ebr = ext.start;
    let number = 5;
    const seen = new Set<number>();
    while (ebr > 0 && ebr < sizeSectors && !seen.has(ebr) && number < 5 + 256) {
      seen.add(ebr);
      const b = await read(ebr, 1);
      if (!b || b.length < 512 || !hasMbrMagic(b)) break;
      const [data, next] = entries(b);
      if (data && data.type !== 0 && data.sectors > 0 && data.start > 0) {
        // dmraid treats a start beyond the EBR's own sector as absolute (a heuristic, reproduced).
        const start = data.start > ebr ? data.start : ebr + data.start;
        if (start + data.sectors <= sizeSectors) out.push({ number: number++, start, sectors: data.sectors });
      }
      if (!next || !EXTENDED.has(next.type) || next.start === 0) break;
      ebr = ext.start + next.start;
    }
  }
  return out;
}

/** GPT (UEFI 2.x): header at LBA 1, entries where it says; entries with a zero type GUID are unused. */
async function readGpt(read: VolumeReader, sizeSectors: number): Promise<Partition[]> {
  const h = await read(1, 1);
  if (!h || h.length < 92 || new TextDecoder('latin1').decode(h.subarray(0, 8)) !== 'EFI PART') return [];
  const entriesLba = u64(h, 72);
  const count = u32(h, 80);
  const size = u32(h, 84);
  if (size < 128 || count === 0 || count > 1024 || entriesLba >= sizeSectors) return [];
  const sectors = Math.ceil((count * size) / 512);
  const b = await read(entriesLba, sectors);
  if (!b) return [];
  const out: Partition[] = [];
  for (let i = 0; i < count; i++) {
    const at = i * size;
    if (b.subarray(at, at + 16).every((x) => x === 0)) continue;
    const first = u64(b, at + 32);
    const last = u64(b, at + 40);
    if (first === 0 || last < first || last >= sizeSectors) continue;
    out.push({ number: i + 1, start: first, sectors: last - first + 1 });
  }
  return out;
}

/** dmraid's partition set name: `<set><n>` after a letter, `<set><partchar><n>` after a digit. */
export function partitionName(set: string, number: number, partChar = 'p'): string {
  return /[0-9]$/.test(set) ? `${set}${partChar}${number}` : `${set}${number}`;
}

export function partitionDevices(set: string, partitions: readonly Partition[], partChar = 'p'): DmDevice[] {
  return partitions.map((p) =>
    dmDevice({
      name: partitionName(set, p.number, partChar),
      targets: [{ start: 0, length: p.sectors, type: 'linear', args: [mappedRef(set), String(p.start)] }],
      dependsOn: [set],
      set,
      role: 'partition',
    }),
  );
}

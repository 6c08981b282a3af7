/**
 * RAID6 placement against the kernel's own, without a VM: fixtures/raid6-vectors.json holds where dm-raid
 * (recorded once in dm-vm by tools/testbed/raid6-vectors.mjs) put each sector of a stamped volume, for every
 * raid6 layout on 4 and 5 members with 8-sector chunks: per member and row, the volume sector its chunk starts
 * with, or P or Q; and the SHA-256 of each member the kernel left. Members built from that map (data stamped,
 * P the XOR of the row, Q left blank) must read as the stamped volume; the same volume written through our
 * engine onto blank members must leave the kernel's members byte for byte (P, Q and their coefficients), and
 * those read back equal with every one and two members lost.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createEngine, isIoError, isTableError, memorySource, SECTOR, type Engine, type Raid6Type } from '../src/index.js';

interface VectorCase {
  readonly layout: Raid6Type;
  readonly disks: number;
  /** Per member, per row: the volume sector the chunk starts with, or which syndrome it holds. */
  readonly members: readonly (readonly (number | 'P' | 'Q')[])[];
  readonly sha256: readonly string[];
}

const fixture = JSON.parse(readFileSync(new URL('./fixtures/raid6-vectors.json', import.meta.url), 'utf8')) as {
  chunkSectors: number;
  memberSectors: number;
  cases: VectorCase[];
};
const CHUNK = fixture.chunkSectors;
const MEMBER = fixture.memberSectors;
const ROWS = MEMBER / CHUNK;

/** The recorder's stamp of volume sector n. */
function stamp(n: number): Uint8Array {
  const h = createHash('sha256').update(`sector ${n}`).digest();
  const out = new Uint8Array(SECTOR);
  for (let at = 0; at < SECTOR; at += h.length) out.set(h, at);
  return out;
}

function stampedVolume(sectors: number): Uint8Array {
  const out = new Uint8Array(sectors * SECTOR);
  for (let n = 0; n < sectors; n++) out.set(stamp(n), n * SECTOR);
  return out;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function engineOf(c: VectorCase, members: readonly Uint8Array[], lost: readonly number[] = []): Engine {
  const devs = members.map((_, i) => (lost.includes(i) ? '- -' : `- m${i}`)).join(' ');
  const e = createEngine([{ name: 'r6', table: `0 ${MEMBER * (c.disks - 2)} raid ${c.layout} 1 ${CHUNK} ${c.disks} ${devs}` }], (p) => memorySource(p, members[Number(p.slice(1))]!));
  if (isTableError(e)) throw new Error(e.message);
  return e;
}

async function readVolume(e: Engine, sectors: number): Promise<Uint8Array> {
  const got = await e.get('r6')!.read(0, sectors);
  if (isIoError(got)) throw new Error(got.message);
  return got;
}

describe('raid6 placement as the kernel recorded it (fixtures/raid6-vectors.json)', () => {
  it('covers every dm-raid raid6 layout on 4 and 5 members', () => {
    const layouts = ['raid6_zr', 'raid6_nr', 'raid6_nc', 'raid6_n_6', 'raid6_la_6', 'raid6_ra_6', 'raid6_ls_6', 'raid6_rs_6'];
    expect(fixture.cases.map((c) => `${c.layout}/${c.disks}`).sort()).toEqual(layouts.flatMap((l) => [`${l}/4`, `${l}/5`]).sort());
    for (const c of fixture.cases) {
      // Every row: one P, one Q, the rest data; every volume chunk exactly once.
      const starts: number[] = [];
      for (let row = 0; row < ROWS; row++) {
        const cells = c.members.map((m) => m[row]!);
        expect(cells.filter((x) => x === 'P'), `${c.layout}/${c.disks} row ${row}`).toHaveLength(1);
        expect(cells.filter((x) => x === 'Q'), `${c.layout}/${c.disks} row ${row}`).toHaveLength(1);
        starts.push(...cells.filter((x): x is number => typeof x === 'number'));
      }
      expect(starts.sort((a, b) => a - b)).toEqual(Array.from({ length: ROWS * (c.disks - 2) }, (_, k) => k * CHUNK));
    }
  });

  for (const c of fixture.cases) {
    const sectors = MEMBER * (c.disks - 2);
    const volume = stampedVolume(sectors);

    it(`${c.layout} over ${c.disks}: members laid out as the kernel's read as the stamped volume`, async () => {
      const members = c.members.map(() => new Uint8Array(MEMBER * SECTOR));
      for (let row = 0; row < ROWS; row++) {
        const at = row * CHUNK * SECTOR;
        const p = new Uint8Array(CHUNK * SECTOR);
        c.members.forEach((rows, i) => {
          const first = rows[row]!;
          if (typeof first !== 'number') return;
          members[i]!.set(volume.subarray(first * SECTOR, (first + CHUNK) * SECTOR), at);
          for (let b = 0; b < p.length; b++) p[b]! ^= members[i]![at + b]!;
        });
        members[c.members.findIndex((rows) => rows[row] === 'P')]!.set(p, at);
      }
      expect(sha256(await readVolume(engineOf(c, members), sectors))).toBe(sha256(volume));
    });

    it(`${c.layout} over ${c.disks}: writing the stamped volume leaves the kernel's members byte for byte, which read back with any two lost`, async () => {
      const members = c.members.map(() => new Uint8Array(MEMBER * SECTOR));
      expect(await engineOf(c, members).get('r6')!.write(0, volume)).toBe(true);
      expect(members.map(sha256)).toEqual(c.sha256);
      for (let a = 0; a < c.disks; a++) {
        for (let b = a; b < c.disks; b++) {
          const lost = a === b ? [a] : [a, b];
          expect(sha256(await readVolume(engineOf(c, members, lost), sectors)), `lost ${lost.join('+')}`).toBe(sha256(volume));
        }
      }
    });
  }
});

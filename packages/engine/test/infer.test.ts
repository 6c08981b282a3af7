// Ours: --infer's engine half. Real filesystems (mkfs.ext4 -d, mkfs.vfat + mcopy, mkntfs + ntfscp) with files
// on them, laid out onto members by this test's own arithmetic (md's RAID5 placement written out below, not
// the engine's), shuffled and renamed: the best candidate must be the geometry they were built with.
import { execFile } from 'node:child_process';
import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { testIf } from '@dmraid/testkit';
import { inferGeometry, memorySource, type Candidate } from '../src/index.js';

const exec = promisify(execFile);
const has = async (tool: string) => exec('sh', ['-c', `command -v ${tool}`]).then(() => true, () => false);
const tools = { ext4: await has('mkfs.ext4'), vfat: (await has('mkfs.vfat')) && (await has('mcopy')), ntfs: (await has('mkntfs')) && (await has('ntfscp')) };
const itFs = (fs: keyof typeof tools) => testIf(it, { name: `mkfs for ${fs}`, available: tools[fs], reason: 'apt-get install -y e2fsprogs dosfstools mtools ntfs-3g' });

type Layout = 'left-symmetric' | 'left-asymmetric' | 'right-symmetric' | 'right-asymmetric';

/** Text files of many sizes, as a user's documents and logs: what lies in the chunks. */
async function files(dir: string, count: number, seed: number): Promise<string[]> {
  const words = ['disk', 'array', 'member', 'stripe', 'parity', 'volume', 'sector', 'recover', 'backup', 'invoice', 'report', 'the', 'and', 'of', 'to', 'data'];
  let x = seed;
  const rnd = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0), x >>> 8);
  const out: string[] = [];
  for (let f = 0; f < count; f++) {
    const lines: string[] = [];
    const n = 200 + (rnd() % 3000);
    for (let l = 0; l < n; l++) lines.push(`${f}:${l} ${Array.from({ length: 4 + (rnd() % 9) }, () => words[rnd() % words.length]).join(' ')}.`);
    const path = join(dir, `file${f}.txt`);
    await fs.writeFile(path, lines.join('\n'));
    out.push(path);
  }
  return out;
}

/** A volume of `mib` MiB holding filesystem `kind` with files. */
async function volume(dir: string, kind: keyof typeof tools, mib: number, seed: number): Promise<Buffer> {
  const img = join(dir, 'vol.img');
  const src = join(dir, 'files');
  await fs.mkdir(src, { recursive: true });
  const paths = await files(src, Math.floor(mib * 4), seed);
  await fs.writeFile(img, Buffer.alloc(0));
  await fs.truncate(img, mib << 20);
  if (kind === 'ext4') await exec('mkfs.ext4', ['-q', '-F', '-d', src, img]);
  if (kind === 'vfat') {
    await exec('mkfs.vfat', [img]);
    await exec('mcopy', ['-i', img, ...paths, '::/']);
  }
  if (kind === 'ntfs') {
    await exec('mkntfs', ['-q', '-F', '-f', img]);
    for (const p of paths.slice(0, 40)) await exec('ntfscp', ['-q', img, p, p.slice(src.length + 1)]);
  }
  return fs.readFile(img);
}

/** A 24 MiB ext4 of numbered log lines (short, alike: text that joins almost anywhere). */
async function logVolume(dir: string): Promise<Buffer> {
  const src = join(dir, 'logs');
  await fs.mkdir(src);
  for (let f = 0; f < 60; f++) {
    const lines = Array.from({ length: 1500 + f * 37 }, (_, l) => `${f}.${l}: ${['log', 'entry', 'disk', 'ok', 'sync', 'retry'][(l * 7 + f) % 6]} ${(l * 2654435761) % 99991}`);
    await fs.writeFile(join(src, `doc${f}.txt`), lines.join('\n'));
  }
  const img = join(dir, 'logs.img');
  await fs.writeFile(img, Buffer.alloc(24 << 20));
  await exec('mkfs.ext4', ['-q', '-F', '-d', src, img]);
  return fs.readFile(img);
}

interface Built {
  level: 'striped' | 'raid5';
  layout?: Layout;
  disks: number;
  chunkSectors: number;
  offsetSectors: number;
}

/** md's raid5_compute_sector, written out for the test: the slot of data chunk d of row r, and the parity slot. */
function place(layout: Layout, n: number, r: number, d: number): { dev: number; parity: number } {
  const left = layout.startsWith('left');
  const parity = left ? n - 1 - (r % n) : r % n;
  const dev = layout.endsWith('-symmetric') ? (parity + 1 + d) % n : d >= parity ? d + 1 : d;
  return { dev, parity };
}

/** The members of `vol` laid out as `b` says: a data offset of junk in front of each member. */
function members(vol: Buffer, b: Built): Buffer[] {
  const c = b.chunkSectors * 512;
  const dataDisks = b.level === 'raid5' ? b.disks - 1 : b.disks;
  const rows = vol.length / c / dataDisks;
  const out = Array.from({ length: b.disks }, (_, i) => {
    const m = Buffer.alloc(b.offsetSectors * 512 + rows * c);
    // Metadata-like noise in front of the data (what a format's own area would hold).
    for (let k = 0; k < b.offsetSectors * 512; k++) m[k] = (k * 31 + i * 7) & 0xff;
    return m;
  });
  for (let r = 0; r < rows; r++) {
    const parity = Buffer.alloc(c);
    for (let d = 0; d < dataDisks; d++) {
      const chunk = vol.subarray((r * dataDisks + d) * c, (r * dataDisks + d + 1) * c);
      const slot = b.level === 'raid5' ? place(b.layout!, b.disks, r, d).dev : d;
      chunk.copy(out[slot]!, b.offsetSectors * 512 + r * c);
      for (let k = 0; k < c; k++) parity[k]! ^= chunk[k]!;
    }
    if (b.level === 'raid5') parity.copy(out[place(b.layout!, b.disks, r, 0).parity]!, b.offsetSectors * 512 + r * c);
  }
  return out;
}

/** The candidate's volume, read back by the test's own arithmetic (a missing member rebuilt by XOR). */
function readBack(ms: Buffer[], c: Candidate): Buffer {
  const cb = c.chunkSectors * 512;
  const slots = c.order.map((m) => (m < 0 ? undefined : ms[m]!));
  const dataDisks = c.level === 'raid5' ? c.order.length - 1 : c.order.length;
  const out = Buffer.alloc(c.sizeSectors * 512);
  for (let k = 0; k < out.length / cb; k++) {
    const r = Math.floor(k / dataDisks);
    const slot = c.level === 'raid5' ? place(c.layout!, c.order.length, r, k % dataDisks).dev : k % dataDisks;
    const at = c.dataOffsetSectors * 512 + r * cb;
    const m = slots[slot];
    if (m) m.copy(out, k * cb, at, at + cb);
    else for (const other of slots) if (other) for (let i = 0; i < cb; i++) out[k * cb + i]! ^= other[at + i]!;
  }
  return out;
}

const shuffle = <T>(a: T[], seed: number) => a.map((v, i) => ({ v, k: (i * 7919 + seed * 104729) % 97 })).sort((x, y) => x.k - y.k).map((x) => x.v);

const CASES: (Built & { fs: keyof typeof tools; mib: number; missing?: number })[] = [
  { fs: 'ext4', mib: 32, level: 'striped', disks: 2, chunkSectors: 32, offsetSectors: 0 },
  { fs: 'vfat', mib: 48, level: 'striped', disks: 3, chunkSectors: 128, offsetSectors: 2048 },
  { fs: 'ext4', mib: 64, level: 'striped', disks: 4, chunkSectors: 512, offsetSectors: 0 },
  { fs: 'ext4', mib: 32, level: 'raid5', layout: 'left-symmetric', disks: 3, chunkSectors: 128, offsetSectors: 0 },
  { fs: 'vfat', mib: 48, level: 'raid5', layout: 'left-asymmetric', disks: 4, chunkSectors: 64, offsetSectors: 2048 },
  { fs: 'ntfs', mib: 48, level: 'raid5', layout: 'right-symmetric', disks: 4, chunkSectors: 128, offsetSectors: 0 },
  { fs: 'ext4', mib: 64, level: 'raid5', layout: 'right-asymmetric', disks: 5, chunkSectors: 32, offsetSectors: 128 },
  { fs: 'ext4', mib: 48, level: 'raid5', layout: 'left-symmetric', disks: 4, chunkSectors: 128, offsetSectors: 0, missing: 2 },
  { fs: 'vfat', mib: 32, level: 'raid5', layout: 'right-asymmetric', disks: 3, chunkSectors: 64, offsetSectors: 2048, missing: 0 },
];

describe('inferGeometry', () => {
  for (const [i, t] of CASES.entries()) {
    const what = `${t.level}${t.layout ? ` ${t.layout}` : ''} of ${t.disks} disks${t.missing !== undefined ? ' (one missing)' : ''}, chunk ${t.chunkSectors / 2} KiB, data offset ${t.offsetSectors}, ${t.fs}`;
    itFs(t.fs)(`finds ${what}: the best candidate reads back the exact volume`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'infer-'));
      onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
      const vol = await volume(dir, t.fs, t.mib, i + 1);
      const built = members(vol, t);
      // Given in a shuffled order, one left out when the case says so.
      const given = shuffle(built.map((m, slot) => ({ m, slot })).filter((x) => x.slot !== t.missing), i);
      const r = await inferGeometry(given.map((x, k) => memorySource(`m${k}`, x.m)));
      if (!('candidates' in r)) throw new Error(JSON.stringify(r));
      const best = r.candidates[0]!;
      expect({ level: best.level, layout: best.layout, chunk: best.chunkSectors, offset: best.dataOffsetSectors }).toEqual({ level: t.level, layout: t.layout, chunk: t.chunkSectors, offset: t.offsetSectors });
      expect(best.order.map((m) => (m < 0 ? undefined : given[m]!.slot))).toEqual(built.map((_, slot) => (slot === t.missing ? undefined : slot)));
      expect(best.sizeSectors * 512).toBe(vol.length);
      expect(readBack(given.map((x) => x.m), best).equals(vol)).toBe(true);
      expect(best.confidence).toBeGreaterThan(0.5);
    }, 120_000);
  }

  // A filesystem written at the start of a larger volume, the rest never written (zeros), as a set made by a
  // format's -C and then filled: most joins are zeros on both sides and must not outvote the ones with data.
  const smaller = { dir: '', vol: undefined as Promise<Buffer> | undefined };
  const paddedVolume = () => {
    if (!smaller.vol) {
      smaller.dir = mkdtempSync(join(tmpdir(), 'infer-'));
      smaller.vol = logVolume(smaller.dir).then((fsImage) => Buffer.concat([fsImage, Buffer.alloc((64 - 24) << 20)]));
    }
    return smaller.vol;
  };
  afterAll(() => {
    if (smaller.dir) rmSync(smaller.dir, { recursive: true, force: true });
  });
  for (const layout of ['left-asymmetric', 'right-asymmetric', 'left-symmetric', 'right-symmetric'] as const) {
    for (const chunkSectors of [64, 128]) {
      itFs('ext4')(`finds raid5 ${layout} of 3 disks, chunk ${chunkSectors / 2} KiB, when a 24 MiB ext4 fills the start of a 64 MiB volume of zeros`, async () => {
        const vol = await paddedVolume();
        const t: Built = { level: 'raid5', layout, disks: 3, chunkSectors, offsetSectors: 0 };
        const built = members(vol, t);
        const given = shuffle(built.map((m, slot) => ({ m, slot })), chunkSectors + layout.length);
        const r = await inferGeometry(given.map((x, k) => memorySource(`m${k}`, x.m)));
        if (!('candidates' in r)) throw new Error(JSON.stringify(r));
        const best = r.candidates[0]!;
        expect({ layout: best.layout, chunk: best.chunkSectors, offset: best.dataOffsetSectors }).toEqual({ layout, chunk: chunkSectors, offset: 0 });
        expect(best.order.map((m) => given[m]!.slot)).toEqual([0, 1, 2]);
        expect(readBack(given.map((x) => x.m), best).equals(vol)).toBe(true);
        expect(best.confidence).toBeGreaterThan(0.5);
      }, 120_000);
    }
  }

  it('takes members that hold the same bytes for a mirror', async () => {
    const vol = Buffer.alloc(4 << 20);
    for (let i = 0; i < vol.length; i++) vol[i] = (i * 13) >> 5;
    const r = await inferGeometry([memorySource('a', vol), memorySource('b', Buffer.from(vol))]);
    expect('candidates' in r && r.candidates.map((c) => [c.level, c.order, c.sizeSectors, c.confidence])).toEqual([['mirror', [0, 1], 8192, 1]]);
  });

  it('gives up on members of zeros, and on one member', async () => {
    expect(await inferGeometry([memorySource('a', Buffer.alloc(1 << 20)), memorySource('b', Buffer.alloc(1 << 20))])).toEqual({ error: 'the first 1.0 MiB of every member are zeros: nothing to infer from' });
    expect(await inferGeometry([memorySource('a', Buffer.alloc(1 << 20))])).toEqual({ error: 'inference needs at least 2 members' });
  });
});

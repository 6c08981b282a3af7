// DDF levels and qualifiers nothing here lays out (RAID1E with offset copies, RAID1E over an odd number of
// disks, RAID6 with a qualifier md has no layout for): -s shows them as the reference does, -t/-ay and
// --extract/--check-data refuse them naming the level and qualifier, write nothing and leave no output file.
// The reference's -t words it "Undefined RAID type (null)[1]" (docs/deviations.md).
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildDdf1Container, type Ddf1VdSpec } from '@dmraid/format-ddf1';
import { reference, runOurs, runReference, testIf } from '@dmraid/testkit';
import { tmp } from './helpers.js';

const DISK = 16384;

const CASES = [
  { stem: 'oe', disks: 4, vd: { name: 'OffsetE', level: 'raid1e', qualifier: 1 }, why: 'RAID1E with offset copies (RLQ 1) is not supported', sameS: true },
  { stem: 'odd', disks: 3, vd: { name: 'OddE', level: 'raid1e' }, why: 'RAID1E over an odd number of disks (3) is not supported', sameS: true },
  // -s: raid6 at n-2 members' size, the reference `unknown` at n (docs/formats/ddf1.md).
  { stem: 'q0', disks: 4, vd: { name: 'SixZero', level: 'raid6', qualifier: 0 }, why: 'RAID6 with qualifier RLQ 0 is not supported (md lays out RLQ 1, 2 and 3)', sameS: false },
] as const;

/** The set's member images in `dir`, as `file:serial` specs. */
async function images(dir: string, c: (typeof CASES)[number]): Promise<string[]> {
  const vd: Ddf1VdSpec = { ...c.vd, members: Array.from({ length: c.disks }, (_, i) => i), sectors: DISK / 2, offset: 0 };
  const built = buildDdf1Container({ endian: 'be', disks: c.disks, diskSectors: DISK, seed: c.stem.length, vds: [vd] });
  return Promise.all(
    built.map(async (image, i) => {
      const bytes = new Uint8Array(DISK * 512);
      for (const a of image.areas) bytes.set(a.data, a.offsetBytes);
      await fs.writeFile(join(dir, `${c.stem}${i}.img`), bytes);
      return `${c.stem}${i}.img:DDFUNSUP${c.stem.toUpperCase()}${i}`;
    }),
  );
}

const contents = (dir: string, specs: readonly string[]) => Promise.all(specs.map((s) => fs.readFile(join(dir, s.split(':')[0]!))));

describe('ddf1 sets of a level or qualifier nothing here lays out', () => {
  for (const c of CASES) {
    const set = `ddf1_${c.vd.name}`;
    it(`${c.vd.level} ${c.stem}: -t/-ay, --extract and --check-data say "${c.why}", write nothing`, async () => {
      const dir = tmp('ddf1-unsupported');
      const specs = await images(dir, c);
      const before = await contents(dir, specs);
      const t = await runOurs(specs, ['-tay'], { cwd: dir });
      expect(t.stdout).toBe('');
      expect(t.stderr).toBe(`ERROR: ddf1: set ${set}: ${c.why}\nERROR: no mapping possible for RAID set ${set}\n`);
      // The reference's status for a set it cannot map.
      expect(t.status).toBe(0);
      const out = join(dir, 'volume');
      for (const args of [['--extract', set, '-o', out], ['--check-data', set]]) {
        const r = await runOurs(specs, args, { cwd: dir });
        expect(r.status, args[0]).not.toBe(0);
        // The reason and -t's line, no third about the group that holds the set.
        expect(r.stderr, args[0]).toBe(`ERROR: ddf1: set ${set}: ${c.why}\nERROR: no mapping possible for RAID set ${set}\n`);
      }
      await expect(fs.stat(out)).rejects.toThrow();
      expect((await contents(dir, specs)).every((b, i) => b.equals(before[i]!))).toBe(true);
    });

    testIf(it, reference())(`${c.vd.level} ${c.stem}: -s ${c.sameS ? 'as the reference shows it' : 'differs from the reference (documented)'}; the reference's -t has no words for it`, async () => {
      const dir = tmp('ddf1-unsupported-ref');
      const specs = await images(dir, c);
      const ours = await runOurs(specs, ['-s'], { cwd: dir });
      const ref = await runReference(specs, ['-s'], { cwd: dir });
      if (c.sameS) expect(ours.stdout).toBe(ref.stdout);
      else expect(ref.stdout).toMatch(/^type {3}: unknown$/m);
      expect(ours.stdout).toMatch(new RegExp(`^name {3}: ${set}$`, 'm'));
      const t = await runReference(specs, ['-tay'], { cwd: dir });
      expect(t.stderr).toContain(`ERROR: Undefined RAID type (null)[1] on ${set}\n`);
    });
  }
});

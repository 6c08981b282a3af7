// -S, -R and -x for nvidia on images. -R: a -C set holding data loses a member, a blank disk takes its place,
// the engine copies or reconstructs its data, then the metadata says idle (in sync) again; the member's bytes
// are the lost member's, the volume's bytes unchanged, --check-data clean, and the reference dmraid reads the
// set as it reads a healthy vendor set. -S: the set reads as the vendor's set with a spare reads (ours and the
// reference). -x: every block gone. Refusals: an ERROR line, exit 1, nothing written.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { blankImage, fillMembers, hashFiles, writeAtStart, reference, runOurs, runReference, specFile, testIf } from '@dmraid/testkit';
import { extractVolume, imagesOf, nvidiaShape, replaceDisk, tmp } from './helpers.js';

const itRef = testIf(it, reference());
const SECTORS = 65536;
const file = specFile;

const blank = (path: string, sectors = SECTORS) => blankImage(path, sectors);

/** The set's name as `-s -c` prints it. */
async function setName(dir: string, specs: string[]): Promise<string> {
  const r = await runOurs(specs, ['-s', '-c'], { cwd: dir });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.split('\n')[0]!;
}

/**
 * `-f nvidia -C` over `n` blank images, the members' first `dataSectors` filled as the volume's writes
 * would leave them: one random block on both mirror legs, or random members and their XOR (parity holds in
 * every row whatever the rotation).
 */
async function filledSet(dir: string, prefix: string, level: '0' | '1' | '5', n: number, dataSectors = 8192) {
  const specs = Array.from({ length: n }, (_, i) => `${prefix}${i}.img:${prefix.toUpperCase()}NV${i}`);
  for (const s of specs) await blank(join(dir, file(s)));
  const created = await runOurs(specs, ['-f', 'nvidia', '-C', prefix, '--type', level, '--disk', specs.map(file).join(' '), '--yes'], { cwd: dir });
  expect(created.status, created.stderr).toBe(0);
  await fillMembers(specs.map((s) => join(dir, file(s))), level, dataSectors * 512);
  return { specs, name: await setName(dir, specs) };
}


describe('nvidia -R SET DEV: the data onto the new disk, then the array idle', () => {
  // RAID5 and RAID1+0: rebuild-nvidia.test.ts.
  for (const [level, n] of [['1', 2]] as const) {
    it(`RAID${level} over ${n}: the lost member's bytes, the volume unchanged, --check-data clean, -s ok`, async () => {
      const dir = tmp(`ops-nv-rebuild-${level}`);
      const prefix = `nv${level}r`;
      const { specs: before, name } = await filledSet(dir, prefix, level, n);
      const volume = await extractVolume(dir, before, name, 'before.bin');
      const { specs, lost } = await replaceDisk(dir, before, 1);
      const r = await runOurs(specs, ['-R', name, file(specs[1]!)], { cwd: dir });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^nvidia: drive to rebuild: ${prefix}1.img\n\nnvidia: ${prefix}1.img rebuilt \\(`));
      // Data runs from sector 0 to the block at N-2.
      const dataSectors = SECTORS - 2;
      const got = await fs.readFile(join(dir, `${prefix}1.img`));
      expect(got.subarray(0, dataSectors * 512).equals(lost.subarray(0, dataSectors * 512))).toBe(true);
      expect((await extractVolume(dir, specs, name, 'after.bin')).equals(volume)).toBe(true);
      const s = await runOurs(specs, ['-s', '-c', '-c', '-c'], { cwd: dir });
      expect(s.stdout.split('\n').filter(Boolean).every((l) => l.includes(':ok:'))).toBe(true);
      const check = await runOurs(specs, ['--check-data', name], { cwd: dir });
      expect([check.status, check.stdout]).toEqual([0, expect.stringContaining(`${name}: mismatch_cnt 0`)]);
      const n2 = await runOurs(specs, ['-n'], { cwd: dir });
      expect(n2.stdout).not.toMatch(/raidJobCode: [1-9]|unitFlags: [1-9]|array->flags 0x[0-9a-f]*[2367abef]\b/);
    }, 120_000);
  }

  itRef('the reference reads a rebuilt RAID1 as it reads the vendor healthy RAID1', async () => {
    const dir = tmp('ops-nv-rebuild-ref');
    const { specs: before, name } = await filledSet(dir, 'nvref', '1', 2, 64);
    const { specs } = await replaceDisk(dir, before, 0);
    const r = await runOurs(specs, ['-R', name, file(specs[0]!)], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    const vendorDir = tmp('ops-nv-rebuild-ref-vendor');
    const vendor = await imagesOf(vendorDir, 'nvidia/raid1-2');
    for (const args of [['-s'], ['-r']]) {
      const ours = await runReference(specs, args, { cwd: dir });
      const theirs = await runReference(vendor, args, { cwd: vendorDir });
      expect([ours.status, nvidiaShape(ours.stdout)], args.join(' ')).toEqual([theirs.status, nvidiaShape(theirs.stdout)]);
    }
  }, 120_000);

  it('a degraded RAID0, or a RAID5 still initialising (as -C leaves it: no parity to rebuild from), is no set to rebuild: refused, nothing written', async () => {
    const dir = tmp('ops-nv-rebuild-0');
    for (const [prefix, level, n] of [['nv0r', '0', 2], ['nv5r', '5', 3]] as const) {
      const { specs: before, name } = await filledSet(dir, prefix, level, n, 64);
      const { specs } = await replaceDisk(dir, before, 1);
      const hash = await hashFiles(dir);
      const r = await runOurs(specs, ['-R', name, `${prefix}1.img`], { cwd: dir });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^ERROR: removing inconsistent RAID set "${name}"\nERROR: no RAID set found with name "${name}"\n$`, 'm'));
      expect(await hashFiles(dir)).toBe(hash);
    }
  });

  it('no such set, a disk of another array, a set with nothing missing: refused, nothing written', async () => {
    const dir = tmp('ops-nv-rebuild-refuse');
    const { specs: a, name } = await filledSet(dir, 'nva', '1', 2, 64);
    const { specs: b } = await filledSet(dir, 'nvb', '1', 2, 64);
    const specs = [...a, ...b];
    const hash = await hashFiles(dir);
    const none = await runOurs(specs, ['-R', 'nvidia_nosuch', 'nvb0.img'], { cwd: dir });
    // The reads of the sets not asked for print their count lines first (the CLI's discover by name).
    expect([none.status, none.stderr.split('\n').at(-2)]).toEqual([1, 'ERROR: no RAID set found with name "nvidia_nosuch"']);
    const whole = await runOurs(specs, ['-R', name, 'nvb0.img'], { cwd: dir });
    expect([whole.status, whole.stderr.split('\n').at(-2)]).toEqual([1, `ERROR: nvidia: RAID set "${name}" has no missing member to rebuild`]);
    expect(await hashFiles(dir)).toBe(hash);
    // nva1 gone: nvb0 still belongs to the other array.
    await fs.rm(join(dir, 'nva1.img'));
    const rest = await hashFiles(dir);
    const other = await runOurs([a[0]!, ...b], ['-R', name, 'nvb0.img'], { cwd: dir });
    expect([other.status, other.stderr.split('\n').at(-2)]).toEqual([1, 'ERROR: nvidia: nvb0.img carries the metadata of another nvidia array: erase it first (-E)']);
    expect(await hashFiles(dir)).toBe(rest);
  });
});

describe('nvidia -S SET -M DEV: a hot spare of the array', () => {
  it('reads as the vendor RAID1 with a spare reads (ours and the reference); without a set refused', async () => {
    const dir = tmp('ops-nv-spare');
    const { specs: members, name } = await filledSet(dir, 'nvs', '1', 2, 64);
    await blank(join(dir, 'nvs2.img'));
    const specs = [...members, 'nvs2.img:NVSSPARE'];
    const hash = await hashFiles(dir);
    const global = await runOurs(specs, ['-f', 'nvidia', '-S', '-M', 'nvs2.img'], { cwd: dir });
    expect(global.status).toBe(1);
    expect(global.stderr).toMatch(/^ERROR: nvidia: cannot make nvs2.img a spare: an nvidia spare belongs to one array/);
    expect(await hashFiles(dir)).toBe(hash);
    const r = await runOurs(specs, ['-f', 'nvidia', '-S', name, '-M', 'nvs2.img'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    const vendorDir = tmp('ops-nv-spare-vendor');
    const vendor = await imagesOf(vendorDir, 'nvidia/raid1-2-spare');
    // Our -C writes a new mirror initialising (raidJobCode 2, nosync); the vendor recording is idle.
    const idle = (t: string) => t.replace(/nosync/g, 'ok');
    for (const args of [['-s'], ['-r'], ['-s', '-c', '-c', '-c']]) {
      const ours = await runOurs(specs, args, { cwd: dir });
      const theirs = await runOurs(vendor, args, { cwd: vendorDir });
      expect(nvidiaShape(idle(ours.stdout)), args.join(' ')).toEqual(nvidiaShape(theirs.stdout));
    }
    if (reference()) {
      for (const args of [['-s'], ['-r']]) {
        const ours = await runReference(specs, args, { cwd: dir });
        const theirs = await runReference(vendor, args, { cwd: vendorDir });
        expect([ours.status, nvidiaShape(ours.stdout)], args.join(' ')).toEqual([theirs.status, nvidiaShape(theirs.stdout)]);
      }
    }
  }, 120_000);
});

describe('nvidia -x SET: the array deleted', () => {
  it('zeroes the block on every member and the spare; ours and the reference find no set', async () => {
    const dir = tmp('ops-nv-remove');
    const { specs: members, name } = await filledSet(dir, 'nvx', '1', 2, 64);
    await blank(join(dir, 'nvx2.img'));
    const specs = [...members, 'nvx2.img:NVXSPARE'];
    expect((await runOurs(specs, ['-f', 'nvidia', '-S', name, '-M', 'nvx2.img'], { cwd: dir })).status).toBe(0);
    const r = await runOurs(specs, ['-x', name, '--yes'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    for (const s of specs) {
      const bytes = await fs.readFile(join(dir, file(s)));
      expect(bytes.subarray(bytes.length - 1024).every((b) => b === 0), s).toBe(true);
    }
    expect((await runOurs(specs, ['-s'], { cwd: dir })).stdout).not.toContain('nvidia');
    if (reference()) expect((await runReference(specs, ['-s'], { cwd: dir })).stdout).not.toContain('nvidia');
  }, 60_000);
});

describe('pdc -x SET: the array deleted, the disks\' other array kept', () => {
  for (const which of [0, 1]) {
    it(`two-arrays: deleting set ${which} leaves the other readable by ours and the reference`, async () => {
      const dir = tmp(`ops-pdc-remove-${which}`);
      const specs = await imagesOf(dir, 'pdc/two-arrays');
      const names = (await runOurs(specs, ['-s', '-c'], { cwd: dir })).stdout.split('\n').filter(Boolean);
      expect(names).toHaveLength(2);
      const keep = names[1 - which]!;
      const r = await runOurs(specs, ['-x', names[which]!, '--yes'], { cwd: dir });
      expect(r.status, r.stderr).toBe(0);
      const after = await runOurs(specs, ['-s', '-c'], { cwd: dir });
      expect([after.status, after.stdout]).toEqual([0, `${keep}\n`]);
      const s = await runOurs(specs, ['-s', '-c', '-c', '-c'], { cwd: dir });
      expect(s.stdout.split('\n').filter(Boolean).every((l) => l.includes(':ok:'))).toBe(true);
      if (reference()) {
        const ref = await runReference(specs, ['-s', '-c'], { cwd: dir });
        expect(ref.stdout).toBe(`${keep}\n`);
      }
    }, 60_000);
  }

  it('a one-array RAID1 made with -C: every block zeroed, no set left', async () => {
    const dir = tmp('ops-pdc-remove-one');
    const specs = ['p0.img:PDC0', 'p1.img:PDC1'];
    for (const s of specs) await blank(join(dir, file(s)));
    expect((await runOurs(specs, ['-f', 'pdc', '-C', 'gone', '--type', '1', '--disk', 'p0.img p1.img', '--yes'], { cwd: dir })).status).toBe(0);
    const name = await setName(dir, specs);
    const r = await runOurs(specs, ['-x', name, '--yes'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    for (const s of specs) expect((await fs.readFile(join(dir, file(s)))).every((b) => b === 0), s).toBe(true);
    if (reference()) expect((await runReference(specs, ['-s'], { cwd: dir })).stdout).not.toContain('pdc');
  }, 60_000);
});

// pdc -S and -R, as FreeBSD's md_promise.c records them (docs/formats/pdc.md).

/** The block's generation (raid.unknown_4) and checksum: all a rebuilt member's block may differ in. */
const PDC_GENERATION = 0x21c;
const PDC_CHECKSUM = 0x7fc;
const PDC_FIRST_BLOCK = 63;

/** An image with the generation and checksum of its first pdc block zeroed. */
async function withoutGeneration(path: string): Promise<Buffer> {
  const bytes = Buffer.from(await fs.readFile(path));
  const at = bytes.length - PDC_FIRST_BLOCK * 512;
  bytes.fill(0, at + PDC_GENERATION, at + PDC_GENERATION + 2);
  bytes.fill(0, at + PDC_CHECKSUM, at + PDC_CHECKSUM + 4);
  return bytes;
}

/**
 * `-f pdc -C` over `n` blank images, the members' first 4 MiB as the volume's writes leave them: RAID1 every
 * disk the same; RAID10 (a mirror of stripe halves 0-1 and 2-3) disks 0 and 2, 1 and 3 the same.
 */
async function pdcSet(dir: string, prefix: string, level: '0' | '1' | '10', n: number) {
  const specs = Array.from({ length: n }, (_, i) => `${prefix}${i}.img:${prefix.toUpperCase()}PDC${i}`);
  for (const s of specs) await blank(join(dir, file(s)));
  const created = await runOurs(specs, ['-f', 'pdc', '-C', prefix, '--type', level, '--disk', specs.map(file).join(' '), '--yes'], { cwd: dir });
  expect(created.status, created.stderr).toBe(0);
  const legs = level === '1' ? 1 : level === '10' ? 2 : n;
  const data = Array.from({ length: legs }, () => randomBytes(4 << 20));
  for (const [i, s] of specs.entries()) await writeAtStart(join(dir, file(s)), data[i % legs]!);
  return { specs, name: await setName(dir, specs) };
}

describe('pdc -R SET DEV: the data onto the new disk, then the member current', () => {
  for (const [level, n] of [
    ['1', 2],
    ['10', 4],
  ] as const) {
    itRef(`RAID${level} over ${n}: the new disk is the lost member but for the generation, --check-data clean, both tools read the set as created`, async () => {
      const dir = tmp(`ops-pdc-rebuild-${level}`);
      const prefix = `pd${level}r`;
      const { specs: before, name } = await pdcSet(dir, prefix, level, n);
      const args = ['-s', '-c', '-c', '-c'];
      const [oursBefore, refBefore] = [await runOurs(before, args, { cwd: dir }), await runReference(before, args, { cwd: dir })];
      const lostPath = join(dir, `${prefix}1.img`);
      const lost = await withoutGeneration(lostPath);
      const { specs } = await replaceDisk(dir, before, 1);
      const r = await runOurs(specs, ['-R', name, `${prefix}1.img`], { cwd: dir });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^pdc: drive to rebuild: ${prefix}1.img \\(member 1 of RAID set "${name}"\\)\\n\\npdc: ${prefix}1.img rebuilt \\(`));
      expect((await withoutGeneration(lostPath)).equals(lost)).toBe(true);
      const check = await runOurs(specs, ['--check-data', name], { cwd: dir });
      expect([check.status, check.stdout]).toEqual([0, expect.stringContaining(`${name}: mismatch_cnt 0`)]);
      expect((await runOurs(specs, args, { cwd: dir })).stdout).toBe(oursBefore.stdout);
      expect((await runReference(specs, args, { cwd: dir })).stdout).toBe(refBefore.stdout);
    }, 120_000);
  }

  itRef('the vendor\'s raid1-2 with one disk gone (raid1-2-degraded) rebuilt onto a blank disk reads as the vendor\'s healthy raid1-2', async () => {
    const dir = tmp('ops-pdc-rebuild-down');
    const specs = await imagesOf(dir, 'pdc/raid1-2-degraded');
    const vendorDir = tmp('ops-pdc-rebuild-vendor');
    const vendor = await imagesOf(vendorDir, 'pdc/raid1-2');
    const name = await setName(dir, specs);
    const sizeOf = async (s: string) => (await fs.stat(join(dir, file(s)))).size / 512;
    await blank(join(dir, 'new.img'), await sizeOf(specs[0]!));
    const all = [...specs, 'new.img:PDCNEW'];
    const r = await runOurs(all, ['-R', name, 'new.img'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    // Another recording: its own set id and disk size.
    const mask = (t: string) =>
      t
        .replace(/\S+\.img/g, 'DEV')
        .replace(/pdc_[a-z]+/g, 'pdc_ID')
        .replace(/\d+/g, 'N')
        .split('\n')
        .sort()
        .join('\n');
    for (const args of [['-s', '-c', '-c', '-c'], ['-r']]) {
      expect(mask((await runOurs(all, args, { cwd: dir })).stdout), args.join(' ')).toBe(mask((await runOurs(vendor, args, { cwd: vendorDir })).stdout));
      expect(mask((await runReference(all, args, { cwd: dir })).stdout), args.join(' ')).toBe(mask((await runReference(vendor, args, { cwd: vendorDir })).stdout));
    }
  }, 120_000);

  it('a degraded RAID0, a set with nothing missing, a disk of another array: refused, nothing written', async () => {
    const dir = tmp('ops-pdc-rebuild-refuse');
    const { specs: zero, name: zeroName } = await pdcSet(dir, 'pz', '0', 2);
    const { specs: a, name } = await pdcSet(dir, 'pa', '1', 2);
    const { specs: b } = await pdcSet(dir, 'pb', '1', 2);
    await fs.rm(join(dir, 'pz1.img'));
    await blank(join(dir, 'pz1.img'));
    const hash = await hashFiles(dir);
    const r0 = await runOurs(zero, ['-R', zeroName, 'pz1.img'], { cwd: dir });
    expect(r0.status).toBe(1);
    expect(r0.stderr).toMatch(/^ERROR: /m);
    const whole = await runOurs([...a, ...b], ['-R', name, 'pb0.img'], { cwd: dir });
    expect([whole.status, whole.stderr.split('\n').at(-2)]).toEqual([1, `ERROR: pdc: cannot rebuild RAID set "${name}": no member is missing`]);
    expect(await hashFiles(dir)).toBe(hash);
    await fs.rm(join(dir, 'pa1.img'));
    const rest = await hashFiles(dir);
    const other = await runOurs([a[0]!, ...b], ['-R', name, 'pb0.img'], { cwd: dir });
    expect([other.status, other.stderr.split('\n').at(-2)]).toEqual([1, 'ERROR: pdc: pb0.img is a member of another pdc set; erase it first (dmraid -r -E -f pdc pb0.img)']);
    expect(await hashFiles(dir)).toBe(rest);
  }, 120_000);
});

describe('pdc -S [SET] -M DEV: a hot spare in no array, as FreeBSD writes one', () => {
  it('the set reads as before, -r shows the spare, a rebuild takes it; a disk with pdc metadata or too small refused', async () => {
    const dir = tmp('ops-pdc-spare');
    const { specs: members, name } = await pdcSet(dir, 'ps', '1', 2);
    // FreeBSD's spare is the disk less 131072 sectors: it needs a disk larger than that.
    await blank(join(dir, 'ps2.img'), 3 * SECTORS);
    await blank(join(dir, 'small.img'));
    const specs = [...members, 'ps2.img:PSSPARE', 'small.img:PSSMALL'];
    const args = ['-s', '-c', '-c', '-c'];
    const before = await runOurs(specs, args, { cwd: dir });
    const hash = await hashFiles(dir);
    for (const [dev, error] of [
      ['ps0.img', 'ERROR: pdc: ps0.img already carries pdc metadata; erase it first (dmraid -r -E -f pdc ps0.img)'],
      ['small.img', `ERROR: pdc: small.img is too small for a spare (${SECTORS} sectors, more than 131072 needed)`],
    ] as const) {
      const r = await runOurs(specs, ['-f', 'pdc', '-S', '-M', dev, '--yes'], { cwd: dir });
      expect([r.status, r.stderr.split('\n').at(-2)], dev).toEqual([1, error]);
    }
    expect(await hashFiles(dir)).toBe(hash);
    const made = await runOurs(specs, ['-f', 'pdc', '-S', name, '-M', 'ps2.img', '--yes'], { cwd: dir });
    expect(made.status, made.stderr).toBe(0);
    expect(made.stdout).toContain(`A Promise spare belongs to no set: it serves whichever set degrades, "${name}" among them.`);
    expect((await runOurs(specs, args, { cwd: dir })).stdout).toBe(before.stdout);
    expect((await runOurs(specs, ['-r'], { cwd: dir })).stdout).toContain(`ps2.img: pdc, "pdc_a", spare, ok, ${3 * SECTORS - 131072} sectors, data@ 0\n`);
    if (reference()) {
      // The reference knows no Promise spare: total_disks 0 is no pdc disk to it (docs/deviations.md).
      const ref = await runReference(specs, args, { cwd: dir });
      expect(ref.stderr).toMatch(/^ERROR: pdc: identifying ps2\.img, magic_0: 0x0\/0x[0-9a-f]+, magic_1: 0x0\/0x0, total_disks: 0$/m);
      expect(ref.stdout).toBe(before.stdout);
    }
    const { specs: degraded } = await replaceDisk(dir, specs, 1);
    const r = await runOurs(degraded, ['-R', name, 'ps2.img'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    const check = await runOurs(degraded, ['--check-data', name], { cwd: dir });
    expect([check.status, check.stdout]).toEqual([0, expect.stringContaining(`${name}: mismatch_cnt 0`)]);
    const after = await runOurs(degraded, args, { cwd: dir });
    expect(after.stdout.split('\n').filter(Boolean).every((l) => l.includes(':ok:'))).toBe(true);
    expect(after.stdout).toContain('ps2.img:pdc:');
  }, 120_000);
});

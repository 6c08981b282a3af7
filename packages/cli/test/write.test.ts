// The writing commands (-C, -S, -R, -x): dmraid's arguments, prompts and messages; what they write is what
// the reference writes (family numbers aside, which come from the clock); a backup before every write.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hashFiles, installedHandlers, reference, runOurs, runReference, testIf, type CommandResult } from '@dmraid/testkit';
import { tmp } from './helpers.js';

const SIZE = 512 << 20;
const itRef = testIf(it, reference());

/** Blank images d0.img ... in `dir`, with serials; returns the PATH:SERIAL specs (relative to dir). */
async function blanks(dir: string, n: number, size = SIZE): Promise<string[]> {
  const specs: string[] = [];
  for (let i = 0; i < n; i++) {
    const fd = await fs.open(join(dir, `d${i}.img`), 'w');
    await fd.truncate(size);
    await fd.close();
    specs.push(`d${i}.img:WRITESER${i}X`);
  }
  return specs;
}

const paths = (specs: readonly string[]) => specs.map((s) => s.split(':')[0]!);
/** The reference sees the images as /dev/sda, /dev/sdb, ... */
const refPaths = (specs: readonly string[]) => specs.map((_, i) => `/dev/sd${String.fromCharCode(97 + i)}`);

/** Family numbers come from time(NULL): names, numbers and checksums that follow from them are masked. */
function normalise(r: CommandResult): CommandResult {
  const mask = (t: string) =>
    t
      .replace(/isw_[a-j]+/g, 'isw_FAMILY')
      .replace(/^(0x0(?:20|28|40) (?:check_sum|family_num|orig_family_num)): \d+$/gm, '$1: N');
  return { status: r.status, stdout: mask(r.stdout), stderr: mask(r.stderr) };
}

const READS = [['-r'], ['-s'], ['-s', '-c', '-c', '-c'], ['-r', '-c', '-c', '-c'], ['-n']];

/**
 * Our -C writes a new redundant volume uninitialised where dmraid writes it normal (docs/deviations.md): the
 * reference's dump of its own set, with that one field as ours writes it.
 */
const uninitialised = (volume: number) => (dump: string) =>
  dump.replace(new RegExp(`^(0x[0-9a-f]+ isw_FAMILYv\\[${volume}\\]\\.vol\\.map\\[0\\]\\.map_state): 0$`, 'gm'), '$1: 1');

/** `deviation` turns what the reference shows of its own set into what it must show of ours. */
async function sameReads(ours: { dir: string; specs: string[] }, theirs: { dir: string; specs: string[] }, deviation: (dump: string) => string) {
  for (const args of READS) {
    // The reference shares loop devices with whatever else runs on the machine: a disk may go missing from
    // one run. Ask again (at most twice) before calling two readings different.
    let a: CommandResult | undefined;
    let b: CommandResult | undefined;
    for (let attempt = 0; attempt < 3 && (a === undefined || JSON.stringify(a) !== JSON.stringify(b)); attempt++) {
      a = normalise(await runReference(ours.specs, args, { cwd: ours.dir }));
      const own = normalise(await runReference(theirs.specs, args, { cwd: theirs.dir }));
      b = { ...own, stdout: deviation(own.stdout) };
    }
    expect(a, `reference ${args.join(' ')} on our set`).toEqual(b);
    const c = normalise(await runOurs(ours.specs, args, { cwd: ours.dir }));
    expect(c, `ours ${args.join(' ')} on our set`).toEqual(b);
  }
}

/** Images are hundreds of MiB: compare digests (of the first `length` bytes: all but the metadata at the end). */
async function digest(path: string, length?: number): Promise<string> {
  const bytes = await fs.readFile(path);
  return createHash('sha256').update(length === undefined ? bytes : bytes.subarray(0, length)).digest('hex');
}

async function copyImages(from: string, to: string, specs: readonly string[]) {
  for (const p of paths(specs)) await fs.copyFile(join(from, p), join(to, p));
}

describe('-f isw -C: create', () => {
  const cases: { label: string; disks: number; args: string[]; redundant: boolean }[] = [
    { label: 'RAID1 over two disks', disks: 2, args: ['-C', 'Vol0', '--type', '1'], redundant: true },
    { label: 'RAID0 over three disks, --size 300m --strip 32k', disks: 3, args: ['-C', 'Fast', '--type', '0', '--size', '300m', '--strip', '32k'], redundant: false },
    { label: 'RAID5 over three disks', disks: 3, args: ['-C', 'Parity', '--type', '5'], redundant: true },
    { label: 'RAID10 (01) over four disks', disks: 4, args: ['-C', 'R10', '--type', '01'], redundant: true },
  ];
  for (const c of cases) {
    itRef(`${c.label}: same prompt, and the reference reads our set as it reads its own`, async () => {
      const ours = tmp('create-ours');
      const theirs = tmp('create-ref');
      const a = await blanks(ours, c.disks);
      const b = await blanks(theirs, c.disks);
      const o = await runOurs(a, ['-f', 'isw', ...c.args, '--disk', paths(a).join(',')], { cwd: ours, stdin: 'y\n' });
      const t = await runReference(b, ['-f', 'isw', ...c.args, '--disk', refPaths(b).join(',')], { cwd: theirs, stdin: 'y\n' });
      expect(o).toEqual(t);
      await sameReads({ dir: ours, specs: a }, { dir: theirs, specs: b }, c.redundant ? uninitialised(0) : (d) => d);
    }, 120_000);
  }

  itRef('a second volume in the rest of an existing group, as the reference adds it', async () => {
    const ours = tmp('create2-ours');
    const theirs = tmp('create2-ref');
    const a = await blanks(ours, 2);
    const b = await blanks(theirs, 2);
    await runOurs(a, ['-f', 'isw', '-C', 'First', '--type', '0', '--size', '200m', '--disk', paths(a).join(' ')], { cwd: ours, stdin: 'y\n' });
    // Same family on both sides: the reference adds its second volume to a copy of our first one.
    await copyImages(ours, theirs, a);
    const o = await runOurs(a, ['-f', 'isw', '-C', 'Second', '--type', '1', '--disk', paths(a).join(' ')], { cwd: ours, stdin: 'y\n' });
    const t = await runReference(b, ['-f', 'isw', '-C', 'Second', '--type', '1', '--disk', refPaths(b).join(' ')], { cwd: theirs, stdin: 'y\n' });
    expect(o).toEqual(t);
    // The metadata, field by field: the reference's but for the new mirror's map_state; nothing else written.
    const dump = async (dir: string, specs: string[]) => normalise(await runReference(specs, ['-n'], { cwd: dir })).stdout;
    const theirDump = await dump(theirs, b);
    expect(theirDump).toMatch(/isw_FAMILYv\[1\]\.vol\.map\[0\]\.map_state: 0$/m);
    expect(await dump(ours, a)).toBe(uninitialised(1)(theirDump));
    for (const p of paths(a)) expect(await digest(join(ours, p), SIZE - (1 << 20)), p).toBe(await digest(join(theirs, p), SIZE - (1 << 20)));
    expect((await runOurs(a, ['-s', '-c'], { cwd: ours })).stdout).toMatch(/^isw_[a-j]+_First\nisw_[a-j]+_Second\n$/);
  }, 120_000);

  itRef('answering n writes nothing; the messages of bad requests are the reference\'s', async () => {
    const ours = tmp('create-no-ours');
    const theirs = tmp('create-no-ref');
    const a = await blanks(ours, 2);
    const b = await blanks(theirs, 2);
    const before = await hashFiles(ours, { recursive: true });
    const o = await runOurs(a, ['-f', 'isw', '-C', 'Vol0', '--type', '0', '--disk', paths(a).join(',')], { cwd: ours, stdin: 'n\n' });
    const t = await runReference(b, ['-f', 'isw', '-C', 'Vol0', '--type', '0', '--disk', refPaths(b).join(',')], { cwd: theirs, stdin: 'n\n' });
    expect(o).toEqual(t);
    expect(await hashFiles(ours, { recursive: true })).toBe(before);
    const bad: string[][] = [
      ['-C', 'Vol0', '--type', '1'],
      ['-C', 'Vol0', '--type', 'x', '--disk', 'D0'],
      ['-C', '_Vol', '--type', '1', '--disk', 'D0'],
      ['-C', 'Vol0', '--type', '1', '--size', '12q', '--disk', 'D0'],
      ['-C', 'Vol0', '--type', '1', '--disk', 'nothere'],
      ['-C', 'Vol0', '--type', '1', '--disk', 'D0,D0'],
      ['-C', 'Vol0', '--type', '1', '--disk', 'D0'],
      ['-C', 'Vol0', '--type', '1', '--size', '2g', '--disk', 'D0,D1'],
    ];
    for (const args of bad) {
      const sub = (list: string[]) => args.map((x) => x.replace(/D(\d)/g, (_, i: string) => list[Number(i)]!));
      const ro = await runOurs(a, ['-f', 'isw', ...sub(paths(a))], { cwd: ours, stdin: 'y\n' });
      const rt = await runReference(b, ['-f', 'isw', ...sub(refPaths(b))], { cwd: theirs, stdin: 'y\n' });
      expect(ro.stderr, args.join(' ')).toBe(rt.stderr.replace(/\/dev\/sd([a-z])/g, (_, l: string) => paths(a)['abcdefghijklmnopqrstuvwxyz'.indexOf(l)]!));
      expect(ro.stdout, args.join(' ')).toBe(rt.stdout);
    }
    expect(await hashFiles(ours, { recursive: true })).toBe(before);
  }, 180_000);
});

describe('-S, -x, -R', () => {
  itRef('-f isw -S -M DEV makes a spare as the reference does', async () => {
    const ours = tmp('spare-ours');
    const theirs = tmp('spare-ref');
    const a = await blanks(ours, 1);
    const b = await blanks(theirs, 1);
    const o = await runOurs(a, ['-f', 'isw', '-S', '-M', paths(a)[0]!], { cwd: ours, stdin: 'y\n' });
    const t = await runReference(b, ['-f', 'isw', '-S', '-M', '/dev/sda'], { cwd: theirs, stdin: 'y\n' });
    expect(o).toEqual(t);
    for (const args of [['-s'], ['-r'], ['-n']]) {
      expect(normalise(await runOurs(a, args, { cwd: ours }))).toEqual(normalise(await runReference(b, args, { cwd: theirs })));
    }
  }, 120_000);

  itRef('-f isw -S SET -M DEV: the spare the reference makes with -S -M, and a note that it serves every set', async () => {
    // The reference reads SET as a name for the spare and drops it ("Name <SET> will lost"), refusing the
    // names -s prints (over 15 characters): docs/deviations.md.
    const ours = tmp('setspare-ours');
    const theirs = tmp('setspare-ref');
    const a = await blanks(ours, 3);
    const b = await blanks(theirs, 3);
    await runOurs(a, ['-f', 'isw', '-C', 'Vol0', '--type', '1', '--disk', paths(a).slice(0, 2).join(',')], { cwd: ours, stdin: 'y\n' });
    await copyImages(ours, theirs, a);
    const name = (await runOurs(a, ['-s', '-c'], { cwd: ours })).stdout.trim();
    expect(name).toMatch(/^isw_[a-j]+_Vol0$/);
    const refused = await runReference(b, ['-f', 'isw', '-S', name, '-M', '/dev/sdc'], { cwd: theirs, stdin: 'y\n' });
    expect(refused.stderr).toBe(`ERROR: name ${name} is longer than 15 chars\n`);
    const o = await runOurs(a, ['-f', 'isw', '-S', name, '-M', paths(a)[2]!], { cwd: ours, stdin: 'y\n' });
    const t = await runReference(b, ['-f', 'isw', '-S', '-M', '/dev/sdc'], { cwd: theirs, stdin: 'y\n' });
    expect(o.status).toBe(t.status);
    expect(o.stdout).toBe(t.stdout.replace('/dev/sdc', paths(a)[2]!).replace(
      'About to create',
      `A spare serves every RAID set with ISW metadata, "${name}" among them.\nAbout to create`,
    ));
    for (const args of [['-s'], ['-r'], ['-n']]) {
      expect(normalise(await runOurs(a, args, { cwd: ours }))).toEqual(normalise(await runReference(b, args, { cwd: theirs })));
    }
  }, 120_000);

  itRef('-x SET asks as the reference does and erases the same bytes; the backup holds what was there', async () => {
    const ours = tmp('remove-ours');
    const theirs = tmp('remove-ref');
    const a = await blanks(ours, 2);
    const b = await blanks(theirs, 2);
    await runOurs(a, ['-f', 'isw', '-C', 'Vol0', '--type', '1', '--disk', paths(a).join(',')], { cwd: ours, stdin: 'y\n' });
    await copyImages(ours, theirs, a);
    const original = await fs.readFile(join(ours, 'd0.img'));
    const name = (await runOurs(a, ['-s', '-c'], { cwd: ours })).stdout.trim();
    const o = await runOurs(a, ['-x', name], { cwd: ours, stdin: 'y\n' });
    const t = await runReference(b, ['-x', name], { cwd: theirs, stdin: 'y\n' });
    expect(o).toEqual(t);
    for (const p of paths(a)) expect(await digest(join(ours, p)), p).toBe(await digest(join(theirs, p)));
    expect(await runOurs(a, ['-r'], { cwd: ours })).toEqual({ status: 1, stdout: 'no raid disks\n', stderr: '' });
    // Restoring the backup gives back the original image.
    const backup = (await fs.readdir(join(ours, 'dmraid.isw'))).sort().at(-1);
    const files = (await fs.readdir(join(ours, 'dmraid.isw', backup!))).filter((f) => f.startsWith('d0.img-') && f.endsWith('.dat'));
    expect(files).toHaveLength(1);
    const offset = Number(files[0]!.slice('d0.img-'.length, -'.dat'.length));
    const restored = await fs.readFile(join(ours, 'd0.img'));
    restored.set(await fs.readFile(join(ours, 'dmraid.isw', backup!, files[0]!)), offset);
    expect(restored.equals(original)).toBe(true);
  }, 120_000);

  itRef('-x of one volume of two keeps the other, byte for byte as the reference', async () => {
    const ours = tmp('remove2-ours');
    const theirs = tmp('remove2-ref');
    const a = await blanks(ours, 2);
    const b = await blanks(theirs, 2);
    await runOurs(a, ['-f', 'isw', '-C', 'Fast', '--type', '0', '--size', '100m', '--disk', paths(a).join(',')], { cwd: ours, stdin: 'y\n' });
    await runOurs(a, ['-f', 'isw', '-C', 'Safe', '--type', '1', '--disk', paths(a).join(','), '--yes'], { cwd: ours });
    await copyImages(ours, theirs, a);
    const names = (await runOurs(a, ['-s', '-c'], { cwd: ours })).stdout.trim().split('\n');
    expect(names).toHaveLength(2);
    const o = await runOurs(a, ['-x', names[0]!], { cwd: ours, stdin: 'y\n' });
    const t = await runReference(b, ['-x', names[0]!], { cwd: theirs, stdin: 'y\n' });
    expect(o).toEqual(t);
    for (const p of paths(a)) expect(await digest(join(ours, p)), p).toBe(await digest(join(theirs, p)));
  }, 120_000);

  it('-R SET DEV puts a new disk into a degraded mirror, copies the data onto it and then marks the set in sync (ok)', async () => {
    const dir = tmp('rebuild');
    const a = await blanks(dir, 2);
    await runOurs(a, ['-f', 'isw', '-C', 'Mirror', '--type', '1', '--disk', paths(a).join(','), '--yes'], { cwd: dir });
    const name = (await runOurs(a, ['-s', '-c'], { cwd: dir })).stdout.trim();
    // The second disk dies; a blank one with another serial takes its place.
    await fs.rm(join(dir, 'd1.img'));
    const fd = await fs.open(join(dir, 'd1.img'), 'w');
    await fd.truncate(SIZE);
    await fd.close();
    const specs = [a[0]!, 'd1.img:REPLACEMENT9'];
    const degraded = await runOurs(specs, ['-s', '-c', '-c', '-c'], { cwd: dir });
    expect(degraded.stdout).toMatch(/:inconsistent:/);
    const r = await runOurs(specs, ['-R', name, 'd1.img'], { cwd: dir });
    expect(r.stderr).toContain(`wrong number of devices in RAID set "${name}" [1/2]`);
    // The reference's words, then ours once the data is there (cli/test/rebuild.test.ts).
    expect(r.stdout).toBe(`isw: drive to rebuild: d1.img\n\nisw: d1.img rebuilt (507.5 MiB of ${name})\n`);
    expect(r.status).toBe(0);
    const after = await runOurs(specs, ['-s', '-c', '-c', '-c'], { cwd: dir });
    expect(after).toEqual({
      status: 0,
      stdout: `${name}:1039360:128:mirror:ok:0:2:0\nd0.img:isw:${name}:mirror:ok:1039368:0\nd1.img:isw:${name}:mirror:ok:1039368:0\n`,
      stderr: '',
    });
  }, 60_000);

  it('refuses -C without -f and with a format that cannot create, writing nothing', async () => {
    const dir = tmp('create-bad');
    const a = await blanks(dir, 2);
    const before = await hashFiles(dir, { recursive: true });
    const none = await runOurs(a, ['-C', 'Vol0', '--type', '1', '--disk', paths(a).join(',')], { cwd: dir });
    expect(none).toEqual({ status: 1, stdout: '', stderr: 'ERROR: format handler string is NULL\nERROR: unknown format type: (null)\n' });
    // A handler without create (every installed format has one now): hpt45x with it taken away.
    const handlers = (await installedHandlers()).map((l) => (l.handler.name === 'hpt45x' ? { ...l, handler: { ...l.handler, create: undefined } } : l));
    const hpt = await runOurs(a, ['-f', 'hpt45x', '-C', 'Vol0', '--type', '1', '--disk', paths(a).join(',')], { cwd: dir, handlers });
    expect(hpt).toEqual({ status: 1, stdout: '', stderr: 'ERROR: metadata creation isn\'t supported in "hpt45x" format\n' });
    expect(await hashFiles(dir, { recursive: true })).toBe(before);
  });
});

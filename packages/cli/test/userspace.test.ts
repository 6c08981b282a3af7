// Ours: --extract, --serve and --check-data run the sets' tables in the userspace engine (@dmraid/engine).
import { execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, ftruncateSync, openSync, promises as fs, readFileSync, rmSync, writeSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import { sameStorage } from '@dmraid/core';
import { hashFiles, testIf } from '@dmraid/testkit';
import { run } from '../src/main.js';
import { parseOptions } from '../src/options.js';
import { imagesOf, tmp } from './helpers.js';
import { validate } from './json-schema.js';

const exec = promisify(execFile);
const nbdinfo = await exec('sh', ['-c', 'command -v nbdinfo']).then(() => true, () => false);
const itNbd = testIf(it, { name: 'nbdinfo', available: nbdinfo, reason: 'apt-get install -y libnbd-bin' });
const filefrag = await exec('sh', ['-c', 'command -v filefrag']).then((x) => x.stdout.trim(), () => '');
const itFilefrag = testIf(it, { name: 'nbdinfo and filefrag', available: nbdinfo && filefrag !== '', reason: 'apt-get install -y libnbd-bin e2fsprogs' });
const loops = process.getuid?.() === 0 && (await exec('losetup', ['-f']).then(() => true, () => false));
const itLoop = testIf(it, { name: 'a loop device', available: loops, reason: 'needs root and a free loop device (losetup -f)' });
const itRoot = testIf(it, { name: 'root', available: process.getuid?.() === 0, reason: 'needs root to make device nodes (mknod)' });
const script = await exec('sh', ['-c', 'command -v script']).then(() => true, () => false);
const itScript = testIf(it, { name: 'script(1)', available: script, reason: 'apt-get install -y bsdutils' });

const SECTORS = 2048; // 1 MiB members

async function members(dir: string, n: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let m = 0; m < n; m++) {
    const b = Buffer.alloc(SECTORS * 512);
    for (let i = 0; i < b.length; i++) b[i] = ((i >>> 9) * 17 + (i & 511) + m * 89) & 0xff;
    // A zero stretch, to be left as a hole.
    b.fill(0, 256 * 512, 1024 * 512);
    await fs.writeFile(join(dir, `m${m}.img`), b);
    out.push(b);
  }
  return out;
}

function striped(ms: Buffer[], chunk: number): Buffer {
  const c = chunk * 512;
  const out = Buffer.alloc(ms.length * SECTORS * 512);
  for (let k = 0; k < out.length / c; k++) ms[k % ms.length]!.copy(out, k * c, Math.floor(k / ms.length) * c, (Math.floor(k / ms.length) + 1) * c);
  return out;
}

/** Our dmraid in-process; no format handlers unless `installed` (the --tables runs need none). */
async function dmraid(dir: string, args: string[], installed = false) {
  let stdout = '';
  let stderr = '';
  const status = await run(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), readLine: async () => null, cwd: dir }, installed ? {} : { handlers: [] });
  return { status, stdout, stderr };
}

describe('options of the engine commands', () => {
  it('parses --extract/-o/--resume, --serve with sets and --listen, --check-data, --tables', () => {
    const x = parseOptions(['--extract', 'set1', '-o', 'out.img', '--resume', '--tables', 't']);
    expect([x.mode, x.engine.set, x.engine.output, x.engine.resume, x.engine.tables]).toEqual(['extract', 'set1', 'out.img', true, 't']);
    const s = parseOptions(['--serve', 'a', 'b', '--writable', '--listen', '/run/x.sock']);
    expect([s.mode, s.operands, s.engine.writable, s.engine.listen]).toEqual(['serve', ['a', 'b'], true, '/run/x.sock']);
    expect(parseOptions(['--serve']).engine.listen).toBe('127.0.0.1:10809');
    expect(parseOptions(['--check-data', 'set1']).mode).toBe('check-data');
  });

  it('refuses an extract without -o, engine options without an engine command, and mixing with dmraid modes', () => {
    expect(() => parseOptions(['--extract', 'set1'])).toThrow('--extract needs -o/--output FILE');
    expect(() => parseOptions(['-r', '-o', 'x'])).toThrow('-o/--output goes with --extract, --infer and --draw');
    expect(() => parseOptions(['--serve', '-r'])).toThrow('invalid option combination');
    expect(() => parseOptions(['--serve', '--extract', 'x', '-o', 'y'])).toThrow('invalid option combination');
  });

  it('refuses a missing set name, options of another command and a port out of range', () => {
    expect(() => parseOptions(['--extract', '-o', 'x'])).toThrow('--extract needs a RAID set name');
    expect(() => parseOptions(['--check-data', '--tables', 't'])).toThrow('--check-data needs a RAID set name');
    expect(() => parseOptions(['--extract', 's', '-o', 'x', '--writable'])).toThrow('--writable goes with --serve, not --extract');
    expect(() => parseOptions(['--serve', '-o', 'x', '--resume'])).toThrow('-o/--output and --resume go with --extract, --infer or --draw, not --serve');
    expect(() => parseOptions(['--check-data', 's', '--listen', '/run/x.sock', '-o', 'y'])).toThrow('-o/--output and --listen go with --extract, --infer, --draw or --serve, not --check-data');
    expect(() => parseOptions(['--serve', '--listen', '99999'])).toThrow('--listen 99999: not a port');
    expect(() => parseOptions(['--serve', '--listen', '127.0.0.1:70000'])).toThrow('not a port');
    expect(parseOptions(['--serve', '--listen', '[::1]:0']).engine.listen).toBe('[::1]:0');
  });
});

describe('--tables FILE (`dmraid -tay` output)', () => {
  it('a device argument is found by its target\'s syntax, never by a file of that name: a "core" or "nosync" file is no member', async () => {
    const dir = tmp('keywords');
    const ms = await members(dir, 2);
    for (const decoy of ['core', 'nosync', 'handle_errors']) await fs.writeFile(join(dir, decoy), Buffer.alloc(SECTORS * 512, 0x5a));
    await fs.writeFile(join(dir, 't.txt'), `m: 0 ${SECTORS} mirror core 2 64 nosync 2 m0.img 0 m1.img 0 1 handle_errors\n`);
    // Another process writes the file "core" (a core dump, say): --serve --writable would refuse a member
    // that is open for writing elsewhere, so taking "core" for a member would stop the serve.
    const holder = spawn('sh', ['-c', 'exec sleep 60 3<>core'], { cwd: dir, stdio: 'ignore' });
    onTestFinished(() => void holder.kill());
    while (!existsSync(`/proc/${holder.pid}/fd/3`)) await new Promise((r) => setTimeout(r, 10));
    const stop = new AbortController();
    const out = { stdout: '', stderr: '' };
    const io = { stdout: (t: string) => ((out.stdout += t), out.stdout.includes('serving') && stop.abort()), stderr: (t: string) => (out.stderr += t), readLine: async () => null, cwd: dir };
    const status = await run(['--serve', '--writable', '--tables', 't.txt', '--listen', 'x.sock'], io, { handlers: [], signal: stop.signal });
    expect([status, out.stderr]).toEqual([0, '']);
    const r = await dmraid(dir, ['--extract', 'm', '-o', 'v.img', '--tables', 't.txt']);
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect((await fs.readFile(join(dir, 'v.img'))).equals(ms[0]!)).toBe(true);
  });
});

describe('--extract, --check-data and --serve over tables', () => {
  it('extracts a RAID0 volume byte for byte with holes where it is zero, and resumes an interrupted copy', async () => {
    const dir = tmp('extract');
    const ms = await members(dir, 2);
    await fs.writeFile(join(dir, 't.txt'), `r0: 0 ${2 * SECTORS} striped 2 128 m0.img 0 m1.img 0\n`);
    const r = await dmraid(dir, ['--extract', 'r0', '-o', 'out.img', '--tables', 't.txt']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^r0: 4096 sectors \(2\.0 MiB\) written to out\.img, 0\.\d MiB left as holes\n$/);
    const want = striped(ms, 128);
    expect((await fs.readFile(join(dir, 'out.img'))).equals(want)).toBe(true);
    // Interrupted at 1 MiB: the state file records it; --resume writes the rest only.
    const part = Buffer.alloc(want.length);
    want.copy(part, 0, 0, 2048 * 512);
    await fs.writeFile(join(dir, 'res.img'), part.subarray(0, 2048 * 512));
    await fs.writeFile(join(dir, 'res.img.dmraid-extract'), JSON.stringify({ volume: '/dev/mapper/r0', sizeSectors: 4096, done: 2048 }));
    const again = await dmraid(dir, ['--extract', 'r0', '-o', 'res.img', '--tables', 't.txt', '--resume']);
    expect(again.status).toBe(0);
    expect(again.stdout).toContain('(resumed at sector 2048)');
    expect((await fs.readFile(join(dir, 'res.img'))).equals(want)).toBe(true);
    expect(existsSync(join(dir, 'res.img.dmraid-extract'))).toBe(false);
  });

  it('stopped by the caller\'s signal (RunOptions.signal, as SIGINT): extract says how to resume and --resume finishes it; serve ends', async () => {
    const dir = tmp('signal');
    const ms = await members(dir, 2);
    await fs.writeFile(join(dir, 't.txt'), `r0: 0 ${2 * SECTORS} striped 2 128 m0.img 0 m1.img 0\n`);
    const io = () => {
      const r = { stdout: '', stderr: '' };
      return { r, io: { stdout: (t: string) => (r.stdout += t), stderr: (t: string) => (r.stderr += t), readLine: async () => null, cwd: dir } };
    };
    const stopped = AbortSignal.abort();
    const a = io();
    expect(await run(['--extract', 'r0', '-o', 'out.img', '--tables', 't.txt'], a.io, { handlers: [], signal: stopped })).toBe(1);
    expect(a.r.stderr).toBe(`ERROR: extract of "r0" interrupted; run again with --resume to continue (state in ${join(dir, 'out.img.dmraid-extract')})\n`);
    expect(JSON.parse(await fs.readFile(join(dir, 'out.img.dmraid-extract'), 'utf8'))).toMatchObject({ done: 0 });
    const again = await dmraid(dir, ['--extract', 'r0', '-o', 'out.img', '--tables', 't.txt', '--resume']);
    expect(again.status).toBe(0);
    expect((await fs.readFile(join(dir, 'out.img'))).equals(striped(ms, 128))).toBe(true);
    const b = io();
    expect(await run(['--serve', '--tables', 't.txt', '--listen', 'nbd.sock'], b.io, { handlers: [], signal: stopped })).toBe(0);
    expect(b.r.stdout).toBe(`serving nbd+unix:///r0?socket=${join(dir, 'nbd.sock')} (2097152 bytes, read-only)\n`);
    expect(existsSync(join(dir, 'nbd.sock'))).toBe(false);
  });

  it('-o - writes the volume to standard output and the summary to standard error; no state file anywhere', async () => {
    const dir = tmp('stdout');
    const ms = await members(dir, 2);
    await fs.writeFile(join(dir, 't.txt'), `r0: 0 ${2 * SECTORS} striped 2 128 m0.img 0 m1.img 0\n`);
    rmSync('/dev/stdout.dmraid-extract', { force: true }); // left by versions before this test
    const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
    const r = await exec(process.execPath, [bin, '--extract', 'r0', '-o', '-', '--tables', 't.txt'], { cwd: dir, encoding: 'buffer', maxBuffer: 64 << 20 });
    expect(r.stdout.equals(striped(ms, 128))).toBe(true);
    expect(r.stderr.toString()).toBe('r0: 4096 sectors (2.0 MiB) written to standard output, 0.0 MiB left as holes\n');
    expect((await fs.readdir(dir)).filter((f) => f.includes('dmraid-extract'))).toEqual([]);
    expect(existsSync('/dev/stdout.dmraid-extract')).toBe(false);
    // Nothing to resume onto a pipe: said, not attempted.
    const again = await exec(process.execPath, [bin, '--extract', 'r0', '-o', '-', '--tables', 't.txt', '--resume'], { cwd: dir, encoding: 'buffer' }).catch((e: { code: number; stdout: Buffer; stderr: Buffer }) => e);
    expect([(again as { code?: number }).code, again.stdout.length, again.stderr.toString()]).toEqual([1, 0, 'ERROR: extract of "r0" failed: standard output: cannot resume: no state is kept for a device or a pipe\n']);
  });

  it('--serve or --extract of a name the tables do not have (a prefix of one included) is an error naming it, nothing served or written', async () => {
    const dir = tmp('unknown');
    await members(dir, 2);
    await fs.writeFile(join(dir, 't.txt'), `r0: 0 ${2 * SECTORS} striped 2 128 m0.img 0 m1.img 0\n`);
    expect(await dmraid(dir, ['--serve', 'r0', 'r1', '--tables', 't.txt', '--listen', 'x.sock'])).toEqual({ status: 1, stdout: '', stderr: 'ERROR: no RAID set "r1" in the tables (r0)\n' });
    // Exact, as -s NAME and the commands without --tables take it: a prefix names no set.
    expect(await dmraid(dir, ['--extract', 'r', '-o', 'v.img', '--tables', 't.txt'])).toEqual({ status: 1, stdout: '', stderr: 'ERROR: no RAID set "r" in the tables (r0)\n' });
    expect(existsSync(join(dir, 'v.img'))).toBe(false);
  });

  it('a failure names the file and the system\'s reason in its words (strerror), not Node\'s message', async () => {
    const dir = tmp('errno');
    await members(dir, 2);
    await fs.writeFile(join(dir, 't.txt'), `r0: 0 ${2 * SECTORS} striped 2 128 m0.img 0 m1.img 0\n`);
    expect(await dmraid(dir, ['--extract', 'r0', '-o', 'no/such/out.img', '--tables', 't.txt'])).toEqual({ status: 1, stdout: '', stderr: `ERROR: extract of "r0" failed: ${join(dir, 'no/such/out.img')}: No such file or directory\n` });
    // A member the tables name that is not there, or is no file or disk: the lookup failure says why.
    await fs.writeFile(join(dir, 'gone.txt'), `r0: 0 ${2 * SECTORS} striped 2 128 m0.img 0 m9.img 0\n`);
    expect(await dmraid(dir, ['--extract', 'r0', '-o', 'x.img', '--tables', 'gone.txt'])).toEqual({ status: 1, stdout: '', stderr: 'ERROR: table of "r0": striped: Couldn\'t parse stripe destination: m9.img (No such file or directory)\n' });
    await fs.writeFile(join(dir, 'null.txt'), 'l: 0 8 linear /dev/null 0\n');
    expect(await dmraid(dir, ['--extract', 'l', '-o', 'x.img', '--tables', 'null.txt'])).toEqual({ status: 1, stdout: '', stderr: 'ERROR: table of "l": linear: Device lookup failed: /dev/null (not a file or block device)\n' });
    // /dev/full: every write fails with ENOSPC.
    expect(await dmraid(dir, ['--extract', 'r0', '-o', '/dev/full', '--tables', 't.txt'])).toEqual({ status: 1, stdout: '', stderr: 'ERROR: extract of "r0" failed: /dev/full: No space left on device\n' });
    const { createServer } = await import('node:net');
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => void taken.close());
    const port = (taken.address() as { port: number }).port;
    expect(await dmraid(dir, ['--serve', '--tables', 't.txt', '--listen', `127.0.0.1:${port}`])).toEqual({ status: 1, stdout: '', stderr: `ERROR: cannot listen on 127.0.0.1:${port}: Address already in use\n` });
    // The serving processes it had started (one per core) are gone with it.
    expect(await exec('pgrep', ['-P', String(process.pid), '-f', 'nbd-worker']).then((x) => x.stdout, () => '')).toBe('');
  });

  itScript('-o - onto a terminal is refused before anything is written (script(1) gives it a terminal)', async () => {
    const dir = tmp('stdout-tty');
    await members(dir, 2);
    await fs.writeFile(join(dir, 't.txt'), `r0: 0 ${2 * SECTORS} striped 2 128 m0.img 0 m1.img 0\n`);
    const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
    const command = `${process.execPath} ${bin} --extract r0 -o - --tables t.txt`;
    const r = await exec('script', ['-qec', command, '/dev/null'], { cwd: dir }).catch((e: { code: number; stdout: string }) => e);
    expect([(r as { code?: number }).code, r.stdout]).toEqual([1, 'ERROR: standard output is a terminal: give -o FILE, or send -o - into a pipe or a file\r\n']);
  });

  itLoop('onto a disk (a loop device): the --resume state is kept in the current folder, not in /dev', async () => {
    const dir = tmp('disk');
    const ms = await members(dir, 2);
    await fs.writeFile(join(dir, 't.txt'), `r0: 0 ${2 * SECTORS} striped 2 128 m0.img 0 m1.img 0\n`);
    await fs.writeFile(join(dir, 'disk.img'), Buffer.alloc(2 * SECTORS * 512));
    const loop = (await exec('losetup', ['-f', '--show', join(dir, 'disk.img')])).stdout.trim();
    onTestFinished(() => exec('losetup', ['-d', loop]).then(() => undefined));
    const state = join(dir, `${basename(loop)}.dmraid-extract`);
    const r = { stdout: '', stderr: '' };
    const io = { stdout: (t: string) => (r.stdout += t), stderr: (t: string) => (r.stderr += t), readLine: async () => null, cwd: dir };
    expect(await run(['--extract', 'r0', '-o', loop, '--tables', 't.txt'], io, { handlers: [], signal: AbortSignal.abort() })).toBe(1);
    expect(r.stderr).toBe(`ERROR: extract of "r0" interrupted; run again with --resume to continue (state in ${state})\n`);
    expect(existsSync(`${loop}.dmraid-extract`)).toBe(false);
    const again = await dmraid(dir, ['--extract', 'r0', '-o', loop, '--tables', 't.txt', '--resume']);
    expect(again.status).toBe(0);
    expect(existsSync(state)).toBe(false);
    await exec('sync', []);
    const onDisk = Buffer.alloc(2 * SECTORS * 512);
    const h = await fs.open(loop, 'r');
    await h.read(onDisk, 0, onDisk.length, 0);
    await h.close();
    expect(onDisk.equals(striped(ms, 128))).toBe(true);
  });

  it('never writes the volume onto a member: the file itself, a symbolic or a hard link to it', async () => {
    const dir = tmp('onto-member');
    await members(dir, 2);
    await fs.writeFile(join(dir, 't.txt'), `r0: 0 ${2 * SECTORS} striped 2 128 m0.img 0 m1.img 0\n`);
    await fs.symlink('m1.img', join(dir, 'sym'));
    await fs.link(join(dir, 'm0.img'), join(dir, 'hard'));
    const before = await hashFiles(dir, { recursive: true });
    for (const [output, member] of [['m0.img', 'm0.img'], ['sym', 'm1.img'], ['hard', 'm0.img'], [join(dir, 'm1.img'), 'm1.img']]) {
      const r = await dmraid(dir, ['--extract', 'r0', '-o', output!, '--tables', 't.txt']);
      expect(r, output).toEqual({ status: 1, stdout: '', stderr: `ERROR: cannot write the volume of "r0" to "${output}": it shares storage with member ${join(dir, member!)} of the set\n` });
    }
    expect(await hashFiles(dir, { recursive: true })).toBe(before);
  });

  itLoop('never writes the volume onto a loop device over a member, nor a disk onto its partition (sameStorage)', async () => {
    const dir = tmp('onto-loop');
    await members(dir, 2);
    await fs.writeFile(join(dir, 't.txt'), `r0: 0 ${2 * SECTORS} striped 2 128 m0.img 0 m1.img 0\n`);
    const attach = async (file: string) => {
      const loop = (await exec('losetup', ['-f', '--show', file])).stdout.trim();
      onTestFinished(() => exec('losetup', ['-d', loop]).then(() => undefined));
      return loop;
    };
    const over = await attach(join(dir, 'm1.img'));
    const before = await hashFiles(dir, { recursive: true });
    const r = await dmraid(dir, ['--extract', 'r0', '-o', over, '--tables', 't.txt']);
    expect(r.stderr).toBe(`ERROR: cannot write the volume of "r0" to "${over}": it shares storage with member ${join(dir, 'm1.img')} of the set\n`);
    expect(await hashFiles(dir, { recursive: true })).toBe(before);
    // A disk and its partitions, in a sysfs of our own: three loop devices as a disk and two partitions of it.
    const loops = [];
    for (const name of ['d.img', 'p1.img', 'p2.img']) {
      await fs.writeFile(join(dir, name), Buffer.alloc(4096));
      loops.push(await attach(join(dir, name)));
    }
    const sysfs = join(dir, 'sys');
    const places = [join(sysfs, 'devices', 'disk'), join(sysfs, 'devices', 'disk', 'disk1'), join(sysfs, 'devices', 'disk', 'disk2')];
    await fs.mkdir(join(sysfs, 'dev', 'block'), { recursive: true });
    for (let i = 0; i < 3; i++) {
      await fs.mkdir(places[i]!, { recursive: true });
      if (i > 0) await fs.writeFile(join(places[i]!, 'partition'), `${i}\n`);
      const devno = (await fs.readFile(`/sys/block/${basename(loops[i]!)}/dev`, 'utf8')).trim();
      await fs.symlink(places[i]!, join(sysfs, 'dev', 'block', devno));
    }
    const [disk, part1, part2] = loops as [string, string, string];
    expect(await sameStorage(disk, part1, sysfs)).toBe(true);
    expect(await sameStorage(part2, disk, sysfs)).toBe(true);
    expect(await sameStorage(part1, part2, sysfs)).toBe(false);
    expect(await sameStorage(part1, part1, sysfs)).toBe(true);
  });

  itRoot('never writes the volume onto a device stacked on a member, the disk under a member image, or a file on a member disk', async () => {
    const dir = tmp('onto-stack');
    await members(dir, 2);
    await fs.writeFile(join(dir, 't.txt'), `r0: 0 ${2 * SECTORS} striped 2 128 m0.img 0 m1.img 0\n`);
    // Device nodes of numbers of our own, and a sysfs that says how they stack: dm-0 over sda1 and sdb,
    // dm-1 over dm-0, md0 (partitions md0p1, md0p2) over sdc; the filesystem under this test's folder is
    // said to be on sdb1.
    const here = await fs.stat(dir);
    const fsDev = `${Math.floor(here.dev / 256) & 0xfff}:${(here.dev & 0xff) | ((Math.floor(here.dev / 4096) >>> 0) & ~0xff)}`;
    const major = fsDev.startsWith('242:') ? 243 : 242;
    const sysfs = join(dir, 'sys');
    const places: Record<string, string> = {
      sda: 'devices/pci/block/sda',
      sda1: 'devices/pci/block/sda/sda1',
      sda2: 'devices/pci/block/sda/sda2',
      sdb: 'devices/pci/block/sdb',
      sdb1: 'devices/pci/block/sdb/sdb1',
      sdc: 'devices/pci/block/sdc',
      'dm-0': 'devices/virtual/block/dm-0',
      'dm-1': 'devices/virtual/block/dm-1',
      md0: 'devices/virtual/block/md0',
      md0p1: 'devices/virtual/block/md0/md0p1',
      md0p2: 'devices/virtual/block/md0/md0p2',
    };
    const slaves: Record<string, string[]> = { 'dm-0': ['sda1', 'sdb'], 'dm-1': ['dm-0'], md0: ['sdc'] };
    const node: Record<string, string> = {};
    await fs.mkdir(join(sysfs, 'dev', 'block'), { recursive: true });
    let minor = 0;
    for (const [name, place] of Object.entries(places)) {
      await fs.mkdir(join(sysfs, place, 'slaves'), { recursive: true });
      if (/\d$/.test(name) && !name.startsWith('dm-') && name !== 'md0') await fs.writeFile(join(sysfs, place, 'partition'), '1\n');
      node[name] = join(dir, name);
      await exec('mknod', [node[name]!, 'b', String(major), String(minor)]);
      await fs.symlink(join(sysfs, place), join(sysfs, 'dev', 'block', `${major}:${minor++}`));
    }
    for (const [name, below] of Object.entries(slaves)) {
      for (const b of below) await fs.symlink(join(sysfs, places[b]!), join(sysfs, places[name]!, 'slaves', b));
    }
    await fs.symlink(join(sysfs, places.sdb1!), join(sysfs, 'dev', 'block', fsDev));
    const image = join(dir, 'm0.img');
    const cases: [string, string, boolean][] = [
      ['dm-0', 'sda', true], // over sda1, a partition of sda
      ['dm-0', 'sda2', false],
      ['dm-0', 'sdb', true],
      ['dm-1', 'sdb1', true], // dm-1 → dm-0 → sdb, the disk of sdb1
      ['sda', 'dm-1', true],
      ['dm-1', 'sdc', false],
      ['md0p1', 'sdc', true],
      ['md0p1', 'md0p2', true], // both reach sdc
      ['md0p1', 'sda', false],
      ['sdb', image, true], // the disk under the image's filesystem
      [image, 'sdb1', true], // a file on a filesystem on a member partition
      [image, 'dm-1', true],
      [image, 'sda', false],
      [image, join(dir, 'm1.img'), false], // two files on one filesystem
    ];
    for (const [a, b, expected] of cases) {
      const [x, y] = [node[a] ?? a, node[b] ?? b];
      expect(await sameStorage(x, y, sysfs), `${a} / ${b}`).toBe(expected);
      expect(await sameStorage(y, x, sysfs), `${b} / ${a}`).toBe(expected);
    }
    // The CLI asks the same: the volume of images on "sdb1" onto "sdb" or onto dm-1 above it is refused.
    const before = await hashFiles(dir, { recursive: true });
    for (const output of [node.sdb!, node['dm-1']!]) {
      let stderr = '';
      const status = await run(['--extract', 'r0', '-o', output, '--tables', 't.txt'], { stdout: () => undefined, stderr: (t) => (stderr += t), readLine: async () => null, cwd: dir }, { handlers: [], sysfs });
      expect({ status, stderr }).toEqual({ status: 1, stderr: `ERROR: cannot write the volume of "r0" to "${output}": it shares storage with member ${image} of the set\n` });
    }
    expect(await hashFiles(dir, { recursive: true })).toBe(before);
  });

  itLoop('--serve --writable claims the member disks it writes: not one that is mounted, nor one another server writes', async () => {
    const dir = tmp('claim');
    await members(dir, 2);
    const attach = async (file: string) => {
      const loop = (await exec('losetup', ['-f', '--show', file])).stdout.trim();
      onTestFinished(() => exec('losetup', ['-d', loop]).then(() => undefined));
      return loop;
    };
    const [l0, l1] = [await attach(join(dir, 'm0.img')), await attach(join(dir, 'm1.img'))];
    await fs.writeFile(join(dir, 't.txt'), `r0: 0 ${2 * SECTORS} striped 2 128 ${l0} 0 ${l1} 0\n`);
    const io = (out: { text: string }) => ({ stdout: (t: string) => (out.text += t), stderr: (t: string) => (out.text += t), readLine: async () => null, cwd: dir });
    const first = { text: '' };
    const stopFirst = new AbortController();
    const serving = run(['--serve', '--writable', '--tables', 't.txt', '--listen', 'a.sock'], io(first), { handlers: [], signal: stopFirst.signal });
    const deadline = Date.now() + 10_000;
    while (!first.text.includes('serving') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(first.text).toContain('read-write');
    // A second writer of the same disks is refused; a reader is not.
    const second = { text: '' };
    expect(await run(['--serve', '--writable', '--tables', 't.txt', '--listen', 'b.sock'], io(second), { handlers: [], signal: AbortSignal.abort() })).toBe(1);
    expect(second.text).toBe(`ERROR: cannot open device "${l0}" for writing: it is in use (mounted, a partition of it mounted, held by device-mapper or md, or claimed by another writer)\n`);
    expect((await dmraid(dir, ['--extract', 'r0', '-o', 'v.img', '--tables', 't.txt'])).status).toBe(0);
    stopFirst.abort();
    expect(await serving).toBe(0);
    // Once it ended, the disks are free again.
    expect(await run(['--serve', '--writable', '--tables', 't.txt', '--listen', 'b.sock'], io({ text: '' }), { handlers: [], signal: AbortSignal.abort() })).toBe(0);
    // A disk with a mounted filesystem: not written, whatever the tables say.
    await exec('mke2fs', ['-q', '-F', '-t', 'ext4', join(dir, 'fs.img'), '8M']);
    const l2 = await attach(join(dir, 'fs.img'));
    const mnt = join(dir, 'mnt');
    await fs.mkdir(mnt);
    await exec('mount', [l2, mnt]);
    onTestFinished(() => exec('umount', [mnt]).then(() => undefined));
    await fs.writeFile(join(dir, 'u.txt'), `u: 0 ${SECTORS} linear ${l2} 0\n`);
    const mounted = { text: '' };
    expect(await run(['--serve', '--writable', '--tables', 'u.txt', '--listen', 'c.sock'], io(mounted), { handlers: [], signal: AbortSignal.abort() })).toBe(1);
    expect(mounted.text).toBe(`ERROR: cannot open device "${l2}" for writing: it is in use (mounted, a partition of it mounted, held by device-mapper or md, or claimed by another writer)\n`);
    expect(await run(['--serve', '--tables', 'u.txt', '--listen', 'c.sock'], io({ text: '' }), { handlers: [], signal: AbortSignal.abort() })).toBe(0);
    // Found by discovery: only the set's members are claimed, not every device it looked at.
    const devices = (await imagesOf(dir, 'hpt45x/raid0-2')).flatMap((spec) => ['--devices', spec]);
    const found = { text: '' };
    expect(await run([...devices, '--devices', l2, '--serve', '--writable', '--listen', 'd.sock'], io(found), { signal: AbortSignal.abort() })).toBe(0);
    expect(found.text).toMatch(/^serving nbd\+unix:\/\/\/hpt45x_\w+\?socket=\S+ \(\d+ bytes, read-write\)\n$/);
  });

  itLoop('--extract onto a disk claims it: not one that is mounted or has a mounted partition (root, losetup, partx)', async () => {
    const dir = tmp('onto-busy');
    await members(dir, 2);
    await fs.writeFile(join(dir, 't.txt'), `r0: 0 ${2 * SECTORS} striped 2 128 m0.img 0 m1.img 0\n`);
    // A 16 MiB disk with one partition (an MBR of our own: type 0x83 from sector 2048 on), ext4 on it.
    const mbr = Buffer.alloc(512);
    mbr[446 + 4] = 0x83;
    mbr.writeUInt32LE(2048, 446 + 8);
    mbr.writeUInt32LE(30720, 446 + 12);
    mbr.writeUInt16LE(0xaa55, 510);
    const image = join(dir, 'disk.img');
    await fs.writeFile(image, mbr);
    await fs.truncate(image, 16 << 20);
    const disk = (await exec('losetup', ['-f', '-P', '--show', image])).stdout.trim();
    onTestFinished(() => exec('losetup', ['-d', disk]).then(() => undefined));
    // The partition, where the kernel did not scan the table itself (partx adds it), and its node, where
    // nothing made one in /dev (no udev).
    const sys = `/sys/block/${basename(disk)}/${basename(disk)}p1`;
    if (!existsSync(sys)) await exec('partx', ['-a', disk]);
    let part = `${disk}p1`;
    if (!existsSync(part)) {
      part = join(dir, 'p1');
      await exec('mknod', [part, 'b', ...(await fs.readFile(`${sys}/dev`, 'utf8')).trim().split(':')]);
    }
    await exec('mke2fs', ['-q', '-F', '-t', 'ext4', part]);
    const mnt = join(dir, 'mnt');
    await fs.mkdir(mnt);
    await exec('mount', [part, mnt]);
    let mounted = true;
    onTestFinished(() => (mounted ? exec('umount', [mnt]).then(() => undefined) : undefined));
    expect((await dmraid(dir, ['--extract', 'r0', '-o', 'v.img', '--tables', 't.txt'])).status).toBe(0);
    const volume = await fs.readFile(join(dir, 'v.img'));
    for (const output of [disk, part]) {
      const r = await dmraid(dir, ['--extract', 'r0', '-o', output, '--tables', 't.txt']);
      expect(r).toEqual({ status: 1, stdout: '', stderr: `ERROR: extract of "r0" failed: ${output}: in use (mounted, a partition of it mounted, or held by device-mapper or md): not written\n` });
    }
    await exec('umount', [mnt]);
    mounted = false;
    // Nothing of the volume reached the disk (the filesystem's own unmount wrote to it, so no digest).
    expect((await fs.readFile(image)).indexOf(volume.subarray(0, 65536))).toBe(-1);
    // Unmounted, the disk takes the volume (--yes: it holds a partition table and a filesystem).
    const r = await dmraid(dir, ['--extract', 'r0', '-o', disk, '--tables', 't.txt', '--yes']);
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect((await fs.readFile(disk)).subarray(0, volume.length).equals(volume)).toBe(true);
  });

  itLoop('--extract onto a disk that holds data asks first (as dmraid -E does); --yes or "y" writes, anything else does not', async () => {
    const dir = tmp('onto-data');
    await members(dir, 2);
    await fs.writeFile(join(dir, 't.txt'), `r0: 0 ${2 * SECTORS} striped 2 128 m0.img 0 m1.img 0\n`);
    const volumeBytes = 2 * SECTORS * 512;
    const attach = async (file: string) => {
      const loop = (await exec('losetup', ['-f', '--show', file])).stdout.trim();
      onTestFinished(() => exec('losetup', ['-d', loop]).then(() => undefined));
      return loop;
    };
    // 4 MiB disks: one of zeros, one with a byte of data in its last MiB (where RAID metadata lives).
    const blank = join(dir, 'blank.img');
    const used = join(dir, 'used.img');
    await fs.writeFile(blank, Buffer.alloc(4 << 20));
    const data = Buffer.alloc(4 << 20);
    data[(4 << 20) - 1000] = 7;
    await fs.writeFile(used, data);
    const [blankDisk, usedDisk] = [await attach(blank), await attach(used)];
    const extract = async (output: string, answers: (string | null)[], ...more: string[]) => {
      let stdout = '';
      let stderr = '';
      const io = { stdout: (t: string) => (stdout += t), stderr: (t: string) => (stderr += t), readLine: async () => answers.shift() ?? null, cwd: dir };
      const status = await run([...more, '--extract', 'r0', '-o', output, '--tables', 't.txt'], io, { handlers: [] });
      return { status, stdout, stderr };
    };
    const question = `Do you really want to write the volume of "r0" over the data on ${usedDisk} ? [y/n] :`;
    const summary = (to: string) => `r0: ${2 * SECTORS} sectors (2.0 MiB) written to ${to}, 0.0 MiB left as holes\n`;
    // No answer (end of input), or "n": not written.
    for (const answer of [null, 'n']) {
      expect(await extract(usedDisk, [answer])).toEqual({ status: 1, stdout: question + (answer === null ? '\n' : ''), stderr: `ERROR: "${usedDisk}" holds data and was not written\n` });
      expect((await fs.readFile(used)).equals(data)).toBe(true);
    }
    // --json never prompts: without --yes, the document says what to do.
    const j = await extract(usedDisk, ['y'], '--json');
    expect(j.status).toBe(1);
    expect(JSON.parse(j.stdout).messages).toEqual([{ level: 'error', text: `"${usedDisk}" holds data and was not written (--yes writes over it)` }]);
    expect((await fs.readFile(used)).equals(data)).toBe(true);
    // A line without y or n asks again; "y" writes.
    expect(await extract(usedDisk, ['what?', 'y'])).toEqual({ status: 0, stdout: question + question + summary(usedDisk), stderr: '' });
    const v = await dmraid(dir, ['--extract', 'r0', '-o', 'v.img', '--tables', 't.txt']);
    expect(v.status).toBe(0);
    const volume = await fs.readFile(join(dir, 'v.img'));
    expect((await fs.readFile(usedDisk)).subarray(0, volumeBytes).equals(volume)).toBe(true);
    // --yes: no question. A disk of zeros: no question either.
    expect(await extract(usedDisk, [], '--yes')).toEqual({ status: 0, stdout: summary(usedDisk), stderr: '' });
    expect(await extract(blankDisk, [])).toEqual({ status: 0, stdout: summary(blankDisk), stderr: '' });
    expect((await fs.readFile(blankDisk)).subarray(0, volumeBytes).equals(volume)).toBe(true);
    // --resume asks as well when there is no copy to resume; it does not ask to go on with one.
    expect((await extract(usedDisk, [null], '--resume')).stdout).toBe(`${question}\n`);
    const io = { stdout: () => undefined, stderr: () => undefined, readLine: async () => null, cwd: dir };
    expect(await run(['--yes', '--extract', 'r0', '-o', usedDisk, '--tables', 't.txt'], io, { handlers: [], signal: AbortSignal.abort() })).toBe(1);
    expect(existsSync(join(dir, `${basename(usedDisk)}.dmraid-extract`))).toBe(true);
    expect(await extract(usedDisk, [null], '--resume')).toEqual({ status: 0, stdout: summary(usedDisk), stderr: '' });
  });

  it('--serve --writable refuses a member image another process has open for writing, not one open for reading', async () => {
    const dir = tmp('writers');
    await members(dir, 2);
    await fs.writeFile(join(dir, 't.txt'), `r0: 0 ${2 * SECTORS} striped 2 128 m0.img 0 m1.img 0\n`);
    // A shell that holds m1.img open (3<> read-write, 3< read-only) until it is killed.
    const holder = async (redirect: string) => {
      const child = spawn('sh', ['-c', `exec 3${redirect}m1.img; echo ready; exec sleep 60`], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
      onTestFinished(() => void child.kill('SIGKILL'));
      await new Promise((r) => child.stdout.once('data', r));
      return child;
    };
    const serve = async () => {
      let text = '';
      const io = { stdout: (t: string) => (text += t), stderr: (t: string) => (text += t), readLine: async () => null, cwd: dir };
      const status = await run(['--serve', '--writable', '--tables', 't.txt', '--listen', 's.sock'], io, { handlers: [], signal: AbortSignal.abort() });
      return { status, text };
    };
    const writer = await holder('<>');
    expect(await serve()).toEqual({ status: 1, text: `ERROR: cannot open device "m1.img" for writing: it is open for writing by process ${writer.pid} (sleep)\n` });
    writer.kill('SIGKILL');
    await new Promise((r) => writer.once('exit', r));
    await holder('<');
    expect((await serve()).status).toBe(0);
  });

  it('reports a table the engine cannot build, naming device and target', async () => {
    const dir = tmp('badtable');
    await members(dir, 1);
    await fs.writeFile(join(dir, 't.txt'), 'x: 0 99999 linear m0.img 0\n');
    const r = await dmraid(dir, ['--extract', 'x', '-o', 'o.img', '--tables', 't.txt']);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('ERROR: table of "x": linear: Device m0.img too small for the target\n');
  });

  it('check-data: a clean RAID5 gives mismatch_cnt 0, a flipped byte gives the range and exit 2', async () => {
    const dir = tmp('check');
    await members(dir, 3);
    // Parity made consistent through the engine: write the volume back through it (writable).
    await fs.writeFile(join(dir, 't.txt'), `r5: 0 ${2 * SECTORS} raid raid5_ls 1 128 3 - m0.img - m1.img - m2.img\n`);
    expect((await dmraid(dir, ['--extract', 'r5', '-o', 'v.img', '--tables', 't.txt'])).status).toBe(0);
    const mismatched = await dmraid(dir, ['--check-data', 'r5', '--tables', 't.txt']);
    expect(mismatched.status).toBe(2);
    expect(mismatched.stdout).toMatch(/r5: parity mismatch at sectors 0-\d+/);
    expect(mismatched.stdout).toMatch(/r5: mismatch_cnt [1-9]\d* \(r5 checked, 2\.0 MiB\)\n$/);

    // Rewrite the volume through a writable serve-less path: a parity-updating write of every row.
    const { createEngine, deviceSource, isTableError } = await import('@dmraid/engine');
    const { openDevice, isIoError } = await import('@dmraid/core');
    const opened = await Promise.all([0, 1, 2].map((m) => openDevice(join(dir, `m${m}.img`), { writable: true })));
    const byPath = new Map(opened.map((d, m) => { if (isIoError(d)) throw new Error(d.message); return [`m${m}.img`, deviceSource(d, true)]; }));
    const e = createEngine([{ name: 'r5', table: `0 ${2 * SECTORS} raid raid5_ls 1 128 3 - m0.img - m1.img - m2.img` }], (p) => byPath.get(p));
    if (isTableError(e)) throw new Error(e.message);
    expect(await e.get('r5')!.write(0, new Uint8Array(await fs.readFile(join(dir, 'v.img'))))).toBe(true);
    for (const d of opened) if (!isIoError(d)) await d.close();
    const clean = await dmraid(dir, ['--check-data', 'r5', '--tables', 't.txt']);
    expect(clean).toEqual({ status: 0, stdout: 'r5: mismatch_cnt 0 (r5 checked, 2.0 MiB)\n', stderr: '' });
    const m1 = await fs.open(join(dir, 'm1.img'), 'r+');
    await m1.write(Buffer.from([0xff]), 0, 1, 300 * 512 + 3);
    await m1.close();
    const one = await dmraid(dir, ['--check-data', 'r5', '--tables', 't.txt']);
    expect(one.status).toBe(2);
    expect(one.stdout).toBe('r5: parity mismatch at sectors 512-767 (256 sectors)\nr5: mismatch_cnt 1 (r5 checked, 2.0 MiB)\n');
  });

  it('check-data of a RAID6 counts P and Q apart, in text and in schema-valid JSON; a Q mismatch alone exits 2', async () => {
    const dir = tmp('check6');
    await members(dir, 4);
    const table = `0 ${2 * SECTORS} raid raid6_zr 1 128 4 - m0.img - m1.img - m2.img - m3.img`;
    await fs.writeFile(join(dir, 't.txt'), `r6: ${table}\n`);
    expect((await dmraid(dir, ['--extract', 'r6', '-o', 'v.img', '--tables', 't.txt'])).status).toBe(0);
    // P and Q made consistent: the volume written back through the engine.
    const { createEngine, deviceSource, isTableError, raid6Stripe } = await import('@dmraid/engine');
    const { openDevice, isIoError } = await import('@dmraid/core');
    const opened = await Promise.all([0, 1, 2, 3].map((m) => openDevice(join(dir, `m${m}.img`), { writable: true })));
    const byPath = new Map(opened.map((d, m) => { if (isIoError(d)) throw new Error(d.message); return [`m${m}.img`, deviceSource(d, true)]; }));
    const e = createEngine([{ name: 'r6', table }], (p) => byPath.get(p));
    if (isTableError(e)) throw new Error(e.message);
    expect(await e.get('r6')!.write(0, new Uint8Array(await fs.readFile(join(dir, 'v.img'))))).toBe(true);
    for (const d of opened) if (!isIoError(d)) await d.close();
    expect(await dmraid(dir, ['--check-data', 'r6', '--tables', 't.txt'])).toEqual({ status: 0, stdout: 'r6: mismatch_cnt 0, Q mismatch_cnt 0 (r6 checked, 2.0 MiB)\n', stderr: '' });
    // Row 2's Q block: one byte of its sector 5.
    const q = raid6Stripe('raid6_zr', 4, 2).q;
    const h = await fs.open(join(dir, `m${q}.img`), 'r+');
    await h.write(Buffer.from([0x5a]), 0, 1, (2 * 128 + 5) * 512 + 7);
    await h.close();
    const text = await dmraid(dir, ['--check-data', 'r6', '--tables', 't.txt']);
    expect(text).toEqual({ status: 2, stdout: 'r6: parity mismatch at sectors 512-767 (256 sectors)\nr6: mismatch_cnt 0, Q mismatch_cnt 1 (r6 checked, 2.0 MiB)\n', stderr: '' });
    const json = await dmraid(dir, ['--json', '--check-data', 'r6', '--tables', 't.txt']);
    expect(json.status).toBe(2);
    const d = JSON.parse(json.stdout);
    expect(validate(d), JSON.stringify(validate.errors)).toBe(true);
    expect(d.check).toMatchObject({ set: 'r6', mismatches: 0, syndromeMismatches: 1, ranges: [{ device: 'r6', kind: 'parity', start: 512, length: 256 }] });
  });

  it('long work shows progress on standard error: a bar on a terminal, plain lines elsewhere, none with --json', async () => {
    const dir = tmp('progress');
    await members(dir, 3);
    await fs.writeFile(join(dir, 't.txt'), `r5: 0 ${2 * SECTORS} raid raid5_ls 1 128 3 - m0.img - m1.img - m2.img\n`);
    const dmraidOn = async (args: string[], terminal: boolean, progressEveryMs?: number) => {
      let stdout = '';
      let stderr = '';
      const io = { stdout: (t: string) => (stdout += t), stderr: (t: string) => (stderr += t), readLine: async () => null, cwd: dir, terminal };
      const status = await run(args, io, { handlers: [], progressEveryMs });
      return { status, stdout, stderr };
    };
    const extract = ['--extract', 'r5', '-o', 'v.img', '--tables', 't.txt'];
    const check = ['--check-data', 'r5', '--tables', 't.txt'];
    // A terminal: one line redrawn with \r up to 100 %, ended by a newline; the summary stays on stdout.
    const bar = await dmraidOn(extract, true);
    expect(bar.status).toBe(0);
    expect(bar.stderr).toMatch(/^\rr5 \[[#.]{25}\] +\d+% /);
    // The rate shows once a second of copying gives one to go by (this copy may be over sooner).
    expect(bar.stderr).toMatch(/\rr5 \[#########################\] 100% 2\.0 MiB \/ 2\.0 MiB(, [\d.]+ MiB\/s)? *\n$/);
    expect(bar.stderr.split('\n')).toHaveLength(2);
    expect(bar.stdout).toMatch(/^r5: 4096 sectors/);
    const checked = await dmraidOn(check, true);
    expect(checked.stderr).toMatch(/\rcheck r5 \[#########################\] 100% 2\.0 MiB \/ 2\.0 MiB(, [\d.]+ MiB\/s)? *\n$/);
    // No terminal: plain lines, at most one per interval (10 s by default: none for a short run).
    expect((await dmraidOn(extract, false)).stderr).toBe('');
    const lines = await dmraidOn(extract, false, 0);
    expect(lines.stderr).not.toContain('\r');
    expect(lines.stderr).toMatch(/r5: 100% \(2\.0 MiB of 2\.0 MiB(, [\d.]+ MiB\/s)?\)\n$/);
    expect((await dmraidOn(check, false, 0)).stderr).toMatch(/^check r5: 100% \(2\.0 MiB of 2\.0 MiB(, [\d.]+ MiB\/s)?\)\n$/);
    // --json: nothing on standard error, terminal or not.
    expect((await dmraidOn([...extract, '--json'], true)).stderr).toBe('');
  });

  it('--json: extract, check-data and serve print one schema-valid document each; an interrupted extract says so', async () => {
    const dir = tmp('json');
    await members(dir, 3);
    await fs.writeFile(join(dir, 't.txt'), `r5: 0 ${2 * SECTORS} raid raid5_ls 1 128 3 - m0.img - m1.img - m2.img\n`);
    const doc = (stdout: string) => {
      const d = JSON.parse(stdout);
      expect(validate(d), JSON.stringify(validate.errors)).toBe(true);
      return d;
    };
    const text = await dmraid(dir, ['--extract', 'r5', '-o', 't.img', '--tables', 't.txt']);
    const holes = Number(/, ([\d.]+) MiB left as holes/.exec(text.stdout)![1]) * 2048;
    const x = await dmraid(dir, ['--json', '--extract', 'r5', '-o', 'v.img', '--tables', 't.txt']);
    expect([x.status, x.stderr]).toEqual([0, '']);
    expect(doc(x.stdout)).toEqual({
      command: 'extract',
      schemaVersion: 1,
      extract: { set: 'r5', output: 'v.img', sectors: 2 * SECTORS, holeSectors: holes, startedAt: 0, complete: true, lost: [] },
      messages: [],
    });
    // These members' parity was never made consistent: the check finds it, in text and in JSON alike.
    const checkText = await dmraid(dir, ['--check-data', 'r5', '--tables', 't.txt']);
    const c = await dmraid(dir, ['--json', '--check-data', 'r5', '--tables', 't.txt']);
    expect([c.status, c.stderr]).toEqual([2, '']);
    const check = doc(c.stdout).check;
    expect(check).toMatchObject({ set: 'r5', checked: ['r5'], sectors: 2 * SECTORS });
    expect(checkText.stdout).toContain(`r5: mismatch_cnt ${check.mismatches} `);
    expect(check.ranges.map((r: { start: number; length: number }) => `${r.start}-${r.start + r.length - 1}`)).toEqual(
      [...checkText.stdout.matchAll(/at sectors (\d+-\d+)/g)].map((m) => m[1]),
    );
    // Stopped at once (the caller's signal): serve prints its exports before it waits; extract is incomplete.
    let stdout = '';
    const io = { stdout: (t: string) => (stdout += t), stderr: (t: string) => (stdout += t), readLine: async () => null, cwd: dir };
    expect(await run(['--json', '--serve', '--tables', 't.txt', '--listen', 'nbd.sock'], io, { handlers: [], signal: AbortSignal.abort() })).toBe(0);
    expect(doc(stdout)).toEqual({
      command: 'serve',
      schemaVersion: 1,
      exports: [{ name: 'r5', uri: `nbd+unix:///r5?socket=${join(dir, 'nbd.sock')}`, bytes: 2 * SECTORS * 512, writable: false }],
      messages: [],
    });
    stdout = '';
    expect(await run(['--json', '--extract', 'r5', '-o', 'w.img', '--tables', 't.txt'], io, { handlers: [], signal: AbortSignal.abort() })).toBe(1);
    const stopped = doc(stdout);
    expect(stopped.extract).toMatchObject({ complete: false, state: join(dir, 'w.img.dmraid-extract') });
    expect(stopped.messages).toEqual([{ level: 'error', text: expect.stringContaining('interrupted; run again with --resume') }]);
  });

  it('without --tables: discovery and the activation plan give the set; a RAID0 testbed set extracts as its stripes', async () => {
    const dir = tmp('discover');
    const specs = await imagesOf(dir, 'hpt45x/raid0-2');
    // A pattern in the first MiB of each member (the hpt45x metadata is at sector 9, kept as it is).
    const heads: Buffer[] = [];
    for (const [m, spec] of specs.entries()) {
      const path = join(dir, spec.split(':')[0]!);
      const h = await fs.open(path, 'r+');
      const b = Buffer.alloc(1 << 20);
      await h.read(b, 0, b.length, 0);
      for (let i = 16 * 512; i < b.length; i++) b[i] = (i * 13 + m * 7) & 0xff;
      await h.write(b, 0, b.length, 0);
      await h.close();
      heads.push(b);
    }
    const devices = specs.flatMap((s) => ['--devices', s]);
    const sets = await dmraid(dir, [...devices, '-s', '-c'], true);
    const name = sets.stdout.trim();
    expect(name).toMatch(/^hpt45x_/);
    const r = await dmraid(dir, [...devices, '--extract', name, '-o', 'v.img'], true);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const v = await fs.readFile(join(dir, 'v.img'));
    // The reference's table for this set: striped 2 128 (64 KiB chunks) from sector 0 of both members.
    const want = Buffer.alloc(2 << 20);
    for (let k = 0; k < 32; k++) heads[k % 2]!.copy(want, k * 65536, Math.floor(k / 2) * 65536, (Math.floor(k / 2) + 1) * 65536);
    expect(v.subarray(0, 2 << 20).equals(want)).toBe(true);
    // A device given with --devices that is no member of the set may take the volume.
    await fs.writeFile(join(dir, 'other.img'), Buffer.alloc(8 << 20, 1));
    const onto = await dmraid(dir, [...devices, '--devices', 'other.img', '--extract', name, '-o', 'other.img'], true);
    expect([onto.status, onto.stderr]).toEqual([0, '']);
    expect((await fs.readFile(join(dir, 'other.img'))).equals(v)).toBe(true);
  });

  it('without --tables: a set the members present cannot give is refused by name (a stripe short of a member, a RAID5 short of two)', async () => {
    const dir = tmp('unreadable');
    const specs = await imagesOf(dir, 'hpt37x/raid0-2', 'nvidia/raid5-3');
    const of = (config: string) => specs.filter((s) => s.startsWith(config)).flatMap((s) => ['--devices', s]);
    const nameOf = async (devices: string[]) => (await dmraid(dir, [...devices, '-s', '-c'], true)).stdout.trim().split('\n')[0]!;
    const stripe = of('hpt37x-raid0-2');
    const stripeName = await nameOf(stripe);
    const raid5 = of('nvidia-raid5-3');
    const raid5Name = await nameOf(raid5);
    // One member given: the other is "missing".
    const r0 = await dmraid(dir, [...stripe.slice(0, 2), '--extract', stripeName, '-o', 'r0.img'], true);
    expect(r0.status).toBe(1);
    expect(r0.stderr).toContain(`ERROR: cannot read RAID set "${stripeName}": 1 of its 2 members is missing, and a stripe has no redundancy\n`);
    expect(existsSync(join(dir, 'r0.img'))).toBe(false);
    const r5 = await dmraid(dir, [...raid5.slice(0, 2), '--check-data', raid5Name], true);
    expect(r5.status).toBe(1);
    expect(r5.stderr).toContain(`ERROR: cannot read RAID set "${raid5Name}": 2 of its 3 members are missing; raid5_ls rebuilds one\n`);
    // --serve: the readable sets are served, the others named.
    let text = '';
    const io = { stdout: (t: string) => (text += t), stderr: (t: string) => (text += t), readLine: async () => null, cwd: dir };
    expect(await run([...stripe.slice(0, 2), ...raid5, '--serve', '--listen', 's.sock'], io, { signal: AbortSignal.abort() })).toBe(0);
    expect(text).toContain(`ERROR: cannot read RAID set "${stripeName}": 1 of its 2 members is missing, and a stripe has no redundancy\n`);
    expect(text).toMatch(new RegExp(`serving nbd\\+unix:///${raid5Name}\\?socket=\\S+ \\(\\d+ bytes, read-only\\)\\n`));
  });

  it('without --tables: a volume of a group (isw Matrix RAID) is extracted by the name -s -c prints; short of a disk, the mirror volume still is, the stripe is refused', async () => {
    const dir = tmp('matrix');
    const specs = await imagesOf(dir, 'isw/matrix-raid0-raid1');
    const all = specs.flatMap((s) => ['--devices', s]);
    const names = (await dmraid(dir, [...all, '-s', '-c'], true)).stdout.trim().split('\n');
    expect(names).toEqual([expect.stringMatching(/^isw_\w+_Fast$/), expect.stringMatching(/^isw_\w+_Safe$/)]);
    const [fast, safe] = names as [string, string];
    // As -tay maps them: Fast striped 2 × 256 from sector 0 of both disks, Safe a mirror from sector 266240.
    const stamp = async (spec: string, sector: number, text: string) => {
      const h = await fs.open(join(dir, spec.split(':')[0]!), 'r+');
      await h.write(Buffer.from(text.padEnd(512, '.')), 0, 512, sector * 512);
      await h.close();
    };
    await stamp(specs[0]!, 0, 'fast: first chunk');
    await stamp(specs[1]!, 0, 'fast: second chunk');
    for (const spec of specs) await stamp(spec, 266240, 'safe: first sector');
    const sector = async (file: string, n: number) => (await fs.readFile(join(dir, file))).subarray(n * 512, n * 512 + 512).toString('latin1').replace(/\.+$/, '');
    for (const [name, file] of [[fast, 'fast.img'], [safe, 'safe.img']] as const) {
      const r = await dmraid(dir, [...all, '--extract', name, '-o', file], true);
      expect([r.status, r.stderr], name).toEqual([0, '']);
    }
    expect([await sector('fast.img', 0), await sector('fast.img', 256), await sector('safe.img', 0)]).toEqual(['fast: first chunk', 'fast: second chunk', 'safe: first sector']);
    // A name that is not there, alone or beside one that is: an error naming it and the sets found, nothing served.
    const bad = `ERROR: no RAID set "${safe}x" found (RAID sets found: ${fast}, ${safe})\n`;
    expect(await dmraid(dir, [...all, '--extract', `${safe}x`, '-o', 'x.img'], true)).toEqual({ status: 1, stdout: '', stderr: bad });
    expect(existsSync(join(dir, 'x.img'))).toBe(false);
    expect(await run([...all, '--serve', fast, `${safe}x`, '--listen', 'x.sock'], { stdout: () => {}, stderr: () => {}, readLine: async () => null, cwd: dir }, { signal: AbortSignal.abort() })).toBe(1);
    // The group's own name is a name that is there (its volumes are taken as a group's are).
    const group = fast.slice(0, fast.lastIndexOf('_'));
    const whole = await dmraid(dir, [...all, '--extract', group, '-o', 'group.img'], true);
    expect([whole.status, whole.stderr]).toEqual([0, '']);
    // Without the second disk.
    const one = ['--devices', specs[0]!];
    const s1 = await dmraid(dir, [...one, '--extract', safe, '-o', 'safe1.img'], true);
    expect(s1.status).toBe(0);
    expect(await sector('safe1.img', 0)).toBe('safe: first sector');
    const f1 = await dmraid(dir, [...one, '--extract', fast, '-o', 'fast1.img'], true);
    expect(f1.status).toBe(1);
    expect(f1.stderr).toContain(`ERROR: cannot read RAID set "${fast}": 1 of its 2 members is missing, and a stripe has no redundancy\n`);
    expect(existsSync(join(dir, 'fast1.img'))).toBe(false);
  });

  itNbd('without --tables: a RAID10 short of a disk is its whole half (not the reference\'s zeros before it), written and read back over NBD', async () => {
    const dir = tmp('raid10-degraded');
    // nvidia: metadata at the end of each disk, outside the volume (hpt37x keeps it inside the first chunk).
    const specs = await imagesOf(dir, 'nvidia/raid10-4');
    const all = specs.flatMap((s) => ['--devices', s]);
    const name = (await dmraid(dir, [...all, '-s', '-c'], true)).stdout.trim();
    // A pattern written through the whole set (every leg), over NBD.
    const sock = join(dir, 'w.sock');
    let text = '';
    const stop = new AbortController();
    const io = { stdout: (t: string) => (text += t), stderr: (t: string) => (text += t), readLine: async () => null, cwd: dir };
    const serving = run([...all, '--serve', '--writable', '--listen', sock], io, { signal: stop.signal });
    const deadline = Date.now() + 10_000;
    while (!text.includes('serving') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const bytes = Number(/\((\d+) bytes, read-write\)/.exec(text)![1]);
    const pattern = Buffer.alloc(bytes);
    for (let i = 0; i < bytes; i += 512) pattern.writeUInt32LE(i / 512 + 1, i);
    await fs.writeFile(join(dir, 'pattern.img'), pattern);
    await exec('nbdcopy', [join(dir, 'pattern.img'), `nbd+unix:///${name}?socket=${sock}`]);
    stop.abort();
    expect(await serving).toBe(0);
    // Each disk missing in turn: the volume is the pattern, whichever half is left.
    for (let missing = 0; missing < 4; missing++) {
      const some = specs.filter((_, i) => i !== missing).flatMap((s) => ['--devices', s]);
      const r = await dmraid(dir, [...some, '--extract', name, '-o', `without-${missing}.img`], true);
      expect([r.status, r.stdout], `disk ${missing} missing`).toEqual([0, `${name}: ${bytes / 512} sectors (${(bytes / 1048576).toFixed(1)} MiB) written to without-${missing}.img, 0.0 MiB left as holes\n`]);
      expect((await fs.readFile(join(dir, `without-${missing}.img`))).equals(pattern), `disk ${missing} missing`).toBe(true);
    }
  });

  itNbd('--serve prints a URI clients parse when the socket path has a space and the set name a "?" and "#"', async () => {
    const dir = tmp('serve-uri');
    const ms = await members(dir, 1);
    await fs.writeFile(join(dir, 't.txt'), `odd?#%: 0 ${SECTORS} linear m0.img 0\n`);
    await fs.mkdir(join(dir, 'a folder'));
    const sock = join(dir, 'a folder', 'n.sock');
    let stdout = '';
    const stop = new AbortController();
    const done = run(['--serve', '--tables', 't.txt', '--listen', sock], { stdout: (t) => (stdout += t), stderr: (t) => (stdout += t), readLine: async () => null, cwd: dir }, { handlers: [], signal: stop.signal });
    const deadline = Date.now() + 10_000;
    while (!stdout.includes('\n') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const uri = `nbd+unix:///odd%3F%23%25?socket=${join(dir, 'a%20folder', 'n.sock')}`;
    expect(stdout).toBe(`serving ${uri} (1048576 bytes, read-only)\n`);
    await exec('nbdcopy', [uri, join(dir, 'copy.img')]);
    expect((await fs.readFile(join(dir, 'copy.img'))).equals(ms[0]!)).toBe(true);
    stop.abort();
    expect(await done).toBe(0);
  });

  itNbd('--serve on TCP, IPv4 and IPv6 loopback: prints the nbd:// URI clients read the set from', async () => {
    const dir = tmp('serve-tcp');
    const ms = await members(dir, 2);
    await fs.writeFile(join(dir, 't.txt'), `r0: 0 ${2 * SECTORS} striped 2 128 m0.img 0 m1.img 0\n`);
    for (const [listen, host] of [['127.0.0.1:0', '127.0.0.1'], ['[::1]:0', '[::1]']] as const) {
      let stdout = '';
      const stop = new AbortController();
      const done = run(['--serve', '--tables', 't.txt', '--listen', listen], { stdout: (t) => (stdout += t), stderr: (t) => (stdout += t), readLine: async () => null, cwd: dir }, { handlers: [], signal: stop.signal });
      const deadline = Date.now() + 10_000;
      while (!stdout.includes('\n') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const m = /^serving (nbd:\/\/(\S+):(\d+)\/r0) \(2097152 bytes, read-only\)\n$/.exec(stdout);
      expect(m, stdout).not.toBeNull();
      expect(m![2]).toBe(host);
      expect((await exec('nbdinfo', ['--size', m![1]!])).stdout.trim()).toBe('2097152');
      await exec('nbdcopy', [m![1]!, join(dir, 'copy.img')]);
      expect((await fs.readFile(join(dir, 'copy.img'))).equals(striped(ms, 128))).toBe(true);
      stop.abort();
      expect(await done).toBe(0);
    }
  });

  itNbd('--serve listens on a unix socket, serves every set by name and ends on SIGINT', async () => {
    const dir = tmp('serve');
    const ms = await members(dir, 2);
    await fs.writeFile(join(dir, 't.txt'), [
      `r0: 0 ${2 * SECTORS} striped 2 128 m0.img 0 m1.img 0`,
      `lin: 0 ${SECTORS} linear m1.img 0`,
    ].join('\n'));
    const sock = join(dir, 'nbd.sock');
    let stdout = '';
    const done = run(['--serve', '--tables', 't.txt', '--listen', sock], { stdout: (t) => (stdout += t), stderr: (t) => (stdout += t), readLine: async () => null, cwd: dir }, { handlers: [] });
    const deadline = Date.now() + 10_000;
    while (!stdout.includes('lin') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(stdout).toBe(
      `serving nbd+unix:///r0?socket=${sock} (2097152 bytes, read-only)\nserving nbd+unix:///lin?socket=${sock} (1048576 bytes, read-only)\n`,
    );
    const list = await exec('nbdinfo', ['--list', '--json', `nbd+unix://?socket=${sock}`]);
    expect((JSON.parse(list.stdout) as { exports: { 'export-name': string }[] }).exports.map((e) => e['export-name'])).toEqual(['r0', 'lin']);
    await exec('nbdcopy', [`nbd+unix:///r0?socket=${sock}`, join(dir, 'copy.img')]);
    expect((await fs.readFile(join(dir, 'copy.img'))).equals(striped(ms, 128))).toBe(true);
    // Read-only: one serving process per core (at most 4), this one included; the others gone once it stops.
    const servingProcesses = () => exec('pgrep', ['-P', String(process.pid), '-f', 'nbd-worker']).then((x) => x.stdout.trim().split('\n').length, () => 0);
    expect(await servingProcesses()).toBe(Math.min(availableParallelism(), 4) - 1);
    process.emit('SIGINT');
    expect(await done).toBe(0);
    expect(existsSync(sock)).toBe(false);
    expect(await servingProcesses()).toBe(0);
  });

  itFilefrag('--serve learns the sparse members\' maps before it prints the address, each serving process once; a client\'s copy runs no filefrag', async () => {
    const dir = tmp('serve-maps');
    // Two sparse 4 MiB members with a little data in each, and a filefrag that logs who ran it (its parent).
    const sectors = 8192;
    for (const m of [0, 1]) {
      const fd = openSync(join(dir, `m${m}.img`), 'w');
      writeSync(fd, Buffer.alloc(64 * 1024, m + 1), 0, 64 * 1024, (m + 1) * 1024 * 1024);
      ftruncateSync(fd, sectors * 512);
      closeSync(fd);
    }
    await fs.writeFile(join(dir, 't.txt'), `r0: 0 ${2 * sectors} striped 2 128 m0.img 0 m1.img 0\n`);
    const log = join(dir, 'filefrag.log');
    await fs.mkdir(join(dir, 'bin'));
    await fs.writeFile(join(dir, 'bin', 'filefrag'), `#!/bin/sh\necho "$PPID $(basename "$4")" >> '${log}'\nexec '${filefrag}' "$@"\n`, { mode: 0o755 });
    const path = process.env.PATH;
    process.env.PATH = `${join(dir, 'bin')}:${path}`;
    onTestFinished(() => void (process.env.PATH = path));
    const sock = join(dir, 'nbd.sock');
    let stdout = '';
    let atServing: string | undefined;
    const done = run(['--serve', '--tables', 't.txt', '--listen', sock], {
      stdout: (t) => {
        stdout += t;
        atServing ??= existsSync(log) ? readFileSync(log, 'utf8') : '';
      },
      stderr: (t) => (stdout += t),
      readLine: async () => null,
      cwd: dir,
    }, { handlers: [] });
    const deadline = Date.now() + 10_000;
    while (atServing === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const processes = Math.min(availableParallelism(), 4);
    const lines = (atServing ?? '').trim().split('\n').filter(Boolean);
    // Both members, in every serving process (this one and each worker), before the address was printed.
    expect(lines.length).toBe(2 * processes);
    expect(new Set(lines).size).toBe(2 * processes);
    expect(new Set(lines.map((l) => l.split(' ')[0])).size).toBe(processes);
    await exec('nbdcopy', [`nbd+unix:///r0?socket=${sock}`, join(dir, 'copy.img')]);
    const map = await exec('nbdinfo', ['--map', `nbd+unix:///r0?socket=${sock}`]);
    expect(map.stdout).toContain('hole,zero');
    expect(readFileSync(log, 'utf8').trim().split('\n')).toEqual(lines);
    process.emit('SIGINT');
    expect(await done).toBe(0);
  });
});

describe('member paths with spaces, commas and colons', () => {
  const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

  it('--devices takes a path with "," or ":" and a serial with a backslash before each; unescaped text means what it did', async () => {
    const dir = tmp('devices-escaped');
    for (const f of ['c:d.img', 'a,b.img', 'sp ace.img', 'e\\f.img']) await fs.writeFile(join(dir, f), Buffer.alloc(1 << 20));
    const r = await dmraid(dir, ['--devices', 'c\\:d.img:WD-1 2,a\\,b.img', '--devices', 'sp ace.img:S3,e\\\\f.img:S\\,4', '-b']);
    expect(r).toEqual({ status: 0, stderr: '', stdout: 'c:d.img:         2048 total, "WD-12"\na,b.img:         2048 total, "N/A"\nsp ace.img:         2048 total, "S3"\ne\\f.img:         2048 total, "S,4"\n' });
    // A whole text that names a file is that file (c:d.img); a comma without a backslash still separates.
    const old = await dmraid(dir, ['--devices', 'c:d.img', '--devices', 'e\\f.img', '-b']);
    expect([old.status, old.stdout.split('\n').map((l) => l.split(':  ')[0])]).toEqual([0, ['c:d.img', 'e\\f.img', '']]);
    expect(await dmraid(dir, ['--devices', 'a,b.img', '-b'])).toEqual({ status: 1, stdout: '', stderr: 'ERROR: cannot open device "a": No such file or directory\n' });
  });

  it('a set on "sp ace.img", "a,b.img", "c:d.img": --extract and --check-data read those files, never a file "sp"; -t prints them escaped and --tables of that output gives the same volume', async () => {
    const dir = tmp('odd-paths');
    const specs = await imagesOf(dir, 'nvidia/raid5-3');
    const odd = ['sp ace.img', 'a,b.img', 'c:d.img'];
    // A pattern in the first MiB of each member (nvidia keeps its metadata at the end); the plain names
    // are hard links to the same files, read the way every other test reads them: the truth.
    const plain: string[] = [];
    for (const [m, spec] of specs.entries()) {
      const file = spec.split(':')[0]!;
      const h = await fs.open(join(dir, file), 'r+');
      const b = Buffer.alloc(1 << 20);
      for (let i = 0; i < b.length; i++) b[i] = (i * 13 + m * 7 + (i >>> 9)) & 0xff;
      await h.write(b, 0, b.length, 0);
      await h.close();
      await fs.rename(join(dir, file), join(dir, odd[m]!));
      await fs.link(join(dir, odd[m]!), join(dir, `plain${m}.img`));
      plain.push(`plain${m}.img`);
    }
    // Decoys named by the words of an unescaped table line.
    for (const decoy of ['sp', 'ace.img']) await fs.writeFile(join(dir, decoy), Buffer.alloc(1 << 20, 0x5a));
    const decoys = async () => Promise.all(['sp', 'ace.img'].map((f) => fs.readFile(join(dir, f)).then((b) => b.toString('base64'))));
    const before = await decoys();
    const byPlain = plain.flatMap((p) => ['--devices', p]);
    const byOdd = ['--devices', odd.map((p) => p.replace(/[\\,:]/g, '\\$&')).join(',')];
    const name = (await dmraid(dir, [...byPlain, '-s', '-c'], true)).stdout.trim();
    expect(name).toMatch(/^nvidia_/);

    expect(await dmraid(dir, [...byPlain, '--extract', name, '-o', 'plain.vol'], true)).toMatchObject({ status: 0, stderr: '' });
    expect(await dmraid(dir, [...byOdd, '--extract', name, '-o', 'odd.vol'], true)).toMatchObject({ status: 0, stderr: '' });
    const truth = await fs.readFile(join(dir, 'plain.vol'));
    expect(truth.subarray(0, 1 << 20).some((b) => b !== 0)).toBe(true);
    expect((await fs.readFile(join(dir, 'odd.vol'))).equals(truth)).toBe(true);

    const checkPlain = await dmraid(dir, [...byPlain, '--check-data', name], true);
    const checkOdd = await dmraid(dir, [...byOdd, '--check-data', name], true);
    expect(checkPlain.stdout).toMatch(/mismatch_cnt/);
    expect(checkOdd).toEqual(checkPlain);

    // -t: one unambiguous line (the kernel's escapes), read back by --tables as the same members.
    const t = await dmraid(dir, [...byOdd, '-tay'], true);
    expect(t.status).toBe(0);
    expect(t.stdout).toBe(`${name}: 0 130816 raid raid5_ls 4 128 nosync region_size 128 3 - sp\\ ace.img - a,b.img - c:d.img\n`);
    await fs.writeFile(join(dir, 't.txt'), t.stdout);
    expect(await dmraid(dir, ['--extract', name, '-o', 'tables.vol', '--tables', 't.txt'])).toMatchObject({ status: 0, stderr: '' });
    expect((await fs.readFile(join(dir, 'tables.vol'))).equals(truth)).toBe(true);
    expect(await dmraid(dir, ['--check-data', name, '--tables', 't.txt'])).toEqual(checkPlain);
    expect(await decoys()).toEqual(before);
  });

  /** The built CLI with standard output on `fd` (a shell's `1<>FILE`, `>>FILE`). */
  const withStdout = (dir: string, fd: number, args: string[]) =>
    new Promise<{ status: number | null; stderr: string }>((done) => {
      const child = spawn(process.execPath, [bin, ...args], { cwd: dir, stdio: ['ignore', fd, 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
      child.on('close', (status) => done({ status, stderr }));
    });

  it('-o - is refused when standard output is a member (1<>member.img, >> member.img, a hard link), nothing written', async () => {
    const dir = tmp('stdout-member');
    await members(dir, 2);
    await fs.writeFile(join(dir, 't.txt'), `r0: 0 ${2 * SECTORS} striped 2 128 m0.img 0 m1.img 0\n`);
    await fs.link(join(dir, 'm0.img'), join(dir, 'hard'));
    const before = await hashFiles(dir);
    for (const [file, flags, member] of [['m1.img', 'r+', 'm1.img'], ['m0.img', 'a', 'm0.img'], ['hard', 'r+', 'm0.img']] as const) {
      const fd = openSync(join(dir, file), flags);
      const r = await withStdout(dir, fd, ['--extract', 'r0', '-o', '-', '--tables', 't.txt']).finally(() => closeSync(fd));
      expect(r, `${file} ${flags}`).toEqual({ status: 1, stderr: `ERROR: cannot write the volume of "r0" to standard output: it shares storage with member ${join(dir, member)} of the set\n` });
    }
    expect(await hashFiles(dir)).toBe(before);
    // Any other file takes it.
    const fd = openSync(join(dir, 'out.img'), 'w');
    const ok = await withStdout(dir, fd, ['--extract', 'r0', '-o', '-', '--tables', 't.txt']).finally(() => closeSync(fd));
    expect(ok.status).toBe(0);
    expect((await fs.readFile(join(dir, 'out.img'))).equals(striped(await Promise.all([0, 1].map((m) => fs.readFile(join(dir, `m${m}.img`)))), 128))).toBe(true);
  });

  itLoop('-o - is refused when standard output is a loop device over a member image', async () => {
    const dir = tmp('stdout-loop');
    await members(dir, 2);
    await fs.writeFile(join(dir, 't.txt'), `r0: 0 ${2 * SECTORS} striped 2 128 m0.img 0 m1.img 0\n`);
    const loop = (await exec('losetup', ['-f', '--show', join(dir, 'm1.img')])).stdout.trim();
    onTestFinished(() => exec('losetup', ['-d', loop]).then(() => undefined));
    const before = await hashFiles(dir);
    const fd = openSync(loop, 'r+');
    const r = await withStdout(dir, fd, ['--extract', 'r0', '-o', '-', '--tables', 't.txt']).finally(() => closeSync(fd));
    expect(r).toEqual({ status: 1, stderr: `ERROR: cannot write the volume of "r0" to standard output: it shares storage with member ${join(dir, 'm1.img')} of the set\n` });
    expect(await hashFiles(dir)).toBe(before);
  });
});

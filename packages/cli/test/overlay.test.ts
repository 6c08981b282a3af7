// Ours: --overlay FILE. --serve --writable sends every write to FILE (copy-on-write), the members are only
// read; --extract --overlay gives the repaired volume; -tay --overlay prints the kernel's snapshot table.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { testIf } from '@dmraid/testkit';
import { run } from '../src/main.js';
import { parseOptions } from '../src/options.js';
import { imagesOf, tmp } from './helpers.js';

const exec = promisify(execFile);
const has = (cmd: string) => exec('sh', ['-c', `command -v ${cmd}`]).then(() => true, () => false);
const nbd = (await has('nbdcopy')) && (await has('qemu-io'));
const itNbd = testIf(it, { name: 'nbdcopy and qemu-io', available: nbd, reason: 'apt-get install -y libnbd-bin qemu-utils' });
const e2fs = nbd && (await has('mkfs.ext4')) && (await has('e2fsck'));
const fuse = e2fs && (await has('nbdfuse')) && (await has('debugfs')) && (await has('fusermount3')) && (await fs.stat('/dev/fuse').then(() => true, () => false));
const loops = process.getuid?.() === 0 && (await exec('losetup', ['-f']).then(() => true, () => false));
const itLoop = testIf(it, { name: 'a loop device and qemu-io', available: loops && nbd, reason: 'needs root, a free loop device (losetup -f) and qemu-utils' });
const itFsck = testIf(it, { name: 'nbdfuse, fusermount3, debugfs and /dev/fuse', available: fuse, reason: 'apt-get install -y nbdfuse fuse3 e2fsprogs' });
const itExt4 = testIf(it, { name: 'nbdcopy, qemu-io, mkfs.ext4 and e2fsck', available: e2fs, reason: 'apt-get install -y libnbd-bin qemu-utils e2fsprogs' });

const SECTORS = 4096; // 2 MiB members, a 4 MiB RAID0 volume

async function members(dir: string): Promise<void> {
  for (let m = 0; m < 2; m++) {
    const b = Buffer.alloc(SECTORS * 512);
    for (let i = 0; i < b.length; i++) b[i] = ((i >>> 9) * 17 + (i & 511) + m * 89) & 0xff;
    await fs.writeFile(join(dir, `m${m}.img`), b);
  }
  await fs.writeFile(join(dir, 't.txt'), `r0: 0 ${2 * SECTORS} striped 2 128 m0.img 0 m1.img 0\n`);
}

/** What must not change: each member's bytes and modification time. */
const evidence = (dir: string) =>
  ['m0.img', 'm1.img'].map((f) => ({ f, sha: createHash('sha256').update(readFileSync(join(dir, f))).digest('hex'), mtime: statSync(join(dir, f)).mtimeMs }));

async function dmraid(dir: string, args: string[], installed = false) {
  let stdout = '';
  let stderr = '';
  const status = await run(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), readLine: async () => null, cwd: dir }, installed ? {} : { handlers: [] });
  return { status, stdout, stderr };
}

/** --serve in this process until stop(); resolves once it listens. */
async function serve(dir: string, args: string[]) {
  let text = '';
  const stop = new AbortController();
  const done = run(['--serve', '--tables', 't.txt', ...args], { stdout: (t) => (text += t), stderr: (t) => (text += t), readLine: async () => null, cwd: dir }, { handlers: [], signal: stop.signal });
  const deadline = Date.now() + 10_000;
  while (!text.includes('serving') && !text.includes('ERROR') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return {
    text: () => text,
    stop: async () => {
      stop.abort();
      return done;
    },
  };
}

/** The access mode of every descriptor this process holds on `file` (O_RDONLY 0, O_WRONLY 1, O_RDWR 2). */
function accessModes(file: string): number[] {
  const modes: number[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue;
    }
    if (target !== file) continue;
    const flags = /^flags:\s+([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
    modes.push(parseInt(flags![1]!, 8) & 3);
  }
  return modes;
}

const uri = (dir: string, sock: string) => `nbd+unix:///r0?socket=${join(dir, sock)}`;

describe('--overlay: options', () => {
  it('goes with --serve, --extract and -tay, not elsewhere', () => {
    expect(parseOptions(['--serve', '--writable', '--overlay', 'ov.cow']).engine.overlay).toBe('ov.cow');
    expect(parseOptions(['--extract', 'r0', '-o', 'x', '--overlay', 'ov.cow']).engine.overlay).toBe('ov.cow');
    expect(parseOptions(['-tay', '--overlay', '/dev/loop0']).engine.overlay).toBe('/dev/loop0');
    expect(() => parseOptions(['--check-data', 'r0', '--overlay', 'ov.cow'])).toThrow('--overlay goes with');
    expect(() => parseOptions(['-r', '--overlay', 'ov.cow'])).toThrow('--overlay goes with');
  });
});

describe('--serve --writable --overlay: writes to the overlay, the members untouched', () => {
  itNbd('partial-chunk writes through NBD land in the overlay; after a restart and in --extract --overlay the volume has them; members opened O_RDONLY', async () => {
    const dir = tmp('overlay-serve');
    await members(dir);
    const before = evidence(dir);
    const s = await serve(dir, ['--writable', '--overlay', 'ov.cow', '--listen', 'a.sock']);
    expect(s.text()).toBe(`serving ${uri(dir, 'a.sock')} (4194304 bytes, read-write, overlay ov.cow)\n`);
    // The members are held read-only while a client writes.
    const modes = ['m0.img', 'm1.img'].map((f) => [...new Set(accessModes(join(dir, f)))]);
    expect(modes).toEqual([[0], [0]]);
    // Unaligned and chunk-straddling writes (the overlay copies each touched 64 KiB chunk up first).
    const writes: [number, number, number][] = [[0x61, 1000, 3000], [0x62, 65000, 2000], [0x63, 3 * 1048576 + 17, 70000], [0x64, 4194304 - 512, 512]];
    const cmds = writes.flatMap(([p, off, len]) => ['-c', `write -P ${p} ${off} ${len}`]);
    await exec('qemu-io', ['-f', 'raw', ...cmds, uri(dir, 'a.sock')]);
    expect(await s.stop()).toBe(0);
    expect(evidence(dir)).toEqual(before);
    // What the volume must be: the members' RAID0 with the writes over it (from the bare volume's extract).
    expect((await dmraid(dir, ['--extract', 'r0', '-o', 'bare.img', '--tables', 't.txt'])).status).toBe(0);
    const want = await fs.readFile(join(dir, 'bare.img'));
    for (const [p, off, len] of writes) want.fill(p, off, off + len);
    // Restarted (read-only, with the overlay): the same volume over NBD.
    const again = await serve(dir, ['--overlay', 'ov.cow', '--listen', 'b.sock']);
    expect(again.text()).toContain('read-only, overlay ov.cow');
    await exec('nbdcopy', [uri(dir, 'b.sock'), join(dir, 'served.img')]);
    expect(await again.stop()).toBe(0);
    expect((await fs.readFile(join(dir, 'served.img'))).equals(want)).toBe(true);
    // The repaired volume as a file.
    const x = await dmraid(dir, ['--extract', 'r0', '--overlay', 'ov.cow', '-o', 'fixed.img', '--tables', 't.txt']);
    expect([x.status, x.stderr]).toEqual([0, '']);
    expect((await fs.readFile(join(dir, 'fixed.img'))).equals(want)).toBe(true);
    expect(evidence(dir)).toEqual(before);
  });

  itNbd('survives kill -9 of the server after a flushed write: the restarted server reads it back', async () => {
    const dir = tmp('overlay-kill');
    await members(dir);
    const before = evidence(dir);
    const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
    const start = async (sock: string, writable: boolean) => {
      const child = spawn(process.execPath, [bin, '--serve', '--tables', 't.txt', ...(writable ? ['--writable'] : []), '--overlay', 'ov.cow', '--listen', sock], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      child.stdout.on('data', (d: Buffer) => (text += d.toString()));
      child.stderr.on('data', (d: Buffer) => (text += d.toString()));
      const deadline = Date.now() + 15_000;
      while (!text.includes('serving') && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(text).toContain('serving');
      return child;
    };
    const first = await start('k.sock', true);
    // qemu-io flushes before it exits: the writes are on stable storage when it returns.
    await exec('qemu-io', ['-f', 'raw', '-c', 'write -P 0x7e 123456 5000', '-c', 'flush', uri(dir, 'k.sock')]);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const second = await start('l.sock', false);
    const r = await exec('qemu-io', ['-r', '-f', 'raw', '-c', 'read -P 0x7e 123456 5000', uri(dir, 'l.sock')]).catch((e: { stdout: string; stderr: string }) => ({ stdout: `${e.stdout}${e.stderr}` }));
    expect(r.stdout).toContain('read 5000/5000 bytes');
    second.kill('SIGTERM');
    await new Promise((r) => second.once('exit', r));
    expect(evidence(dir)).toEqual(before);
  });

  itExt4('an ext4 image copied in over NBD lives in the overlay alone; --extract --overlay gives it back and e2fsck finds it clean', async () => {
    const dir = tmp('overlay-ext4');
    await members(dir);
    const before = evidence(dir);
    // A 4 MiB ext4 with a file, copied in through the served volume (what an fsck's writes are to the server).
    await exec('truncate', ['-s', '4M', join(dir, 'fs.img')]);
    await fs.mkdir(join(dir, 'root'));
    await fs.writeFile(join(dir, 'root', 'note.txt'), 'the evidence stays as it was\n'.repeat(100));
    await exec('mkfs.ext4', ['-q', '-F', '-b', '1024', '-d', join(dir, 'root'), join(dir, 'fs.img')]);
    const s = await serve(dir, ['--writable', '--overlay', 'ov.cow', '--listen', 'e.sock']);
    await exec('nbdcopy', [join(dir, 'fs.img'), uri(dir, 'e.sock')]);
    expect(await s.stop()).toBe(0);
    const x = await dmraid(dir, ['--extract', 'r0', '--overlay', 'ov.cow', '-o', 'fixed.img', '--tables', 't.txt']);
    expect(x.status).toBe(0);
    expect((await fs.readFile(join(dir, 'fixed.img'))).equals(await fs.readFile(join(dir, 'fs.img')))).toBe(true);
    const fsck = await exec('e2fsck', ['-fn', join(dir, 'fixed.img')]).then((r) => ({ code: 0, out: r.stdout }), (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }));
    expect(fsck.code, fsck.out).toBe(0);
    expect(evidence(dir)).toEqual(before);
  });
  itFsck('e2fsck -fy through NBD repairs the served volume: the repair is in the overlay, the members keep the damage', async () => {
    const dir = tmp('overlay-fsck');
    await members(dir);
    // The evidence: a damaged ext4 (the root directory's link count wrong) written into the set itself.
    await exec('truncate', ['-s', '4M', join(dir, 'fs.img')]);
    await exec('mkfs.ext4', ['-q', '-F', '-b', '1024', join(dir, 'fs.img')]);
    await exec('debugfs', ['-w', '-R', 'sif <2> links_count 9', join(dir, 'fs.img')]);
    const plain = await serve(dir, ['--writable', '--listen', 'p.sock']);
    await exec('nbdcopy', [join(dir, 'fs.img'), uri(dir, 'p.sock')]);
    expect(await plain.stop()).toBe(0);
    const fsck = (args: string[]) => exec('e2fsck', args).then(() => 0, (e: { code: number }) => e.code);
    const before = evidence(dir);
    const s = await serve(dir, ['--writable', '--overlay', 'ov.cow', '--listen', 'f.sock']);
    await fs.mkdir(join(dir, 'mnt'));
    const fuser = spawn('nbdfuse', [join(dir, 'mnt'), uri(dir, 'f.sock')], { stdio: 'ignore' });
    try {
      const deadline = Date.now() + 10_000;
      while (!(await fs.stat(join(dir, 'mnt', 'nbd')).then(() => true, () => false)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      // 1: errors corrected.
      expect(await fsck(['-fy', join(dir, 'mnt', 'nbd')])).toBe(1);
      expect(await fsck(['-fn', join(dir, 'mnt', 'nbd')])).toBe(0);
    } finally {
      await exec('fusermount3', ['-u', join(dir, 'mnt')]).catch(() => undefined);
      await new Promise((r) => (fuser.exitCode === null ? fuser.once('exit', r) : r(undefined)));
    }
    expect(await s.stop()).toBe(0);
    expect(evidence(dir)).toEqual(before);
    expect((await dmraid(dir, ['--extract', 'r0', '-o', 'bare.img', '--tables', 't.txt'])).status).toBe(0);
    expect(await fsck(['-fn', join(dir, 'bare.img')])).toBe(4);
    expect((await dmraid(dir, ['--extract', 'r0', '--overlay', 'ov.cow', '-o', 'fixed.img', '--tables', 't.txt'])).status).toBe(0);
    expect(await fsck(['-fn', join(dir, 'fixed.img')])).toBe(0);
  });
  itLoop('a block device as the overlay (a loop device): used at the size it has, the volume read back from it', async () => {
    const dir = tmp('overlay-loop');
    await members(dir);
    const before = evidence(dir);
    await exec('truncate', ['-s', '12M', join(dir, 'cow.img')]);
    const loop = (await exec('losetup', ['-f', '--show', join(dir, 'cow.img')])).stdout.trim();
    try {
      const s = await serve(dir, ['--writable', '--overlay', loop, '--listen', 'd.sock']);
      expect(s.text()).toContain(`read-write, overlay ${loop}`);
      await exec('qemu-io', ['-f', 'raw', '-c', 'write -P 0x3c 777777 9000', '-c', 'flush', uri(dir, 'd.sock')]);
      expect(await s.stop()).toBe(0);
      const x = await dmraid(dir, ['--extract', 'r0', '--overlay', loop, '-o', 'fixed.img', '--tables', 't.txt']);
      expect([x.status, x.stderr]).toEqual([0, '']);
      const got = await fs.readFile(join(dir, 'fixed.img'));
      expect(got.subarray(777777, 777777 + 9000).every((b) => b === 0x3c)).toBe(true);
      expect(statSync(join(dir, 'cow.img')).size).toBe(12 * 1048576);
    } finally {
      await exec('losetup', ['-d', loop]);
    }
    expect(evidence(dir)).toEqual(before);
  });
});

describe('--overlay refusals: clear ERROR lines, nothing written', () => {
  it('an overlay made for another set or size, one that is a member, a missing one for --extract', async () => {
    const dir = tmp('overlay-refuse');
    await members(dir);
    await fs.writeFile(join(dir, 'u.txt'), `r1: 0 ${2 * SECTORS} striped 2 128 m0.img 0 m1.img 0\nsmall: 0 ${SECTORS} linear m0.img 0\n`);
    await fs.writeFile(join(dir, 'v.txt'), `r0: 0 ${SECTORS} linear m0.img 0\n`);
    const s = await serve(dir, ['--writable', '--overlay', 'ov.cow', '--listen', 'r.sock']);
    expect(await s.stop()).toBe(0);
    const made = readFileSync(join(dir, 'ov.cow'));
    const other = await dmraid(dir, ['--extract', 'r1', '--overlay', 'ov.cow', '-o', 'x.img', '--tables', 'u.txt']);
    expect(other).toEqual({ status: 1, stdout: '', stderr: 'ERROR: overlay "ov.cow" was made for RAID set "r0", not "r1"\n' });
    let text = '';
    const io = { stdout: (t: string) => (text += t), stderr: (t: string) => (text += t), readLine: async () => null, cwd: dir };
    expect(await run(['--serve', '--writable', '--overlay', 'ov.cow', '--tables', 'v.txt', '--listen', 's.sock'], io, { handlers: [], signal: AbortSignal.abort() })).toBe(1);
    expect(text).toBe(`ERROR: overlay "ov.cow" was made for a volume of ${2 * SECTORS} sectors, this one has ${SECTORS}\n`);
    expect(readFileSync(join(dir, 'ov.cow')).equals(made)).toBe(true);
    const before = evidence(dir);
    const onMember = await dmraid(dir, ['--extract', 'r0', '--overlay', 'm1.img', '-o', 'x.img', '--tables', 't.txt']);
    expect(onMember.stderr).toBe(`ERROR: overlay "m1.img" shares storage with member ${join(dir, 'm1.img')} of the set: the members are never written\n`);
    text = '';
    expect(await run(['--serve', '--writable', '--overlay', 'm0.img', '--tables', 't.txt', '--listen', 's.sock'], io, { handlers: [], signal: AbortSignal.abort() })).toBe(1);
    expect(text).toBe(`ERROR: overlay "m0.img" shares storage with member ${join(dir, 'm0.img')} of the set: the members are never written\n`);
    expect(evidence(dir)).toEqual(before);
    const missing = await dmraid(dir, ['--extract', 'r0', '--overlay', 'none.cow', '-o', 'x.img', '--tables', 't.txt']);
    expect(missing).toEqual({ status: 1, stdout: '', stderr: 'ERROR: cannot open overlay "none.cow": No such file or directory\n' });
    const twoSets = await dmraid(dir, ['--serve', '--writable', '--overlay', 'two.cow', '--tables', 'u.txt', '--listen', 's.sock']);
    expect(twoSets.stderr).toBe('ERROR: --overlay takes one RAID set: name one of "r1", "small"\n');
    const onOverlay = await dmraid(dir, ['--extract', 'r0', '--overlay', 'ov.cow', '-o', 'ov.cow', '--tables', 't.txt']);
    expect(onOverlay.stderr).toBe('ERROR: cannot write the volume of "r0" to "ov.cow": it shares storage with the overlay\n');
    expect(readFileSync(join(dir, 'ov.cow')).equals(made)).toBe(true);
  });
});

describe('-tay --overlay DEVICE', () => {
  it('prints the kernel snapshot table over the set, chunk size from an existing overlay', async () => {
    const dir = tmp('overlay-tay');
    const specs = await imagesOf(dir, 'nvidia/raid0-2');
    const all = specs.flatMap((s) => ['--devices', s]);
    const plain = await dmraid(dir, [...all, '-tay'], true);
    expect(plain.status).toBe(0);
    const [name, , len] = plain.stdout.trim().split(/\s+/);
    const set = name!.slice(0, -1);
    const r = await dmraid(dir, [...all, '-tay', '--overlay', '/dev/loop7'], true);
    expect(r).toEqual({ status: 0, stderr: '', stdout: `${plain.stdout}${set}-overlay: 0 ${len} snapshot /dev/mapper/${set} /dev/loop7 P 128\n` });
    // An overlay the engine made keeps its own chunk size (the kernel takes the store's).
    const head = Buffer.alloc(8192);
    head.writeUInt32LE(0x70416e53, 0);
    head.writeUInt32LE(1, 4);
    head.writeUInt32LE(1, 8);
    head.writeUInt32LE(16, 12);
    await fs.writeFile(join(dir, 'ov.cow'), head);
    const own = await dmraid(dir, [...all, '-tay', '--overlay', 'ov.cow'], true);
    expect(own.stdout.split('\n').at(-2)).toBe(`${set}-overlay: 0 ${len} snapshot /dev/mapper/${set} ov.cow P 16`);
    const load = await dmraid(dir, [...all, '-ay', '--overlay', 'ov.cow', '--ignorelocking'], true);
    expect(load).toMatchObject({ status: 1, stderr: expect.stringContaining('--overlay with -ay prints the snapshot table with -t') });
  });
});

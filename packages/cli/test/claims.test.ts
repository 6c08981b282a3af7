// Every command that writes metadata (-E, -C, -S, -R, -x) claims the devices it writes before its first
// question and its first byte: refused while another process writes one (named as --serve --writable names
// it), or while a block device is mounted or claimed by another; a reader does not stand in the way.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { FormatHandler } from '@dmraid/core';
import { hashFiles, installedHandlers, runOurs, testIf } from '@dmraid/testkit';
import { imagesOf, tmp } from './helpers.js';

const exec = promisify(execFile);
const loops = process.getuid?.() === 0 && (await exec('losetup', ['-f']).then(() => true, () => false));
const itLoop = testIf(it, { name: 'a loop device', available: loops, reason: 'needs root and a free loop device (losetup -f)' });

const SIZE = 64 << 20;

/** Blank images d0.img ... with serials; the PATH:SERIAL specs. */
async function blanks(dir: string, n: number): Promise<string[]> {
  const specs: string[] = [];
  for (let i = 0; i < n; i++) {
    await fs.writeFile(join(dir, `d${i}.img`), '');
    await fs.truncate(join(dir, `d${i}.img`), SIZE);
    specs.push(`d${i}.img:CLAIMSER${i}X`);
  }
  return specs;
}

/** An isw mirror over d0.img and d1.img; its name. */
async function mirror(dir: string): Promise<{ specs: string[]; name: string }> {
  const specs = await blanks(dir, 2);
  expect((await runOurs(specs, ['-f', 'isw', '-C', 'Mirror', '--type', '1', '--disk', 'd0.img,d1.img', '--yes'], { cwd: dir })).status).toBe(0);
  const name = (await runOurs(specs, ['-s', '-c'], { cwd: dir })).stdout.trim();
  expect(name).toMatch(/^isw_[a-j]+_Mirror$/);
  // The creation's backup folder is not what these tests look at.
  await fs.rm(join(dir, 'dmraid.isw'), { recursive: true });
  return { specs, name };
}

/** A shell holding `file` open (`<>` read-write, `<` read-only) until the test ends. */
async function holder(dir: string, file: string, redirect: '<>' | '<'): Promise<ChildProcess> {
  const child = spawn('sh', ['-c', `exec 3${redirect}"$1"; echo ready; exec sleep 600`, 'sh', file], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
  onTestFinished(() => void child.kill('SIGKILL'));
  await new Promise((r) => child.stdout!.once('data', r));
  return child;
}

interface Case {
  readonly command: string;
  /** The images, the command's arguments and answers, and the member another process holds. */
  setup(dir: string): Promise<{ specs: string[]; args: string[]; stdin?: string; held: string }>;
}

const CASES: Case[] = [
  {
    command: '-E',
    async setup(dir) {
      const { specs } = await mirror(dir);
      return { specs, args: ['-r', '-E'], stdin: 'y\ny\n', held: 'd0.img' };
    },
  },
  {
    command: '-C',
    async setup(dir) {
      return { specs: await blanks(dir, 2), args: ['-f', 'isw', '-C', 'Vol0', '--type', '1', '--disk', 'd0.img,d1.img'], stdin: 'y\n', held: 'd1.img' };
    },
  },
  {
    command: '-S',
    async setup(dir) {
      return { specs: await blanks(dir, 1), args: ['-f', 'isw', '-S', '-M', 'd0.img'], stdin: 'y\n', held: 'd0.img' };
    },
  },
  {
    command: '-R',
    async setup(dir) {
      // The second disk died; a blank one with another serial takes its place. The member left is held.
      const { specs, name } = await mirror(dir);
      await fs.truncate(join(dir, 'd1.img'), 0);
      await fs.truncate(join(dir, 'd1.img'), SIZE);
      return { specs: [specs[0]!, 'd1.img:REPLACEMENT9'], args: ['-R', name, 'd1.img'], held: 'd0.img' };
    },
  },
  {
    command: '-x',
    async setup(dir) {
      const { specs, name } = await mirror(dir);
      return { specs, args: ['-x', name], stdin: 'y\n', held: 'd1.img' };
    },
  },
];

describe('metadata writes claim their devices', () => {
  for (const c of CASES) {
    it(`${c.command} is refused while another process holds a member open for writing, naming it; nothing asked, nothing written`, async () => {
      const dir = tmp(`claim${c.command}`);
      const { specs, args, stdin, held } = await c.setup(dir);
      const writer = await holder(dir, held, '<>');
      const before = await hashFiles(dir, { recursive: true });
      const r = await runOurs(specs, args, { cwd: dir, stdin });
      expect(r.status).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr.split('\n').filter((l) => !l.includes('wrong number of devices'))).toEqual([
        `ERROR: cannot open device "${held}" for writing: it is open for writing by process ${writer.pid} (sleep)`,
        '',
      ]);
      expect(await hashFiles(dir, { recursive: true })).toBe(before);
    }, 60_000);

    it(`${c.command} goes ahead while another process holds a member open only for reading`, async () => {
      const dir = tmp(`reader${c.command}`);
      const { specs, args, stdin, held } = await c.setup(dir);
      await holder(dir, held, '<');
      const before = await hashFiles(dir, { recursive: true });
      const r = await runOurs(specs, args, { cwd: dir, stdin });
      expect([r.status, r.stderr.split('\n').filter((l) => l.includes('cannot open'))]).toEqual([0, []]);
      expect(await hashFiles(dir, { recursive: true })).not.toBe(before);
    }, 60_000);
  }

  it('a device a handler opens for writing beyond the set and the disks named is claimed then, before its first byte', async () => {
    // A handler (here nvidia, given a rebuild) that also rewrites another disk: that disk was not claimed up
    // front, and is when the handler asks for it.
    const dir = tmp('claim-late');
    const [member] = await imagesOf(dir, 'nvidia/raid1-2-degraded');
    for (const f of ['new.img', 'other.img']) {
      await fs.writeFile(join(dir, f), '');
      await fs.truncate(join(dir, f), SIZE);
    }
    const installed = await installedHandlers();
    const nvidia = installed.find((l) => l.handler.name === 'nvidia')!;
    const rebuilding: FormatHandler = {
      ...nvidia.handler,
      async rebuild(_set, _device, ctx) {
        const w = await ctx.openWritable('other.img');
        return w !== undefined && (await w.write(0, new Uint8Array(512).fill(1))) === true;
      },
    };
    const handlers = installed.map((l) => (l === nvidia ? { ...l, handler: rebuilding } : l));
    const specs = [member!, 'new.img:NEWDISK1', 'other.img:OTHER1'];
    const name = (await runOurs([member!], ['-s', '-c'], { cwd: dir, handlers })).stdout.trim();
    const writer = await holder(dir, 'other.img', '<>');
    const before = await hashFiles(dir, { recursive: true });
    const r = await runOurs(specs, ['-R', name, 'new.img'], { cwd: dir, handlers });
    expect([r.status, r.stdout, r.stderr.split('\n').at(-2)]).toEqual([1, '', `ERROR: nvidia: cannot open device "other.img" for writing: it is open for writing by process ${writer.pid} (sleep)`]);
    expect(await hashFiles(dir, { recursive: true })).toBe(before);
  });

  it('-E, -x and -R are refused under a live `dmraid --serve --writable` of the set (the built CLI), and go ahead once it ends', async () => {
    const dir = tmp('claim-serve');
    const { specs, name } = await mirror(dir);
    const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
    const server = spawn(process.execPath, [bin, ...specs.flatMap((s) => ['--devices', s]), '--serve', '--writable', '--listen', 's.sock'], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
    onTestFinished(() => void server.kill('SIGKILL'));
    let said = '';
    await new Promise<void>((resolve, reject) => {
      server.stdout.on('data', (b: Buffer) => {
        said += b.toString();
        if (said.includes('serving')) resolve();
      });
      server.once('exit', () => reject(new Error(`the server ended: ${said}`)));
    });
    expect(said).toContain('read-write');
    const before = await hashFiles(dir, { recursive: true });
    for (const args of [['-r', '-E', '--yes'], ['-x', name, '--yes'], ['-R', name, 'd1.img']]) {
      const r = await runOurs(specs, args, { cwd: dir });
      expect(r.status, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toMatch(new RegExp(`^ERROR: cannot open device "d0\\.img" for writing: it is open for writing by (process \\d+ \\(node\\)(, )?)*process ${server.pid} \\(node\\)`));
    }
    expect(await hashFiles(dir, { recursive: true })).toBe(before);
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    expect(await runOurs(specs, ['-r', '-E', '--yes'], { cwd: dir })).toEqual({ status: 0, stdout: '', stderr: '' });
  }, 60_000);

  itLoop('on block devices (loop devices): refused while another holds a member exclusively or it is mounted; the claim ends with the command', async () => {
    const dir = tmp('claim-loop');
    await mirror(dir);
    const attach = async (file: string) => {
      const loop = (await exec('losetup', ['-f', '--show', join(dir, file)])).stdout.trim();
      onTestFinished(() => exec('losetup', ['-d', loop]).then(() => undefined));
      return loop;
    };
    const [l0, l1] = [await attach('d0.img'), await attach('d1.img')];
    const specs = [`${l0}:CLAIMSER0X`, `${l1}:CLAIMSER1X`];
    expect((await runOurs(specs, ['-s', '-c'], { cwd: dir })).stdout).toMatch(/^isw_[a-j]+_Mirror\n$/);
    const inUse = (path: string) => `ERROR: cannot open device "${path}" for writing: it is in use (mounted, a partition of it mounted, held by device-mapper or md, or claimed by another writer)\n`;
    // Another process claims l1 as mount and device-mapper do (O_EXCL), reading only: no writer to name.
    const claimer = spawn(process.execPath, ['-e', 'const fs = require("fs"); fs.openSync(process.argv[1], fs.constants.O_RDONLY | fs.constants.O_EXCL); console.log("ready"); setInterval(() => {}, 1e9);', l1], { stdio: ['ignore', 'pipe', 'inherit'] });
    onTestFinished(() => void claimer.kill('SIGKILL'));
    await new Promise((r) => claimer.stdout.once('data', r));
    const images = () => Promise.all(['d0.img', 'd1.img'].map(async (f) => (await fs.readFile(join(dir, f))).toString('base64')));
    const before = await images();
    expect(await runOurs(specs, ['-r', '-E', '--yes'], { cwd: dir })).toEqual({ status: 1, stdout: '', stderr: inUse(l1) });
    expect(await images()).toEqual(before);
    expect((await fs.readdir(dir)).filter((f) => f.startsWith('dmraid.'))).toEqual([]);
    claimer.kill('SIGKILL');
    await new Promise((r) => claimer.once('exit', r));
    expect(await runOurs(specs, ['-r', '-E', '--yes'], { cwd: dir })).toEqual({ status: 0, stdout: '', stderr: '' });
    // A disk with a mounted filesystem is not made a member.
    await exec('mke2fs', ['-q', '-F', '-t', 'ext4', join(dir, 'fs.img'), '64M']);
    const l2 = await attach('fs.img');
    const mnt = join(dir, 'mnt');
    await fs.mkdir(mnt);
    await exec('mount', [l2, mnt]);
    onTestFinished(() => exec('umount', [mnt]).then(() => undefined, () => undefined));
    const tail = async () => (await fs.readFile(l2)).subarray(-(1 << 20)).toString('base64');
    const end = await tail();
    const create = ['-f', 'isw', '-C', 'Vol0', '--type', '1', '--disk', `${l0},${l2}`, '--yes'];
    expect(await runOurs([specs[0]!, `${l2}:CLAIMSER2X`], create, { cwd: dir })).toEqual({ status: 1, stdout: '', stderr: inUse(l2) });
    expect(await tail()).toBe(end);
    await exec('umount', [mnt]);
    expect((await runOurs([specs[0]!, `${l2}:CLAIMSER2X`], create, { cwd: dir })).status).toBe(0);
  }, 120_000);
});

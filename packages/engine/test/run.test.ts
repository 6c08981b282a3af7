// The engine's front door: openRun opens the members a run's tables name, refuses one another writer holds,
// builds the tables and closes everything it holds with one close().
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, promises as fs, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { testIf } from '@dmraid/testkit';
import { mappedRef, memberRef, memoryDevice, newRaidSet, openDevice, type BlockDevice, type RaidDevice, type RaidSet } from '@dmraid/core';
import { BLOCK_DEVICE_BUSY, claimError, DISK_IN_USE, holdsData, isIoError, isRunError, openRun, readableSets, SECTOR, type Run, type RunError } from '../src/index.js';

const itRoot = testIf(it, { name: 'root', available: process.getuid?.() === 0, reason: 'needs root to make a device node (mknod)' });
const work = mkdtempSync(join(tmpdir(), 'dmraid-run-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let n = 0;
const folder = async () => {
  const dir = join(work, String(n++));
  await fs.mkdir(dir);
  return dir;
};

const SECTORS = 256;
/** Member m: every sector stamped with (member, sector). */
async function images(dir: string, count: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let m = 0; m < count; m++) {
    const b = Buffer.alloc(SECTORS * SECTOR);
    for (let s = 0; s < SECTORS; s++) b.write(`m${m} s${s}`, s * SECTOR);
    await fs.writeFile(join(dir, `m ${m}.img`), b);
    out.push(b);
  }
  return out;
}

const r0 = { name: 'r0', targets: [{ start: 0, length: 2 * SECTORS, type: 'striped', args: ['2', '8', memberRef('m 0.img'), '0', memberRef('m 1.img'), '0'] }] };
const top = { name: 'top', targets: [{ start: 0, length: 16, type: 'linear', args: [mappedRef('r0'), '8'] }] };

const opened = (r: Run | RunError): Run => {
  if (isRunError(r)) throw new Error(JSON.stringify(r));
  onTestFinished(() => r.close());
  return r;
};

async function read(run: Run, name: string, sector: number, count: number): Promise<string> {
  const b = await run.engine.get(name)!.read(sector, count);
  if (isIoError(b)) throw new Error(b.message);
  return Buffer.from(b).toString('latin1', 0, 6);
}

/** A BlockDevice whose close() is counted. */
const counted = (d: BlockDevice) => {
  const closes = { count: 0 };
  return { closes, device: { ...d, close: async () => void closes.count++ } as BlockDevice };
};

describe('openRun', () => {
  it('opens the members by the paths the tables name (spaces and all), nests the tables, and names the sets and members', async () => {
    const dir = await folder();
    await images(dir, 2);
    const run = opened(await openRun({ tables: [r0, top], members: ['m 0.img', 'm 1.img'], cwd: dir }));
    expect(run.sets).toEqual(['top']);
    expect(run.members).toEqual([join(dir, 'm 0.img'), join(dir, 'm 1.img')]);
    // Chunks of 8 sectors, alternating: sector 8 of r0 is sector 0 of member 1; top starts at r0's sector 8.
    expect(await read(run, 'r0', 8, 1)).toBe('m1 s0\0');
    expect(await read(run, 'top', 8, 1)).toBe('m0 s8\0');
    expect(run.workerSpec(['top'])).toEqual({ tables: [r0, top], members: [{ path: 'm 0.img', sizeSectors: SECTORS }, { path: 'm 1.img', sizeSectors: SECTORS }], cwd: dir, exports: ['top'] });
    // Read-only unless asked.
    expect(await run.engine.get('r0')!.write(0, new Uint8Array(SECTOR))).toMatchObject({ code: 'EROFS' });
  });

  it('writes through to the member files when writable', async () => {
    const dir = await folder();
    await images(dir, 2);
    const run = opened(await openRun({ tables: [r0], members: ['m 0.img', 'm 1.img'], cwd: dir, writable: true }));
    expect(await run.engine.get('r0')!.write(8, Buffer.alloc(SECTOR, 0x41))).toBe(true);
    await run.close();
    expect((await fs.readFile(join(dir, 'm 1.img'))).subarray(0, SECTOR).equals(Buffer.alloc(SECTOR, 0x41))).toBe(true);
  });

  it('a table naming a member that is not there, or is no file or disk, fails naming the device and why', async () => {
    const dir = await folder();
    await images(dir, 1);
    await fs.mkdir(join(dir, 'm 1.img'));
    const gone = await openRun({ tables: [{ name: 'r0', targets: [{ ...r0.targets[0]!, args: ['2', '8', memberRef('m 0.img'), '0', memberRef('m 9.img'), '0'] }] }], members: ['m 0.img', 'm 9.img'], cwd: dir });
    expect(gone).toEqual({ kind: 'table', device: 'r0', message: "striped: Couldn't parse stripe destination: m 9.img (No such file or directory)" });
    const folderMember = await openRun({ tables: [r0], members: ['m 0.img', 'm 1.img'], cwd: dir });
    expect(folderMember).toEqual({ kind: 'table', device: 'r0', message: "striped: Couldn't parse stripe destination: m 1.img (not a file or block device)" });
  });

  it('writable: refuses a member another process holds open for writing, naming it, and closes what it was given; read-only goes ahead', async () => {
    const dir = await folder();
    await images(dir, 2);
    const holder = spawn('sh', ['-c', 'exec 3<>"m 1.img"; exec sleep 60'], { cwd: dir, stdio: 'ignore' });
    onTestFinished(() => void holder.kill('SIGKILL'));
    while (!existsSync(`/proc/${holder.pid}/fd/3`)) await new Promise((r) => setTimeout(r, 10));
    const m0 = await openDevice(join(dir, 'm 0.img'));
    if (isIoError(m0)) throw new Error(m0.message);
    const given = counted({ ...m0, path: 'm 0.img' });
    const refused = await openRun({ tables: [r0], members: [given.device, 'm 1.img'], cwd: dir, writable: true });
    expect(refused).toEqual({ kind: 'claim', error: { kind: 'io', path: 'm 1.img', code: 'EBUSY', message: `it is open for writing by process ${holder.pid} (sleep)` } });
    expect(given.closes.count).toBe(1);
    await m0.close();
    opened(await openRun({ tables: [r0], members: ['m 0.img', 'm 1.img'], cwd: dir }));
  });

  itRoot('a member that cannot be opened (a device node of no device) is refused by name, and every device it was given is closed', async () => {
    const dir = await folder();
    await images(dir, 1);
    // Major 240 is for local, experimental use: no driver behind it here, so opening the node gives ENXIO.
    await promisify(execFile)('mknod', [join(dir, 'nodev'), 'b', '240', '0']);
    const given = counted(memoryDevice('later.img', new Uint8Array(SECTORS * SECTOR)));
    const r = await openRun({ tables: [r0], members: ['m 0.img', 'nodev', given.device], cwd: dir });
    expect(r).toEqual({ kind: 'open', path: 'nodev', error: { kind: 'io', path: 'nodev', code: 'ENXIO', message: 'No such device or address' } });
    expect(given.closes.count).toBe(1);
  });

  it('reads a member it cannot reopen by path through the device it was given (then no serving processes), and closes it with the run', async () => {
    const dir = await folder();
    const [m0] = await images(dir, 1);
    const given = counted(memoryDevice('not-a-file', new Uint8Array(m0!)));
    const run = opened(await openRun({ tables: [{ name: 'l', targets: [{ start: 0, length: SECTORS, type: 'linear', args: [memberRef('not-a-file'), '0'] }] }], members: [given.device], cwd: dir }));
    expect(await read(run, 'l', 3, 1)).toBe('m0 s3\0');
    expect(run.workerSpec(['l'])).toBeUndefined();
    await run.close();
    expect(given.closes.count).toBe(1);
  });
});

describe('claims', () => {
  it('words EBUSY as the caller says (a member, an output disk) and any other errno by its strerror text', () => {
    const busy = Object.assign(new Error('busy'), { code: 'EBUSY' });
    expect(claimError('/dev/sdb', busy).message).toBe(BLOCK_DEVICE_BUSY);
    expect(claimError('/dev/sdb', busy, DISK_IN_USE)).toEqual({ kind: 'io', path: '/dev/sdb', code: 'EBUSY', message: DISK_IN_USE });
    expect(claimError('/dev/sdb', Object.assign(new Error('x'), { code: 'ENOENT' })).message).toBe('No such file or directory');
  });

  it('holdsData: zeros are no data, a byte in the last MiB is; a path not there is its error', async () => {
    const dir = await folder();
    await fs.writeFile(join(dir, 'blank'), Buffer.alloc(3 << 20));
    const used = Buffer.alloc(3 << 20);
    used[used.length - 1000] = 7;
    await fs.writeFile(join(dir, 'used'), used);
    expect(await holdsData(join(dir, 'blank'))).toBe(false);
    expect(await holdsData(join(dir, 'used'))).toBe(true);
    expect(await holdsData(join(dir, 'gone'))).toMatchObject({ code: 'ENOENT' });
  });
});

describe('readableSets', () => {
  const dev = (type: RaidDevice['type']): RaidDevice => ({ device: { path: '/dev/x', serial: undefined, sizeSectors: 100 }, format: 'x', name: 's', type, status: 'ok', offset: 0, sectors: 100, areas: [], meta: undefined });
  const set = (name: string, type: RaidSet['type'], present: number, expected: number, sets: RaidSet[] = []): RaidSet => ({
    ...newRaidSet(name, type),
    devs: Array.from({ length: present }, () => dev(type)),
    totalDevs: present,
    foundDevs: expected,
    sets,
  });

  it('keeps what the members present give (a RAID5 short of one, a mirror with one leg) and refuses the rest by name', () => {
    const refused: string[] = [];
    const kept = readableSets(
      [set('stripe', 'raid0', 1, 2), set('r5', 'raid5_ls', 2, 3), set('r5b', 'raid5_ls', 1, 3), set('m', 'raid1', 1, 2), { ...newRaidSet('g', 'group'), sets: [set('g_Fast', 'raid0', 1, 2), set('g_Safe', 'raid1', 1, 2)] }],
      (name, why) => refused.push(`${name}: ${why}`),
    );
    expect(kept.map((s) => [s.name, s.sets.map((v) => v.name)])).toEqual([['r5', []], ['m', []], ['g', ['g_Safe']]]);
    expect(refused).toEqual([
      'stripe: 1 of its 2 members is missing, and a stripe has no redundancy',
      'r5b: 2 of its 3 members are missing; raid5_ls rebuilds one',
      'g_Fast: 1 of its 2 members is missing, and a stripe has no redundancy',
    ]);
  });
});

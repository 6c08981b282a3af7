// rebuildMember: a blank member written anew from the set's redundancy (mirror copy, RAID5 XOR, RAID6 P/Q), byte for
// byte what the member held before it was lost, resumable from a checkpoint, and refused without redundancy.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { mappedRef, memberRef, type TableTarget } from '@dmraid/core';
import { checkData, isIoError, isRebuildProblem, isRunError, openRun, RAID6_TYPES, raid6Stripe, rebuildMember, SECTOR, type Raid6Type, type Run, type RunError } from '../src/index.js';

const work = mkdtempSync(join(tmpdir(), 'dmraid-rebuild-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let n = 0;
const folder = async () => {
  const dir = join(work, String(n++));
  await fs.mkdir(dir);
  return dir;
};

const SECTORS = 1024;
const blank = (dir: string, name: string, sectors = SECTORS) => fs.writeFile(join(dir, name), Buffer.alloc(sectors * SECTOR));

const opened = (r: Run | RunError): Run => {
  if (isRunError(r)) throw new Error(JSON.stringify(r));
  onTestFinished(() => r.close());
  return r;
};

const table = (name: string, ...targets: TableTarget[]) => ({ name, targets });
const raid5 = (members: string[]) =>
  table('r5', { start: 0, length: SECTORS * (members.length - 1), type: 'raid', args: ['raid5_la', '4', '16', 'sync', 'region_size', '64', String(members.length), ...members.flatMap((m) => ['-', memberRef(m)])] });
/** A raid6 table over `members` (null: a member missing, `-`), chunk 16 sectors. */
const raid6 = (type: Raid6Type, members: (string | null)[]) =>
  table('r6', { start: 0, length: SECTORS * (members.length - 2), type: 'raid', args: [type, '1', '16', String(members.length), ...members.flatMap((m) => ['-', m === null ? '-' : memberRef(m)])] });
// The in-sync leg first, as the plan orders them; the blank leg's data 8 sectors in.
const mirror = table('m', { start: 0, length: SECTORS - 8, type: 'mirror', args: ['core', '2', '64', 'sync', '2', memberRef('a.img'), '0', memberRef('b.img'), '8', '1', 'handle_errors'] });

describe('rebuildMember', () => {
  it('copies a mirror\'s in-sync leg onto the blank one at its offset, with progress to the total', async () => {
    const dir = await folder();
    const data = randomBytes(SECTORS * SECTOR);
    await fs.writeFile(join(dir, 'a.img'), data);
    await blank(dir, 'b.img');
    const run = opened(await openRun({ tables: [mirror], members: ['a.img', 'b.img'], writable: true, cwd: dir }));
    const seen: number[] = [];
    const r = await rebuildMember(run, 'b.img', { stepSectors: 100, onProgress: (done, total) => seen.push(done, total) });
    expect(r).toEqual({ done: SECTORS - 8, total: SECTORS - 8, stopped: false, devices: ['m'] });
    expect(seen.slice(-2)).toEqual([SECTORS - 8, SECTORS - 8]);
    const b = await fs.readFile(join(dir, 'b.img'));
    expect(b.subarray(0, 8 * SECTOR).every((x) => x === 0)).toBe(true);
    expect(b.subarray(8 * SECTOR).equals(data.subarray(0, (SECTORS - 8) * SECTOR))).toBe(true);
    expect(await checkData(run.engine, ['m'])).toMatchObject({ mismatches: 0, checked: ['m'] });
  });

  it('recomputes a lost RAID5 member (data and parity) from the others: the bytes it held', async () => {
    const dir = await folder();
    const names = ['m0.img', 'm1.img', 'm2.img'];
    for (const m of names) await blank(dir, m);
    const volume = randomBytes(SECTORS * 2 * SECTOR);
    const writer = opened(await openRun({ tables: [raid5(names)], members: names, writable: true, cwd: dir }));
    expect(await writer.engine.get('r5')!.write(0, volume)).toBe(true);
    await writer.close();
    const lost = await fs.readFile(join(dir, 'm1.img'));
    expect(lost.every((x) => x === 0)).toBe(false);
    await blank(dir, 'm1.img');
    const run = opened(await openRun({ tables: [raid5(names)], members: names, writable: true, cwd: dir }));
    const r = await rebuildMember(run, 'm1.img', { stepSectors: 48 });
    expect(r).toMatchObject({ done: SECTORS, total: SECTORS, stopped: false });
    expect((await fs.readFile(join(dir, 'm1.img'))).equals(lost)).toBe(true);
    expect(await checkData(run.engine, ['r5'])).toMatchObject({ mismatches: 0 });
    const back = await run.engine.get('r5')!.read(0, SECTORS * 2);
    expect(Buffer.from(back as Uint8Array).equals(volume)).toBe(true);
  });

  // 1024 sectors per member in chunks of 16: 64 rows, more than a layout's period (20 rows over 5 disks, 12
  // over 4): the member rebuilt holds data, P and Q chunks in the rotating (DDF) layouts; in md's own
  // raid6_*_6 the last member holds every Q and the others data and P (raid6_n_6: the one before the last
  // every P, the others data), so the cases rebuild each kind.
  for (const type of Object.keys(RAID6_TYPES) as Raid6Type[]) {
    for (const [disks, k, alsoMissing] of [
      [5, 1, undefined],
      [5, 3, 0],
      [4, 3, 1],
    ] as const) {
      it(`recomputes ${type} member ${k} of ${disks}${alsoMissing === undefined ? '' : ` with member ${alsoMissing} missing too`} (its data, P and Q chunks): the bytes it held`, async () => {
        const rows = Array.from({ length: SECTORS / 16 }, (_, row) => raid6Stripe(type, disks, row));
        const kinds = !type.endsWith('_6') ? ['P', 'Q', 'D'] : k === disks - 1 ? ['Q'] : type !== 'raid6_n_6' ? ['P', 'D'] : k === disks - 2 ? ['P'] : ['D'];
        expect(new Set(rows.map((s) => (s.p === k ? 'P' : s.q === k ? 'Q' : 'D')))).toEqual(new Set(kinds));
        const dir = await folder();
        const names = Array.from({ length: disks }, (_, i) => `m${i}.img`);
        for (const m of names) await blank(dir, m);
        const volume = randomBytes(SECTORS * (disks - 2) * SECTOR);
        const writer = opened(await openRun({ tables: [raid6(type, names)], members: names, writable: true, cwd: dir }));
        expect(await writer.engine.get('r6')!.write(0, volume)).toBe(true);
        await writer.close();
        const lost = await fs.readFile(join(dir, names[k]!));
        await blank(dir, names[k]!);
        const present = names.filter((_, i) => i !== alsoMissing);
        const degraded = raid6(type, names.map((m, i) => (i === alsoMissing ? null : m)));
        const run = opened(await openRun({ tables: [degraded], members: present, writable: true, cwd: dir }));
        // Steps of 40 sectors: not whole chunks, so a step starts and ends inside rows.
        const r = await rebuildMember(run, names[k]!, { stepSectors: 40 });
        expect(r).toEqual({ done: SECTORS, total: SECTORS, stopped: false, devices: ['r6'] });
        expect((await fs.readFile(join(dir, names[k]!))).equals(lost)).toBe(true);
        const back = await run.engine.get('r6')!.read(0, SECTORS * (disks - 2));
        expect(Buffer.from(back as Uint8Array).equals(volume)).toBe(true);
      });
    }
  }

  it('says why when a raid6 member has two others missing: nothing to rebuild it from', async () => {
    const dir = await folder();
    const names = ['m0.img', 'm1.img', 'm2.img', 'm3.img', 'm4.img'];
    for (const m of names) await blank(dir, m);
    const run = opened(await openRun({ tables: [raid6('raid6_zr', ['m0.img', null, 'm2.img', null, 'm4.img'])], members: ['m0.img', 'm2.img', 'm4.img'], writable: true, cwd: dir }));
    // The engine itself refuses a raid6 with three members gone; with two, the third (ours) has no source.
    const r = await rebuildMember(run, 'm2.img');
    expect(isRebuildProblem(r) && r.problem).toBe('r6: 2 other members are missing, nothing to rebuild from');
  });

  it('stops on the signal with what it copied checkpointed, and a rerun from the checkpoint finishes the copy', async () => {
    const dir = await folder();
    const data = randomBytes(SECTORS * SECTOR);
    await fs.writeFile(join(dir, 'a.img'), data);
    await blank(dir, 'b.img');
    const run = opened(await openRun({ tables: [mirror], members: ['a.img', 'b.img'], writable: true, cwd: dir }));
    const stop = new AbortController();
    const checkpoints: number[] = [];
    const first = await rebuildMember(run, 'b.img', {
      stepSectors: 64,
      checkpointSectors: 128,
      signal: stop.signal,
      onProgress: (done) => done >= 320 && stop.abort(),
      onCheckpoint: (done) => void checkpoints.push(done),
    });
    expect(first).toMatchObject({ done: 320, stopped: true });
    expect(checkpoints).toEqual([128, 256, 320]);
    const b = await fs.readFile(join(dir, 'b.img'));
    expect(b.subarray(8 * SECTOR, (8 + 320) * SECTOR).equals(data.subarray(0, 320 * SECTOR))).toBe(true);
    expect(b.subarray((8 + 320) * SECTOR).every((x) => x === 0)).toBe(true);
    // The rerun copies only from the checkpoint on: the sectors before it are not read again.
    await fs.writeFile(join(dir, 'a.img'), Buffer.concat([Buffer.alloc(320 * SECTOR, 0xee), data.subarray(320 * SECTOR)]));
    const second = await rebuildMember(run, 'b.img', { from: checkpoints.at(-1)! });
    expect(second).toMatchObject({ done: SECTORS - 8, stopped: false });
    const after = await fs.readFile(join(dir, 'b.img'));
    expect(after.subarray(8 * SECTOR).equals(data.subarray(0, (SECTORS - 8) * SECTOR))).toBe(true);
  });

  it('rebuilds a RAID01 half\'s disk through the striped half it belongs to', async () => {
    const dir = await folder();
    const names = ['a0.img', 'a1.img', 'b0.img', 'b1.img'];
    for (const m of names) await blank(dir, m);
    const half = (name: string, d0: string, d1: string) => table(name, { start: 0, length: SECTORS * 2, type: 'striped', args: ['2', '16', memberRef(d0), '0', memberRef(d1), '0'] });
    const tables = [half('A', 'a0.img', 'a1.img'), half('B', 'b0.img', 'b1.img'), table('top', { start: 0, length: SECTORS * 2, type: 'mirror', args: ['core', '2', '64', 'sync', '2', mappedRef('A'), '0', mappedRef('B'), '0'] })];
    const volume = randomBytes(SECTORS * 2 * SECTOR);
    const writer = opened(await openRun({ tables, members: names, writable: true, cwd: dir }));
    expect(await writer.engine.get('top')!.write(0, volume)).toBe(true);
    await writer.close();
    const lost = await fs.readFile(join(dir, 'b1.img'));
    await blank(dir, 'b1.img');
    const run = opened(await openRun({ tables, members: names, writable: true, cwd: dir }));
    expect(await rebuildMember(run, 'b1.img')).toMatchObject({ stopped: false, devices: ['top'] });
    expect((await fs.readFile(join(dir, 'b1.img'))).equals(lost)).toBe(true);
  });

  it('says why when the member has no redundancy to be rebuilt from', async () => {
    const dir = await folder();
    await blank(dir, 'a.img');
    await blank(dir, 'b.img');
    const striped = table('s', { start: 0, length: SECTORS * 2, type: 'striped', args: ['2', '16', memberRef('a.img'), '0', memberRef('b.img'), '0'] });
    const run = opened(await openRun({ tables: [striped], members: ['a.img', 'b.img'], writable: true, cwd: dir }));
    const r = await rebuildMember(run, 'b.img');
    expect(isRebuildProblem(r) && r.problem).toBe('no mirror, RAID4/5 or RAID6 of the run holds b.img');
    expect(isIoError(r)).toBe(false);
  });
});

// --monitor on a fake kernel (an injected DmsetupRunner: a `dmsetup wait` that returns when the test fires an
// event) over isw images made by our -C and -S: a leg dies, the failure goes to the handler's `failed` through
// the backed-up, read-back write context, the mirror is reloaded (suspend --noflush) onto the survivor, the
// spare is put in with the handler's `rebuild` and reloaded in, and only when the kernel reports the resync
// complete `rebuilt` ends it. Also --once, --json lines, --program, the options' rows and the claim rule.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { newRaidSet, type BlockDevice, type FormatHandler, type RaidDevice, type RaidSet } from '@dmraid/core';
import { KernelActivator, type DmsetupRunner } from '@dmraid/activation';
import { hashFiles, installedHandlers, runOurs } from '@dmraid/testkit';
import { Output, type CommandContext, type Io } from '../src/context.js';
import { deviceAccess } from '../src/devices.js';
import { parseOptions } from '../src/options.js';
import type { LoadedHandler } from '@dmraid/core';
import { Monitor } from '../src/monitor/daemon.js';
import { monitorClaims } from '../src/monitor/claims.js';
import { spareFor } from '../src/monitor/model.js';
import { reporter } from '../src/monitor/report.js';
import type { MonitorSystem } from '../src/monitor/system.js';
import { tmp } from './helpers.js';
import { validateMonitorLine } from './json-schema.js';

const SECTORS = 65536;

async function blank(path: string) {
  await fs.writeFile(path, '');
  await fs.truncate(path, SECTORS * 512);
}

/** An isw RAID1 over d0, d1 and a global spare d2 (our -C and -S); the volume's name. */
async function mirrorWithSpare(dir: string): Promise<{ specs: string[]; name: string }> {
  const specs = ['d0.img:MONT0', 'd1.img:MONT1', 'd2.img:MONT2'];
  for (const s of specs) await blank(join(dir, s.split(':')[0]!));
  const created = await runOurs(specs.slice(0, 2), ['-f', 'isw', '-C', 'Mir', '--type', '1', '--disk', 'd0.img,d1.img', '--yes'], { cwd: dir });
  expect(created.status, created.stderr).toBe(0);
  const spare = await runOurs(specs, ['-f', 'isw', '-S', '-M', 'd2.img'], { cwd: dir, stdin: 'y\n' });
  expect(spare.status, spare.stderr).toBe(0);
  const name = (await runOurs(specs, ['-s', '-c'], { cwd: dir })).stdout.split('\n').find((l) => l.includes('Mir'))!.trim();
  return { specs, name };
}

/** A fake device-mapper: tables, statuses, event counters; `fire` changes a status and raises an event. */
function fakeKernel(devices: Record<string, { table: string; status: string; events?: number }>) {
  const calls: string[] = [];
  const waiters: { name: string; wake: (code: number) => void }[] = [];
  const ok = (stdout = '') => Promise.resolve({ code: 0, stdout, stderr: '' });
  const run: DmsetupRunner = (args, stdin, signal) => {
    calls.push(args.join(' ') + (stdin ? ` <<${stdin.trim()}` : ''));
    const [cmd] = args;
    const name = args.at(-1)!;
    const d = devices[name];
    if (cmd === 'info') {
      const list = args.length > 7 ? (d ? [name] : []) : Object.keys(devices);
      if (args.length > 7 && !d) return Promise.resolve({ code: 1, stdout: '', stderr: 'no such device' });
      return ok(list.map((n) => `${n}\tDMRAID-${n}\t${devices[n]!.events ?? 0}\t254\t0\t1\n`).join(''));
    }
    if (cmd === 'status' || cmd === 'table') return d ? ok(cmd === 'status' ? d.status : d.table) : Promise.resolve({ code: 1, stdout: '', stderr: 'no such device' });
    if (cmd === 'wait') {
      const [, n, ev] = args as [string, string, string];
      if ((devices[n]?.events ?? 0) !== Number(ev)) return ok();
      return new Promise((resolve) => {
        const w = { name: n, wake: (code: number) => resolve({ code, stdout: '', stderr: '' }) };
        waiters.push(w);
        signal?.addEventListener('abort', () => w.wake(130), { once: true });
      });
    }
    // The kernel names devices by number; until the next event the status says nothing.
    if (cmd === 'reload' && d) {
      d.table = stdin!.replace(/\S*\/d(\d)\.img/g, '7:$1');
      d.status = '';
    }
    return ok();
  };
  const fire = (name: string, status: string) => {
    const d = devices[name]!;
    d.status = status;
    d.events = (d.events ?? 0) + 1;
    for (const w of waiters.splice(0)) if (w.name === name) w.wake(0);
  };
  return { run, calls, fire, devices };
}

/** The images' paths as the live tables name them (`major:minor`). */
/** dmraid's lock as the fake system hands it out: each take and release logged; `held` refuses it (a text). */
const fakeLock = (log: string[] = [], held?: string) => async () => {
  if (held !== undefined) return held;
  log.push('lock');
  return { release: async () => void log.push('unlock') };
};

const system = (dir: string, kernel: KernelActivator, dead: Set<string> = new Set(), inventory = { now: 'loop0 loop1 loop2' }, lock = fakeLock()): MonitorSystem => {
  const numbers: Record<string, string> = { 'd0.img': '7:0', 'd1.img': '7:1', 'd2.img': '7:2' };
  return {
    kernel,
    numberOf: async (p) => numbers[p.replace(`${dir}/`, '')],
    dmName: async () => undefined,
    reads: async (n) => !dead.has(n),
    holders: async () => undefined,
    inventory: async () => inventory.now,
    lock,
  };
};

function context(dir: string, argv: string[], handlers: LoadedHandler[]): { ctx: CommandContext; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { stdout: (t) => void out.push(t), stderr: (t) => void err.push(t), readLine: async () => null, cwd: dir };
  const o = parseOptions(argv);
  const output = new Output(io, o, 'monitor');
  const hs = handlers.map((l) => l.handler);
  return { ctx: { o, io, out: output, handlers: hs, loaded: handlers, ...deviceAccess(o, output, dir, hs, {}) }, out, err };
}

/** isw with a `failed` that notes its calls (isw's own lands with the isw helper's branch). */
async function withFailed(calls: { set: RaidSet; device: BlockDevice }[]): Promise<LoadedHandler[]> {
  return (await installedHandlers()).map((l) =>
    l.handler.name !== 'isw' ? l : { ...l, handler: { ...l.handler, failed: async (set: RaidSet, device: BlockDevice) => (calls.push({ set, device }), true) } as FormatHandler },
  );
}

const tick = () => new Promise((r) => setTimeout(r, 20));
async function until(what: () => boolean, label: string) {
  for (let i = 0; i < 500 && !what(); i++) await tick();
  expect(what(), label).toBe(true);
}

describe('--monitor on a fake kernel', () => {
  it('a dead leg: failed() with the set as read before, the mirror reloaded onto the survivor with noflush, the spare rebuilt in, rebuilt() only once the kernel reports it in sync', async () => {
    const dir = tmp('monitor');
    const { specs, name } = await mirrorWithSpare(dir);
    const mirror = '0 65024 mirror core 2 64 nosync 2 7:0 0 7:1 0 1 handle_errors\n';
    const k = fakeKernel({ [name]: { table: mirror, status: '0 65024 mirror 2 7:0 7:1 508/508 1 AA 1 core\n' } });
    const failedCalls: { set: RaidSet; device: BlockDevice }[] = [];
    const { ctx, out, err } = context(dir, ['--monitor', '--json', ...specs.flatMap((s) => ['--devices', join(dir, s)])], await withFailed(failedCalls));
    const stop = new AbortController();
    const dead = new Set<string>();
    const report = reporter(ctx.io, { json: true, program: undefined });
    const done = new Monitor(ctx, system(dir, new KernelActivator(k.run), dead), report, { once: false, signal: stop.signal, progressEveryMs: 10, rescanMs: 60_000 }).run();
    const events = () => out.map((l) => JSON.parse(l) as { event: string; set?: string; device?: string; message: string });
    await until(() => events().some((e) => e.event === 'watching'), 'watching');
    expect(k.calls.filter((c) => c.startsWith('wait'))).toEqual([`wait ${name} 0`]);

    // The kernel: sdb (d1) failed under a write; the disk no longer reads.
    dead.add('7:1');
    await fs.truncate(join(dir, 'd1.img'), 0);
    k.fire(name, '0 65024 mirror 2 7:0 7:1 507/508 1 AD 1 core\n');
    await until(() => events().filter((e) => e.event === 'reloaded').length === 2, `spare-added, reloaded: ${out.join('')} ${err.join('')}`);
    // failed() got the set as read before the failure: d1 still among its members.
    expect(failedCalls).toHaveLength(1);
    expect(failedCalls[0]!.device.path).toBe(join(dir, 'd1.img'));
    expect(JSON.stringify(failedCalls[0]!.set)).toContain('d1.img');
    const reloads = k.calls.filter((c) => /^(reload|suspend|resume)/.test(c));
    expect(reloads[0]).toMatch(new RegExp(`^reload ${name} <<0 \\d+ linear ${dir}/d0.img 0$`));
    expect(reloads.slice(1, 3)).toEqual([`suspend --noflush ${name}`, `resume ${name}`]);
    // The spare joins behind the in-sync leg, under sync: the kernel copies d0 onto d2.
    expect(reloads[3]).toMatch(new RegExp(`^reload ${name} <<0 \\d+ mirror core 2 \\d+ sync 2 ${dir}/d0.img 0 ${dir}/d2.img 0 1 handle_errors$`));
    expect(reloads.slice(4)).toEqual([`suspend --noflush ${name}`, `resume ${name}`]);
    expect(events().map((e) => e.event)).toEqual(['watching', 'failed', 'recorded', 'reloaded', 'spare-added', 'reloaded']);
    expect(events().find((e) => e.event === 'failed')).toMatchObject({ set: name, device: join(dir, 'd1.img') });
    // The write went through perform: a backup of what the rebuild overwrote.
    expect((await fs.readdir(join(dir, 'dmraid.isw'))).some((f) => f.startsWith('backup-'))).toBe(true);

    // Resyncing: progress lines, no rebuilt yet.
    k.fire(name, '0 65024 mirror 2 7:0 7:2 100/508 1 AA 1 core\n');
    await until(() => events().some((e) => e.event === 'resync-progress'), 'progress');
    expect(events().some((e) => e.event === 'rebuilt')).toBe(false);
    expect((await runOurs([specs[0]!, specs[2]!], ['-s'], { cwd: dir })).stdout).toMatch(/status\s*:\s*(nosync|inconsistent|rebuild)/i);
    // The kernel: in sync. rebuilt() writes the final state; the set reads ok.
    k.fire(name, '0 65024 mirror 2 7:0 7:2 508/508 1 AA 1 core\n');
    await until(() => events().some((e) => e.event === 'rebuilt'), `rebuilt: ${out.join('')} ${err.join('')}`);
    expect(events().find((e) => e.event === 'rebuilt')).toMatchObject({ device: join(dir, 'd2.img') });
    const s = await runOurs([specs[0]!, specs[2]!], ['-s'], { cwd: dir });
    expect(s.stdout).toMatch(/status\s*:\s*ok/);
    stop.abort();
    expect(await done).toBe(0);
    expect(err.filter((l) => l.startsWith('ERROR'))).toEqual([]);
    // Every line (progress lines included) follows the published schema's monitorEvent, schemaVersion first.
    for (const l of out) expect(validateMonitorLine(JSON.parse(l)), `${l} ${JSON.stringify(validateMonitorLine.errors)}`).toBe(true);
    expect(out.every((l) => l.startsWith('{"schemaVersion":1,'))).toBe(true);
  });

  it('--once handles the dead leg pending, puts the spare in, and exits without waiting for the resync; plain lines and --program per event', async () => {
    const dir = tmp('monitor-once');
    const { specs, name } = await mirrorWithSpare(dir);
    await fs.truncate(join(dir, 'd1.img'), 0);
    const k = fakeKernel({ [name]: { table: '0 65024 mirror core 2 64 nosync 2 7:0 0 7:1 0 1 handle_errors\n', status: '0 65024 mirror 2 7:0 7:1 507/508 1 AD 1 core\n' } });
    const log = join(dir, 'program.log');
    const program = join(dir, 'program.sh');
    // The first event's run is the slowest: run side by side, the later events would be logged first.
    await fs.writeFile(program, `#!/bin/sh\n[ "$1" = failed ] && sleep 0.3\necho "$1|$2|$3|$DMRAID_EVENT|$DMRAID_FORMAT" >> ${log}\n[ "$1" != reloaded ]\n`, { mode: 0o755 });
    const calls: { set: RaidSet; device: BlockDevice }[] = [];
    const { ctx, out, err } = context(dir, ['--monitor', '--once', '--program', program, ...specs.flatMap((s) => ['--devices', join(dir, s)])], await withFailed(calls));
    const report = reporter(ctx.io, { json: false, program });
    const status = await new Monitor(ctx, system(dir, new KernelActivator(k.run), new Set(['7:1'])), report, { once: true, signal: new AbortController().signal }).run();
    expect(status, out.join('') + err.join('')).toBe(0);
    expect(out).toEqual([
      `failed: RAID set "${name}", ${dir}/d1.img: the kernel stopped using this member (I/O errors)\n`,
      `recorded: RAID set "${name}", ${dir}/d1.img: the failure is recorded in the metadata of the members left (backup under dmraid.isw/)\n`,
      `reloaded: RAID set "${name}": ${name}: table reloaded in place (suspend --noflush: held writes go to the new table)\n`,
      // The handler's own line (dmraid's words), then ours.
      `isw: drive to rebuild: ${dir}/d2.img\n\n`,
      `spare-added: RAID set "${name}", ${dir}/d2.img: the metadata has the spare rebuilding: the table takes it and the kernel resyncs onto it\n`,
      `reloaded: RAID set "${name}": ${name}: table reloaded in place (suspend --noflush: held writes go to the new table)\n`,
    ]);
    expect(k.calls.some((c) => c.startsWith('wait'))).toBe(false);
    // The program ran per event; its failure (exit 1 on "reloaded") is logged, not fatal.
    expect((await fs.readFile(log, 'utf8')).split('\n').filter(Boolean)).toEqual([
      `failed|${name}|${dir}/d1.img|failed|isw`,
      `recorded|${name}|${dir}/d1.img|recorded|isw`,
      `reloaded|${name}||reloaded|`,
      `spare-added|${name}|${dir}/d2.img|spare-added|isw`,
      `reloaded|${name}||reloaded|`,
    ]);
    expect(err.filter((l) => l.includes('--program'))).toHaveLength(2);
    expect(err.filter((l) => l.includes('--program')).every((l) => /^ERROR: --program .* exited with 1\n$/.test(l))).toBe(true);
  });

  it('--once with no set active says so and exits 0; a handler without failed() says the format records no member state', async () => {
    const dir = tmp('monitor-none');
    const { specs, name } = await mirrorWithSpare(dir);
    const idle = fakeKernel({});
    const a = context(dir, ['--monitor', '--once', ...specs.flatMap((s) => ['--devices', join(dir, s)])], await installedHandlers());
    expect(await new Monitor(a.ctx, system(dir, new KernelActivator(idle.run)), reporter(a.ctx.io, { json: false, program: undefined }), { once: true, signal: new AbortController().signal }).run()).toBe(0);
    expect(a.out).toEqual(['no-active-set: no RAID set is active in the kernel\n']);

    const k = fakeKernel({ [name]: { table: '0 65024 mirror core 2 64 nosync 2 7:0 0 7:1 0 1 handle_errors\n', status: '0 65024 mirror 2 7:0 7:1 507/508 1 AD 1 core\n' } });
    const handlers = (await installedHandlers()).map((l) => (l.handler.name !== 'isw' ? l : { ...l, handler: { ...l.handler, failed: undefined, rebuild: undefined } as FormatHandler }));
    const b = context(dir, ['--monitor', '--once', ...specs.flatMap((s) => ['--devices', join(dir, s)])], handlers);
    await fs.truncate(join(dir, 'd1.img'), 0);
    const status = await new Monitor(b.ctx, system(dir, new KernelActivator(k.run), new Set(['7:1'])), reporter(b.ctx.io, { json: false, program: undefined }), { once: true, signal: new AbortController().signal }).run();
    expect(b.out[1]).toBe(`not-recorded: RAID set "${name}", ${dir}/d1.img: the isw format records no member state: its metadata still lists ${dir}/d1.img as a member\n`);
    expect(b.out.at(-1)).toMatch(/^error: .*rebuild is not supported in "isw" format/);
    // Reloaded all the same: the held writes must complete.
    expect(k.calls).toContain(`suspend --noflush ${name}`);
    expect(status).toBe(1);
  });

  it('writes metadata and reloads tables only under dmraid\'s lock (the one -ay takes); a lock held elsewhere leaves disks and tables as they are', async () => {
    const dir = tmp('monitor-lock');
    const { specs, name } = await mirrorWithSpare(dir);
    await fs.truncate(join(dir, 'd1.img'), 0);
    const live = { table: '0 65024 mirror core 2 64 nosync 2 7:0 0 7:1 0 1 handle_errors\n', status: '0 65024 mirror 2 7:0 7:1 507/508 1 AD 1 core\n' };
    const argv = ['--monitor', '--once', ...specs.flatMap((x) => ['--devices', join(dir, x)])];
    const before = await hashFiles(dir, { recursive: true });
    const held = fakeKernel({ [name]: live });
    const a = context(dir, argv, await installedHandlers());
    const refused = await new Monitor(a.ctx, system(dir, new KernelActivator(held.run), new Set(['7:1']), undefined, fakeLock([], 'flock lockfile /var/lock/dmraid/.lock: held by process 4242')), reporter(a.ctx.io, { json: false, program: undefined }), { once: true, signal: new AbortController().signal }).run();
    expect(refused).toBe(1);
    expect(a.out.slice(0, 2)).toEqual([
      `failed: RAID set "${name}", ${dir}/d1.img: the kernel stopped using this member (I/O errors)\n`,
      `error: RAID set "${name}": flock lockfile /var/lock/dmraid/.lock: held by process 4242: the metadata and tables are left as they are until the next event\n`,
    ]);
    expect(held.calls.filter((c) => /^(suspend|reload|load|resume)/.test(c))).toEqual([]);
    expect(await hashFiles(dir, { recursive: true })).toBe(before);

    // Free: each write and each reload takes it and gives it back.
    const log: string[] = [];
    const k = fakeKernel({ [name]: live });
    const b = context(dir, argv, await installedHandlers());
    expect(await new Monitor(b.ctx, system(dir, new KernelActivator(k.run), new Set(['7:1']), undefined, fakeLock(log)), reporter(b.ctx.io, { json: false, program: undefined }), { once: true, signal: new AbortController().signal }).run()).toBe(0);
    // recorded, reloaded, spare-added, reloaded.
    expect(log).toEqual(['lock', 'unlock', 'lock', 'unlock', 'lock', 'unlock', 'lock', 'unlock']);
  });
});

describe('--monitor and a dm-raid set (RAID5) whose member died', () => {
  it('records the failure but never suspends the set: dm-raid without metadata devices cannot be suspended then (it would hang the monitor)', async () => {
    const dir = tmp('monitor-r5');
    const specs = ['d0.img:MONR0', 'd1.img:MONR1', 'd2.img:MONR2'];
    for (const sp of specs) await blank(join(dir, sp.split(':')[0]!));
    expect((await runOurs(specs, ['-f', 'isw', '-C', 'R5', '--type', '5', '--disk', 'd0.img,d1.img,d2.img', '--yes'], { cwd: dir })).status).toBe(0);
    const name = (await runOurs(specs, ['-s', '-c'], { cwd: dir })).stdout.trim().split('\n')[0]!;
    const k = fakeKernel({ [name]: { table: '0 129024 raid raid5_la 4 128 nosync region_size 64 3 - 7:0 - 7:1 - 7:2\n', status: '0 129024 raid raid5_la 3 ADA 64512/64512 idle 0 0 -\n' } });
    const calls: { set: RaidSet; device: BlockDevice }[] = [];
    const { ctx, out } = context(dir, ['--monitor', '--once', ...specs.flatMap((sp) => ['--devices', join(dir, sp)])], await withFailed(calls));
    const status = await new Monitor(ctx, system(dir, new KernelActivator(k.run), new Set(['7:1'])), reporter(ctx.io, { json: false, program: undefined }), { once: true, signal: new AbortController().signal }).run();
    // The dead member found from dm-raid's position (slot 1 of the live table), recorded by the handler.
    expect(calls.map((c) => c.device.path)).toEqual([join(dir, 'd1.img')]);
    expect(out.map((l) => l.split(':')[0])).toEqual(['failed', 'recorded', 'error']);
    expect(out[2]).toContain('cannot be suspended (no metadata devices)');
    expect(k.calls.filter((c) => /^(reload|suspend|resume)/.test(c))).toEqual([]);
    expect(status).toBe(1);
  });
});

describe('the monitor\'s claim on member disks', () => {
  it('takes a disk held only by the set\'s own device-mapper devices, refuses one another device holds', async () => {
    const holders: Record<string, string[]> = { '/dev/sda': ['isw_x_Vol0'], '/dev/sdb': ['isw_x_Vol0', 'other'] };
    const claims = monitorClaims('/', { holders: async (p) => holders[p] }, new Set(['isw_x_Vol0']), '/nonexistent-proc');
    expect(await claims.take(['/dev/sda'])).toBe(true);
    expect(claims.holds('/dev/sda')).toBe(true);
    expect(await claims.take(['/dev/sdb'])).toMatchObject({ code: 'EBUSY', path: '/dev/sdb', message: 'held by device-mapper device "other", which is not of this set' });
    expect(claims.holds('/dev/sdb')).toBe(false);
  });
});

describe('which spare the monitor puts in', () => {
  const rd = (path: string, type: RaidDevice['type']) => ({ device: { path }, format: 'x', type, status: 'ok', offset: 0, sectors: 100, areas: [] }) as unknown as RaidDevice;
  const set = (name: string, type: RaidSet['type'], devs: RaidDevice[], sets: RaidSet[] = []) => ({ ...newRaidSet(name, type), status: 'ok', devs, sets }) as RaidSet;
  it('a dedicated spare of the set; else a global spare set of the format (isw); else a container disk no volume uses (ddf1); never a member', () => {
    const vol = set('v', 'raid1', [rd('/d0', 'raid1'), rd('/d1', 'raid1')]);
    expect(spareFor(set('n', 'raid1', [rd('/d0', 'raid1'), rd('/d1', 'raid1'), rd('/d2', 'spare')]), [])?.path).toBe('/d2');
    const group = set('g', 'group', [rd('/d0', 'group'), rd('/d1', 'group')], [vol]);
    const isw = set('s', 'group', [rd('/d3', 'group')], [set('s_d3', 'spare', [rd('/d3', 'spare')])]);
    expect(spareFor(group, [group, isw])?.path).toBe('/d3');
    const ddf1 = set('c', 'group', [rd('/d0', 'group'), rd('/d1', 'group'), rd('/d4', 'group')], [vol]);
    expect(spareFor(ddf1, [ddf1])?.path).toBe('/d4');
    expect(spareFor(group, [group])).toBeUndefined();
    const other = set('o', 'group', [rd('/d5', 'group')], [{ ...set('o_d5', 'spare', [rd('/d5', 'spare')]), devs: [{ ...rd('/d5', 'spare'), format: 'y' } as RaidDevice] }]);
    expect(spareFor(group, [group, other])).toBeUndefined();
  });
});

describe('the options of --monitor', () => {
  it('are rows of the table: --once and --program go with --monitor only; --monitor takes -f, -d, -v, -i and --json, not another mode', () => {
    expect(parseOptions(['--monitor', '--once', '--json', '--program', '/bin/true', '-f', 'isw', '-v', 'isw_x_Vol0'])).toMatchObject({ mode: 'monitor', json: true, monitor: { once: true, program: '/bin/true' }, operands: ['isw_x_Vol0'] });
    expect(() => parseOptions(['-s', '--once'])).toThrow('--once goes with --monitor');
    expect(() => parseOptions(['-s', '--program', 'x'])).toThrow('--program goes with --monitor');
    expect(() => parseOptions(['--monitor', '-s'])).toThrow('invalid option combination');
    expect(() => parseOptions(['--monitor', '--serve'])).toThrow('invalid option combination');
    expect(() => parseOptions(['--monitor', '--tables', 't'])).toThrow(/^--tables goes with .*, not --monitor$/);
    expect(() => parseOptions(['--serve', '--once'])).toThrow('--once goes with --monitor, not --serve');
  });
});

describe('--monitor idle', () => {
  it('the rescan reads the disks again only when sysfs shows a disk or a device-mapper device came or went, or on SIGHUP', async () => {
    const dir = tmp('monitor-rescan');
    const { specs, name } = await mirrorWithSpare(dir);
    const k = fakeKernel({ [name]: { table: '0 65024 mirror core 2 64 nosync 2 7:0 0 7:1 0 1 handle_errors\n', status: '0 65024 mirror 2 7:0 7:1 508/508 1 AA 1 core\n' } });
    const { ctx, out } = context(dir, ['--monitor', '--json', ...specs.flatMap((s) => ['--devices', join(dir, s)])], await installedHandlers());
    const stop = new AbortController();
    const hup = new EventTarget();
    const inventory = { now: 'loop0 loop1 loop2' };
    const report = reporter(ctx.io, { json: true, program: undefined });
    const done = new Monitor(ctx, system(dir, new KernelActivator(k.run), new Set(), inventory), report, { once: false, signal: stop.signal, rescanMs: 10, rescan: hup }).run();
    await until(() => out.some((l) => l.includes('"watching"')), 'watching');
    const lists = () => k.calls.filter((c) => c.startsWith('info -c') && !c.endsWith(name)).length;
    const before = lists();
    // Twenty rescan periods with nothing new: no discovery.
    for (let i = 0; i < 10; i++) await tick();
    expect(lists()).toBe(before);
    // A new device-mapper device: the disks are read again, the devices listed.
    inventory.now += ' dm-0 DMRAID-other';
    await until(() => lists() > before, 'a rescan after the inventory changed');
    const after = lists();
    for (let i = 0; i < 10; i++) await tick();
    expect(lists()).toBe(after);
    // SIGHUP: read again although nothing changed.
    hup.dispatchEvent(new Event('rescan'));
    await until(() => lists() > after, 'a rescan on SIGHUP');
    stop.abort();
    expect(await done).toBe(0);
  });
});


/**
 * What the monitor reads from and does to the kernel: status lines (captured in a real kernel, dm-vm's
 * Debian 6.1), the event wait re-armed with the counter read before the status, and the in-place reload
 * (load, suspend --noflush, resume) of the devices whose live table maps other devices than the plan's.
 */
import { describe, expect, it } from 'vitest';
import { newRaidSet, type RaidDevice, type RaidSet, type RaidType } from '@dmraid/core';
import { health, KernelActivator, parseStatus, planActivation, reloadChanged, tableLines, watchDevice, type DmsetupRunner, type Snapshot } from '../src/index.js';

// Captured in dm-vm: a 2-leg mirror (handle_errors) before and after `echo offline > .../sdb/device/state`
// under a write, a dm-raid raid5_la before and after its second member went offline, a stripe, a raid1.
const CAPTURED = {
  mirror: '0 65536 mirror 2 8:0 8:16 512/512 1 AA 1 core\n',
  mirrorLegDead: '0 65536 mirror 2 8:0 8:16 511/512 1 AD 1 core\n',
  raid5: '0 131072 raid raid5_la 3 AAA 65536/65536 idle 0 0 -\n',
  raid5MemberDead: '0 131072 raid raid5_la 3 ADA 65536/65536 idle 0 0 -\n',
  striped: '0 65536 striped 2 8:80 8:96 1 AA\n',
  raid1: '0 65536 raid raid1 2 AA 65536/65536 idle 0 0 -\n',
  linear: '0 65536 linear \n',
  mirrorTable: '0 65536 mirror core 2 128 nosync 2 8:0 0 8:16 0 1 handle_errors\n',
};

describe('status lines of the kernel', () => {
  it('reads a mirror\'s legs by device number and health, and its regions in sync', () => {
    const [t] = parseStatus(CAPTURED.mirrorLegDead);
    expect(t).toMatchObject({ type: 'mirror', inSync: 511, total: 512, members: [{ device: '8:0', health: 'A' }, { device: '8:16', health: 'D' }] });
    expect(health([t!])).toMatchObject({ dead: [{ device: '8:16', index: 1 }], syncing: false, complete: false });
    expect(health(parseStatus(CAPTURED.mirror))).toMatchObject({ dead: [], syncing: false, complete: true });
  });
  it('reads dm-raid\'s members by position, its ratio and action', () => {
    const [t] = parseStatus(CAPTURED.raid5MemberDead);
    expect(t).toMatchObject({ type: 'raid', action: 'idle', inSync: 65536, total: 65536 });
    expect(t!.members.map((m) => m.health).join('')).toBe('ADA');
    expect(health([t!]).dead).toEqual([{ device: undefined, index: 1, health: 'D' }]);
    expect(health(parseStatus(CAPTURED.raid5))).toMatchObject({ dead: [], complete: true, syncing: false });
    expect(health(parseStatus(CAPTURED.raid1)).complete).toBe(true);
  });
  it('sees a recovery running (a member alive but not in sync, action recover) and no health in a linear', () => {
    const h = health(parseStatus('0 131072 raid raid5_la 3 AaA 1024/65536 recover 0 0 -\n'));
    expect(h).toMatchObject({ dead: [], syncing: true, complete: false, inSync: 1024, total: 65536 });
    expect(health(parseStatus('0 65536 mirror 2 8:0 8:32 100/512 1 AA 1 core\n'))).toMatchObject({ syncing: true, complete: false });
    expect(parseStatus(CAPTURED.striped)[0]!.members.map((m) => `${m.device}${m.health}`)).toEqual(['8:80A', '8:96A']);
    expect(parseStatus(CAPTURED.linear)).toEqual([{ start: 0, length: 65536, type: 'linear', args: [], members: [] }]);
  });
});

/** A fake device-mapper: tables, statuses and event counters per device; `fire` raises an event. */
function fakeKernel(devices: Record<string, { table: string; status: string; events?: number; number?: string }>) {
  const calls: { args: string[]; stdin?: string }[] = [];
  const waiters: { name: string; events: number; wake: (code: number) => void }[] = [];
  const ok = (stdout = '') => Promise.resolve({ code: 0, stdout, stderr: '' });
  const run: DmsetupRunner = (args, stdin, signal) => {
    calls.push({ args: [...args], ...(stdin !== undefined ? { stdin } : {}) });
    const [cmd] = args;
    const name = args.at(-1)!;
    const d = devices[name];
    if (cmd === 'info') {
      if (!d) return Promise.resolve({ code: 1, stdout: '', stderr: `Device ${name} does not exist.` });
      return ok(`${name}\tDMRAID-${name}\t${d.events ?? 0}\t${(d.number ?? '254:0').replace(':', '\t')}\t0\n`);
    }
    if (cmd === 'status' || cmd === 'table') return d ? ok(cmd === 'status' ? d.status : d.table) : Promise.resolve({ code: 1, stdout: '', stderr: 'no such device' });
    if (cmd === 'wait') {
      const [, n, ev] = args as [string, string, string];
      if ((devices[n]?.events ?? 0) !== Number(ev)) return ok();
      return new Promise((resolve) => {
        const w = { name: n, events: Number(ev), wake: (code: number) => resolve({ code, stdout: '', stderr: '' }) };
        waiters.push(w);
        signal?.addEventListener('abort', () => w.wake(130), { once: true });
      });
    }
    if (cmd === 'reload' && d) d.table = stdin!;
    if (cmd === 'create') devices[args[1]!] = { table: stdin!, status: '' };
    if (cmd === 'remove') delete devices[name];
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

describe('watching a device for events', () => {
  it('reads the counter before the status, waits on that counter, and is woken by the kernel\'s event', async () => {
    const k = fakeKernel({ mir: { table: CAPTURED.mirrorTable, status: CAPTURED.mirror } });
    const seen: Snapshot[] = [];
    const stop = new AbortController();
    let woke!: () => void;
    const second = new Promise<void>((r) => (woke = r));
    const done = watchDevice(new KernelActivator(k.run), 'mir', async (s) => {
      seen.push(s);
      if (seen.length === 2) woke();
    }, { signal: stop.signal });
    await new Promise((r) => setTimeout(r, 10));
    expect(seen.map((s) => s.reason)).toEqual(['start']);
    // Armed with the counter read before the first status.
    expect(k.calls.map((c) => c.args[0])).toEqual(['info', 'status', 'wait']);
    expect(k.calls[2]!.args).toEqual(['wait', 'mir', '0']);
    k.fire('mir', CAPTURED.mirrorLegDead);
    await second;
    expect(seen[1]).toMatchObject({ reason: 'event', events: 1, health: { dead: [{ device: '8:16' }] } });
    stop.abort();
    expect(await done).toBe('stopped');
  });
  it('an event that lands between the counter and the status is not lost: the next wait returns at once', async () => {
    const k = fakeKernel({ mir: { table: CAPTURED.mirrorTable, status: CAPTURED.mirror } });
    const seen: Snapshot[] = [];
    const stop = new AbortController();
    const kernel = new KernelActivator(async (args, stdin, signal) => {
      const r = await k.run(args, stdin, signal);
      // The leg fails right after the counter was read, before the status.
      if (args[0] === 'info' && seen.length === 0) k.fire('mir', CAPTURED.mirrorLegDead);
      return r;
    });
    await watchDevice(kernel, 'mir', async (s) => {
      seen.push(s);
      if (seen.length === 2) stop.abort();
    }, { signal: stop.signal });
    expect(seen.map((s) => [s.events, s.reason])).toEqual([[0, 'start'], [1, 'event']]);
  });
  it('polls for progress while a resync runs, and ends "gone" when the device goes away', async () => {
    const k = fakeKernel({ r5: { table: '', status: '0 131072 raid raid5_la 3 AaA 1024/65536 recover 0 0 -\n' } });
    const seen: Snapshot[] = [];
    const r = await watchDevice(new KernelActivator(k.run), 'r5', async (s) => {
      seen.push(s);
      if (seen.length === 2) delete k.devices.r5;
    }, { progressEveryMs: 5 });
    expect(r).toBe('gone');
    expect(seen.map((s) => s.reason)).toEqual(['start', 'poll']);
  });
});

const dev = (path: string, sectors: number, type: RaidType, extra: Partial<RaidDevice> = {}): RaidDevice =>
  ({ device: { path, serial: undefined, sizeSectors: sectors }, format: 'x', name: 's', type, status: 'ok', offset: 0, sectors, areas: [], meta: undefined, ...extra }) as RaidDevice;
const set = (name: string, type: RaidType, devs: RaidDevice[], extra: Partial<RaidSet> = {}): RaidSet =>
  ({ ...newRaidSet(name, type), status: 'ok', stride: 128, devs, totalDevs: devs.length, foundDevs: devs.length, ...extra });
const numbers: Record<string, string> = { '/dev/sda': '8:0', '/dev/sdb': '8:16', '/dev/sdc': '8:32', '/dev/sdd': '8:48' };
const number = async (p: string) => numbers[p];

describe('reloading a live set to a new plan', () => {
  it('a mirror with a leg gone becomes linear on the survivor: reload, suspend --noflush, resume, in that order', async () => {
    const k = fakeKernel({ mir: { table: CAPTURED.mirrorTable, status: CAPTURED.mirrorLegDead } });
    const { plan } = planActivation([set('mir', 'raid1', [dev('/dev/sda', 65536, 'raid1')], { status: 'inconsistent', foundDevs: 2 })]);
    const steps = await reloadChanged(new KernelActivator(k.run), plan.devices, [], number);
    expect(steps).toEqual([{ name: 'mir', action: 'reloaded' }]);
    expect(k.calls.filter((c) => c.args[0] !== 'table').map((c) => c.args.join(' '))).toEqual(['reload mir', 'suspend --noflush mir', 'resume mir']);
    expect(k.calls.find((c) => c.args[0] === 'reload')!.stdin).toBe('0 65536 linear /dev/sda 0\n');
  });
  it('leaves a device alone whose live table maps the same devices (the kernel\'s own wording aside)', async () => {
    const k = fakeKernel({ mir: { table: CAPTURED.mirrorTable, status: CAPTURED.mirror } });
    const { plan } = planActivation([set('mir', 'raid1', [dev('/dev/sda', 65536, 'raid1'), dev('/dev/sdb', 65536, 'raid1')])]);
    expect(tableLines(plan)[0]).toContain('mirror core 2 64 nosync');
    expect(await reloadChanged(new KernelActivator(k.run), plan.devices, [], number)).toEqual([]);
    expect(k.calls.map((c) => c.args[0])).toEqual(['table']);
  });
  it('a failed reload leaves the old table live, says why, and stops; a failed suspend clears the loaded table', async () => {
    const k = fakeKernel({ mir: { table: CAPTURED.mirrorTable, status: CAPTURED.mirrorLegDead } });
    const { plan } = planActivation([set('mir', 'raid1', [dev('/dev/sda', 65536, 'raid1')], { status: 'inconsistent', foundDevs: 2 })]);
    const failing = (verb: string): DmsetupRunner => (args, stdin, signal) => (args[0] === verb ? Promise.resolve({ code: 1, stdout: '', stderr: `device-mapper: ${verb} ioctl on mir failed: Invalid argument\n` }) : k.run(args, stdin, signal));
    expect(await reloadChanged(new KernelActivator(failing('reload')), plan.devices, [], number)).toEqual([{ name: 'mir', action: 'reloaded', error: 'reloading "mir": device-mapper: reload ioctl on mir failed: Invalid argument' }]);
    k.calls.length = 0;
    const steps = await reloadChanged(new KernelActivator(failing('suspend')), plan.devices, [], number);
    expect(steps[0]!.error).toMatch(/^suspending "mir"/);
    expect(k.calls.map((c) => c.args.join(' '))).toContain('clear mir');
  });
  it('creates a device the plan adds before the set above it, and removes a helper the plan dropped after', async () => {
    const k = fakeKernel({
      r5: { table: '0 131072 raid raid5_la 4 128 nosync region_size 128 3 - 254:1 - 254:2 - 254:3\n', status: '' },
      'r5-d0': { table: '0 65536 linear 8:0 2048\n', status: '', number: '254:1' },
      'r5-d1': { table: '0 65536 linear 8:16 2048\n', status: '', number: '254:2' },
      'r5-d2': { table: '0 65536 linear 8:32 2048\n', status: '', number: '254:3' },
    });
    // sdb failed; the plan maps sdd (a spare, rebuilt) in its place under a helper named for the slot.
    const members = [dev('/dev/sda', 65536, 'raid5_la', { offset: 2048 }), dev('/dev/sdd', 65536, 'raid5_la', { offset: 2048, outOfSync: 'rebuilding' }), dev('/dev/sdc', 65536, 'raid5_la', { offset: 2048 })];
    delete k.devices['r5-d1'];
    const { plan } = planActivation([set('r5', 'raid5_la', members)]);
    expect(tableLines(plan).at(-1)).toBe('r5: 0 131072 raid raid5_la 5 128 rebuild 1 region_size 128 3 - /dev/mapper/r5-d0 - /dev/mapper/r5-d1 - /dev/mapper/r5-d2');
    const nums = { ...numbers, '/dev/mapper/r5-d0': '254:1', '/dev/mapper/r5-d1': '254:4', '/dev/mapper/r5-d2': '254:3' } as Record<string, string>;
    const steps = await reloadChanged(new KernelActivator(k.run), plan.devices, ['r5-d0', 'r5-d1', 'r5-d2', 'r5-old'], async (p) => nums[p]);
    expect(steps).toEqual([{ name: 'r5-d1', action: 'created' }, { name: 'r5', action: 'reloaded' }]);
  });
});

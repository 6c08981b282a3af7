import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testDir } from '@dmraid/testkit';
import { newRaidSet, type RaidDevice, type RaidSet, type RaidType } from '@dmraid/core';
import { acquireLock, KernelActivator, planActivation, readPartitions, partitionDevices, tableLines, type DmsetupRunner } from '../src/index.js';

const dev = (path: string, sectors: number, offset = 0, type: RaidType = 'raid0', status: RaidDevice['status'] = 'ok'): RaidDevice =>
  ({ device: { path, serial: undefined, sizeSectors: sectors + offset }, format: 'x', name: 's', type, status, offset, sectors, areas: [], meta: undefined }) as RaidDevice;
const set = (name: string, type: RaidType, devs: RaidDevice[], stride = 128, extra: Partial<RaidSet> = {}): RaidSet =>
  ({ ...newRaidSet(name, type), status: 'ok', stride, devs, totalDevs: devs.length, foundDevs: devs.length, ...extra });

describe('tables as dmraid prints them under -t', () => {
  it('stripes over members at their data offsets, rounded to the stride', () => {
    const { plan } = planActivation([set('s0', 'raid0', [dev('/dev/sda', 1000, 10), dev('/dev/sdb', 1100)])]);
    expect(tableLines(plan)).toEqual(['s0: 0 1792 striped 2 128 /dev/sda 10 /dev/sdb 0']);
  });
  it('mirrors with a region from the length, and stacks subsets before the superset', () => {
    const a = set('m-0', 'raid0', [dev('/dev/sda', 65536), dev('/dev/sdb', 65536)]);
    const b = set('m-1', 'raid0', [dev('/dev/sdc', 65536), dev('/dev/sdd', 65536)]);
    const { plan } = planActivation([{ ...set('m', 'raid1', []), sets: [a, b] }]);
    expect(tableLines(plan)).toEqual([
      'm-0: 0 131072 striped 2 128 /dev/sda 0 /dev/sdb 0',
      'm-1: 0 131072 striped 2 128 /dev/sdc 0 /dev/sdd 0',
      'm: 0 131072 mirror core 2 64 nosync 2 /dev/mapper/m-0 0 /dev/mapper/m-1 0 1 handle_errors',
    ]);
    expect(plan.devices.map((d) => [d.name, d.role, d.dependsOn])).toEqual([['m-0', 'subset', []], ['m-1', 'subset', []], ['m', 'set', ['m-0', 'm-1']]]);
  });
  it('keeps a raid5 region at least the chunk and puts linear devices under members with an offset', () => {
    const { plan, problems } = planActivation([set('r5', 'raid5_la', [dev('/dev/sda', 65536, 2048), dev('/dev/sdb', 65536, 2048), dev('/dev/sdc', 65536, 2048)])]);
    expect(problems).toEqual([]);
    expect(tableLines(plan)).toEqual([
      'r5-d0: 0 65536 linear /dev/sda 2048',
      'r5-d1: 0 65536 linear /dev/sdb 2048',
      'r5-d2: 0 65536 linear /dev/sdc 2048',
      'r5: 0 131072 raid raid5_la 4 128 nosync region_size 128 3 - /dev/mapper/r5-d0 - /dev/mapper/r5-d1 - /dev/mapper/r5-d2',
    ]);
  });
  it('plans targets as data, members by path; the text escapes what a table line splits at (as the kernel reads it), and a newline is refused', () => {
    const { plan, problems } = planActivation([set('s0', 'raid0', [dev('/img/sp ace.img', 1024), dev('/img/a,b\\c:d.img', 1024, 8)])]);
    expect(problems).toEqual([]);
    expect(plan.devices[0]!.targets).toEqual([
      { start: 0, length: 2048, type: 'striped', args: ['2', '128', { kind: 'member', path: '/img/sp ace.img' }, '0', { kind: 'member', path: '/img/a,b\\c:d.img' }, '8'] },
    ]);
    expect(tableLines(plan)).toEqual(['s0: 0 2048 striped 2 128 /img/sp\\ ace.img 0 /img/a,b\\\\c:d.img 8']);
    const lined = planActivation([set('s1', 'raid0', [dev('/img/new\nline.img', 1024), dev('/dev/sdb', 1024)])]);
    expect(lined.plan.devices).toEqual([]);
    expect(lined.problems.map((p) => p.text)).toEqual(['cannot write the table of RAID set "s1": "/img/new\\nline.img" holds a newline, which a table line cannot', 'no mapping possible for RAID set s1']);
  });
  it('never makes a rebuild\'s target (outOfSync) a mirror\'s first leg: the in-sync leg first, under sync; a stacked half likewise; a lone target is not mapped', () => {
    const behind = { ...dev('/dev/sda', 65536, 0, 'raid1'), outOfSync: 'slot 0 is marked for rebuild' };
    const mirror = set('m', 'raid1', [behind, dev('/dev/sdb', 65536, 0, 'raid1')]);
    expect(tableLines(planActivation([mirror]).plan)).toEqual(['m: 0 65536 mirror core 2 64 sync 2 /dev/sdb 0 /dev/sda 0 1 handle_errors']);
    // The reference's order, where asked for.
    expect(tableLines(planActivation([mirror], { reference: true }).plan)).toEqual(['m: 0 65536 mirror core 2 64 nosync 2 /dev/sda 0 /dev/sdb 0 1 handle_errors']);
    const a = set('r-0', 'raid0', [{ ...dev('/dev/sda', 65536), outOfSync: 'rebuilding' }, dev('/dev/sdb', 65536)]);
    const b = set('r-1', 'raid0', [dev('/dev/sdc', 65536), dev('/dev/sdd', 65536)]);
    expect(tableLines(planActivation([{ ...set('r', 'raid1', []), sets: [a, b] }]).plan).at(-1)).toBe('r: 0 131072 mirror core 2 64 sync 2 /dev/mapper/r-1 0 /dev/mapper/r-0 0 1 handle_errors');
    const lone = set('l', 'raid1', [behind], 128, { status: 'inconsistent', foundDevs: 2 });
    const { plan, problems } = planActivation([lone]);
    expect(plan.devices).toEqual([]);
    expect(problems.map((p) => p.text)).toEqual([
      'creating degraded mirror mapping for "l"',
      'the only mirror leg of RAID set "l" is being rebuilt (/dev/sda: slot 0 is marked for rebuild)',
      'no mapping possible for RAID set l',
    ]);
  });

  it('maps a degraded raid5 with `- -` where the member positions are known', () => {
    const devs = [dev('/dev/sda', 65536), dev('/dev/sdc', 65536)];
    const { plan } = planActivation([set('r5', 'raid5_ls', devs, 128, { status: 'inconsistent', foundDevs: 3 })], { memberIndex: (rd) => (rd.device.path === '/dev/sda' ? 0 : 2) });
    expect(tableLines(plan)).toEqual(['r5: 0 131072 raid raid5_ls 4 128 sync region_size 128 3 - /dev/sda - - - /dev/sdc']);
  });
  it('maps a raid6 as dm-raid\'s raid6 layout the set names, with two chunks of every stripe for parity', () => {
    const devs = ['/dev/sda', '/dev/sdb', '/dev/sdc', '/dev/sdd', '/dev/sde'].map((p) => dev(p, 65536 + 100));
    const { plan, problems } = planActivation([set('r6', 'raid6', devs, 64, { raid6Layout: 'raid6_zr' })]);
    expect(problems).toEqual([]);
    expect(tableLines(plan)).toEqual(['r6: 0 196800 raid raid6_zr 3 64 region_size 64 5 - /dev/sda - /dev/sdb - /dev/sdc - /dev/sdd - /dev/sde']);
  });
  it('maps a raid6 short of one or two members with `- -` in their places, and refuses one short of three', () => {
    const all = ['/dev/sda', '/dev/sdb', '/dev/sdc', '/dev/sdd', '/dev/sde'];
    const index = (rd: RaidDevice) => all.indexOf(rd.device.path);
    const r6 = (paths: string[]) => set('r6', 'raid6', paths.map((p) => dev(p, 65536)), 64, { raid6Layout: 'raid6_nc', status: 'inconsistent', foundDevs: 5 });
    expect(tableLines(planActivation([r6(['/dev/sda', '/dev/sdc', '/dev/sdd', '/dev/sde'])], { memberIndex: index }).plan)).toEqual([
      'r6: 0 196608 raid raid6_nc 4 64 sync region_size 64 5 - /dev/sda - - - /dev/sdc - /dev/sdd - /dev/sde',
    ]);
    expect(tableLines(planActivation([r6(['/dev/sda', '/dev/sdc', '/dev/sde'])], { memberIndex: index }).plan)).toEqual([
      'r6: 0 196608 raid raid6_nc 4 64 sync region_size 64 5 - /dev/sda - - - /dev/sdc - - - /dev/sde',
    ]);
    const three = planActivation([r6(['/dev/sda', '/dev/sde'])], { memberIndex: index });
    expect(three.plan.devices).toEqual([]);
    expect(three.problems.map((p) => p.text)).toEqual([
      'RAID set "r6" misses 3 of its 5 members, more than its 2 parity chunks can stand in for',
      'no mapping possible for RAID set r6',
    ]);
  });
  it('refuses a raid6 whose metadata names no layout (its bytes would be guessed), and every raid6 as the reference', () => {
    const devs = ['/dev/sda', '/dev/sdb', '/dev/sdc', '/dev/sdd'].map((p) => dev(p, 65536));
    const unsupported = ['Unsupported RAID type raid6[4096] on r6', 'no mapping possible for RAID set r6'];
    expect(planActivation([set('r6', 'raid6', devs, 64)]).problems.map((p) => p.text)).toEqual(unsupported);
    expect(planActivation([set('r6', 'raid6', devs, 64, { raid6Layout: 'raid6_nr' })], { reference: true }).problems.map((p) => p.text)).toEqual(unsupported);
  });
  it('refuses a set its format calls unsupported in the format\'s words (level and qualifier), and as the reference in its words', () => {
    const devs = ['/dev/sda', '/dev/sdb', '/dev/sdc', '/dev/sdd'].map((p) => ({ ...dev(p, 65536), format: 'ddf1' }));
    const why = 'RAID1E with offset copies (RLQ 1) is not supported';
    const oe = set('ddf1_OE', 'undef', devs, 128, { unsupported: why });
    const { plan, problems } = planActivation([oe]);
    expect(plan.devices).toEqual([]);
    expect(problems.map((p) => p.text)).toEqual([`ddf1: set ddf1_OE: ${why}`, 'no mapping possible for RAID set ddf1_OE']);
    expect(planActivation([oe], { reference: true }).problems.map((p) => p.text)).toEqual(['Undefined RAID type unknown[1] on ddf1_OE', 'no mapping possible for RAID set ddf1_OE']);
    // Before a raid6 without a layout is refused by its type.
    const r6 = set('ddf1_Q0', 'raid6', devs, 64, { unsupported: 'RAID6 with qualifier RLQ 0 is not supported' });
    expect(planActivation([r6]).problems.map((p) => p.text)[0]).toBe('ddf1: set ddf1_Q0: RAID6 with qualifier RLQ 0 is not supported');
  });
  it('maps a RAID10 with a broken half as its healthy half alone, and plans no device for the broken one', () => {
    const a = set('m-0', 'raid0', [dev('/dev/sda', 65536), dev('/dev/sdb', 65536)]);
    const b = set('m-1', 'raid0', [dev('/dev/sdc', 65536, 0, 'raid0', 'broken')], 128, { status: 'broken', foundDevs: 2 });
    const mirror = { ...set('m', 'raid1', []), sets: [a, b] };
    const { plan, problems } = planActivation([mirror]);
    expect(tableLines(plan)).toEqual(['m-0: 0 131072 striped 2 128 /dev/sda 0 /dev/sdb 0', 'm: 0 131072 linear /dev/mapper/m-0 0']);
    expect(plan.devices.map((d) => [d.name, d.dependsOn])).toEqual([['m-0', []], ['m', ['m-0']]]);
    expect(problems.map((p) => p.text)).toEqual(['creating degraded mirror mapping for "m"']);
    // The reference: every half one after the other (the broken one as /dev/zero, the kernel refuses it),
    // at 1.5 times the volume's size, and a trailing empty line.
    expect(tableLines(planActivation([mirror], { reference: true }).plan)).toEqual([
      'm-0: 0 131072 striped 2 128 /dev/sda 0 /dev/sdb 0',
      'm-1: 0 65536 linear /dev/zero 0',
      'm: 0 131072 linear /dev/mapper/m-0 0',
      'm: 131072 65536 linear /dev/zero 0',
      'm: ',
    ]);
  });
  it('maps a mirror with one valid leg as that leg at its offset, not followed by the broken leg', () => {
    const m = set('m', 'raid1', [dev('/dev/sda', 1000, 0, 'raid1', 'broken'), dev('/dev/sdb', 1000, 8, 'raid1')]);
    expect(tableLines(planActivation([m]).plan)).toEqual(['m: 0 1000 linear /dev/sdb 8']);
    expect(tableLines(planActivation([m], { reference: true }).plan)).toEqual(['m: 0 1000 linear /dev/zero 0', 'm: 1000 1000 linear /dev/sdb 8']);
  });
  it('reports a spare set as dmraid does', () => {
    const { problems, plan } = planActivation([set('sp', 'spare', [dev('/dev/sda', 100, 0, 'spare')])]);
    expect(problems.map((p) => p.text)).toEqual(['spare set "sp" cannot be activated', 'no mapping possible for RAID set sp']);
    expect(plan.devices).toEqual([]);
  });
});

describe('partitions', () => {
  const disk = (size: number) => new Uint8Array(size * 512);
  const entry = (b: Uint8Array, sector: number, slot: number, type: number, start: number, len: number) => {
    const at = sector * 512 + 446 + 16 * slot;
    b[at + 4] = type;
    new DataView(b.buffer).setUint32(at + 8, start, true);
    new DataView(b.buffer).setUint32(at + 12, len, true);
    b[sector * 512 + 510] = 0x55;
    b[sector * 512 + 511] = 0xaa;
  };
  const reader = (b: Uint8Array) => async (s: number, n: number) => b.slice(s * 512, (s + n) * 512);
  it('reads MBR primaries and the logical chain, named after dmraid', async () => {
    const b = disk(4096);
    entry(b, 0, 0, 0x83, 2048, 1000);
    entry(b, 0, 1, 0x05, 3072, 1024);
    entry(b, 3072, 0, 0x83, 63, 500);
    const parts = await readPartitions(reader(b), 4096);
    expect(parts).toEqual([{ number: 1, start: 2048, sectors: 1000 }, { number: 5, start: 3135, sectors: 500 }]);
    expect(partitionDevices('isw_x_Volume0', parts).map((d) => `${d.name}: ${d.table}`)).toEqual([
      'isw_x_Volume0p1: 0 1000 linear /dev/mapper/isw_x_Volume0 2048',
      'isw_x_Volume0p5: 0 500 linear /dev/mapper/isw_x_Volume0 3135',
    ]);
    expect(partitionDevices('pdc_abc', parts, 'X')[0]!.name).toBe('pdc_abc1');
  });
  it('reads GPT entries behind a protective MBR', async () => {
    const b = disk(4096);
    entry(b, 0, 0, 0xee, 1, 4095);
    b.set(new TextEncoder().encode('EFI PART'), 512);
    const v = new DataView(b.buffer);
    v.setUint32(512 + 72, 2, true);
    v.setUint32(512 + 80, 4, true);
    v.setUint32(512 + 84, 128, true);
    b[1024 + 128] = 1; // type GUID of entry 2
    v.setUint32(1024 + 128 + 32, 2048, true);
    v.setUint32(1024 + 128 + 40, 4000, true);
    expect(await readPartitions(reader(b), 4096)).toEqual([{ number: 2, start: 2048, sectors: 1953 }]);
  });
});

/** A fake device-mapper: dmsetup's create/remove/ls/info over a map, with injectable failures. */
function fakeDm(options: { failCreate?: string; open?: Record<string, number> } = {}) {
  const devices = new Map<string, string>();
  const calls: string[] = [];
  const run: DmsetupRunner = async (args, stdin) => {
    calls.push(args.join(' '));
    const [cmd, ...rest] = args;
    if (cmd === 'ls') return { code: 0, stdout: devices.size ? [...devices.keys()].map((n) => `${n}\t(254:0)\n`).join('') : 'No devices found\n', stderr: '' };
    if (cmd === 'info') {
      const name = rest[rest.length - 1]!;
      return devices.has(name) ? { code: 0, stdout: `${options.open?.[name] ?? 0}\n`, stderr: '' } : { code: 1, stdout: '', stderr: `Device ${name} not found\n` };
    }
    if (cmd === 'create') {
      const name = rest[0]!;
      if (devices.has(name)) return { code: 1, stdout: '', stderr: `device-mapper: create ioctl on ${name} failed: Device or resource busy\n` };
      if (name === options.failCreate) return { code: 1, stdout: '', stderr: `device-mapper: reload ioctl on ${name} failed: Invalid argument\n` };
      devices.set(name, stdin ?? '');
      return { code: 0, stdout: '', stderr: '' };
    }
    if (cmd === 'remove') return devices.delete(rest[0]!) ? { code: 0, stdout: '', stderr: '' } : { code: 1, stdout: '', stderr: 'not found\n' };
    return { code: 1, stdout: '', stderr: 'unknown\n' };
  };
  return { devices, calls, run };
}

describe('kernel activation through dmsetup', () => {
  const stacked = () => {
    const a = set('m-0', 'raid0', [dev('/dev/sda', 65536), dev('/dev/sdb', 65536)]);
    const b = set('m-1', 'raid0', [dev('/dev/sdc', 65536), dev('/dev/sdd', 65536)]);
    return [{ ...set('m', 'raid1', []), sets: [a, b] }];
  };
  it('creates lower devices first with the table on stdin and dmraid uuids', async () => {
    const dm = fakeDm();
    const r = await new KernelActivator(dm.run).activate(planActivation(stacked()).plan);
    expect(r.ok).toBe(true);
    expect(dm.calls.filter((c) => c.startsWith('create'))).toEqual(['create m-0 -u DMRAID-m-0', 'create m-1 -u DMRAID-m-1', 'create m -u DMRAID-m']);
    expect(dm.devices.get('m')).toBe('0 131072 mirror core 2 64 nosync 2 /dev/mapper/m-0 0 /dev/mapper/m-1 0 1 handle_errors\n');
    expect(r.reports.map((x) => x.text)).toEqual(['RAID set "m-0" was activated', 'RAID set "m-1" was activated', 'RAID set "m" was activated']);
  });
  it('removes what it created when a step fails half-way', async () => {
    const dm = fakeDm({ failCreate: 'm' });
    dm.devices.set('other', '0 8 zero\n');
    const r = await new KernelActivator(dm.run).activate(planActivation(stacked()).plan);
    expect(r.ok).toBe(false);
    expect([...dm.devices.keys()]).toEqual(['other']);
    expect(r.reports.map((x) => x.text)).toContain('RAID set "m" was not activated');
  });
  it('fails on a name in use and leaves the existing device alone', async () => {
    const dm = fakeDm();
    dm.devices.set('m-1', 'theirs');
    const r = await new KernelActivator(dm.run).activate(planActivation(stacked()).plan);
    expect(r.ok).toBe(false);
    expect([...dm.devices]).toEqual([['m-1', 'theirs']]);
  });
  it('leaves already active sets as they are', async () => {
    const dm = fakeDm();
    dm.devices.set('m', 'x');
    const { plan, alreadyActive } = planActivation(stacked(), { active: (n) => dm.devices.has(n) });
    expect(alreadyActive).toEqual(['m']);
    expect(plan.devices).toEqual([]);
  });
  it('refuses to remove a device in use', async () => {
    const dm = fakeDm({ open: { m: 1 } });
    await new KernelActivator(dm.run).activate(planActivation(stacked()).plan);
    const r = await new KernelActivator(dm.run).deactivate(['m', 'm-0', 'm-1']);
    expect(r.ok).toBe(false);
    expect(r.reports[0]!.text).toBe('RAID set "m" is in use (open count 1): not deactivated');
    expect(dm.devices.size).toBe(3);
  });
});

describe('locking', () => {
  it('lets one run at a time hold the lock', async () => {
    const file = join(testDir('lock'), 'd', '.lock');
    const first = await acquireLock(file);
    expect(typeof first).not.toBe('string');
    expect(await acquireLock(file, 200)).toMatch(/^flock lockfile .*held by process/);
    await (first as { release(): Promise<void> }).release();
    const again = await acquireLock(file, 200);
    expect(typeof again).not.toBe('string');
  });
});

import { describe, expect, it } from 'vitest';
import {
  buildSets,
  bufferLog,
  byName,
  defineFormat,
  discoverRaidDevices,
  FormatDefinitionError,
  ioError,
  memoryDevice,
  newRaidSet,
  parseVpdSerial,
  placeMember,
  validateFormat,
  type BlockDevice,
  type FormatHandler,
  type RaidDevice,
} from '../src/index.js';

/** A toy format: byte 0 of sector 1 is 0xAB, byte 1 the set id, byte 2 the member index, byte 3 the count. */
function toy(name: string, marker = 0xab): FormatHandler {
  return defineFormat({
    apiVersion: 1,
    name,
    description: `toy ${name}`,
    levels: '0',
    async read(device, ctx) {
      const b = await ctx.read(device, 512, 4);
      if (!b || b[0] !== marker) return [];
      return [{ device, format: name, name: `${name}_${b[1]}`, type: 'raid0', status: 'ok', offset: 0, sectors: device.sizeSectors - 2, areas: [], meta: { index: b[2], count: b[3] } }];
    },
    group: (rd, ctx) => placeMember(ctx, rd, { stride: 8, before: (a, b) => (a.meta as any).index < (b.meta as any).index }),
    check: (set, ctx) => ctx.checkRaidSet(set, { devices: (rd) => (rd.meta as any).count }),
    log: (rd) => [`${rd.device.path} (${name}):`],
  });
}

function disk(path: string, id: number, index: number, count: number, marker = 0xab) {
  const bytes = new Uint8Array(64 * 512);
  bytes.set([marker, id, index, count], 512);
  return memoryDevice(path, bytes);
}

describe('discovery', () => {
  it('groups members in handler order and keeps device order for -r', async () => {
    const { log, lines } = bufferLog();
    const devices = [disk('/dev/b', 1, 1, 2), disk('/dev/a', 1, 0, 2)];
    const rds = await discoverRaidDevices({ handlers: [toy('toy')], devices, log });
    expect(rds.map((r) => r.device.path)).toEqual(['/dev/b', '/dev/a']);
    const sets = buildSets(rds, { handlers: [toy('toy')], log });
    expect(sets.map((s) => [s.name, s.status, s.devs.map((d) => d.device.path)])).toEqual([['toy_1', 'ok', ['/dev/a', '/dev/b']]]);
    expect(lines.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('a member the handler calls stale is set aside: not counted, listed in set.stale, warned about once', async () => {
    // Byte 4 of the toy's sector 1 is a generation: lower than another member's is stale.
    const base = toy('toy');
    const gen = (rd: { meta: unknown }) => (rd.meta as { gen: number }).gen;
    const staleToy = defineFormat({
      ...base,
      async read(device, ctx) {
        const rds = await base.read(device, ctx);
        const b = await ctx.read(device, 512, 5);
        for (const rd of rds) {
          (rd.meta as { gen: number }).gen = b![4]!;
          // A mirror: one member short, the set stays (inconsistent) to be looked at.
          rd.type = 'raid1';
        }
        return rds;
      },
      stale(rds) {
        const newest = Math.max(...rds.map(gen));
        return rds.filter((rd) => gen(rd) < newest).map((rd) => ({ rd, reason: `generation ${gen(rd)} < ${newest}` }));
      },
    });
    const devices = [disk('/dev/a', 1, 0, 2), disk('/dev/b', 1, 1, 2)];
    const at = async (d: BlockDevice, g: number) => {
      const data = await d.read(0, d.sizeSectors * 512);
      (data as Uint8Array)[516] = g;
      return memoryDevice(d.path, data as Uint8Array);
    };
    const { log, lines } = bufferLog();
    const rds = await discoverRaidDevices({ handlers: [staleToy], devices: [await at(devices[0]!, 3), await at(devices[1]!, 7)], log });
    const sets = buildSets(rds, { handlers: [staleToy], log });
    expect(sets.map((s) => [s.name, s.status, s.devs.map((d) => d.device.path), s.stale?.map((d) => d.device.path)])).toEqual([['toy_1', 'inconsistent', ['/dev/b'], ['/dev/a']]]);
    expect(rds[0]).toMatchObject({ stale: 'generation 3 < 7', status: 'broken' });
    buildSets(rds, { handlers: [staleToy], log });
    expect(lines.filter((l) => l.level === 'warning')).toEqual([{ level: 'warning', text: 'toy: /dev/a is stale, not used: generation 3 < 7' }]);
    expect(lines).toContainEqual({ level: 'error', text: 'toy: wrong # of devices in RAID set "toy_1" [1/2] on /dev/b' });
  });

  it('a device that cannot be read is reported by the handler that tried, and the others go on', async () => {
    const broken: BlockDevice = { ...disk('/dev/bad', 1, 0, 1), read: async () => ioError('/dev/bad', 'EIO') };
    const { log, lines } = bufferLog();
    const rds = await discoverRaidDevices({ handlers: [toy('toy')], devices: [broken, disk('/dev/ok', 2, 0, 1)], log });
    expect(rds.map((r) => r.device.path)).toEqual(['/dev/ok']);
    expect(lines).toContainEqual({ level: 'error', text: 'toy: reading /dev/bad[Input/output error]' });
  });

  it('a handler that throws costs one error line, not the run', async () => {
    const thrower = { ...toy('boom'), read: async () => { throw new Error('bug'); } } as FormatHandler;
    const { log, lines } = bufferLog();
    const rds = await discoverRaidDevices({ handlers: [thrower, toy('toy')], devices: [disk('/dev/a', 1, 0, 1)], log });
    expect(rds).toHaveLength(1);
    expect(lines).toContainEqual({ level: 'error', text: 'boom: reading /dev/a failed: bug' });
  });

  it('a device of another logical sector size reaches only the handlers that take it', async () => {
    const bytes = new Uint8Array(64 * 4096);
    bytes.set([0xab, 7, 0, 1], 512);
    const device = memoryDevice('/dev/4kn', bytes, undefined, 4096);
    const reads: string[] = [];
    const spy = (h: FormatHandler, sectorSizes?: number[]) =>
      ({ ...h, sectorSizes, read: async (d: BlockDevice, c: any) => (reads.push(h.name), h.read(d, c)) }) as FormatHandler;
    const rds = await discoverRaidDevices({ handlers: [spy(toy('old')), spy(toy('new'), [512, 4096])], devices: [device], log: bufferLog().log });
    expect(reads).toEqual(['new']);
    expect(rds.map((r) => r.format)).toEqual(['new']);
    expect(() => validateFormat({ ...toy('bad'), sectorSizes: [100] })).toThrow(FormatDefinitionError);
  });

  it('reads a drive serial from a VPD page 0x80 as sysfs gives it (no udev in a VM or an initramfs)', () => {
    const page = (serial: string, code = 0x80) => Uint8Array.from([0, code, 0, serial.length, ...Buffer.from(serial, 'latin1')]);
    expect(parseVpdSerial(page('  WD-WCAV12345 '))).toBe('WD-WCAV12345');
    expect(parseVpdSerial(page('DMVM0001'))).toBe('DMVM0001');
    expect(parseVpdSerial(page('X', 0x83))).toBeUndefined();
    expect(parseVpdSerial(page(''))).toBeUndefined();
    expect(parseVpdSerial(Uint8Array.from([0, 0x80]))).toBeUndefined();
  });

  it('two formats on one disk: the first wins and the second is named', async () => {
    const { log, lines } = bufferLog();
    const rds = await discoverRaidDevices({ handlers: [toy('aaa'), toy('bbb')], devices: [disk('/dev/a', 1, 0, 1)], log });
    expect(rds.map((r) => r.format)).toEqual(['aaa']);
    expect(lines).toContainEqual({ level: 'print', text: '/dev/a: "bbb" and "aaa" formats discovered (using aaa)!' });
  });

  it('a stripe missing a member is removed; devices under 8 sectors are never probed', async () => {
    const { log, lines } = bufferLog();
    const tiny = memoryDevice('/dev/tiny', new Uint8Array(7 * 512));
    const rds = await discoverRaidDevices({ handlers: [toy('toy')], devices: [tiny, disk('/dev/a', 1, 0, 2)], log });
    const sets = buildSets(rds, { handlers: [toy('toy')], log });
    expect(sets).toEqual([]);
    expect(lines.filter((l) => l.level === 'error').map((l) => l.text)).toEqual([
      'toy: wrong # of devices in RAID set "toy_1" [1/2] on /dev/a',
      'removing inconsistent RAID set "toy_1"',
    ]);
  });

  it('with keepFailed a set failing its check is kept, checked and said so, not removed', async () => {
    const { log, lines } = bufferLog();
    const rds = await discoverRaidDevices({ handlers: [toy('toy')], devices: [disk('/dev/a', 1, 0, 2)], log });
    const sets = buildSets(rds, { handlers: [toy('toy')], log, keepFailed: true });
    expect(sets.map((s) => [s.name, s.status, s.totalDevs, s.foundDevs])).toEqual([['toy_1', 'broken', 1, 2]]);
    expect(lines.filter((l) => l.level === 'error' || l.level === 'info').map((l) => l.text)).toEqual([
      'toy: wrong # of devices in RAID set "toy_1" [1/2] on /dev/a',
      'keeping inconsistent RAID set "toy_1"',
    ]);
  });

  it('a container disk is grouped with the volumes it carries: its group is kept until they are in it, one "added" line', async () => {
    // Byte 0 of sector 1 is 0xCD; every disk carries two volumes (RaidDevice.volumeOf), the sets box_0/box_1.
    const container = defineFormat({
      apiVersion: 1,
      name: 'box',
      description: 'container toy',
      levels: '0',
      async read(device, ctx) {
        const b = await ctx.read(device, 512, 4);
        if (!b || b[0] !== 0xcd) return [];
        const base = { device, format: 'box', status: 'ok' as const, offset: 0, sectors: 8, areas: [], meta: {} };
        const own: RaidDevice = { ...base, name: 'box', type: 'group' };
        return [own, ...[0, 1].map((v): RaidDevice => ({ ...base, name: `box_${v}`, type: 'raid0', volumeOf: own }))];
      },
      group(rd, ctx) {
        let group = ctx.findSet('box', false);
        if (!rd.volumeOf) {
          group ??= ctx.addTopLevelSorted(newRaidSet('box', 'group'));
          ctx.addDevice(group, rd);
          return group;
        }
        if (!group) return undefined;
        const set = ctx.findOrCreateSet(rd.name, rd);
        ctx.linkSubset(group, set, byName);
        ctx.addDevice(set, rd);
        return group;
      },
      check: (set) => set.type === 'group',
      log: () => [],
    });
    const { log, lines } = bufferLog();
    const rds = await discoverRaidDevices({ handlers: [container], devices: [disk('/dev/a', 0, 0, 0, 0xcd), disk('/dev/b', 0, 0, 0, 0xcd)], log });
    const sets = buildSets(rds, { handlers: [container], log });
    expect(sets.map((s) => [s.name, s.devs.map((d) => d.device.path), s.sets.map((v) => [v.name, v.devs.length])])).toEqual([
      ['box', ['/dev/b', '/dev/a'], [['box_0', 2], ['box_1', 2]]],
    ]);
    expect(lines.filter((l) => l.level === 'error')).toEqual([]);
    // As dmraid's group_set after one call for the container: one "added" line per disk, then the unwanted.
    const named = bufferLog();
    const one = buildSets(rds, { handlers: [container], log: named.log, name: 'box_1' });
    expect(one.map((s) => [s.name, s.sets.map((v) => v.name)])).toEqual([['box', ['box_1']]]);
    expect(named.lines.filter((l) => l.level === 'notice').map((l) => l.text)).toEqual([
      'added /dev/a to RAID set "box"',
      'dropping unwanted RAID set "box_0"',
      'added /dev/b to RAID set "box"',
      'dropping unwanted RAID set "box_0"',
    ]);
  });

  it('reads 1,000 devices with bounded concurrency and in order', async () => {
    const devices = Array.from({ length: 1000 }, (_, i) => disk(`/dev/d${i}`, i % 200, Math.floor(i / 200), 5));
    const { log } = bufferLog();
    const rds = await discoverRaidDevices({ handlers: [toy('toy')], devices, log, concurrency: 16 });
    expect(rds.map((r) => r.device.path)).toEqual(devices.map((d) => d.path));
    expect(buildSets(rds, { handlers: [toy('toy')], log }).every((s) => s.status === 'ok' && s.devs.length === 5)).toBe(true);
  });

  it('defineFormat rejects a broken handler with a reason', () => {
    expect(() => validateFormat({ apiVersion: 2, name: 'x' })).toThrow(FormatDefinitionError);
    expect(() => validateFormat({ apiVersion: 1, name: 'x', description: 'd', levels: '', read() {}, group() {}, check() {} })).toThrow(/missing metadata format handler log method/);
    expect(() => validateFormat({ apiVersion: 1, name: 'Bad Name', description: 'd', levels: '' })).toThrow(/name must be/);
  });
});

import { describe, expect, it } from 'vitest';
import {
  buildSets,
  bufferLog,
  defineFormat,
  discover,
  memoryDevice,
  placeMember,
  type FormatHandler,
} from '../src/index.js';

/**
 * A toy format whose metadata is sector `sector`: byte 0 its marker 0xAB, byte 1 the set id, byte 2 the member
 * index, byte 3 the member count, bytes 4-7 (LE) seconds since the epoch of its last write, 0 for none.
 */
function toy(name: string, sector: number, timed = false): FormatHandler {
  return defineFormat({
    apiVersion: 1,
    name,
    description: `toy ${name}`,
    levels: '1',
    async read(device, ctx) {
      const b = await ctx.read(device, sector * 512, 8);
      if (!b || b[0] !== 0xab) return [];
      const seconds = new DataView(b.buffer, b.byteOffset, 8).getUint32(4, true);
      return [{ device, format: name, name: `${name}_${b[1]}`, type: 'raid1', status: 'ok', offset: 0, sectors: 16, areas: [], meta: { index: b[2], count: b[3], seconds } }];
    },
    group: (rd, ctx) => placeMember(ctx, rd, { stride: 0, before: (a, b) => (a.meta as any).index < (b.meta as any).index }),
    check: (set, ctx) => ctx.checkRaidSet(set, { devices: (rd) => (rd.meta as any).count }),
    log: (rd) => [`${rd.device.path} (${name}):`],
    ...(timed ? { writtenAt: (rd) => ((rd.meta as any).seconds ? new Date((rd.meta as any).seconds * 1000) : undefined) } : {}),
  });
}

/** Members: [sector, set id, index, count, seconds]. */
function disk(path: string, ...members: [number, number, number, number, number?][]) {
  const bytes = new Uint8Array(64 * 512);
  for (const [sector, id, index, count, seconds = 0] of members) {
    bytes.set([0xab, id, index, count], sector * 512);
    new DataView(bytes.buffer).setUint32(sector * 512 + 4, seconds, true);
  }
  return memoryDevice(path, bytes);
}

const AAA = 10;
const BBB = 20;
const CCC = 30;

async function run(handlers: FormatHandler[], devices: ReturnType<typeof disk>[], formats?: string[]) {
  const { log, lines } = bufferLog();
  const found = await discover({ handlers, devices, log, formats });
  const sets = buildSets(found.raidDevices, { handlers, log: bufferLog().log });
  const said = lines.filter((l) => l.level === 'print').map((l) => l.text);
  const losers = found.superseded.map((rd) => [rd.device.path, rd.format, rd.supersededBy?.format, rd.supersededBy?.reason]);
  return { ...found, sets, said, losers };
}

describe('conflicting signatures', () => {
  it('a disk moved into a new set: the format whose set is whole wins though registered later', async () => {
    // /dev/a was half of an aaa mirror whose other half is gone; it is now a bbb mirror with /dev/c.
    const r = await run([toy('aaa', AAA), toy('bbb', BBB)], [disk('/dev/a', [AAA, 1, 0, 2], [BBB, 2, 0, 2]), disk('/dev/c', [BBB, 2, 1, 2])]);
    expect(r.said).toEqual(['/dev/a: "aaa" and "bbb" formats discovered (using bbb)!']);
    expect(r.raidDevices.map((rd) => [rd.device.path, rd.format])).toEqual([['/dev/a', 'bbb'], ['/dev/c', 'bbb']]);
    expect(r.losers).toEqual([['/dev/a', 'aaa', 'bbb', 'its set "aaa_1" (1 of 2 members) is not whole, the bbb set "bbb_2" (2 of 2 members) is']]);
    expect(r.sets.map((s) => [s.name, s.status, s.devs.map((d) => d.device.path)])).toEqual([['bbb_2', 'ok', ['/dev/a', '/dev/c']]]);
  });

  it('a device argument (-r DISK) is decided on the same evidence, the other disks read silently', async () => {
    const { log, lines } = bufferLog();
    const handlers = [toy('aaa', AAA), toy('bbb', BBB)];
    const devices = [disk('/dev/a', [AAA, 1, 0, 2], [BBB, 2, 0, 2]), disk('/dev/c', [BBB, 2, 1, 2])];
    const found = await discover({ handlers, devices, log, paths: ['/dev/a'] });
    expect(found.raidDevices.map((rd) => [rd.device.path, rd.format])).toEqual([['/dev/a', 'bbb']]);
    expect(found.superseded.map((rd) => [rd.device.path, rd.format])).toEqual([['/dev/a', 'aaa']]);
    expect(lines.filter((l) => l.text.includes('/dev/c'))).toEqual([]);
  });

  it('the same evidence keeps the first format when its set is the whole one: dmraid\'s line', async () => {
    const r = await run([toy('aaa', AAA), toy('bbb', BBB)], [disk('/dev/a', [AAA, 1, 0, 2], [BBB, 2, 0, 2]), disk('/dev/b', [AAA, 1, 1, 2])]);
    expect(r.said).toEqual(['/dev/a: "bbb" and "aaa" formats discovered (using aaa)!']);
    expect(r.losers).toEqual([['/dev/a', 'bbb', 'aaa', 'its set "bbb_2" (1 of 2 members) is not whole, the aaa set "aaa_1" (2 of 2 members) is']]);
    expect(r.sets.map((s) => [s.name, s.status])).toEqual([['aaa_1', 'ok']]);
  });

  it('both sets whole: the newer metadata wins where both formats record a time', async () => {
    const devices = () => [disk('/dev/a', [AAA, 1, 0, 2, 1_000_000], [BBB, 2, 0, 2, 2_000_000]), disk('/dev/b', [AAA, 1, 1, 2, 1_000_000], [BBB, 2, 1, 2, 2_000_000])];
    const r = await run([toy('aaa', AAA, true), toy('bbb', BBB, true)], devices());
    expect(r.said).toEqual(['/dev/a: "aaa" and "bbb" formats discovered (using bbb)!', '/dev/b: "aaa" and "bbb" formats discovered (using bbb)!']);
    expect(r.losers[0]).toEqual(['/dev/a', 'aaa', 'bbb', 'its metadata was written 1970-01-12T13:46:40Z, the bbb metadata 1970-01-24T03:33:20Z']);
    // Times within a day and two hours decide nothing (a BIOS clock keeps local time in no stated zone).
    const close = await run([toy('aaa', AAA, true), toy('bbb', BBB, true)], [disk('/dev/a', [AAA, 1, 0, 1, 1_000_000], [BBB, 2, 0, 1, 1_000_000 + 26 * 3600])]);
    expect(close.said).toEqual(['/dev/a: "bbb" and "aaa" formats discovered (using aaa)!']);
    const apart = await run([toy('aaa', AAA, true), toy('bbb', BBB, true)], [disk('/dev/a', [AAA, 1, 0, 1, 1_000_000], [BBB, 2, 0, 1, 1_000_001 + 26 * 3600])]);
    expect(apart.said).toEqual(['/dev/a: "aaa" and "bbb" formats discovered (using bbb)!']);
    // One format without a time: no time evidence, dmraid's order.
    const untimed = await run([toy('aaa', AAA, true), toy('bbb', BBB)], devices());
    expect(untimed.said).toEqual(['/dev/a: "bbb" and "aaa" formats discovered (using aaa)!', '/dev/b: "bbb" and "aaa" formats discovered (using aaa)!']);
    expect(untimed.losers[0]![3]).toBe("nothing tells which metadata is newer: dmraid's format order decides");
  });

  it('three formats: each loser is named once with the winner', async () => {
    const r = await run(
      [toy('aaa', AAA), toy('bbb', BBB), toy('ccc', CCC)],
      [disk('/dev/a', [AAA, 1, 0, 2], [BBB, 2, 0, 2], [CCC, 3, 0, 2]), disk('/dev/c', [BBB, 2, 1, 2])],
    );
    expect(r.said).toEqual(['/dev/a: "aaa" and "bbb" formats discovered (using bbb)!', '/dev/a: "ccc" and "bbb" formats discovered (using bbb)!']);
    expect(r.losers.map((l) => l[1])).toEqual(['aaa', 'ccc']);
  });

  it('-f still forces a format: no conflict, nothing superseded', async () => {
    const r = await run([toy('aaa', AAA), toy('bbb', BBB)], [disk('/dev/a', [AAA, 1, 0, 2], [BBB, 2, 0, 2]), disk('/dev/c', [BBB, 2, 1, 2])], ['aaa']);
    expect(r.said).toEqual([]);
    expect(r.superseded).toEqual([]);
    expect(r.raidDevices.map((rd) => [rd.device.path, rd.format])).toEqual([['/dev/a', 'aaa']]);
  });

  it('a writtenAt that throws is no evidence', async () => {
    const broken = defineFormat({ ...toy('bbb', BBB), writtenAt: () => { throw new Error('bad'); } });
    const r = await run([toy('aaa', AAA, true), broken], [disk('/dev/a', [AAA, 1, 0, 1, 5], [BBB, 2, 0, 1, 9])]);
    expect(r.said).toEqual(['/dev/a: "bbb" and "aaa" formats discovered (using aaa)!']);
  });
});

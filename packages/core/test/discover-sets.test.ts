// discoverSets, the library's one call: devices as paths or open devices in, named and checked sets out; the
// paths it opens are closed again whatever happens, the devices it is given are left to the caller.
import { mkdtempSync, promises as fs, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bufferLog, defineFormat, discoverSets, isIoError, openDevice, placeMember, type BlockDevice, type FormatHandler } from '../src/index.js';

/** A toy format: byte 0 of sector 1 is 0xAB, byte 1 the set id, byte 2 the member index, byte 3 the count. */
const toy: FormatHandler = defineFormat({
  apiVersion: 1,
  name: 'toy',
  description: 'toy',
  levels: '0',
  async read(device, ctx) {
    const b = await ctx.read(device, 512, 4);
    if (!b || b[0] !== 0xab) return [];
    return [{ device, format: 'toy', name: `toy_${b[1]}`, type: 'raid0', status: 'ok', offset: 0, sectors: device.sizeSectors - 2, areas: [], meta: { index: b[2], count: b[3] } }];
  },
  group: (rd, ctx) => placeMember(ctx, rd, { stride: 8, before: (a, b) => (a.meta as { index: number }).index < (b.meta as { index: number }).index }),
  check: (set, ctx) => ctx.checkRaidSet(set, { devices: (rd) => (rd.meta as { count: number }).count }),
  log: (rd) => [`${rd.device.path} (toy):`],
});

const dir = mkdtempSync(join(tmpdir(), 'discover-sets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function image(name: string, id: number, index: number, count: number): Promise<string> {
  const bytes = new Uint8Array(64 * 512);
  bytes.set([0xab, id, index, count], 512);
  const path = join(dir, name);
  await fs.writeFile(path, bytes);
  return path;
}

/** How many descriptors this process holds on the files in `dir`: what "closed afterwards" means. */
const openInDir = () =>
  readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir);
    } catch {
      return false;
    }
  }).length;

describe('discoverSets', () => {
  it('given paths: opens them read-only, groups, checks and names the set, and closes every one', async () => {
    const paths = [await image('b.img', 7, 1, 2), await image('a.img', 7, 0, 2), await image('plain.img', 0, 0, 0)];
    await fs.writeFile(paths[2]!, new Uint8Array(64 * 512));
    const found = await discoverSets({ devices: paths, handlers: [toy] });
    if (isIoError(found)) throw new Error(found.message);
    expect(found.sets.map((s) => [s.name, s.type, s.status, s.devs.map((d) => d.device.path)])).toEqual([['toy_7', 'raid0', 'ok', [paths[1], paths[0]]]]);
    expect(found.disks.map((rd) => rd.device.path)).toEqual([paths[0], paths[1]]);
    expect(found.superseded).toEqual([]);
    expect(openInDir()).toBe(0);
  });

  it('relative paths start from cwd; a set short of a member is dropped unless keepFailed, with dmraid\'s lines in log', async () => {
    await image('c.img', 9, 0, 3);
    await image('d.img', 9, 1, 3);
    const { log, lines } = bufferLog();
    const dropped = await discoverSets({ devices: ['c.img', 'd.img'], handlers: [toy], cwd: dir, log });
    if (isIoError(dropped)) throw new Error(dropped.message);
    expect(dropped.sets).toEqual([]);
    expect(lines.filter((l) => l.level === 'error').map((l) => l.text)).toContain('removing inconsistent RAID set "toy_9"');
    const kept = await discoverSets({ devices: ['c.img', 'd.img'], handlers: [toy], cwd: dir, keepFailed: true });
    if (isIoError(kept)) throw new Error(kept.message);
    expect(kept.sets.map((s) => [s.name, s.devs.length])).toEqual([['toy_9', 2]]);
    expect(openInDir()).toBe(0);
  });

  it('a path that cannot be opened is the IoError naming it, and the paths opened before it are closed', async () => {
    const good = await image('e.img', 3, 0, 1);
    const found = await discoverSets({ devices: [good, join(dir, 'missing.img')], handlers: [toy] });
    expect(isIoError(found) && [found.path, found.code]).toEqual([join(dir, 'missing.img'), 'ENOENT']);
    expect(openInDir()).toBe(0);
  });

  it('given open devices: reads them and leaves them open for the caller (the engine reads them next)', async () => {
    const devices: BlockDevice[] = [];
    for (const p of [await image('f.img', 5, 0, 2), await image('g.img', 5, 1, 2)]) {
      const d = await openDevice(p);
      if (isIoError(d)) throw new Error(d.message);
      devices.push(d);
    }
    try {
      // No path to open: the type has no IoError to test for.
      const found = await discoverSets({ devices, handlers: [toy] });
      expect(found.sets.map((s) => s.name)).toEqual(['toy_5']);
      expect(openInDir()).toBe(2);
      expect(isIoError(await devices[0]!.read(512, 4))).toBe(false);
    } finally {
      await Promise.all(devices.map((d) => d.close()));
    }
    expect(openInDir()).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  buildSets,
  bufferLog,
  readContext,
  sparseDevice,
  totalSectors,
  type BlockDevice,
  type RaidDevice,
  type WritableDevice,
  type WriteContext,
} from '@dmraid/core';
import isw, {
  buildGroupMpb,
  createMpb,
  decodeMpb,
  encodeMpb,
  iswDevLayout,
  iswDiskLayout,
  iswHeaderLayout,
  iswMapLayout,
  mpbArea,
  mpbChecksum,
  partsOf,
  removeVolume,
  startRebuild,
  finishRebuild,
  createSet,
  rescaleMpb,
  serialToIsw,
  toDiskOrder,
  toMemoryOrder,
  ISW_T_MIGR_TYPE_REBUILDING,
  ISW_T_STATE_DEGRADED,
  ISW_T_STATE_NORMAL,
  FAILED_DISK,
  IMSM_ORD_REBUILD,
  type GroupSpec,
} from '../src/index.js';

const DISK = 1 << 20;

async function disk(path: string, mpb: Uint8Array | undefined, serial: string | undefined, sizeSectors = DISK, unit = 512) {
  const dev = sparseDevice(path, sizeSectors, serial);
  if (mpb) {
    const a = mpbArea(mpb, sizeSectors, unit);
    await dev.write(a.offsetBytes, a.data);
  }
  return unit === 512 ? dev : Object.assign(Object.create(dev), { sectorSize: unit, read: dev.read, write: dev.write });
}

async function readAll(devs: BlockDevice[], options?: Map<string, string>) {
  const { log, lines } = bufferLog();
  const rds: RaidDevice[] = [];
  for (const d of devs) rds.push(...(await isw.read(d, readContext('isw', log, options))));
  return { rds, lines: lines.map((l) => `${l.level}: ${l.text}`), log };
}

async function sets(devs: BlockDevice[], options?: Map<string, string>) {
  const { rds, lines, log } = await readAll(devs, options);
  const all = bufferLog();
  const top = buildSets(rds, { handlers: [isw], log: all.log });
  return { top, rds, lines: [...lines, ...all.lines.map((l) => `${l.level}: ${l.text}`)] };
}

const spec = (n: number, extra: Partial<GroupSpec> = {}): GroupSpec => ({
  family: 123456789,
  disks: Array.from({ length: n }, (_, i) => ({ serial: `NEWDISK${i}`, sizeSectors: DISK })),
  volumes: [{ name: 'Vol0', level: '0' }],
  ...extra,
});

function writeCtx(devices: Map<string, WritableDevice>): WriteContext & { lines: string[] } {
  const lines: string[] = [];
  return {
    format: 'isw',
    lines,
    log: (level, text) => lines.push(`${level}: ${text}`),
    error: (text) => lines.push(`error: isw: ${text}`),
    openWritable: async (path) => devices.get(path),
  };
}

describe('isw layout', () => {
  it('places the structures as isw.h does', () => {
    expect(iswHeaderLayout.size).toBe(0xd8);
    expect(iswHeaderLayout.offsetOf('bbm_log_size')).toBe(0x48);
    expect(iswDiskLayout.size).toBe(48);
    expect(iswDevLayout.offsetOf('vol')).toBe(0x50);
    expect(iswMapLayout.offsetOf('filler')).toBe(0x14);
  });

  it('decodes and encodes any bytes of each fixed structure back to the same bytes', () => {
    for (const layout of [iswHeaderLayout, iswDiskLayout, iswDevLayout, iswMapLayout] as const) {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: layout.size, maxLength: layout.size }), (b) => {
          expect((layout as typeof iswMapLayout).encodeToBytes((layout as typeof iswMapLayout).decodeFrom(b))).toEqual(b);
        }),
        { numRuns: 200 },
      );
    }
  });

  it('re-encodes every MPB it builds from its parts byte for byte, volumes and maps at their offsets', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 6 }), fc.boolean(), fc.boolean(), fc.integer({ min: 0, max: 2 ** 32 - 1 }), (n, two, migrating, family) => {
        const level = n >= 3 ? '5' : '1';
        const mpb = buildGroupMpb(spec(n, { family, volumes: [{ name: 'A', level: '0', perMember: 65536 }, ...(two ? [{ name: 'B', level, strip: 128, migrating: migrating ? { type: 1 } : undefined } as const] : [])] }));
        const d = decodeMpb(mpb);
        expect(d.header.mpb_size).toBe(mpb.length);
        expect(d.volumes[0]!.offset).toBe(0xd8 + 48 * n);
        if (two) expect(d.volumes[1]!.offset).toBe(0xd8 + 48 * n + 0xa4 + 4 * (n - 1));
        expect(encodeMpb(partsOf(d))).toEqual(mpb);
        expect(d.header.check_sum).toBe(mpbChecksum(mpb));
      }),
      { numRuns: 100 },
    );
  });

  it('keeps the header block last on disk and first in memory', () => {
    const mem = Uint8Array.from({ length: 1536 }, (_, i) => i >> 9);
    const onDisk = toDiskOrder(mem, 512);
    expect([onDisk[0], onDisk[512], onDisk[1024]]).toEqual([1, 2, 0]);
    expect(toMemoryOrder(onDisk, 512)).toEqual(mem);
  });

  it('maps serials as dmraid does: no whitespace, ":" → ";", the last 16 characters', () => {
    expect(serialToIsw(' WD-WMAZA 1234:5 ')).toBe('WD-WMAZA1234;5');
    expect(serialToIsw('ABCDEFGHIJKLMNOPQRSTUV')).toBe('GHIJKLMNOPQRSTUV');
  });
});

describe('isw reading', () => {
  it('reports a wrong checksum with dmraid\'s two lines', async () => {
    const mpb = buildGroupMpb(spec(2));
    mpb[0x20] = mpb[0x20]! ^ 1;
    const { rds, lines } = await readAll([await disk('/dev/sda', mpb, 'NEWDISK0')]);
    expect(rds).toEqual([]);
    expect(lines).toEqual(['error: isw: extended superblock for /dev/sda has wrong checksum', 'error: isw: setting up RAID device /dev/sda']);
  });

  it('says "Could not find disk" for a serial not in the table, and nothing without a signature', async () => {
    const { lines } = await readAll([await disk('/dev/sda', buildGroupMpb(spec(2)), 'OTHER'), await disk('/dev/sdb', undefined, 'NEWDISK1')]);
    expect(lines).toEqual(['error: isw: Could not find disk /dev/sda in the metadata']);
  });

  it('with match=position matches disks without serials by table order and size, and says so', async () => {
    const mpb = buildGroupMpb(spec(2, { volumes: [{ name: 'Mirror', level: '1', strip: 128 }] }));
    const devs = [await disk('/dev/sda', mpb, undefined), await disk('/dev/sdb', mpb, 'WRONG')];
    const { top, lines } = await sets(devs, new Map([['match', 'position']]));
    expect(lines.filter((l) => !l.startsWith('notice: added'))).toEqual([
      'warning: isw: /dev/sda (no serial) is not in the disk table of isw_bcdefghij: matched by position and size (--isw-match=position)',
      'warning: isw: /dev/sdb (serial "WRONG") is not in the disk table of isw_bcdefghij: matched by position and size (--isw-match=position)',
      'notice: isw: /dev/sda takes the place of disk[0] "NEWDISK0"',
      'notice: isw: /dev/sdb takes the place of disk[1] "NEWDISK1"',
    ]);
    const vol = top[0]!.sets[0]!;
    expect(vol.name).toBe('isw_bcdefghij_Mirror');
    expect(vol.status).toBe('ok');
    expect(top[0]!.devs.map((d) => (d.meta as { diskIndex: number }).diskIndex)).toEqual([0, 1]);
  });

  it('finds the MPB through the $GAFR pointer and at N-2115', async () => {
    const mpb = buildGroupMpb(spec(1, { volumes: [] }));
    const hpa = sparseDevice('/dev/sda', DISK, 'NEWDISK0');
    const a = mpbArea(mpb, DISK - 100);
    await hpa.write(a.offsetBytes, a.data);
    await hpa.write((DISK - 1) * 512, Uint8Array.from([0x24, 0x47, 0x41, 0x46, 0x52, 0x10, 100, 0, 0, 0]));
    const low = sparseDevice('/dev/sdb', DISK, 'NEWDISK0');
    const b = mpbArea(mpb, DISK - 2113);
    await low.write(b.offsetBytes, b.data);
    const { rds } = await readAll([hpa, low]);
    expect(rds.map((r) => r.sectors)).toEqual([DISK - 102, DISK - 2115]);
  });

  it('prints the untested-version line for versions above 1.3.00', async () => {
    const { lines } = await readAll([await disk('/dev/sda', buildGroupMpb(spec(1, { version: '1.4.00' })), 'NEWDISK0')]);
    expect(lines).toContain('print: isw: untested metadata version 1.4.00 found on /dev/sda');
  });

  it('locates the MPB by the logical sector size on 4096-byte-sector disks, its sizes in 4 KiB blocks', async () => {
    const mpb512 = buildGroupMpb(spec(2, { volumes: [{ name: 'A', level: '0', perMember: 262144 }, { name: 'B', level: '1', strip: 128 }] }));
    const mpb = rescaleMpb(mpb512, 512, 4096);
    expect(decodeMpb(mpb).volumes[1]!.maps[0]!.map.pba_of_lba0).toBe((262144 + 4096) / 8);
    const devs = [await disk('/dev/sda', mpb, 'NEWDISK0', DISK, 4096), await disk('/dev/sdb', mpb, 'NEWDISK1', DISK, 4096)];
    const { top, rds } = await sets(devs);
    expect(rds[0]!.sectors).toBe(DISK - 16);
    const on512 = await readAll([await disk('/dev/sda', mpb512, 'NEWDISK0')]);
    expect(rds.slice(1, 3).map((r) => [r.name, r.offset, r.sectors])).toEqual(on512.rds.slice(1).map((r) => [r.name, r.offset, r.sectors]));
    expect(top[0]!.sets.map((s) => [s.status, s.stride])).toEqual([['ok', 256], ['ok', 128]]);
    expect(rescaleMpb(mpb, 4096, 512)).toEqual(mpb512);
  });

  it('creates on 4096-byte-sector disks what it creates on 512-byte ones, counted in 4 KiB blocks', async () => {
    const make = async (unit: number) => {
      const devs = new Map<string, WritableDevice>();
      for (const n of ['a', 'b']) devs.set(`/dev/sd${n}`, await disk(`/dev/sd${n}`, undefined, `NEWDISK${n}`, DISK, unit));
      const ctx = writeCtx(devs);
      expect(await createSet({ name: 'First', level: '0', sizeSectors: 409600, devices: [...devs.values()] }, ctx, 1000)).toBe(true);
      expect(await createSet({ name: 'Second', level: '1', devices: [...devs.values()] }, ctx, 1000)).toBe(true);
      const { top, rds } = await sets([...devs.values()]);
      return { top, rds: rds.map((r) => [r.name, r.offset, r.sectors, r.type]), mpb: (rds[0]!.meta as { mpb: ReturnType<typeof decodeMpb> }).mpb };
    };
    const small = await make(512);
    const big = await make(4096);
    const volumes = (rds: unknown[][]) => rds.filter((r) => r[3] !== 'group');
    expect(volumes(big.rds)).toEqual(volumes(small.rds));
    expect(big.top[0]!.sets.map((s) => `${s.name}:${s.status}`)).toEqual(small.top[0]!.sets.map((s) => `${s.name}:${s.status}`));
    expect(big.mpb.disks[0]!.disk.totalBlocks).toBe(DISK / 8);
    expect(big.mpb.volumes[1]!.maps[0]!.map.blocks_per_member).toBe(small.mpb.volumes[1]!.maps[0]!.map.blocks_per_member / 8);
  });

  it('reads members and volumes of 2 TiB and more through the *_hi words', async () => {
    const big = 6 * 2 ** 31; // 6 TiB in sectors
    const perMember = 5 * 2 ** 31;
    const mpb = buildGroupMpb({ family: 42, disks: [{ serial: 'BIG0', sizeSectors: big }, { serial: 'BIG1', sizeSectors: big }], volumes: [{ name: 'Huge', level: '0', perMember, strip: 256 }] });
    const d = decodeMpb(mpb);
    expect(d.disks[0]!.disk.filler[0]).toBe(3);
    const devs = [sparseDevice('/dev/sda', big, 'BIG0'), sparseDevice('/dev/sdb', big, 'BIG1')];
    for (const dev of devs) {
      const a = mpbArea(mpb, big);
      await dev.write(a.offsetBytes, a.data);
    }
    const { top } = await sets(devs);
    const vol = top[0]!.sets[0]!;
    expect(vol.devs.map((r) => r.sectors)).toEqual([perMember, perMember]);
    expect(totalSectors(vol)).toBe(2 * perMember);
  });

  it('blocks activation of a group with bad-block-log entries', async () => {
    const mpb = buildGroupMpb(spec(2, { bbmLogSize: 16 }));
    const { top } = await sets([await disk('/dev/sda', mpb, 'NEWDISK0'), await disk('/dev/sdb', mpb, 'NEWDISK1')]);
    const lines: string[] = [];
    const ctx = { format: 'isw', log: (_l: string, t: string) => lines.push(t), error: () => undefined, checkRaidSet: () => true };
    expect(isw.canActivate!(top[0]!, ctx as never)).toBe(false);
    expect(lines).toEqual(['BBM entries detected!']);
  });

  it('dumps the whole MPB where it starts (dmraid dumps one sector too high and from the wrong buffer offset)', async () => {
    const mpb = buildGroupMpb(spec(6, { volumes: [{ name: 'A', level: '0', perMember: 65536 }, { name: 'B', level: '5', strip: 128 }] }));
    expect(mpb.length).toBeGreaterThan(512);
    const dev = await disk('/dev/sda', mpb, 'NEWDISK0');
    const { rds } = await readAll([dev]);
    const [file] = await isw.dump!(rds[0]! as never);
    expect(file!.offsetBytes).toBe((DISK - 3) * 512);
    expect(file!.data).toEqual(toDiskOrder(mpb, 512));
  });
});

describe('isw writing', () => {
  async function blank(n: number, size = DISK) {
    const devs = new Map<string, WritableDevice>();
    for (let i = 0; i < n; i++) devs.set(`/dev/sd${String.fromCharCode(97 + i)}`, sparseDevice(`/dev/sd${String.fromCharCode(97 + i)}`, size, `NEWDISK${i}`));
    return devs;
  }

  for (const [level, n, type] of [['0', 2, 'stripe'], ['1', 2, 'mirror'], ['5', 3, 'raid5_la'], ['01', 4, 'raid01']] as const) {
    it(`creates a RAID ${level} that reads back as an ok ${type} set`, async () => {
      const devs = await blank(n);
      const ctx = writeCtx(devs);
      expect(await isw.create!({ name: 'New', level, devices: [...devs.values()] }, ctx)).toBe(true);
      const { top, lines } = await sets([...devs.values()]);
      expect(lines.filter((l) => l.startsWith('error'))).toEqual([]);
      const vol = top[0]!.sets[0]!;
      expect(vol.name).toMatch(/^isw_[a-j]+_New$/);
      expect(vol.status).toBe('ok');
    });
  }

  it('adds a second volume after the first and rewrites the group with both', async () => {
    const devs = await blank(2);
    const ctx = writeCtx(devs);
    expect(await isw.create!({ name: 'First', level: '0', sizeSectors: 409600, devices: [...devs.values()] }, ctx)).toBe(true);
    expect(await isw.create!({ name: 'Second', level: '1', devices: [...devs.values()] }, ctx)).toBe(true);
    const { top, rds } = await sets([...devs.values()]);
    expect(top[0]!.sets.map((s) => `${s.name.replace(/^isw_[a-j]+_/, '')}:${s.type}:${s.status}`)).toEqual(['First:raid0:ok', 'Second:raid1:ok']);
    const second = rds.find((r) => r.name.endsWith('_Second'))!;
    const first = rds.find((r) => r.name.endsWith('_First'))!;
    expect(second.offset).toBe(first.sectors + 4096);
    expect(ctx.lines.filter((l) => !l.startsWith('print: '))).toEqual([]);
  });

  it('rejects a size beyond the disks and a second volume on other disks, with dmraid\'s messages', async () => {
    const devs = await blank(3);
    const ctx = writeCtx(devs);
    const [a, b, c] = [...devs.values()];
    expect(await isw.create!({ name: 'Big', level: '0', sizeSectors: 4 * DISK, devices: [a!, b!] }, ctx)).toBe(false);
    expect(ctx.lines[0]).toMatch(/^error: isw: the size exceeds the max 0G \(\d+ blocks\)$/);
    expect(await isw.create!({ name: 'V', level: '0', sizeSectors: 409600, devices: [a!, b!] }, ctx)).toBe(true);
    expect(await isw.create!({ name: 'W', level: '0', devices: [a!, c!] }, ctx)).toBe(false);
    expect(ctx.lines.at(-1)).toBe('error: isw: second volume must use all drives on the existing array');
  });

  it('removes one volume of two, keeping the other byte-identical in a smaller MPB', async () => {
    const mpb = decodeMpb(buildGroupMpb(spec(2, { version: '1.2.00', volumes: [{ name: 'A', level: '0', perMember: 262144 }, { name: 'B', level: '1', strip: 128 }] })));
    const kept = decodeMpb(removeVolume(mpb, 1));
    expect(kept.header.num_raid_devs).toBe(1);
    expect(kept.bytes.subarray(0xd8 + 96)).toEqual(mpb.bytes.subarray(mpb.volumes[1]!.offset, mpb.volumes[1]!.offset + mpb.volumes[1]!.size));
    expect(String.fromCharCode(...kept.bytes.subarray(24, 30))).toBe('1.1.00');
    expect(kept.header.check_sum).toBe(mpbChecksum(kept.bytes));
    const devs = await blank(2);
    const [a, b] = [...devs.values()];
    for (const d of [a!, b!]) {
      const area = mpbArea(mpb.bytes, DISK);
      await d.write(area.offsetBytes, area.data);
    }
    const { top } = await sets([a!, b!], undefined);
    const group = top[0]!;
    group.sets.splice(0, 1); // -x isw_..._A: dmraid passes the group holding only the wanted volume
    expect(await isw.remove!(group, writeCtx(devs))).toBe(true);
    const again = await sets([a!, b!]);
    expect(again.top[0]!.sets.map((s) => s.name)).toEqual(['isw_bcdefghij_A']);
  });

  it('erases every disk of a group when its only volume is removed', async () => {
    const mpb = buildGroupMpb(spec(2));
    const devs = await blank(2);
    for (const d of devs.values()) {
      const area = mpbArea(mpb, DISK);
      await d.write(area.offsetBytes, area.data);
    }
    const { top } = await sets([...devs.values()]);
    expect(await isw.remove!(top[0]!, writeCtx(devs))).toBe(true);
    const { rds } = await readAll([...devs.values()]);
    expect(rds).toEqual([]);
  });

  it('makes a spare: a spare-only MPB, version 1.0.00, disk status 0x539', async () => {
    const devs = await blank(1);
    const dev = devs.get('/dev/sda')!;
    expect(await isw.spare!(dev, undefined, writeCtx(devs))).toBe(true);
    const { top, rds } = await sets([dev]);
    expect(rds.map((r) => `${r.type}:${r.name}`)).toEqual([expect.stringMatching(/^spare:isw_[a-j]+$/), expect.stringMatching(/^spare:isw_[a-j]+_\/dev\/sda$/)]);
    const m = (rds[0]!.meta as { mpb: ReturnType<typeof decodeMpb> }).mpb;
    expect(m.disks[0]!.disk.status).toBe(0x539);
    expect(top[0]!.sets[0]!.type).toBe('spare');
    expect(createMpb({ name: '', level: 'spare', disks: [{ serial: 'X', sizeSectors: DISK }], time: 0 }).bytes!.length).toBe(0xd8 + 48);
  });

  it('marks the member a rebuild writes to out of sync, never its source: the IMSM_ORD_REBUILD slot (mdadm, -R) or the rebuilding map\'s failed disk (option ROM)', async () => {
    // -R onto the FIRST slot: sdb survives, sda (disk 0) comes back blank and is marked in map 1.
    const degraded = decodeMpb(buildGroupMpb(spec(2, { volumes: [{ name: 'Mirror', level: '1', strip: 128, mapState: 2, failedDisk: 0 }] })));
    const marked = startRebuild(degraded, 0, { serial: 'NEWDISK0', sizeSectors: DISK });
    expect(decodeMpb(marked).volumes[0]!.maps[1]!.ord[0]! & IMSM_ORD_REBUILD).toBe(IMSM_ORD_REBUILD);
    const romStyle = buildGroupMpb(spec(2, { volumes: [{ name: 'Mirror', level: '1', strip: 128, failedDisk: 0, migrating: { type: ISW_T_MIGR_TYPE_REBUILDING } }] }));
    const idle = buildGroupMpb(spec(2, { volumes: [{ name: 'Mirror', level: '1', strip: 128 }] }));
    for (const [mpb, want] of [
      [marked, /IMSM_ORD_REBUILD/],
      [romStyle, /failed_disk_num/],
    ] as const) {
      const { top } = await sets([await disk('/dev/sda', mpb, 'NEWDISK0'), await disk('/dev/sdb', mpb, 'NEWDISK1')]);
      const vol = top[0]!.sets[0]!;
      expect(vol.status).toBe('nosync');
      expect(vol.devs.map((d) => [d.device.path, d.outOfSync])).toEqual([
        ['/dev/sda', expect.stringMatching(want)],
        ['/dev/sdb', undefined],
      ]);
    }
    const { top } = await sets([await disk('/dev/sda', idle, 'NEWDISK0'), await disk('/dev/sdb', idle, 'NEWDISK1')]);
    expect(top[0]!.sets[0]!.devs.map((d) => d.outOfSync)).toEqual([undefined, undefined]);
  });

  it('refuses to rebuild a RAID0 volume (nothing to rebuild it from), writing nothing', async () => {
    const broken = buildGroupMpb(spec(2, { volumes: [{ name: 'Fast', level: '0', perMember: 262144 }, { name: 'Safe', level: '1', strip: 128 }] }));
    const devs = await blank(2);
    const [a, fresh] = [...devs.values()];
    const area = mpbArea(broken, DISK);
    await a!.write(area.offsetBytes, area.data);
    const before = await sets([a!]);
    const safe = before.top[0]!.sets.find((s) => s.name.endsWith('_Safe'))!;
    const ctx = writeCtx(devs);
    expect(await isw.rebuild!(safe, fresh, ctx)).toBe(false);
    expect(ctx.lines).toEqual([
      'error: isw: cannot rebuild onto /dev/sdb: RAID0 volume "Fast" has no redundancy, its data was on the missing disk (delete that volume with -x first)',
    ]);
    expect((await sets([fresh!])).top).toEqual([]);
  });

  it('starts a rebuild onto a new disk (nosync), and ends it dropping the failed disk', async () => {
    const degraded = buildGroupMpb(spec(2, { volumes: [{ name: 'Mirror', level: '1', strip: 128, mapState: 2, failedDisk: 1 }] }));
    const devs = await blank(2);
    const [a, fresh] = [...devs.values()];
    const area = mpbArea(degraded, DISK);
    await a!.write(area.offsetBytes, area.data);
    const before = await sets([a!]);
    const vol = before.top[0]!.sets[0]!;
    expect(vol.status).toBe('inconsistent');
    expect(await isw.rebuild!(vol, fresh, writeCtx(devs))).toBe(true);
    const after = await sets([a!, fresh!]);
    const rebuilt = after.top[0]!.sets[0]!;
    expect(rebuilt.status).toBe('nosync');
    expect(rebuilt.devs.map((d) => d.device.path)).toEqual(['/dev/sda', '/dev/sdb']);
    // The same disk came back: it takes its old entry.
    expect(decodeMpb(startRebuild(decodeMpb(degraded), 1, { serial: 'NEWDISK1', sizeSectors: DISK })).header.num_disks).toBe(2);
    const m = decodeMpb(startRebuild(decodeMpb(degraded), 1, { serial: 'OTHERDISK', sizeSectors: DISK }));
    expect(m.header.num_disks).toBe(3);
    expect(m.volumes[0]!.dev.vol.migr_type).toBe(ISW_T_MIGR_TYPE_REBUILDING);
    // As mdadm marks a rebuild: the new disk's slot out of sync in the migration map (map 1), the
    // checkpoint at 0, the disk that is gone failed (test/mdadm.test.ts: md then recovers the new disk).
    const [to, from] = m.volumes[0]!.maps;
    expect(to!.ord).toEqual([0, 1]);
    expect(from!.ord).toEqual([0, 1 | IMSM_ORD_REBUILD]);
    expect([to!.map.map_state, from!.map.map_state]).toEqual([ISW_T_STATE_NORMAL, ISW_T_STATE_DEGRADED]);
    expect(m.volumes[0]!.dev.vol.curr_migr_unit).toBe(0);
    expect(m.disks[2]!.disk.status & FAILED_DISK).toBe(FAILED_DISK);
    const done = decodeMpb(finishRebuild(m, 0));
    expect(done.header.num_disks).toBe(2);
    expect(done.volumes[0]!.maps).toHaveLength(1);
    expect(done.header.generation_num).toBe(m.header.generation_num + 1);
  });

  it('ends a rebuild (rebuilt, after -R copied the data): the set reads ok on every member; refused, writing nothing, where nothing rebuilds onto the disk', async () => {
    const degraded = buildGroupMpb(spec(2, { volumes: [{ name: 'Mirror', level: '1', strip: 128, mapState: 2, failedDisk: 1 }] }));
    const devs = await blank(2);
    const [a, fresh] = [...devs.values()];
    const area = mpbArea(degraded, DISK);
    await a!.write(area.offsetBytes, area.data);
    const vol = (await sets([a!])).top[0]!.sets[0]!;
    // Nothing rebuilds onto the new disk yet: no claim of a rebuild that did not happen.
    const refused = writeCtx(devs);
    expect(await isw.rebuilt!(vol, fresh!, refused)).toBe(false);
    expect(refused.lines).toEqual([`error: isw: no volume of ${vol.name} is rebuilding onto /dev/sdb`]);
    expect((await sets([fresh!])).top).toEqual([]);
    expect(await isw.rebuild!(vol, fresh, writeCtx(devs))).toBe(true);
    const rebuilding = (await sets([a!, fresh!])).top[0]!.sets[0]!;
    expect(rebuilding.status).toBe('nosync');
    expect(await isw.rebuilt!(rebuilding, fresh!, writeCtx(devs))).toBe(true);
    const after = await sets([a!, fresh!]);
    const done = after.top[0]!.sets[0]!;
    expect(done.status).toBe('ok');
    expect(done.devs.map((d) => [d.device.path, d.outOfSync])).toEqual([['/dev/sda', undefined], ['/dev/sdb', undefined]]);
    const mpbs = after.rds.filter((rd) => rd.volumeOf === undefined).map((rd) => (rd.meta as { mpb: { header: { num_disks: number; generation_num: number } } }).mpb.header);
    expect(mpbs.map((h) => h.num_disks)).toEqual([2, 2]);
    expect(new Set(mpbs.map((h) => h.generation_num)).size).toBe(1);
  });
});

import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  buildSets,
  discoverRaidDevices,
  isIoError,
  openDevice,
  readContext,
  setTypeDisplay,
  type BlockDevice,
  type LogLine,
  type RaidDevice,
  type RaidSet,
} from '@dmraid/core';
import { buildTestbedSet, fixtureImage, formatTester, sharedFixtures, testIf } from '@dmraid/testkit';
import hpt37x, {
  buildHpt37xSet,
  hpt37xErrorLogLayout,
  hpt37xLayout,
  type Hpt37x,
  type Hpt37xSetSpec,
  type MemberImage,
} from '../src/index.js';
import { testbedSets } from '../src/testbed.js';

const seeds = testbedSets().map(buildTestbedSet)
  .filter((s) => !s.config.includes('degraded'))
  .map((s) => s.members.map((m) => ({ sizeSectors: m.sizeSectors, serial: m.serial, areas: m.areas })));

formatTester.run(hpt37x, {
  seeds,
  fixtures: [{ file: 'hpt37x-raid.img.xz' }],
});

const tmp = mkdtempSync(join(tmpdir(), 'dmraid-hpt37x-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let imageCount = 0;

/** Sparse image files holding the members, opened as core opens them. */
async function openMembers(members: readonly MemberImage[]): Promise<BlockDevice[]> {
  const devices: BlockDevice[] = [];
  for (const m of members) {
    const path = join(tmp, `m${imageCount++}.img`);
    const fd = openSync(path, 'w');
    ftruncateSync(fd, m.sizeSectors * 512);
    writeSync(fd, m.data, 0, m.data.length, m.offsetBytes);
    closeSync(fd);
    const dev = await openDevice(path);
    if (isIoError(dev)) throw new Error(dev.message);
    devices.push(dev);
  }
  return devices;
}

async function discover(members: readonly MemberImage[]) {
  const devices = await openMembers(members);
  const lines: LogLine[] = [];
  const log = (level: LogLine['level'], text: string) => lines.push({ level, text });
  const rds = await discoverRaidDevices({ handlers: [hpt37x], devices, log });
  const sets = buildSets(rds, { handlers: [hpt37x], log });
  await Promise.all(devices.map((d) => d.close()));
  const errors = lines.filter((l) => l.level === 'error').map((l) => l.text);
  const index = (rd: RaidDevice) => devices.findIndex((d) => d.path === rd.device.path);
  return { rds, sets, errors, devices, index };
}

/** A set as -s -s shows it, members by their index in the built member list. */
interface Shape {
  name: string;
  type: string;
  status: string;
  stride: number;
  members?: number[];
  sets?: Shape[];
}

function shape(set: RaidSet, index: (rd: RaidDevice) => number): Shape {
  return {
    name: set.name,
    type: setTypeDisplay(set),
    status: set.status,
    stride: set.stride,
    ...(set.sets.length ? { sets: set.sets.map((s) => shape(s, index)) } : { members: set.devs.map(index) }),
  };
}

const DISK = 8192;
const without = (members: MemberImage[], ...missing: number[]) => members.filter((_, i) => !missing.includes(i));
const build = (spec: Omit<Hpt37xSetSpec, 'diskSectors'>) => buildHpt37xSet({ diskSectors: DISK, ...spec });

describe('hpt37x layout', () => {
  it('decodes and encodes any 512 bytes back to the same bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 512, maxLength: 512 }), (bytes) => {
        expect(hpt37xLayout.encodeToBytes(hpt37xLayout.decodeFrom(bytes))).toEqual(bytes);
      }),
    );
  });

  it('places the fields where the C header puts them', () => {
    expect(hpt37xLayout.size).toBe(512);
    expect(hpt37xErrorLogLayout.size).toBe(12);
    expect(hpt37xLayout.offsetOf('magic')).toBe(0x20);
    expect(hpt37xLayout.offsetOf('total_secs')).toBe(0x34);
    expect(hpt37xLayout.offsetOf('error_log_index')).toBe(0x43);
    expect(hpt37xLayout.offsetOf('errorlog')).toBe(0x44);
    expect(hpt37xLayout.offsetOf('filler')).toBe(0x1c4);
    expect(hpt37xErrorLogLayout.offsetOf('lba')).toBe(8);
  });

  it('decodes the nested error log entries field by field', () => {
    const raw = new Uint8Array(512);
    const entry = 0x44 + 2 * 12;
    new DataView(raw.buffer).setUint32(entry, 0xdeadbeef, true);
    raw[entry + 4] = 0xfe;
    const hpt = hpt37xLayout.decodeFrom(raw);
    expect(hpt.errorlog).toHaveLength(32);
    expect(hpt.errorlog[2]).toMatchObject({ timestamp: 0xdeadbeef, reason: 0xfe, disk: 0, lba: 0 });
  });
});

describe('hpt37x: the util-linux member image', () => {
  const itFixture = testIf(it, sharedFixtures());

  itFixture('reads hpt37x_deghhhdgbi, a healthy stripe member at sector 0, and logs it as dmraid does', async () => {
    const { dir, image } = fixtureImage('hpt37x-raid.img.xz');
    try {
      const dev = await openDevice(image, { cwd: dir });
      if (isIoError(dev)) throw new Error(dev.message);
      const errors: string[] = [];
      const [rd, ...rest] = await hpt37x.read(dev, readContext('hpt37x', (_level, text) => errors.push(text)));
      await dev.close();
      expect(errors).toEqual([]);
      expect(rest).toEqual([]);
      expect(rd).toMatchObject({ name: 'hpt37x_deghhhdgbi', type: 'raid0', status: 'ok', sectors: 312581760, offset: 0 });
      expect(rd!.areas).toMatchObject([{ offsetSectors: 9, size: 512 }]);
      expect(hpt37x.log(rd!).join('\n') + '\n').toBe(`hpt37x-raid.img (hpt37x):
0x020 magic: 0x5a7816f0
0x024 magic_0: 0xceb206b2
0x028 magic_1: 0x0
0x02c order: 4
0x030 raid_disks: 2
0x031 raid0_shift: 7
0x032 type: 0
0x033 disk_number: 0
0x034 total_secs: 625163520
0x038 disk_mode: 0x0
0x03c boot_mode: 0x12345678
0x040 boot_disk: 128
0x041 boot_protect: 0
0x042 error_log_entries: 0
0x043 error_log_index: 0
`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('hpt37x: members', () => {
  it('starts every member but disk 0 ten sectors in and shortens it by as much', async () => {
    const { rds } = await discover(build({ level: 'raid0', id: 1, disks: 3 }));
    expect(rds.map((rd) => [rd.offset, rd.sectors])).toEqual([
      [0, 8064],
      [10, 8054],
      [10, 8054],
    ]);
  });

  it('maps a span and a spare over the whole disk', async () => {
    const { rds } = await discover(build({ level: 'span', id: 2, disks: 2, spares: 1 }));
    expect(rds.map((rd) => [rd.name, rd.type, rd.offset, rd.sectors])).toEqual([
      ['hpt37x_c', 'linear', 0, DISK],
      ['hpt37x_c', 'linear', 10, DISK - 10],
      ['hpt37x_SPARE', 'spare', 0, DISK],
    ]);
  });

  it('rejects a member whose length comes out zero, as dmraid does', async () => {
    const m = hpt37xLayout.zero();
    Object.assign(m, { magic: 0x5a7816f0, magic_0: 5, type: 1, raid_disks: 2, total_secs: 0 });
    const { rds, errors, devices } = await discover([{ sizeSectors: 64, offsetBytes: 9 * 512, data: hpt37xLayout.encodeToBytes(m) }]);
    expect(rds).toEqual([]);
    expect(errors).toEqual([`hpt37x: zero sectors on ${devices[0]!.path}`, `hpt37x: setting up RAID device ${devices[0]!.path}`]);
  });

  it('letters all but the last two characters of a RAID0+1 part name, as dmraid does', async () => {
    const m = hpt37xLayout.zero();
    Object.assign(m, { magic: 0x5a7816f0, magic_0: 9, magic_1: 77, order: 123, type: 2, raid_disks: 1, raid0_shift: 7, total_secs: 4096 });
    const { rds } = await discover([{ sizeSectors: 64, offsetBytes: 9 * 512, data: hpt37xLayout.encodeToBytes(m) }]);
    expect(rds[0]!.name).toBe('hpt37x_hh-b23');
  });

  it('logs the error log entries up to the first empty timestamp, with a header only when entries are counted', async () => {
    const errorLog = [{ timestamp: 5, reason: 0xfe, disk: 1, status: 2, sectors: 3, lba: 99 }];
    const [counted] = (await discover(build({ level: 'raid1', id: 3, disks: 1, errorLog }))).rds as RaidDevice<Hpt37x>[];
    expect(hpt37x.log(counted!).slice(16)).toEqual([
      'error_log:',
      '0x044 timestamp: 5',
      '0x048 reason: 254',
      '0x049 disk: 1',
      '0x04a status: 2',
      '0x04b sectors: 3',
      '0x04c lba: 99',
    ]);
    // error_log_entries = 0 with entries present: dmraid still prints them, without the header.
    const hpt = { ...(counted!.meta as Hpt37x), error_log_entries: 0 };
    expect(hpt37x.log({ ...counted!, meta: hpt }).slice(15)).toEqual([
      '0x043 error_log_index: 0',
      '0x044 timestamp: 5',
      '0x048 reason: 254',
      '0x049 disk: 1',
      '0x04a status: 2',
      '0x04b sectors: 3',
      '0x04c lba: 99',
    ]);
  });
});

describe('hpt37x: sets', () => {
  it('groups a single disk and a span into linear sets', async () => {
    const single = await discover(build({ level: 'single', id: 10, disks: 1 }));
    expect(single.sets.map((s) => shape(s, single.index))).toEqual([{ name: 'hpt37x_ba', type: 'linear', status: 'ok', stride: 0, members: [0] }]);
    const span = await discover(build({ level: 'span', id: 11, disks: 2 }));
    expect(span.sets.map((s) => shape(s, span.index))).toEqual([{ name: 'hpt37x_bb', type: 'linear', status: 'ok', stride: 0, members: [0, 1] }]);
  });

  it('orders stripe members by disk_number whatever order the disks come in', async () => {
    const members = build({ level: 'raid0', id: 12, disks: 3, shift: 6 });
    const { sets, errors, index } = await discover([members[2]!, members[0]!, members[1]!]);
    expect(errors).toEqual([]);
    expect(sets.map((s) => shape(s, index))).toEqual([{ name: 'hpt37x_bc', type: 'stripe', status: 'ok', stride: 64, members: [1, 2, 0] }]);
  });

  it('groups a mirror, and trusts a full mirror whose member says bad', async () => {
    const { sets, rds, index } = await discover(build({ level: 'raid1', id: 13, disks: 2, bad: [1] }));
    expect(rds[1]!.status).toBe('ok');
    expect(sets.map((s) => shape(s, index))).toEqual([{ name: 'hpt37x_bd', type: 'mirror', status: 'ok', stride: 0, members: [0, 1] }]);
  });

  it('keeps a stripe member that says bad broken, and the stripe inconsistent', async () => {
    const { sets } = await discover(build({ level: 'raid0', id: 14, disks: 2, bad: [1] }));
    expect(sets[0]!.devs.map((rd) => rd.status)).toEqual(['ok', 'broken']);
    expect(sets[0]!.status).toBe('inconsistent');
  });

  it('never groups spares', async () => {
    const { sets, rds, errors } = await discover(build({ level: 'raid0', id: 15, disks: 2, spares: 1 }));
    expect(errors).toEqual([]);
    expect(rds[2]!.type).toBe('spare');
    expect(sets.map((s) => [s.name, s.devs.length])).toEqual([['hpt37x_bf', 2]]);
  });

  it('builds RAID10 from type-2 members: a raid1 superset of stripe subsets sorted by order', async () => {
    const members = build({ level: 'raid10', id: 0x4441, disks: 4 });
    const { sets, errors, index } = await discover([members[3]!, members[2]!, members[1]!, members[0]!]);
    expect(errors).toEqual([]);
    expect(sets.map((s) => shape(s, index))).toEqual([
      {
        name: 'hpt37x_bhehd',
        type: 'raid10',
        status: 'ok',
        stride: 128,
        sets: [
          { name: 'hpt37x_bhehd-0', type: 'stripe', status: 'ok', stride: 128, members: [3, 2] },
          { name: 'hpt37x_bhehd-1', type: 'stripe', status: 'ok', stride: 128, members: [1, 0] },
        ],
      },
    ]);
  });

  it('builds RAID01 from type-7 members: a raid0 superset of mirror subsets', async () => {
    const { sets, errors, index } = await discover(build({ level: 'raid01', id: 0x5551, disks: 4 }));
    expect(errors).toEqual([]);
    expect(sets.map((s) => shape(s, index))).toEqual([
      {
        name: 'hpt37x_cbieb',
        type: 'raid01',
        status: 'ok',
        stride: 128,
        sets: [
          { name: 'hpt37x_cbieb-0', type: 'mirror', status: 'ok', stride: 128, members: [0, 1] },
          { name: 'hpt37x_cbieb-1', type: 'mirror', status: 'ok', stride: 128, members: [2, 3] },
        ],
      },
    ]);
  });

  it('removes a stripe missing a member', async () => {
    const { sets, errors, devices } = await discover(without(build({ level: 'raid0', id: 16, disks: 2 }), 0));
    expect(sets).toEqual([]);
    expect(errors).toEqual([
      `hpt37x: wrong # of devices in RAID set "hpt37x_bg" [1/2] on ${devices[0]!.path}`,
      'removing inconsistent RAID set "hpt37x_bg"',
    ]);
  });

  it('keeps a mirror missing a member, inconsistent (not broken, so without a "keeping" line)', async () => {
    const { sets, errors, devices } = await discover(without(build({ level: 'raid1', id: 17, disks: 2 }), 1));
    expect(errors).toEqual([`hpt37x: wrong # of devices in RAID set "hpt37x_bh" [1/2] on ${devices[0]!.path}`]);
    expect(sets.map((s) => [s.name, s.type, s.status])).toEqual([['hpt37x_bh', 'raid1', 'inconsistent']]);
  });

  it('keeps a RAID10 left with one stripe half as a broken, degraded mirror', async () => {
    const { sets, errors } = await discover(without(build({ level: 'raid10', id: 18, disks: 4 }), 2, 3));
    expect(errors).toEqual(['keeping degraded mirror set "hpt37x_bi"']);
    expect(sets.map((s) => [s.name, setTypeDisplay(s), s.status, s.sets.length])).toEqual([['hpt37x_bi', 'raid10', 'broken', 1]]);
  });

  it('removes a RAID01 left with one mirror part', async () => {
    const { sets, errors } = await discover(without(build({ level: 'raid01', id: 19, disks: 4 }), 2, 3));
    expect(errors).toEqual(['removing inconsistent RAID set "hpt37x_bj"']);
    expect(sets).toEqual([]);
  });

  it('keeps a RAID10 with one stripe half broken ok, as dmraid does', async () => {
    const { sets, errors, devices } = await discover(without(build({ level: 'raid10', id: 0x4442, disks: 4 }), 3));
    expect(errors).toEqual([`hpt37x: wrong # of devices in RAID set "hpt37x_bhehe-1" [1/2] on ${devices[2]!.path}`]);
    expect(sets[0]!.status).toBe('ok');
    expect(sets[0]!.sets.map((s) => s.status)).toEqual(['ok', 'broken']);
  });

  it('refuses a member whose magic_0 differs from the set\'s first member, and drops the set', async () => {
    const a = hpt37xLayout.zero();
    Object.assign(a, { magic: 0x5a7816f0, magic_0: 1, magic_1: 55, order: 4, type: 0, raid_disks: 2, raid0_shift: 7, total_secs: 8000 });
    const b = { ...a, magic_0: 2, disk_number: 1 };
    const image = (m: Hpt37x) => ({ sizeSectors: DISK, offsetBytes: 9 * 512, data: hpt37xLayout.encodeToBytes(m) });
    const { sets, errors, devices } = await discover([image(a), image(b)]);
    expect(errors).toEqual([
      `hpt37x: magic_0 mismatch on ${devices[1]!.path}`,
      `adding ${devices[1]!.path} to RAID set "hpt37x_ff"`,
      'removing RAID set "hpt37x_ff"',
    ]);
    expect(sets).toEqual([]);
  });

  it('refuses a RAID0+1 member whose magic_1 differs within its part', async () => {
    const a = hpt37xLayout.zero();
    Object.assign(a, { magic: 0x5a7816f0, magic_0: 55, magic_1: 0, order: 0, type: 2, raid_disks: 2, raid0_shift: 7, total_secs: 8000 });
    const b = { ...a, magic_0: 9, magic_1: 55, disk_number: 1 };
    const image = (m: Hpt37x) => ({ sizeSectors: DISK, offsetBytes: 9 * 512, data: hpt37xLayout.encodeToBytes(m) });
    const { errors, devices } = await discover([image(a), image(b)]);
    expect(errors.slice(0, 3)).toEqual([
      `hpt37x: magic_1 mismatch on ${devices[1]!.path}`,
      `adding ${devices[1]!.path} to RAID set "hpt37x_ff-0"`,
      'removing RAID set "hpt37x_ff-0"',
    ]);
  });

  it('reports RAID5 members as not supported', async () => {
    const m = hpt37xLayout.zero();
    Object.assign(m, { magic: 0x5a7816f0, magic_0: 1, type: 5, raid_disks: 1, total_secs: 8000 });
    const { rds, errors, sets } = await discover([{ sizeSectors: DISK, offsetBytes: 9 * 512, data: hpt37xLayout.encodeToBytes(m) }]);
    expect(rds[0]!.type).toBe('undef');
    expect(errors[0]).toBe('hpt37x: RAID type 5 not supported');
    expect(sets).toEqual([]);
  });
});

describe('hpt37x member failure', () => {
  it('has no failed: the metadata keeps no state a survivor could record (docs/formats/hpt37x.md, "Member failure")', () => {
    expect(hpt37x.failed).toBeUndefined();
  });
});

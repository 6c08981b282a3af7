// The monitor's record of a failed member (handler `failed`): the survivors' MPB says what mdmon's
// mark_failure and imsm_set_disk would write (super-intel.c), the failed disk is left alone.
import { describe, expect, it } from 'vitest';
import { allDevices, buildSets, readContext, sparseDevice, type BlockDevice, type RaidDevice, type RaidSet, type WritableDevice, type WriteContext } from '@dmraid/core';
import isw, {
  buildGroupMpb,
  decodeMpb,
  failedSerial,
  markFailed,
  mpbArea,
  mpbChecksum,
  startRebuild,
  CONFIGURED_DISK,
  FAILED_DISK,
  IMSM_ORD_REBUILD,
  ISW_DEV_NONE_FAILED,
  ISW_T_MIGR_TYPE_REBUILDING,
  ISW_T_STATE_DEGRADED,
  ISW_T_STATE_FAILED,
  ISW_T_STATE_NORMAL,
  type GroupSpec,
  type IswMeta,
  type Mpb,
  type VolumeSpec,
} from '../src/index.js';

const DISK = 1 << 20;

const spec = (n: number, volumes: VolumeSpec[], serial = (i: number) => `FAILDISK${i}`): GroupSpec => ({
  family: 987654321,
  disks: Array.from({ length: n }, (_, i) => ({ serial: serial(i), sizeSectors: DISK })),
  volumes,
});

async function group(s: GroupSpec, serial = (i: number) => `FAILDISK${i}`) {
  const mpb = buildGroupMpb(s);
  const devices = new Map<string, WritableDevice>();
  for (let i = 0; i < s.disks.length; i++) {
    const path = `/dev/sd${String.fromCharCode(97 + i)}`;
    const dev = sparseDevice(path, DISK, serial(i));
    const a = mpbArea(mpb, DISK);
    await dev.write(a.offsetBytes, a.data);
    devices.set(path, dev);
  }
  return devices;
}

async function topSet(devs: readonly BlockDevice[]): Promise<RaidSet> {
  const rds: RaidDevice[] = [];
  for (const d of devs) rds.push(...(await isw.read(d, readContext('isw', () => undefined))));
  const [top] = buildSets(rds, { handlers: [isw], log: () => undefined });
  return top!;
}

function writeCtx(devices: Map<string, WritableDevice>) {
  const lines: string[] = [];
  const opened: string[] = [];
  const ctx: WriteContext = {
    format: 'isw',
    log: (level, text) => lines.push(`${level}: ${text}`),
    error: (text) => lines.push(`error: isw: ${text}`),
    openWritable: async (path) => {
      opened.push(path);
      return devices.get(path);
    },
  };
  return { ctx, lines, opened };
}

async function mpbOf(dev: BlockDevice): Promise<Mpb> {
  const [rd] = await isw.read(dev, readContext('isw', () => undefined));
  return (rd!.meta as IswMeta).mpb;
}

const bytesOf = async (dev: WritableDevice) => dev.read((DISK - 8) * 512, 8 * 512);

/** Fail the disk at `path` through the handler; the set as read before, as the monitor passes it. */
async function fail(devices: Map<string, WritableDevice>, path: string) {
  const set = await topSet([...devices.values()]);
  const w = writeCtx(devices);
  const ok = await isw.failed!(set, devices.get(path)!, w.ctx);
  return { ok, ...w };
}

describe('isw failed: the failure recorded in the survivors as mdmon records it', () => {
  it('RAID1: disk FAILED (CONFIGURED kept) under a ":0" serial, its ord entry out of sync, failed_disk_num, degraded, generation up', async () => {
    const devices = await group(spec(2, [{ name: 'Mirror', level: '1' }]));
    const before = await mpbOf(devices.get('/dev/sda')!);
    const failedBytes = await bytesOf(devices.get('/dev/sdb')!);
    const r = await fail(devices, '/dev/sdb');
    expect(r.lines).toEqual([]);
    expect(r.ok).toBe(true);
    const after = await mpbOf(devices.get('/dev/sda')!);
    expect(after.header.generation_num).toBe(before.header.generation_num + 1);
    expect(after.header.check_sum).toBe(mpbChecksum(after.bytes));
    const d1 = after.disks[1]!.disk;
    expect(d1.status & FAILED_DISK).toBe(FAILED_DISK);
    expect(d1.status & CONFIGURED_DISK).toBe(CONFIGURED_DISK);
    expect(Buffer.from(d1.serial).toString('latin1').replace(/\0+$/, '')).toBe('FAILDISK1:0');
    expect(after.disks[0]!.disk.status).toBe(before.disks[0]!.disk.status);
    const { map, ord } = after.volumes[0]!.maps[0]!;
    expect(ord).toEqual([0, 1 | IMSM_ORD_REBUILD]);
    expect(map.failed_disk_num).toBe(1);
    expect(map.map_state).toBe(ISW_T_STATE_DEGRADED);
    // The failed disk is neither opened nor written.
    expect(r.opened).not.toContain('/dev/sdb');
    expect(await bytesOf(devices.get('/dev/sdb')!)).toEqual(failedBytes);
  });

  it('reports of the same failure after the first write nothing', async () => {
    const devices = await group(spec(2, [{ name: 'Mirror', level: '1' }]));
    const set = await topSet([...devices.values()]);
    expect(await isw.failed!(set, devices.get('/dev/sdb')!, writeCtx(devices).ctx)).toBe(true);
    const once = await bytesOf(devices.get('/dev/sda')!);
    // The monitor may pass the same set, read before the failure: the disks say it is recorded.
    const again = writeCtx(devices);
    expect(await isw.failed!(set, devices.get('/dev/sdb')!, again.ctx)).toBe(true);
    expect(again.lines).toEqual([]);
    expect(await bytesOf(devices.get('/dev/sda')!)).toEqual(once);
  });

  it('a device not in the set: an error naming it, false, nothing written', async () => {
    const devices = await group(spec(2, [{ name: 'Mirror', level: '1' }]));
    const set = await topSet([...devices.values()]);
    const stranger = sparseDevice('/dev/sdz', DISK, 'STRANGER');
    const before = await bytesOf(devices.get('/dev/sda')!);
    const w = writeCtx(devices);
    expect(await isw.failed!(set, stranger, w.ctx)).toBe(false);
    expect(w.lines).toEqual([`error: isw: /dev/sdz is not a member of RAID set "${set.name}"`]);
    expect(await bytesOf(devices.get('/dev/sda')!)).toEqual(before);
  });

  it('our reader then shows the survivor, the volume degraded', async () => {
    const devices = await group(spec(2, [{ name: 'Mirror', level: '1' }]));
    await fail(devices, '/dev/sdb');
    const set = await topSet([devices.get('/dev/sda')!]);
    const volume = set.type === 'group' ? set.sets[0]! : set;
    expect(allDevices(volume).map((rd) => rd.device.path)).toEqual(['/dev/sda']);
    expect(volume.status).not.toBe('ok');
    expect(volume.status).not.toBe('broken');
  });

  it('RAID0 loses its data: failed', async () => {
    const devices = await group(spec(2, [{ name: 'Stripe', level: '0' }]));
    await fail(devices, '/dev/sda');
    const { map, ord } = (await mpbOf(devices.get('/dev/sdb')!)).volumes[0]!.maps[0]!;
    expect(map.map_state).toBe(ISW_T_STATE_FAILED);
    expect(map.failed_disk_num).toBe(0);
    expect(ord).toEqual([0 | IMSM_ORD_REBUILD, 1]);
  });

  it('RAID10: one disk degraded, the other half of the same mirror failed, one of each mirror degraded', async () => {
    const raid10 = () => group(spec(4, [{ name: 'R10', level: '01' }]));
    let devices = await raid10();
    await fail(devices, '/dev/sda');
    expect((await mpbOf(devices.get('/dev/sdd')!)).volumes[0]!.maps[0]!.map.map_state).toBe(ISW_T_STATE_DEGRADED);
    // The second failure is reported on the set as read after the first (the first disk gone).
    devices.delete('/dev/sda');
    await fail(devices, '/dev/sdb');
    const both = (await mpbOf(devices.get('/dev/sdd')!)).volumes[0]!.maps[0]!;
    expect(both.map.map_state).toBe(ISW_T_STATE_FAILED);
    expect(both.map.failed_disk_num).toBe(0);
    devices = await raid10();
    await fail(devices, '/dev/sda');
    devices.delete('/dev/sda');
    await fail(devices, '/dev/sdc');
    expect((await mpbOf(devices.get('/dev/sdd')!)).volumes[0]!.maps[0]!.map.map_state).toBe(ISW_T_STATE_DEGRADED);
  });

  it('RAID5: degraded with one member out', async () => {
    const devices = await group(spec(3, [{ name: 'Parity', level: '5' }]));
    await fail(devices, '/dev/sdb');
    const { map, ord } = (await mpbOf(devices.get('/dev/sda')!)).volumes[0]!.maps[0]!;
    expect(map.map_state).toBe(ISW_T_STATE_DEGRADED);
    expect(map.failed_disk_num).toBe(1);
    expect(ord).toEqual([0, 1 | IMSM_ORD_REBUILD, 2]);
  });

  it('two volumes on the disks: each records it; the serial takes one ":0"', async () => {
    const devices = await group(spec(2, [{ name: 'Mirror', level: '1', perMember: 300000 }, { name: 'Stripe', level: '0' }]));
    await fail(devices, '/dev/sda');
    const after = await mpbOf(devices.get('/dev/sdb')!);
    expect(after.volumes.map((v) => v.maps[0]!.map.map_state)).toEqual([ISW_T_STATE_DEGRADED, ISW_T_STATE_FAILED]);
    expect(after.volumes.map((v) => v.maps[0]!.ord[0])).toEqual([IMSM_ORD_REBUILD, IMSM_ORD_REBUILD]);
    expect(Buffer.from(after.disks[0]!.disk.serial).toString('latin1').replace(/\0+$/, '')).toBe('FAILDISK0:0');
  });

  it('the disk being rebuilt onto failing ends the rebuild, degraded, its slot out of sync', () => {
    const mpb = decodeMpb(buildGroupMpb(spec(2, [{ name: 'Mirror', level: '1', mapState: ISW_T_STATE_DEGRADED }])));
    const rebuilding = decodeMpb(startRebuild(mpb, 1, { serial: 'NEWONE', sizeSectors: DISK }));
    expect(rebuilding.volumes[0]!.dev.vol.migr_type).toBe(ISW_T_MIGR_TYPE_REBUILDING);
    const after = decodeMpb(markFailed(rebuilding, 1)!);
    const v = after.volumes[0]!;
    expect(v.dev.vol.migr_state).toBe(0);
    expect(v.maps).toHaveLength(1);
    expect(v.maps[0]!.map.map_state).toBe(ISW_T_STATE_DEGRADED);
    expect(v.maps[0]!.map.failed_disk_num).toBe(1);
    expect(v.maps[0]!.ord).toEqual([0, 1 | IMSM_ORD_REBUILD]);
  });

  it('a volume in sync stays so on a disk it does not use; nothing new, nothing returned', () => {
    const mpb = decodeMpb(buildGroupMpb(spec(2, [{ name: 'Mirror', level: '1' }])));
    const once = decodeMpb(markFailed(mpb, 0)!);
    expect(markFailed(once, 0)).toBeUndefined();
    expect(once.volumes[0]!.maps[0]!.map.failed_disk_num).not.toBe(ISW_DEV_NONE_FAILED);
    expect(mpb.volumes[0]!.maps[0]!.map.map_state).toBe(ISW_T_STATE_NORMAL);
  });

  it('the failed disk coming back with its old MPB is stale: the survivors record it failed, long serial too', async () => {
    const long = (i: number) => `LONGSERIAL0000X${i}`;
    const devices = await group(spec(2, [{ name: 'Mirror', level: '1' }], long), long);
    await fail(devices, '/dev/sdb');
    const rds: RaidDevice[] = [];
    for (const d of devices.values()) rds.push(...(await isw.read(d, readContext('isw', () => undefined))));
    const stale = isw.stale!(rds as RaidDevice<IswMeta>[]).filter((s) => !s.rd.volumeOf);
    expect(stale.map((s) => [s.rd.device.path, s.reason])).toEqual([
      ['/dev/sdb', 'its metadata (generation 7) is older than the metadata on /dev/sda (generation 8), which records it failed'],
    ]);
  });

  it('a serial of 14 characters or more keeps its last 15 with ":0", as mdadm cuts it', () => {
    const text = (s: string) => Buffer.from(failedSerial(Buffer.from(s.padEnd(16, '\0'), 'latin1'))).toString('latin1').replace(/\0+$/, '');
    expect(text('ABCDEFGHIJKLMNOP')).toBe('DEFGHIJKLMNOP:0');
    expect(text('ABCDEFGHIJKLMN')).toBe('BCDEFGHIJKLMN:0');
    expect(text('ABCDEFGHIJKLM')).toBe('ABCDEFGHIJKLM:0');
  });
});

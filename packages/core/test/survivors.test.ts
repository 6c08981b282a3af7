import { describe, expect, it } from 'vitest';
import { changedSinceRead, isIoError, newRaidSet, recordOnSurvivors, sparseDevice, type RaidDevice, type SurvivorRecord, type WritableDevice } from '../src/index.js';

const RECORDED = 0xff;
/** The first byte a member holds. */
async function first(d: WritableDevice): Promise<number | undefined> {
  const r = await d.read(0, 1);
  return isIoError(r) ? undefined : r[0];
}
const LOCKED = 0xee;

/** Three members, each with a 16-byte block at sector 0 whose first byte says what the record makes of it. */
function setOf(firstBytes: number[]) {
  const devices = firstBytes.map((b, i) => {
    const d = sparseDevice(`/dev/sd${'abc'[i]}`, 64);
    return { d, first: b };
  });
  const set = newRaidSet('toy_set', 'raid1');
  for (const { d } of devices) set.devs.push({ device: d, areas: [{ offsetSectors: 0, size: 16, data: new Uint8Array(16) }] } as unknown as RaidDevice);
  return { set, devices: devices.map((x) => x.d) };
}

const record = (set: ReturnType<typeof setOf>['set']): SurvivorRecord => ({
  reread: (dev) => dev.read(0, 16),
  plan(now, rd) {
    if (now![0] === RECORDED) return 'recorded';
    if (now![0] === LOCKED) return changedSinceRead(set, rd);
    return [{ offsetSectors: 0, size: 16, data: new Uint8Array(16).fill(RECORDED) }];
  },
});

function context(devices: WritableDevice[]) {
  const opened: string[] = [];
  const errors: string[] = [];
  return {
    opened,
    errors,
    ctx: {
      format: 'toy',
      log: () => undefined,
      error: (t: string) => void errors.push(t),
      openWritable: async (path: string) => {
        opened.push(path);
        return devices.find((d) => d.path === path);
      },
    },
  };
}

describe('recordOnSurvivors', () => {
  it('writes every survivor and never opens the failed disk', async () => {
    const { set, devices } = setOf([0, 0, 0]);
    const { ctx, opened, errors } = context(devices);
    expect(await recordOnSurvivors(set, devices[2]!, ctx, record(set))).toBe(true);
    expect(opened).toEqual(['/dev/sda', '/dev/sdb']);
    expect(errors).toEqual([]);
    expect(await first(devices[0]!)).toBe(RECORDED);
    expect(await first(devices[1]!)).toBe(RECORDED);
    expect(await first(devices[2]!)).toBe(0);
  });

  it('writes nothing anywhere when one survivor refuses, and says which', async () => {
    const { set, devices } = setOf([0, 0, 0]);
    await devices[1]!.write(0, new Uint8Array([LOCKED]));
    const { ctx, errors } = context(devices);
    expect(await recordOnSurvivors(set, devices[2]!, ctx, record(set))).toBe(false);
    expect(errors).toEqual(['the metadata of RAID set "toy_set" on /dev/sdb changed since it was read; nothing written']);
    expect(await first(devices[0]!)).toBe(0);
  });

  it('leaves a survivor that has the record already as it is', async () => {
    const { set, devices } = setOf([0, 0, 0]);
    await devices[0]!.write(0, new Uint8Array([RECORDED, 7]));
    const { ctx } = context(devices);
    expect(await recordOnSurvivors(set, devices[2]!, ctx, record(set))).toBe(true);
    expect(await devices[0]!.read(0, 2)).toEqual(new Uint8Array([RECORDED, 7]));
    expect(await first(devices[1]!)).toBe(RECORDED);
  });

  it('refuses a device that is no member, opening nothing', async () => {
    const { set, devices } = setOf([0, 0, 0]);
    const stranger = sparseDevice('/dev/sdz', 64);
    const { ctx, opened, errors } = context(devices);
    expect(await recordOnSurvivors(set, stranger, ctx, record(set))).toBe(false);
    expect(opened).toEqual([]);
    expect(errors).toEqual(['/dev/sdz is no member of RAID set "toy_set"']);
  });
});

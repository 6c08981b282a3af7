// rebuildTarget: the checks every handler's rebuild makes first, each refusal one error and nothing else.
import { describe, expect, it } from 'vitest';
import { newRaidSet, rebuildTarget, type BlockDevice, type RaidDevice, type RaidType } from '../src/index.js';

const disk = (path: string): BlockDevice => ({ path, serial: undefined, sizeSectors: 1000 }) as BlockDevice;
const member = (path: string, type: RaidType = 'raid1'): RaidDevice => ({
  device: disk(path), format: 'toy', name: 's', type, status: 'ok', offset: 0, sectors: 1000, areas: [], meta: undefined,
});
const set = (type: RaidType, ...paths: string[]) => ({ ...newRaidSet('toy_s', type), devs: paths.map((p) => member(p, type)) });

function errors() {
  const said: string[] = [];
  return { said, ctx: { error: (t: string) => void said.push(t) } };
}

describe('rebuildTarget', () => {
  it('gives the members and the drive when every check passes', () => {
    const { said, ctx } = errors();
    const s = set('raid1', 'a');
    const r = rebuildTarget(s, disk('b'), ctx, () => true);
    expect([r?.members.map((m) => m.device.path), r?.device.path, said]).toEqual([['a'], 'b', []]);
  });

  it('refuses, in this order: no member present, no redundancy, no drive, a drive that is a member', () => {
    const cases: [ReturnType<typeof set>, BlockDevice | undefined, boolean, string][] = [
      [set('raid1'), disk('b'), true, 'failed to find a raid device in RS toy_s'],
      [set('raid0', 'a'), undefined, false, 'cannot rebuild RAID set "toy_s": its level (raid0) has no redundancy to rebuild a member from'],
      [set('raid1', 'a'), undefined, true, 'no drive to rebuild'],
      [set('raid1', 'a'), disk('a'), true, 'a is a member of RAID set "toy_s" already'],
    ];
    for (const [s, d, redundant, message] of cases) {
      const { said, ctx } = errors();
      expect(rebuildTarget(s, d, ctx, () => redundant)).toBeUndefined();
      expect(said).toEqual([message]);
    }
  });
});

// setHealth: what `-s --test` and the monitor report, from the model alone. The sets here are built by hand
// to the shapes the checks leave (present/expected counts, member statuses); the testbed's sets of every format
// are run through the CLI in packages/cli/test/health.test.ts.
import { describe, expect, it } from 'vitest';
import { memberState, newRaidSet, setHealth, unassembledMembers, type RaidDevice, type RaidSet, type RaidStatus, type RaidType } from '../src/index.js';

let serial = 0;
const member = (type: RaidType, status: RaidStatus = 'ok', extra: Partial<RaidDevice> = {}): RaidDevice => ({
  device: { path: `/dev/sd${serial++}`, serial: undefined, sizeSectors: 1000 },
  format: 'test', name: 's', type, status, offset: 0, sectors: 1000, areas: [], meta: undefined, ...extra,
});

/** A leaf set of `present` members of which the metadata expects `expected`, statuses as the count check sets them. */
function leaf(type: RaidType, present: number, expected: number, status: RaidStatus = present === expected ? 'ok' : 'inconsistent'): RaidSet {
  const devs = Array.from({ length: present }, () => member(type, present === expected ? 'ok' : type === 'raid1' ? 'inconsistent' : 'broken'));
  return { ...newRaidSet('s', type), status, devs, totalDevs: present, foundDevs: expected };
}

const stacked = (type: RaidType, halves: RaidSet[], status: RaidStatus = 'ok'): RaidSet => ({ ...newRaidSet('top', type), status, sets: halves });
const health = (s: RaidSet) => setHealth(s).health;

describe('setHealth', () => {
  it('a whole set is ok, with its counts', () => {
    for (const t of ['raid0', 'raid1', 'raid5_ls', 'linear', 'raid6'] as const) expect(setHealth(leaf(t, 3, 3))).toEqual({ health: 'ok', expected: 3, found: 3 });
  });

  it('a mirror short of a leg, a RAID5 short of one, a RAID6 short of two are degraded; one more is unusable', () => {
    expect(setHealth(leaf('raid1', 1, 2))).toMatchObject({ health: 'degraded', expected: 2, found: 1 });
    expect(health(leaf('raid1', 0, 2))).toBe('unusable');
    expect(health(leaf('raid5_la', 2, 3))).toBe('degraded');
    expect(health(leaf('raid5_la', 1, 3))).toBe('unusable');
    expect(health(leaf('raid4', 3, 4))).toBe('degraded');
    expect(health(leaf('raid6', 2, 4))).toBe('degraded');
    expect(health(leaf('raid6', 1, 4))).toBe('unusable');
  });

  it('a stripe or a span short of a member is unusable, and so is one with a member recorded failed', () => {
    expect(setHealth(leaf('raid0', 1, 2))).toMatchObject({ health: 'unusable', reason: expect.stringMatching(/of 2/) });
    expect(health(leaf('linear', 2, 3))).toBe('unusable');
    const failed = leaf('raid0', 2, 2);
    failed.devs[1]!.status = 'broken';
    expect(health(failed)).toBe('unusable');
  });

  it('a mirror with a failed or rebuilding leg, or metadata not in sync, is degraded', () => {
    const failed = leaf('raid1', 2, 2, 'inconsistent');
    failed.devs[0]!.status = 'broken';
    expect(health(failed)).toBe('degraded');
    const rebuilding = leaf('raid1', 2, 2, 'nosync');
    rebuilding.devs[1]!.outOfSync = 'rebuild target';
    expect(setHealth(rebuilding)).toMatchObject({ health: 'degraded', found: 2 });
    expect(health(leaf('raid5_ls', 3, 3, 'nosync'))).toBe('degraded');
    expect(health(leaf('raid1', 2, 2, 'inconsistent'))).toBe('degraded');
  });

  it('a RAID10 reads while each mirror holds a leg, or (a mirror of stripes) while one stripe is whole', () => {
    // Stripe of mirrors (dmraid's raid01 shape over raid1 halves).
    expect(health(stacked('raid0', [leaf('raid1', 1, 2), leaf('raid1', 1, 2)]))).toBe('degraded');
    expect(health(stacked('raid0', [leaf('raid1', 2, 2), leaf('raid1', 0, 2)]))).toBe('unusable');
    // Mirror of stripes.
    expect(setHealth(stacked('raid1', [leaf('raid0', 2, 2), leaf('raid0', 1, 2)]))).toMatchObject({ health: 'degraded', expected: 4, found: 3 });
    expect(health(stacked('raid1', [leaf('raid0', 1, 2), leaf('raid0', 1, 2)]))).toBe('unusable');
    // A half not listed at all: a mirror of one stripe reads; a stripe of one mirror, kept broken, does not.
    expect(health(stacked('raid1', [leaf('raid0', 2, 2)], 'broken'))).toBe('degraded');
    expect(health(stacked('raid0', [leaf('raid1', 2, 2)], 'broken'))).toBe('unusable');
    expect(health(stacked('raid1', [leaf('raid0', 2, 2), leaf('raid0', 2, 2)]))).toBe('ok');
  });

  it('a group is as healthy as its least healthy volume', () => {
    const group = (...volumes: RaidSet[]) => ({ ...newRaidSet('g', 'group'), status: 'ok' as const, sets: volumes });
    expect(health(group(leaf('raid1', 2, 2), leaf('raid0', 2, 2)))).toBe('ok');
    expect(setHealth(group(leaf('raid1', 1, 2), leaf('raid0', 2, 2)))).toMatchObject({ health: 'degraded', expected: 4, found: 3 });
    expect(health(group(leaf('raid1', 1, 2), leaf('raid0', 1, 2)))).toBe('unusable');
    expect(health(group())).toBe('ok');
  });

  it('spares neither count as members nor make a set short', () => {
    const s = leaf('raid1', 2, 2);
    s.devs.push(member('spare'));
    expect(setHealth(s)).toEqual({ health: 'ok', expected: 2, found: 2 });
  });
});

describe('memberState', () => {
  it('names what each member is to its set', () => {
    expect(memberState(member('raid1'))).toBe('active');
    expect(memberState(member('raid1', 'inconsistent'))).toBe('active');
    expect(memberState(member('spare'))).toBe('spare');
    expect(memberState(member('raid1', 'broken'))).toBe('failed');
    expect(memberState(member('raid1', 'nosync', { outOfSync: 'rebuild target' }))).toBe('rebuilding');
    expect(memberState(member('raid1', 'broken', { stale: 'older generation' }))).toBe('stale');
  });

  it('a member the count check marked broken because its set is short is active; in a whole set it failed', () => {
    const short = leaf('raid5_ls', 2, 3);
    expect(short.devs.map((rd) => rd.status)).toEqual(['broken', 'broken']);
    expect(short.devs.map((rd) => memberState(rd, short))).toEqual(['active', 'active']);
    const whole = leaf('raid5_ls', 3, 3);
    whole.devs[2]!.status = 'broken';
    expect(whole.devs.map((rd) => memberState(rd, whole))).toEqual(['active', 'active', 'failed']);
    expect(health(whole)).toBe('degraded');
  });
});

describe('unassembledMembers', () => {
  it('finds the members no listed set holds, spares and empty containers aside, of the sets wanted', () => {
    const s = leaf('raid1', 2, 2);
    const removed = member('raid0', 'broken', { name: 'gone' });
    const all = [...s.devs, removed, member('spare'), member('group', 'ok', { name: 'container' })];
    expect(unassembledMembers(all, [s])).toEqual([removed]);
    expect(unassembledMembers(all, [s], ['s'])).toEqual([]);
    expect(unassembledMembers(all, [s], ['gone'])).toEqual([removed]);
  });
});

import { describe, expect, it } from 'vitest';
import { countDevs, mkAlpha, newRaidSet, setSectors, setsNamed, setTypeDisplay, totalSectors, type RaidDevice, type RaidSet } from '../src/index.js';

const dev = (sectors: number, type: RaidDevice['type'] = 'raid0'): RaidDevice => ({
  device: { path: '/dev/x', serial: undefined, sizeSectors: sectors + 100 },
  format: 'test', name: 's', type, status: 'ok', offset: 0, sectors, areas: [], meta: undefined,
});
const set = (type: RaidSet['type'], stride: number, devs: RaidDevice[], sets: RaidSet[] = []): RaidSet => ({ ...newRaidSet('s', type), stride, devs, sets });

describe('model', () => {
  it('sizes sets as dmraid does (smallest member × members, stride mask, mirrors the minimum, parity)', () => {
    // A linear set counts n × the smallest member, not the members' own lengths (dmraid, verified).
    expect(totalSectors(set('linear', 0, [dev(131061, 'linear'), dev(132061, 'linear')]))).toBe(262122);
    expect(totalSectors(set('raid0', 128, [dev(1000), dev(1100)]))).toBe(2 * 896);
    expect(totalSectors(set('raid1', 0, [dev(1000, 'raid1'), dev(900, 'raid1')]))).toBe(900);
    expect(totalSectors(set('raid5_ls', 64, [dev(1000, 'raid5_ls'), dev(1000, 'raid5_ls'), dev(1000, 'raid5_ls')]))).toBe(1920);
    const halves = [set('raid0', 128, [dev(65408), dev(65408)]), set('raid0', 128, [dev(65408), dev(65408)])];
    expect(totalSectors(set('raid1', 128, [], halves))).toBe(130816);
    expect(totalSectors(set('spare', 0, [dev(500, 'spare'), dev(700, 'spare')]))).toBe(1200);
  });

  it('sizes sets exactly past 2^53 sectors, in the unsigned 64-bit arithmetic of dmraid', () => {
    const big = 2 ** 52 + 1; // an exact number; three of them are not
    expect(setSectors(set('raid0', 0, [dev(big), dev(big), dev(big)]))).toBe(3n * (2n ** 52n + 1n));
    expect(setSectors(set('raid0', 128, [dev(big), dev(big), dev(big)]))).toBe(3n * 2n ** 52n);
    expect(setSectors(set('linear', 0, [dev(Number.MAX_SAFE_INTEGER, 'linear'), dev(Number.MAX_SAFE_INTEGER, 'linear')]))).toBe(2n * (2n ** 53n - 1n));
    const halves = [set('raid0', 0, [dev(big), dev(big), dev(big)]), set('raid0', 0, [dev(big), dev(big), dev(big)])];
    expect(setSectors(set('raid1', 0, [], halves))).toBe(3n * (2n ** 52n + 1n));
    expect(setSectors(set('raid5_ls', 0, [dev(big, 'raid5_ls'), dev(big, 'raid5_ls'), dev(big, 'raid5_ls'), dev(big, 'raid5_ls')]))).toBe(3n * (2n ** 52n + 1n));
    // A raid6 of one member goes below zero and wraps, as dmraid's uint64_t does.
    expect(setSectors(set('raid6', 0, [dev(1000, 'raid6')]))).toBe(2n ** 64n - 1000n);
    expect(totalSectors(set('raid0', 128, [dev(1000), dev(1100)]))).toBe(2 * 896);
  });

  it('counts spares apart and recurses into stacked sets but not into groups', () => {
    const s = set('raid0', 128, [dev(1), dev(1), dev(1, 'spare')]);
    expect([countDevs(s, 'dev'), countDevs(s, 'spare'), countDevs(s, 'all')]).toEqual([2, 1, 3]);
    const g = set('group', 0, [dev(1, 'group')], [s]);
    expect(countDevs(g, 'all')).toBe(1);
  });

  it('names stacked types as dmraid prints them', () => {
    const stripe = set('raid0', 128, [dev(1)]);
    const mirror = set('raid1', 0, [dev(1, 'raid1')]);
    expect(setTypeDisplay(set('raid1', 128, [], [stripe, stripe]))).toBe('raid10');
    expect(setTypeDisplay(set('raid0', 128, [], [mirror, mirror]))).toBe('raid01');
    expect(setTypeDisplay(stripe)).toBe('stripe');
    expect(setTypeDisplay(set('group', 0, [], [stripe]))).toBe('GROUP');
  });

  it('names the stacked sets corrupted metadata builds as dmraid does (its type-table distance from raid1)', () => {
    const stripe = set('raid0', 128, [dev(1)]);
    const of = (type: RaidSet['type']) => set(type, 0, [dev(1, type)]);
    // A stripe over a stripe (hpt45x: a plain stripe set named like a RAID10's mirror), verified on the reference.
    expect(setTypeDisplay(set('raid0', 128, [dev(1)], [stripe]))).toBe('raid03');
    expect(setTypeDisplay(set('raid0', 128, [], [of('linear')]))).toBe('raid03');
    expect(setTypeDisplay(set('raid0', 128, [], [of('raid5_ls')]))).toBe('raid04');
    expect(setTypeDisplay(set('linear', 0, [], [stripe]))).toBe('raid30');
    expect(setTypeDisplay(set('undef', 0, [], [stripe]))).toBe('raid30');
    expect(setTypeDisplay(set('raid5_la', 0, [], [stripe]))).toBe('raid60');
    // Past the first row of dmraid's table: it reads on into the second.
    expect(setTypeDisplay(set('raid5_ra', 0, [], [stripe]))).toBe('raid01');
    expect(setTypeDisplay(set('raid6', 0, [], [stripe]))).toBe('raid03');
    // Past the whole table: its own type.
    expect(setTypeDisplay(set('raid0', 128, [], [of('raid6')]))).toBe('stripe');
  });

  it('mk_alpha turns digits into letters and leaves the rest', () => {
    expect(mkAlpha('3467773618')).toBe('deghhhdgbi');
    expect(mkAlpha('9d4378c7')).toBe('jdedhich');
  });
});

describe('setsNamed', () => {
  const named = (name: string, type: RaidSet['type'], sets: RaidSet[] = []): RaidSet => ({ ...newRaidSet(name, type), sets });
  const sets = [named('hpt45x_a', 'raid0'), named('isw_g', 'group', [named('isw_g_Fast', 'raid0'), named('isw_g_Safe', 'raid1')])];

  it('takes a set by its exact name, never a prefix; a group volume inside its group without the others; a group whole by its name', () => {
    const r = setsNamed(sets, ['isw_g_Safe', 'hpt45x', 'hpt45x_a']);
    expect(r.sets.map((s) => [s.name, s.sets.map((v) => v.name)])).toEqual([['hpt45x_a', []], ['isw_g', ['isw_g_Safe']]]);
    expect(r.unknown).toEqual(['hpt45x']);
    expect(setsNamed(sets, ['isw_g']).sets).toEqual([sets[1]]);
    expect(setsNamed(sets, ['isw_g_Fast', 'isw_g_Safe']).sets[0]!.sets.map((v) => v.name)).toEqual(['isw_g_Fast', 'isw_g_Safe']);
    expect(setsNamed(sets, ['nothing'])).toEqual({ sets: [], unknown: ['nothing'] });
    expect(setsNamed(sets, ['hpt45x'])).toEqual({ sets: [], unknown: ['hpt45x'] });
    expect(setsNamed(sets, ['isw_g_S'])).toEqual({ sets: [], unknown: ['isw_g_S'] });
  });
});

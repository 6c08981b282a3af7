// `--tables FILE`: `dmraid -tay` text a user gives, read back into the plan's model by activation's parser.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mappedRef, memberRef, ZERO_REF, type TableArg, type TableTarget } from '@dmraid/core';
import { newRaidSet, type RaidDevice, type RaidSet } from '@dmraid/core';
import { dmDevice, parseTestTables, planActivation, tableLines } from '../src/index.js';

describe('parseTestTables (`dmraid -tay` output)', () => {
  // Paths of any characters but a newline: spaces, tabs, commas, colons, backslashes, `#`, non-ASCII.
  const path = fc
    .string({ unit: 'binary', minLength: 1, maxLength: 16 })
    .filter((p) => !p.includes('\n') && p !== '-' && p !== '/dev/zero' && !p.startsWith('/dev/mapper/'));
  const dev = (names: readonly string[]) => (names.length ? fc.oneof(path.map(memberRef), fc.constantFrom(...names).map(mappedRef), fc.constant(ZERO_REF)) : fc.oneof(path.map(memberRef), fc.constant(ZERO_REF)));
  const off = fc.nat().map(String);
  /** A target in one of the shapes activation builds, its devices typed. */
  const target = (names: readonly string[]): fc.Arbitrary<TableTarget> => {
    const pair = fc.tuple(dev(names), off);
    return fc.tuple(fc.nat(), fc.integer({ min: 1, max: 1 << 30 }), fc.oneof(
      pair.map(([d, o]): [string, TableArg[]] => ['linear', [d, o]]),
      fc.array(pair, { minLength: 1, maxLength: 4 }).map((ps): [string, TableArg[]] => ['striped', [String(ps.length), '128', ...ps.flat()]]),
      fc.array(pair, { minLength: 2, maxLength: 3 }).map((ps): [string, TableArg[]] => ['mirror', ['core', '2', '64', 'nosync', String(ps.length), ...ps.flat(), '1', 'handle_errors']]),
      fc.array(fc.option(dev(names), { nil: undefined }), { minLength: 3, maxLength: 5 }).map((ds): [string, TableArg[]] => ['raid', ['raid5_ls', '4', '128', 'sync', 'region_size', '256', String(ds.length), ...ds.flatMap((d) => ['-', d ?? '-'])]]),
    )).map(([start, length, [type, args]]) => ({ start, length, type, args }));
  };
  const name = fc.stringMatching(/^[A-Za-z0-9_.-]{1,20}$/);

  it('gives back every device\'s targets, paths of any characters (spaces, commas, colons, backslashes) the same paths, as -t prints them', () => {
    fc.assert(
      fc.property(fc.uniqueArray(name, { minLength: 1, maxLength: 5 }).chain((names) => fc.tuple(fc.constant(names), fc.tuple(...names.map((_, i) => fc.array(target(names.slice(0, i)), { minLength: 1, maxLength: 3 }))))), ([names, tables]) => {
        const devices = names.map((n, i) => dmDevice({ name: n, targets: tables[i]!, dependsOn: [], set: n, role: 'set' }));
        const printed = tableLines({ devices, shown: devices.map((d) => ({ name: d.name, table: d.table })) });
        // One line a target, whatever the paths hold.
        expect(printed).toHaveLength(tables.flat().length);
        const parsed = parseTestTables(printed.join('\n'));
        expect(parsed).toEqual(devices.map((d) => expect.objectContaining({ name: d.name, targets: d.targets, table: d.table })));
        // The members each table maps onto, from the data the test made: never read back from the text.
        const made = tables.map((ts) => [...new Set(ts.flatMap((t) => t.args.flatMap((a) => (typeof a === 'object' && a.kind === 'member' ? [a.path] : []))))]);
        expect((parsed as { members: readonly string[] }[]).map((d) => d.members)).toEqual(made);
      }),
    );
  });

  it('fuzz: any text is tables or an error naming the line, never a throw; tables read from quoting-heavy text print back as themselves', () => {
    const line = fc.tuple(fc.nat(), fc.nat(), fc.array(fc.stringMatching(/^[!-~]{1,12}$/), { maxLength: 8 })).map(([a, b, w]) => [a, b, ...w].join(' '));
    fc.assert(
      fc.property(fc.array(fc.tuple(name, line), { maxLength: 12 }), (entries) => {
        const parsed = parseTestTables(entries.map(([n, l]) => `${n}: ${l}`).join('\n'));
        if (typeof parsed === 'string') expect(parsed).toMatch(/^not a table line: /);
        else expect(parsed.map((d) => d.name)).toEqual([...new Set(entries.map(([n]) => n))]);
      }),
    );
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => {
        const parsed = parseTestTables(text);
        if (typeof parsed === 'string') expect(parsed).toMatch(/^not a table line: /);
        else expect(Array.isArray(parsed)).toBe(true);
      }),
    );
    // Text made of the pieces quoting is about: whatever it parses to, printing that and reading it back
    // gives the same tables (the printed form is the one way to say them).
    let parsedCount = 0;
    const piece = fc.constantFrom('\\', ' ', '\t', '\n', ':', ',', '0', '2', '64', 'a', 'x:', 'linear', 'striped', 'mirror', 'raid', 'core', '-', '/dev/mapper/x', '/dev/zero', 'raid5_ls');
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('x', 'y'), fc.nat(9), fc.nat(9), fc.constantFrom('linear', 'striped', 'mirror', 'raid'), fc.array(piece, { maxLength: 30 })), { minLength: 1, maxLength: 4 }), (lines) => {
        const text = lines.map(([n, a, b, type, ps]) => `${n}: ${a} ${b} ${type} ${ps.join('')}`).join('\n');
        const parsed = parseTestTables(text);
        if (typeof parsed === 'string') return;
        parsedCount++;
        const printed = tableLines({ devices: parsed, shown: parsed.map((d) => ({ name: d.name, table: d.table })) }).join('\n');
        expect(parseTestTables(printed)).toEqual(parsed);
      }),
      { numRuns: 2000 },
    );
    // Most of them parse (a newline piece may cut a line short of its target type).
    expect(parsedCount).toBeGreaterThan(1000);
  });

  it('the planner names the member devices each table maps onto: a RAID10\'s stripes their disks, the mirror over them none', () => {
    const dev = (path: string): RaidDevice => ({ device: { path, serial: undefined, sizeSectors: 2048 }, format: 'x', name: 's', type: 'raid0', status: 'ok', offset: 0, sectors: 2048, areas: [], meta: undefined });
    const stripe = (name: string, paths: string[]): RaidSet => ({ ...newRaidSet(name, 'raid0'), status: 'ok', stride: 128, devs: paths.map(dev), totalDevs: 2, foundDevs: 2 });
    const raid10: RaidSet = { ...newRaidSet('m', 'raid1'), status: 'ok', sets: [stripe('m-0', ['/dev/sda', 'sp ace.img']), stripe('m-1', ['/dev/sdc', '/dev/sdd'])] };
    const { plan } = planActivation([raid10]);
    expect(plan.devices.map((d) => [d.name, d.members])).toEqual([['m-0', ['/dev/sda', 'sp ace.img']], ['m-1', ['/dev/sdc', '/dev/sdd']], ['m', []]]);
  });
});

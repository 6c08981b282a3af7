// dmraid's command line, option by option, against the reference binary on the same images: output,
// messages and exit status byte for byte, and nothing written by any of them.
import { describe, expect, it } from 'vitest';
import { hashFiles, reference, runOurs, runReference, testIf } from '@dmraid/testkit';
import { OUR_LONG_OPTIONS } from '../src/options.js';
import { imagesOf, tmp } from './helpers.js';

const CASES: string[][] = [
  ['-r'], ['-s'], ['-s', '-s'], ['-b'], ['-n'],
  ['-r', '-c'], ['-r', '-c', '-c'], ['-r', '-c', '-c', '-c'], ['-s', '-c'], ['-s', '-c', '-c'], ['-s', '-c', '-c', '-c'],
  ['-b', '-c'], ['-b', '-c', '-c'],
  ['-rcraid,path,foo'], ['-scraidname,size,devices,spares,stride,status,type,subsets,format'],
  ['-b', '-cdevpath,sectors,serialnumber,size,path'], ['-r', '-cda,de,f,o,p,r,t,se,si,st'],
  ['--separator', ':', '-r', '-craid,path'], ['--separator=;', '-s', '-craid,size'], ['--separator', 'ab', '-r', '-c'],
  ['-f', 'hpt', '-r'], ['-f', 'hpt45x', '-s'], ['-f', 'hpt45x,hpt', '-r'], ['-f', 'foo', '-r'], ['-f', 'hpt4', '-s'],
  ['-s', 'hpt45x_bhehd'], ['-s', 'hpt45x_bhehd-0'], ['-s', 'hpt45x'], ['-s', 'nosuchset'], ['-s', 'nosuch', 'other'],
  ['-s', '-c', 'hpt45x_ihdh'], ['-sa'], ['-si'], ['--sets=active'], ['--sets=x'], ['-s', '-g'],
  ['-r', 'hpt45x-raid1-2/sdb.img'], ['-n', 'hpt45x-raid10-4/sda.img'],
  ['-q'], ['--foo'], ['--raid'], ['-r', '-s'], ['-c'], ['-r', '-t'], ['-a', 'x'], ['-l', 'foo'], ['-V', 'x'],
  ['-d'], ['-v'], ['-d', '-v'], ['-D'], ['-g'], ['-t'], ['-p'], ['-x', '-c'], ['-Z'], ['-E'], ['-a', 'y', '-t', '-P', 'X'],
  ['-v', '-r'], ['-v', '-b'], ['-r', '--'], [],
];

describe('command line against the reference dmraid', () => {
  const itRef = testIf(it, reference());
  itRef(`${CASES.length} option combinations print what the reference prints, with its exit status`, async () => {
    const dir = tmp('options');
    const images = await imagesOf(dir, 'hpt45x/raid10-4', 'hpt45x/raid1-2', 'hpt45x/raid0-2');
    const before = await hashFiles(dir, { recursive: true });
    const failures: string[] = [];
    // The reference knows the images as /dev/sda, /dev/sdb, ... in order: device arguments are translated.
    const asReference = (a: string) => {
      const i = images.findIndex((spec) => spec.split(':')[0] === a);
      return i < 0 ? a : `/dev/sd${String.fromCharCode(97 + i)}`;
    };
    for (const args of CASES) {
      const theirs = await runReference(images, args.map(asReference), { cwd: dir });
      const ours = await runOurs(images, args, { cwd: dir });
      if (JSON.stringify([ours.status, ours.stdout, ours.stderr]) !== JSON.stringify([theirs.status, theirs.stdout, theirs.stderr])) {
        failures.push(`dmraid ${args.join(' ')}\n  ours:   ${JSON.stringify(ours)}\n  theirs: ${JSON.stringify(theirs)}`);
      }
    }
    expect(failures.join('\n')).toBe('');
    expect(await hashFiles(dir, { recursive: true })).toBe(before);
  }, 600_000);

  // A deliberate deviation (docs/deviations.md): the reference prints one *ERR* column a line for these.
  itRef('-cc and -ccc print what -c -c and -c -c -c print (the reference prints *ERR*)', async () => {
    const dir = tmp('options-cc');
    const images = await imagesOf(dir, 'hpt45x/raid10-4', 'hpt45x/raid1-2');
    for (const [short, long] of [[['-r', '-cc'], ['-r', '-c', '-c']], [['-s', '-ccc'], ['-s', '-c', '-c', '-c']], [['-rccc'], ['-r', '-c', '-c', '-c']]] as const) {
      const ours = await runOurs(images, short, { cwd: dir });
      const theirs = await runReference(images, long, { cwd: dir });
      expect(ours.stdout).not.toContain('*ERR*');
      expect(ours).toEqual(theirs);
      expect((await runReference(images, short, { cwd: dir })).stdout).toContain('*ERR*');
    }
  }, 120_000);

  // A deliberate deviation (docs/deviations.md): our help is the reference's, then what we add.
  itRef('-h prints the reference\'s help, then a "Beyond dmraid" block naming every option of ours', async () => {
    const dir = tmp('options-help');
    const images = await imagesOf(dir, 'hpt45x/raid1-2');
    const theirs = await runReference(images, ['-h'], { cwd: dir });
    const ours = await runOurs(images, ['-h'], { cwd: dir });
    expect([ours.status, ours.stderr]).toEqual([theirs.status, theirs.stderr]);
    expect(ours.stdout.slice(0, theirs.stdout.length)).toBe(theirs.stdout);
    const beyond = ours.stdout.slice(theirs.stdout.length);
    expect(beyond.startsWith('Beyond dmraid:\n')).toBe(true);
    expect(OUR_LONG_OPTIONS.length).toBeGreaterThan(10);
    expect(OUR_LONG_OPTIONS.filter((name) => !new RegExp(`--${name}\\b`).test(beyond))).toEqual([]);
  }, 60_000);
});

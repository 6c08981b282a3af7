// `-f hpt45x|hpt37x|via -C`: what we create reads, in the reference dmraid and in ours, exactly as the
// testbed's vendor-shaped set of the same shape reads (the set id and what follows from it masked); blkid
// names every member; bad requests are refused with an ERROR and nothing written.
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { hashFiles, listTestbedSets, readExpected, reference, runOurs, runReference, testbedDir, testIf, type CommandResult } from '@dmraid/testkit';
import { tmp } from './helpers.js';

const itRef = testIf(it, reference());

interface Case {
  readonly format: string;
  /** The testbed set of the same shape (testbed/<format>/<config>). */
  readonly config: string;
  readonly args: readonly string[];
}

const CASES: readonly Case[] = [
  { format: 'hpt45x', config: 'raid0-2', args: ['--type', '0'] },
  { format: 'hpt45x', config: 'raid0-3', args: ['--type', '0', '--strip', '32k'] },
  { format: 'hpt45x', config: 'raid1-2', args: ['--type', '1'] },
  { format: 'hpt45x', config: 'raid10-4', args: ['--type', '10'] },
  { format: 'hpt37x', config: 'raid0-2', args: ['--type', '0'] },
  { format: 'hpt37x', config: 'raid0-3', args: ['--type', '0', '--strip', '32k'] },
  { format: 'hpt37x', config: 'raid1-2', args: ['--type', '1'] },
  { format: 'hpt37x', config: 'raid10-4', args: ['--type', '10'] },
  { format: 'hpt37x', config: 'raid01-4', args: ['--type', '01'] },
  { format: 'via', config: 'raid0-2', args: ['--type', '0'] },
  { format: 'via', config: 'raid0-3', args: ['--type', '0', '--strip', '32k'] },
  { format: 'via', config: 'raid1-2', args: ['--type', '1'] },
  { format: 'via', config: 'raid01-4', args: ['--type', '10'] },
];

const READS = [['-r'], ['-s'], ['-s', '-c', '-c', '-c'], ['-r', '-c', '-c', '-c'], ['-n']];

/**
 * The set id is random (ours) or the testbed's: mask it and the fields that carry it (hpt: magic_0/1; via:
 * the serial checksums, whose sum is the id, and the checksum byte over them).
 */
function normalise(format: string, r: CommandResult): CommandResult {
  const mask = (t: string) =>
    t.replace(new RegExp(`${format}_[a-j]+`, 'g'), `${format}_ID`).replace(/^(0x[0-9a-f]+ (?:magic_0|magic_1|(?:array\.)?serial_checksum(?:\[\d\])?|checksum)): .*$/gm, '$1: ID');
  return { status: r.status, stdout: mask(r.stdout), stderr: mask(r.stderr) };
}

/** Blank images named and sized as the testbed set's members, with its serials. */
async function blanksLike(format: string, config: string, dir: string): Promise<string[]> {
  const set = (await listTestbedSets(testbedDir, format)).find((s) => s.config === config);
  if (!set) throw new Error(`no testbed set ${format}/${config}`);
  const specs: string[] = [];
  for (const m of set.members) {
    const sectors = Number((await fs.readFile(join(set.dir, `${m.name}.size`), 'utf8')).trim());
    await fs.writeFile(join(dir, `${m.name}.img`), '');
    await fs.truncate(join(dir, `${m.name}.img`), sectors * 512);
    specs.push(`${m.name}.img:${m.serial}`);
  }
  return specs;
}

const paths = (specs: readonly string[]) => specs.map((s) => s.split(':')[0]!);

async function blkidType(file: string): Promise<string | undefined> {
  const { stdout } = await promisify(execFile)('blkid', ['-p', '-o', 'udev', file]).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? '' }));
  return /^ID_FS_TYPE=(.*)$/m.exec(stdout)?.[1];
}

describe('-C for hpt45x, hpt37x and via: the vendor\'s own shape', () => {
  for (const c of CASES) {
    itRef(`${c.format} ${c.args.join(' ')}: the reference and we read it as the testbed's ${c.config}; blkid names every member`, async () => {
      const dir = tmp(`create-${c.format}-${c.config}`);
      const specs = await blanksLike(c.format, c.config, dir);
      const made = await runOurs(specs, ['-f', c.format, '-C', 'Vol0', ...c.args, '--disk', paths(specs).join(' '), '--yes'], { cwd: dir });
      expect(made.stderr).toBe('');
      expect(made.status).toBe(0);
      expect(made.stdout).toContain(`Create a RAID set with ${c.format.toUpperCase()} metadata format`);
      // The size the summary promised is the size the set reads as.
      const size = /RAID size: .*\((\d+) blocks\)/.exec(made.stdout)![1];
      expect((await runOurs(specs, ['-s', '-c', '-c'], { cwd: dir })).stdout.split(':')[1]).toBe(size);
      const set = (await listTestbedSets(testbedDir, c.format)).find((s) => s.config === c.config)!;
      for (const args of READS) {
        const want = normalise(c.format, (await readExpected(set, args))!);
        expect(normalise(c.format, await runReference(specs, args, { cwd: dir })), `reference ${args.join(' ')}`).toEqual(want);
        expect(normalise(c.format, await runOurs(specs, args, { cwd: dir })), `ours ${args.join(' ')}`).toEqual(want);
      }
      for (const p of paths(specs)) expect(await blkidType(join(dir, p)), p).toBe(`${c.format}_raid_member`);
    }, 120_000);
  }

  const refusals: { label: string; format: string; disks: number; args: string[]; error: RegExp }[] = [
    { label: 'an unsupported level', format: 'hpt45x', disks: 2, args: ['--type', '5'], error: /^ERROR: hpt45x: unsupported RAID level "5"/ },
    { label: 'too few disks', format: 'hpt45x', disks: 3, args: ['--type', '10'], error: /^ERROR: hpt45x: wrong number of disks \(3\) for RAID10/ },
    { label: 'one disk for a stripe', format: 'hpt45x', disks: 1, args: ['--type', '0'], error: /^ERROR: hpt45x: wrong number of disks \(1\) for RAID0/ },
    { label: 'a strip that is no power of two', format: 'hpt45x', disks: 2, args: ['--type', '0', '--strip', '48k'], error: /^ERROR: hpt45x: stripe size 48k/ },
    { label: 'a size larger than the disks', format: 'hpt45x', disks: 2, args: ['--type', '1', '--size', '1g'], error: /^ERROR: hpt45x: size \d+ does not fit/ },
    { label: 'an unsupported level', format: 'hpt37x', disks: 3, args: ['--type', '5'], error: /^ERROR: hpt37x: unsupported RAID level "5"/ },
    { label: 'an unsupported level', format: 'via', disks: 3, args: ['--type', '5'], error: /^ERROR: via: unsupported RAID level "5"/ },
    { label: 'too few disks', format: 'via', disks: 1, args: ['--type', '1'], error: /^ERROR: via: wrong number of disks \(1\) for RAID1/ },
    { label: 'a --size (members span their disks)', format: 'via', disks: 2, args: ['--type', '0', '--size', '10m'], error: /^ERROR: via: a via set spans its whole disks/ },
    { label: 'too few disks', format: 'hpt37x', disks: 2, args: ['--type', '01'], error: /^ERROR: hpt37x: wrong number of disks \(2\) for RAID01/ },
  ];
  for (const r of refusals) {
    it(`${r.format}: ${r.label} is an ERROR and nothing is written`, async () => {
      const dir = tmp(`create-refuse-${r.format}`);
      const specs: string[] = [];
      for (let i = 0; i < r.disks; i++) {
        await fs.writeFile(join(dir, `d${i}.img`), '');
        await fs.truncate(join(dir, `d${i}.img`), 32 << 20);
        specs.push(`d${i}.img:REFUSE${i}`);
      }
      const before = await hashFiles(dir, { recursive: true });
      const out = await runOurs(specs, ['-f', r.format, '-C', 'Vol0', ...r.args, '--disk', paths(specs).join(' '), '--yes'], { cwd: dir });
      expect(out.status).not.toBe(0);
      expect(out.stderr).toMatch(r.error);
      expect(out.stderr).not.toMatch(/\n\s+at /);
      expect(await hashFiles(dir, { recursive: true })).toBe(before);
    });
  }
});

describe('-C over another format\'s metadata', () => {
  const pairs = [
    ['hpt37x', 'hpt45x'],
    ['via', 'hpt37x'],
    ['hpt45x', 'via'],
  ] as const;
  for (const [old, format] of pairs) {
    it(`${format} over a ${old} set: an ERROR naming the disk and ${old}, nothing written; after -E it is created`, async () => {
      const dir = tmp(`create-over-${old}`);
      const specs: string[] = [];
      for (let i = 0; i < 2; i++) {
        await fs.writeFile(join(dir, `d${i}.img`), '');
        await fs.truncate(join(dir, `d${i}.img`), 32 << 20);
        specs.push(`d${i}.img:OVER${i}`);
      }
      const disks = ['--disk', paths(specs).join(' ')];
      expect((await runOurs(specs, ['-f', old, '-C', 'Old', '--type', '1', ...disks, '--yes'], { cwd: dir })).status).toBe(0);
      const before = await hashFiles(dir, { recursive: true });
      const refused = await runOurs(specs, ['-f', format, '-C', 'New', '--type', '0', ...disks, '--yes'], { cwd: dir });
      expect(refused.status).toBe(1);
      expect(refused.stderr).toBe(`ERROR: disk d0.img carries ${old} metadata; erase it first (dmraid -r -E -f ${old} d0.img)\n`);
      expect(await hashFiles(dir, { recursive: true })).toBe(before);
      expect((await runOurs(specs, ['-r', '-E', '--yes'], { cwd: dir, stdin: 'y\ny\n' })).status).toBe(0);
      const made = await runOurs(specs, ['-f', format, '-C', 'New', '--type', '0', ...disks, '--yes'], { cwd: dir });
      expect(made.stderr).toBe('');
      expect((await runOurs(specs, ['-r'], { cwd: dir })).stdout.split('\n').filter(Boolean).map((l) => l.split(':')[1]!.trim().split(',')[0])).toEqual([format, format]);
    });
  }
});

// Bad input: one clear line naming the device or option, dmraid's exit status, nothing written, no stack trace.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runOurs } from '@dmraid/testkit';
import { hashTree, imagesOf, tmp } from './helpers.js';

async function inDir(setup: (dir: string) => Promise<void>) {
  const dir = tmp('bad');
  await setup(dir);
  return dir;
}

describe('bad input', () => {
  const cases: { name: string; setup: (dir: string) => Promise<void>; devices: string[]; args: string[]; stderr: RegExp; stdout?: string }[] = [
    { name: 'a missing path', setup: async () => {}, devices: ['nothere.img'], args: ['-r'], stderr: /^ERROR: cannot open device "nothere\.img": No such file or directory\n$/ },
    { name: 'a directory', setup: async (d) => fs.mkdir(join(d, 'adir')), devices: ['adir'], args: ['-s'], stderr: /^ERROR: cannot open device "adir": Is a directory\n$/ },
    { name: 'a character device', setup: async () => {}, devices: ['/dev/null'], args: ['-r'], stderr: /^ERROR: cannot open device "\/dev\/null": not a block device or image file\n$/ },
    { name: 'an empty file', setup: async (d) => fs.writeFile(join(d, 'empty.img'), ''), devices: ['empty.img'], args: ['-r'], stderr: /^$/, stdout: 'no raid disks\n' },
    { name: 'a 1-byte file', setup: async (d) => fs.writeFile(join(d, 'one.img'), 'x'), devices: ['one.img'], args: ['-s'], stderr: /^$/, stdout: 'no raid disks\n' },
    { name: 'an unknown -f format', setup: async () => {}, devices: [], args: ['-f', 'nosuchformat', '-r'], stderr: /^ERROR: invalid format for -f at \(see -l\)\n$/ },
    { name: 'conflicting options', setup: async () => {}, devices: [], args: ['-r', '-s'], stderr: /^ERROR: invalid option combination \(-h for help\)\n$/ },
    { name: 'an option missing its partner', setup: async () => {}, devices: [], args: ['-D'], stderr: /^ERROR: option missing\/invalid option combination with -D\n$/ },
    { name: 'an unknown option', setup: async () => {}, devices: [], args: ['--frobnicate'], stderr: /^dmraid: unrecognized option '--frobnicate'\n$/ },
  ];
  for (const c of cases) {
    it(`${c.name}: one clear line, exit 1, nothing written`, async () => {
      const dir = await inDir(c.setup);
      const images = await imagesOf(dir, 'hpt45x/raid0-2');
      const before = await hashTree(dir);
      const devices = c.devices.length ? c.devices : images;
      const r = await runOurs(devices, c.args, { cwd: dir });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(c.stderr);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      if (c.stdout !== undefined) expect(r.stdout).toBe(c.stdout);
      expect(await hashTree(dir)).toBe(before);
    });
  }

});

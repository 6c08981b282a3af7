// Bad input: one clear line naming the device or option, dmraid's exit status, nothing written, no stack trace.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hashFiles, runOurs } from '@dmraid/testkit';
import { imagesOf, tmp } from './helpers.js';

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
      const before = await hashFiles(dir, { recursive: true });
      const devices = c.devices.length ? c.devices : images;
      const r = await runOurs(devices, c.args, { cwd: dir });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(c.stderr);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      if (c.stdout !== undefined) expect(r.stdout).toBe(c.stdout);
      expect(await hashFiles(dir, { recursive: true })).toBe(before);
    });
  }

});

describe('the dmraid process', () => {
  it('writes metadata bytes as the raw bytes dmraid prints, not as UTF-8', async () => {
    const { execFileSync } = await import('node:child_process');
    const { existsSync, writeFileSync } = await import('node:fs');
    const bin = new URL('../dist/bin.js', import.meta.url);
    if (!existsSync(bin)) throw new Error('packages/cli is not built (npm test builds it first)');
    // An nvidia member whose productID holds the byte 0xE9: -n prints the string raw.
    const nv = await import('@dmraid/format-nvidia');
    const member = nv.buildNvidiaSet({ level: 'jbod', id: 0x11110001, disks: 2, diskSectors: 65536 })[0]!;
    const value = nv.nvLayout.decodeFrom(member.data);
    value.productID = new Uint8Array([0x41, 0xe9, 0x42, ...new Array(13).fill(0)]);
    value.chksum = nv.nvChecksum(value);
    const dir = tmp('bytes');
    const image = new Uint8Array(member.sizeSectors * 512);
    image.set(nv.nvLayout.encodeToBytes(value), member.offsetBytes);
    writeFileSync(join(dir, 'nv.img'), image);
    const out = execFileSync(process.execPath, [bin.pathname, '--devices', 'nv.img', '-n'], { cwd: dir });
    expect(out.includes(Buffer.from('productID: A\xe9B\n', 'latin1'))).toBe(true);
    expect(out.includes(Buffer.from('A\u00e9B', 'utf8'))).toBe(false);
  });
});

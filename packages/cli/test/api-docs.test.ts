// docs/api.md is tested code: every ```ts block is type-checked and run, in order, over the testbed's NVIDIA
// RAID0 member images, and what it prints is held against the reference's `dmraid -s` and the images' bytes.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { buildTestbedImages, fillMembers, listTestbedSets, repoRoot, testbedDir } from '@dmraid/testkit';
import { tmp } from './helpers.js';

const CONFIG = 'raid0-2';
const here = new URL('.', import.meta.url).pathname;
// Inside the workspace, so that the examples' `@dmraid/*` imports resolve as a user's would.
const examplesDir = join(here, `.api-md-${process.pid}`);
afterAll(() => fs.rm(examplesDir, { recursive: true, force: true }));

async function examples(): Promise<string[]> {
  const text = await fs.readFile(join(repoRoot, 'docs', 'api.md'), 'utf8');
  return [...text.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

/** `dmraid -s` of the testbed set as the reference printed it: name, size, stride. */
async function referenceSet(dir: string) {
  const text = await fs.readFile(join(dir, 'expected', 's.txt'), 'utf8');
  const field = (name: string) => new RegExp(`^${name}\\s*: (.*)$`, 'm').exec(text)![1]!;
  return { name: field('name'), size: Number(field('size')), stride: Number(field('stride')) };
}

/** The RAID0 volume straight from the member images: chunks of `stride` sectors, taken in turn from each. */
async function stripedHash(paths: readonly string[], stride: number, sizeSectors: number): Promise<string> {
  const members = await Promise.all(paths.map((p) => fs.readFile(p)));
  const hash = createHash('sha256');
  for (let chunk = 0; chunk * stride < sizeSectors; chunk++) {
    const member = members[chunk % members.length]!;
    const start = Math.floor(chunk / members.length) * stride * 512;
    const sectors = Math.min(stride, sizeSectors - chunk * stride);
    hash.update(member.subarray(start, start + sectors * 512));
  }
  return hash.digest('hex');
}

describe('docs/api.md', () => {
  it('its examples type-check against the packages as they are', async () => {
    const blocks = await examples();
    expect(blocks.length).toBe(4);
    await fs.mkdir(examplesDir, { recursive: true });
    for (const [i, code] of blocks.entries()) await fs.writeFile(join(examplesDir, `example-${i + 1}.ts`), code);
    await fs.writeFile(join(examplesDir, 'tsconfig.json'), JSON.stringify({ extends: '../../../../tsconfig.base.json', include: ['*.ts'] }));
    // tsc reads the whole workspace's types: many seconds on a loaded machine, hence the long timeout.
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const r = await promisify(execFile)(process.execPath, [tsc, '-p', examplesDir]).then(
      () => ({ code: 0, out: '' }),
      (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }),
    );
    expect(r.out).toBe('');
    expect(r.code).toBe(0);
  }, 240_000);

  it('its examples run: load the handlers, open a device, discover the set, read its volume', async () => {
    const set = (await listTestbedSets(testbedDir, 'nvidia')).find((s) => s.config === CONFIG)!;
    const reference = await referenceSet(set.dir);
    const dir = tmp('api-docs');
    await buildTestbedImages(set, dir);
    const images = ['sda.img', 'sdb.img'].map((f) => join(dir, f));
    // Data in the volume's first stripes, so that reading it in the wrong order shows.
    await fillMembers(images, '0', 1 << 20);
    const expectedHash = await stripedHash(images, reference.stride, reference.size);
    const sdaSectors = (await fs.stat(images[0]!)).size / 512;

    const blocks = await examples();
    await fs.mkdir(examplesDir, { recursive: true });
    const printed: { out: string[]; err: string[] }[] = [];
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      for (const [i, code] of blocks.entries()) {
        const file = join(examplesDir, `run-${i + 1}.ts`);
        await fs.writeFile(file, code);
        const lines = { out: [] as string[], err: [] as string[] };
        const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.out.push(a.join(' ')));
        const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void lines.err.push(a.join(' ')));
        try {
          await import(pathToFileURL(file).href);
        } finally {
          log.mockRestore();
          error.mockRestore();
        }
        printed.push(lines);
      }
    } finally {
      process.chdir(cwd);
    }
    const [load, open, discover, read] = printed as [(typeof printed)[0], (typeof printed)[0], (typeof printed)[0], (typeof printed)[0]];

    // The handlers of this workspace, sorted by name, the template not among them.
    const formats = (await fs.readdir(join(repoRoot, 'packages'))).filter((p) => p.startsWith('format-') && p !== 'format-template').length;
    expect(load.err).toEqual([]);
    expect(load.out.length).toBe(formats);
    expect(load.out).toContain(`nvidia @dmraid/format-nvidia@${JSON.parse(await fs.readFile(join(repoRoot, 'packages', 'format-nvidia', 'package.json'), 'utf8')).version}`);
    expect([...load.out].sort()).toEqual(load.out);

    expect(open.out).toEqual([`sda.img: ${sdaSectors} sectors of 512 bytes`, 'ERROR: cannot open device "no-such.img": No such file or directory (ENOENT)']);

    expect(discover.err).toEqual([]);
    expect(discover.out[0]).toBe(`${reference.name} raid0 ${reference.size} sectors, ${reference.stride} stride, ok`);
    expect(discover.out.slice(1, 3).map((l) => l.split(' ').slice(2, 4).join(' '))).toEqual(['sda.img nvidia', 'sdb.img nvidia']);
    expect(discover.out.at(-1)).toBe('2 RAID disks');

    expect(read.err).toEqual([]);
    expect(read.out).toEqual([`${reference.name} ${reference.size} sectors sha256 ${expectedHash}`]);
  });
});

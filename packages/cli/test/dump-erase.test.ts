// -r -D writes what the reference writes; -r -E erases what the reference erases, after a backup dump,
// only when confirmed, and verified by reading back.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hashFiles, reference, runOurs, runReference, testIf } from '@dmraid/testkit';
import { imagesOf, tmp } from './helpers.js';

async function dumpFiles(dir: string, rename: (f: string) => string = (f) => f) {
  const out: Record<string, { mode: number; data: string }> = {};
  for (const sub of (await fs.readdir(dir)).filter((d) => d.startsWith('dmraid.'))) {
    // Ours only: the manifest that --restore reads (restore.test.ts); the reference writes none.
    for (const f of (await fs.readdir(join(dir, sub))).filter((n) => n !== 'manifest.json')) {
      const st = await fs.stat(join(dir, sub, f));
      out[`${sub}/${rename(f)}`] = { mode: st.mode & 0o777, data: (await fs.readFile(join(dir, sub, f))).toString('hex') };
    }
  }
  return out;
}

/** Images are tens of MiB: compare digests, not buffers (deep equality of buffers is very slow). */
const digest = async (path: string) => createHash('sha256').update(await fs.readFile(path)).digest('hex');

describe('-r -D and -r -E', () => {
  const itRef = testIf(it, reference());

  itRef('-r -D writes the same dump files as the reference (named after the image instead of sdX)', async () => {
    const ours = tmp('dump-ours');
    const theirs = tmp('dump-ref');
    const a = await imagesOf(ours, 'hpt45x/raid10-4', 'hpt45x/raid0-2-spare');
    const b = await imagesOf(theirs, 'hpt45x/raid10-4', 'hpt45x/raid0-2-spare');
    const o = await runOurs(a, ['-r', '-D'], { cwd: ours });
    const t = await runReference(b, ['-r', '-D'], { cwd: theirs });
    expect(o).toEqual(t);
    // The reference names files after /dev/sdX; ours after the image (hpt45x-raid10-4/sda.img → sda.img).
    const names = b.map((s) => s.split(':')[0]!.split('/').pop()!);
    const rename = (f: string) => f.replace(/^sd([a-z])\./, (_, l: string) => `${names['abcdefghijklmnopqrstuvwxyz'.indexOf(l)]}.`);
    const ourFiles = await dumpFiles(ours);
    expect(Object.keys(ourFiles).length).toBeGreaterThan(0);
    // Several images share a basename (sda.img in two folders): compare per content set.
    const refFiles = await dumpFiles(theirs, rename);
    expect(Object.values(ourFiles).map((f) => f.data).sort()).toEqual(Object.values(refFiles).map((f) => f.data).sort());
    expect(new Set(Object.values(ourFiles).map((f) => f.mode))).toEqual(new Set([0o600]));
  });

  itRef('-r -E erases exactly what the reference erases, keeping the dump as a backup', async () => {
    const ours = tmp('erase-ours');
    const theirs = tmp('erase-ref');
    const a = await imagesOf(ours, 'hpt45x/raid1-2');
    const b = await imagesOf(theirs, 'hpt45x/raid1-2');
    const o = await runOurs(a, ['-r', '-E'], { cwd: ours, stdin: 'y\ny\n' });
    const t = await runReference(b, ['-r', '-E'], { cwd: theirs, stdin: 'y\ny\n' });
    expect(o).toEqual(t);
    for (const spec of a) {
      const img = spec.split(':')[0]!;
      expect(await digest(join(ours, img))).toBe(await digest(join(theirs, img)));
    }
    expect(Object.keys(await dumpFiles(ours)).sort()).toEqual(['dmraid.hpt45x/sda.img.dat', 'dmraid.hpt45x/sda.img.offset', 'dmraid.hpt45x/sda.img.size', 'dmraid.hpt45x/sdb.img.dat', 'dmraid.hpt45x/sdb.img.offset', 'dmraid.hpt45x/sdb.img.size']);
    expect(await runOurs(a, ['-r'], { cwd: ours })).toEqual({ status: 1, stdout: 'no raid disks\n', stderr: '' });
  });

  it('-r -E answered no, or at end of input, writes nothing to the images', async () => {
    for (const stdin of ['n\nn\n', 'what\nnope\nn\n', '']) {
      const dir = tmp('erase-no');
      const images = await imagesOf(dir, 'hpt45x/raid0-2');
      const before = await Promise.all(images.map((s) => digest(join(dir, s.split(':')[0]!))));
      const r = await runOurs(images, ['-r', '-E'], { cwd: dir, stdin });
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('Do you really want to erase "hpt45x" ondisk metadata on hpt45x-raid0-2/sda.img ? [y/n] :');
      const after = await Promise.all(images.map((s) => digest(join(dir, s.split(':')[0]!))));
      expect(after).toEqual(before);
    }
  });

  it('-r -E --yes erases without asking and the metadata reads back as zeros', async () => {
    const dir = tmp('erase-yes');
    const images = await imagesOf(dir, 'hpt45x/raid0-2');
    const r = await runOurs(images, ['-r', '-E', '--yes'], { cwd: dir });
    expect(r).toEqual({ status: 0, stdout: '', stderr: '' });
    const again = await runOurs(images, ['-r'], { cwd: dir });
    expect(again.stdout).toBe('no raid disks\n');
    expect(await hashFiles(join(dir, 'dmraid.hpt45x'))).toMatch(/^[0-9a-f]{64}$/);
  });
});

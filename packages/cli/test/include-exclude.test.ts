// --exclude and --include: the user overrules which members a set uses. The set is isw's stale testbed set
// (recorded from mdadm in the VM: sdb.img failed out of a RAID1, sda.img's newer metadata records it failed).
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runOurs } from '@dmraid/testkit';
import { imagesOf, tmp } from './helpers.js';
import { validate } from './json-schema.js';

const base = (p: string) => p.replace(/.*\//, '');
/** A testbed spec's path, without the serial the testbed gives it. */
const pathOf = (spec: string) => spec.replace(/:[^/]*$/, '');

async function mirrorOf(images: string[], dir: string, extra: string[]) {
  const r = await runOurs(images, ['--json', '-s', ...extra], { cwd: dir });
  expect(r.status, r.stderr).toBe(0);
  const doc = JSON.parse(r.stdout);
  expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
  return { doc, mirror: doc.sets[0].sets[0] };
}

describe('--exclude and --include', () => {
  it('--include uses a stale member as current, saying what it overrules; without it the member is set aside', async () => {
    const dir = tmp('include');
    const images = await imagesOf(dir, 'isw/stale-raid1-2-mdadm');
    const [sda, sdb] = ['sda.img', 'sdb.img'].map((n) => pathOf(images.find((p) => pathOf(p).endsWith(n))!)) as [string, string];

    const plain = await mirrorOf(images, dir, []);
    expect(plain.mirror.devices.map((d: any) => base(d.path))).toEqual(['sda.img']);
    expect(plain.mirror.staleDevices.map((d: any) => base(d.path))).toEqual(['sdb.img']);

    const included = await mirrorOf(images, dir, ['--include', sdb]);
    expect(included.mirror.staleDevices).toBeUndefined();
    expect(included.mirror.devices.map((d: any) => base(d.path)).sort()).toEqual(['sda.img', 'sdb.img']);
    const old = included.mirror.devices.find((d: any) => d.path.endsWith('sdb.img'));
    expect(old.stale).toBeUndefined();
    expect(old.staleOverruled).toMatch(/older than .* which records it failed/);
    expect(included.doc.messages).toContainEqual({ level: 'warning', text: expect.stringMatching(/sdb\.img would be stale \(.*\): used as current \(--include\)/) });

    // -r, which lists without grouping, honours it too.
    const r = JSON.parse((await runOurs(images, ['--json', '-r', '--include', sdb], { cwd: dir })).stdout);
    const listed = r.raidDevices.find((d: any) => d.path.endsWith('sdb.img'));
    expect([listed.stale, listed.status, listed.staleOverruled]).toEqual([undefined, 'ok', expect.any(String)]);

    // The old member alone: the newer one excluded by another name for the same file.
    const alias = join(dir, 'alias.img');
    await fs.symlink(join(dir, sda), alias);
    const alone = await mirrorOf(images, dir, ['--include', sdb, '--exclude', alias]);
    expect(alone.mirror.devices.map((d: any) => base(d.path))).toEqual(['sdb.img']);
    const tables = await runOurs(images, ['-tay', '--include', sdb, '--exclude', alias], { cwd: dir });
    expect(tables.status, tables.stderr).toBe(0);
    expect(tables.stdout).toContain('sdb.img');
    expect(tables.stdout).not.toContain('sda.img');
  });

  it('--exclude leaves a device out as if absent: the set is short of it', async () => {
    const dir = tmp('exclude');
    const images = await imagesOf(dir, 'hpt45x/raid1-2');
    const whole = JSON.parse((await runOurs(images, ['--json', '-s'], { cwd: dir })).stdout);
    expect(whole.sets[0]).toMatchObject({ status: 'ok' });
    const r = await runOurs(images, ['--json', '-s', '--exclude', pathOf(images[1]!)], { cwd: dir });
    const doc = JSON.parse(r.stdout);
    expect(doc.sets[0].devices.map((d: any) => d.path)).toEqual([pathOf(images[0]!)]);
    expect(doc.sets[0].status).not.toBe('ok');
    const listed = JSON.parse((await runOurs(images, ['--json', '-r', '--exclude', pathOf(images[1]!)], { cwd: dir })).stdout);
    expect(listed.raidDevices.map((d: any) => d.path)).toEqual([pathOf(images[0]!)]);
  });

  it('a name that is no device worked on, or a device both included and excluded, is an error and nothing runs', async () => {
    const dir = tmp('exclude-bad');
    const images = await imagesOf(dir, 'hpt45x/raid1-2');
    const missing = await runOurs(images, ['-s', '--exclude', 'nosuch.img'], { cwd: dir });
    expect(missing).toEqual({ status: 1, stdout: '', stderr: 'ERROR: --exclude "nosuch.img": no such device or file\n' });
    await fs.writeFile(join(dir, 'other.img'), Buffer.alloc(1 << 20));
    const other = await runOurs(images, ['-s', '--include', 'other.img'], { cwd: dir });
    expect(other).toEqual({ status: 1, stdout: '', stderr: 'ERROR: --include "other.img": not among the devices worked on\n' });
    const both = await runOurs(images, ['-s', '--include', pathOf(images[0]!), '--exclude', pathOf(images[0]!)], { cwd: dir });
    expect(both).toEqual({ status: 1, stdout: '', stderr: `ERROR: --include "${pathOf(images[0]!)}" and --exclude name the same device\n` });
  });
});

// --restore DIR puts a dump (-E's, -D's) or a write's backup back byte for byte, found by the manifest or on
// the devices named; every refusal (another disk, a damaged dump, a claimed device, a "no") writes nothing.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import { reference, runOurs, runReference, testIf, type CommandResult } from '@dmraid/testkit';
import { imagesOf, tmp } from './helpers.js';
import { validate } from './json-schema.js';

const itRef = testIf(it, reference());
const exec = promisify(execFile);
const loops = process.getuid?.() === 0 && (await exec('losetup', ['-f']).then(() => true, () => false));
const itLoop = testIf(it, { name: 'a loop device', available: loops, reason: 'needs root and a free loop device (losetup -f)' });

const digest = async (path: string) => createHash('sha256').update(await fs.readFile(path)).digest('hex');
const paths = (specs: readonly string[]) => specs.map((s) => s.split(':')[0]!);
const digests = (dir: string, specs: readonly string[]) => Promise.all(paths(specs).map((p) => digest(join(dir, p))));

/** Every format's dump shape: one area, several, ddf1's whole region, sil's four copies (one or two of them bad). */
const SETS = ['sil/raid0-2-onecopy', 'sil/raid1-2-badcopy', 'pdc/raid0-2-badsum', 'ddf1/two-vds-2', 'hpt37x/raid1-2', 'hpt45x/raid1-2', 'isw/created-raid1', 'ddf1/raid1-2-be', 'nvidia/raid0-2', 'pdc/raid1-2', 'sil/raid1-2', 'via/raid0-2'];

/** A set's images in a fresh folder, erased with -E; what they held before. */
async function erased(label: string, set: string) {
  const dir = tmp(label);
  const specs = await imagesOf(dir, set);
  const before = await digests(dir, specs);
  const sets = await runOurs(specs, ['-s'], { cwd: dir });
  const erase = await runOurs(specs, ['-r', '-E', '--yes'], { cwd: dir });
  expect(erase.status, erase.stderr).toBe(0);
  expect(await digests(dir, specs)).not.toEqual(before);
  return { dir, specs, before, sets, folder: `dmraid.${set.split('/')[0]}` };
}

/** A refusal: exit 1, the ERROR line, and not one byte of the images changed. */
async function refused(dir: string, specs: readonly string[], run: () => Promise<CommandResult>, error: RegExp) {
  const before = await digests(dir, specs);
  const r = await run();
  expect(r.stderr).toMatch(error);
  expect(r.status).toBe(1);
  expect(await digests(dir, specs)).toEqual(before);
  return r;
}

describe('--restore', () => {
  for (const set of SETS) {
    it(`${set}: -E then --restore by the manifest gives the images back byte for byte, and the same -s`, async () => {
      const { dir, specs, before, sets, folder } = await erased('restore', set);
      const r = await runOurs([], ['--restore', folder, '--yes'], { cwd: dir });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^restore "${folder.slice(7)}" metadata on ${dir}/`, 'm'));
      expect(await digests(dir, specs)).toEqual(before);
      expect(await runOurs(specs, ['-s'], { cwd: dir })).toEqual(sets);
    });
  }

  itRef('what --restore puts back, the reference dmraid reads as before the erase', async () => {
    for (const set of SETS) {
      const dir = tmp('restore-ref');
      const specs = await imagesOf(dir, set);
      const theirs = await runReference(specs, ['-s'], { cwd: dir });
      expect(theirs.stdout).not.toBe('');
      expect((await runOurs(specs, ['-r', '-E', '--yes'], { cwd: dir })).status).toBe(0);
      expect((await runReference(specs, ['-s'], { cwd: dir })).stdout).not.toEqual(theirs.stdout);
      expect((await runOurs([], ['--restore', `dmraid.${set.split('/')[0]}`, '--yes'], { cwd: dir })).status).toBe(0);
      expect(await runReference(specs, ['-s'], { cwd: dir })).toEqual(theirs);
    }
  });

  itLoop('on block devices (loop devices): -E, then --restore by the manifest, claimed exclusively', async () => {
    const dir = tmp('restore-loop');
    const images = await imagesOf(dir, 'hpt45x/raid1-2');
    const before = await digests(dir, images);
    const specs: string[] = [];
    for (const image of paths(images)) {
      const loop = (await exec('losetup', ['-f', '--show', join(dir, image)])).stdout.trim();
      onTestFinished(() => exec('losetup', ['-d', loop]).then(() => undefined));
      specs.push(loop);
    }
    expect((await runOurs(specs, ['-r', '-E', '--yes'], { cwd: dir })).status).toBe(0);
    const manifest = JSON.parse(await fs.readFile(join(dir, 'dmraid.hpt45x', 'manifest.json'), 'utf8'));
    expect(manifest.devices.map((d: { path: string }) => d.path).sort()).toEqual([...specs].sort());
    const r = await runOurs([], ['--restore', 'dmraid.hpt45x', '--yes'], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(await digests(dir, images)).toEqual(before);
  }, 60_000);

  it('asks for each device as -E does; answered yes it restores, and its own backup undoes the restore', async () => {
    const { dir, specs, before, folder } = await erased('restore-ask', 'hpt45x/raid1-2');
    const afterErase = await digests(dir, specs);
    const r = await runOurs([], ['--restore', folder], { cwd: dir, stdin: 'y\ny\n' });
    expect(r.status).toBe(0);
    for (const p of paths(specs)) expect(r.stdout).toContain(`Do you really want to restore "hpt45x" ondisk metadata on ${join(dir, p)} ? [y/n] :`);
    expect(await digests(dir, specs)).toEqual(before);
    const backup = /kept in (\S+) \(dmraid --restore/.exec(r.stdout)![1]!;
    expect(backup.startsWith(join(dir, folder, 'restore-backup-'))).toBe(true);
    // Undo the restore: the images as the erase left them.
    expect((await runOurs([], ['--restore', backup, '--yes'], { cwd: dir })).status).toBe(0);
    expect(await digests(dir, specs)).toEqual(afterErase);
  });

  it('a dump without a manifest (older dmraid -rD) needs the devices named, and then restores by file name', async () => {
    const { dir, specs, before, folder } = await erased('restore-old', 'pdc/raid1-2');
    await fs.rm(join(dir, folder, 'manifest.json'));
    await refused(dir, specs, () => runOurs([], ['--restore', folder, '--yes'], { cwd: dir }), /^ERROR: .*an older dump without manifest\.json: name the device\(s\) to restore it to\n$/);
    const r = await runOurs([], ['--restore', folder, '--yes', ...paths(specs)], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(await digests(dir, specs)).toEqual(before);
  });

  it('a -C backup restored gives the disks back as they were before the write', async () => {
    const dir = tmp('restore-create');
    const specs: string[] = [];
    for (let i = 0; i < 2; i++) {
      await fs.writeFile(join(dir, `d${i}.img`), '');
      await fs.truncate(join(dir, `d${i}.img`), 64 << 20);
      specs.push(`d${i}.img:RESTSER${i}X`);
    }
    const blank = await digests(dir, specs);
    expect((await runOurs(specs, ['-f', 'isw', '-C', 'Mirror', '--type', '1', '--disk', 'd0.img,d1.img', '--yes'], { cwd: dir })).status).toBe(0);
    expect((await runOurs(specs, ['-s', '-c'], { cwd: dir })).stdout).toMatch(/_Mirror\n$/);
    const backup = (await fs.readdir(join(dir, 'dmraid.isw'))).find((f) => f.startsWith('backup-'))!;
    const manifest = JSON.parse(await fs.readFile(join(dir, 'dmraid.isw', backup, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ version: 1, kind: 'backup', format: 'isw' });
    expect(manifest.devices.map((d: { path: string; serial: string }) => [d.path, d.serial])).toEqual([
      [join(dir, 'd0.img'), 'RESTSER0X'],
      [join(dir, 'd1.img'), 'RESTSER1X'],
    ]);
    // Named with their serials: matched by path, and the serials agree.
    const r = await runOurs(specs, ['--restore', join('dmraid.isw', backup), '--yes', '--json'], { cwd: dir });
    expect(r.status).toBe(0);
    expect(await digests(dir, specs)).toEqual(blank);
    const doc = JSON.parse(r.stdout);
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
    expect(doc).toMatchObject({ command: 'restore', restore: { status: 'restored', dir: join(dir, 'dmraid.isw', backup) } });
    expect(doc.restore.devices.map((d: { path: string }) => d.path)).toEqual(['d0.img', 'd1.img']);
    expect(doc.restore.devices[0].writes.length).toBeGreaterThan(0);
    expect(await fs.stat(doc.restore.backup)).toBeTruthy();
    expect((await runOurs(specs, ['-s'], { cwd: dir })).stdout).toBe('no raid disks\n');
  });

  describe('refusals write nothing and exit 1 with an ERROR line', () => {
    it('a disk of another size', async () => {
      const { dir, specs, folder } = await erased('restore-size', 'hpt45x/raid1-2');
      await fs.truncate(join(dir, paths(specs)[1]!), (65536 + 8) * 512);
      await refused(dir, specs, () => runOurs([], ['--restore', folder, '--yes'], { cwd: dir }), /^ERROR: \S+sdb\.img: 65544 sectors, but the disk dumped as sdb\.img had 65536: not the same disk\n$/);
    });

    it('a file of the dump missing (with --json: a schema-valid document saying refused)', async () => {
      const { dir, specs, folder } = await erased('restore-missing', 'hpt45x/raid1-2');
      await fs.rm(join(dir, folder, 'sdb.img.dat'));
      await refused(dir, specs, () => runOurs([], ['--restore', folder, '--yes'], { cwd: dir }), /^ERROR: \S+\/sdb\.img\.dat: missing from the dump\n$/);
      const r = await runOurs([], ['--restore', folder, '--yes', '--json'], { cwd: dir });
      expect(r.status).toBe(1);
      const doc = JSON.parse(r.stdout);
      expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
      expect(doc.restore).toMatchObject({ status: 'refused', backup: null });
      expect(doc.messages).toEqual([{ level: 'error', text: expect.stringMatching(/sdb\.img\.dat: missing from the dump$/) }]);
    });

    it('a .dat whose length is not what the manifest says', async () => {
      const { dir, specs, folder } = await erased('restore-length', 'pdc/raid1-2');
      await fs.appendFile(join(dir, folder, 'sdb.img.dat'), 'x');
      await refused(dir, specs, () => runOurs([], ['--restore', folder, '--yes'], { cwd: dir }), /^ERROR: \S+\/sdb\.img\.dat: \d+ bytes, the manifest says \d+\n$/);
    });

    it('a device another process holds open for writing', async () => {
      const { dir, specs, folder } = await erased('restore-claimed', 'hpt45x/raid1-2');
      const held = join(dir, paths(specs)[1]!);
      const child = spawn('sh', ['-c', 'exec 3<>"$1"; echo ready; exec sleep 600', 'sh', held], { stdio: ['ignore', 'pipe', 'inherit'] });
      onTestFinished(() => void child.kill('SIGKILL'));
      await new Promise((r) => child.stdout!.once('data', r));
      await refused(dir, specs, () => runOurs([], ['--restore', folder, '--yes'], { cwd: dir }), new RegExp(`^ERROR: cannot open device "${held}" for writing: .*\\b${child.pid}\\b.*\\n$`));
    });

    it('the answer no (for the second device: the first is not written either)', async () => {
      const { dir, specs, folder } = await erased('restore-no', 'hpt45x/raid1-2');
      const r = await refused(dir, specs, () => runOurs([], ['--restore', folder], { cwd: dir, stdin: 'y\nn\n' }), /^ERROR: restoring \S+: not confirmed for \S+sdb\.img, nothing written\n$/);
      expect(r.stdout).toContain('[y/n] :');
    });

    it('a disk whose content is not the dumped one (members swapped), unless the user names it', async () => {
      const dir = tmp('restore-swap');
      const specs = await imagesOf(dir, 'hpt45x/raid0-2');
      const [a, b] = paths(specs).map((p) => join(dir, p)) as [string, string];
      // Data that tells the members apart, as a partition table or a file system would.
      for (const [p, text] of [[a, 'first member'], [b, 'second member']] as const) {
        const fd = await fs.open(p, 'r+');
        await fd.write(Buffer.from(text), 0, text.length, 0);
        await fd.close();
      }
      expect((await runOurs(specs, ['-r', '-E', '--yes'], { cwd: dir })).status).toBe(0);
      await fs.rename(a, `${a}.tmp`);
      await fs.rename(b, a);
      await fs.rename(`${a}.tmp`, b);
      await refused(dir, specs, () => runOurs([], ['--restore', 'dmraid.hpt45x', '--yes'], { cwd: dir }), /^ERROR: \S+sda\.img: the 4096 bytes at byte 0 differ from the disk dumped as sda\.img; name the device to restore to it anyway\n$/);
      const named = await runOurs([], ['--restore', 'dmraid.hpt45x', '--yes', ...paths(specs)], { cwd: dir });
      expect(named.stderr).toMatch(/^WARNING: \S*sda\.img: the 4096 bytes at byte 0 differ from the disk dumped as sda\.img\n/);
      expect(named.status).toBe(0);
      expect((await runOurs(specs, ['-s'], { cwd: dir })).stdout).not.toBe('no raid disks\n');
    });

    it('no such folder, or a file instead of one; --restore without a folder', async () => {
      const dir = tmp('restore-nodir');
      await fs.writeFile(join(dir, 'file'), 'x');
      expect(await runOurs([], ['--restore', 'nowhere', '--yes'], { cwd: dir })).toEqual({ status: 1, stdout: '', stderr: `ERROR: ${join(dir, 'nowhere')}: No such file or directory\n` });
      expect((await runOurs([], ['--restore', 'file', '--yes'], { cwd: dir })).stderr).toBe(`ERROR: ${join(dir, 'file')}: not a folder (a dump is the dmraid.FORMAT folder, or a backup-* folder in it)\n`);
      expect((await runOurs([], ['--restore', '--yes'], { cwd: dir })).stderr).toBe('ERROR: --restore needs the folder of a dump or backup (dmraid.FORMAT or one of its backup-* folders)\n');
    });

    it('a named disk that no dump in the folder belongs to', async () => {
      const { dir, specs, folder } = await erased('restore-ambiguous', 'hpt45x/raid1-2');
      await fs.writeFile(join(dir, 'other.img'), '');
      await fs.truncate(join(dir, 'other.img'), 65536 * 512);
      await refused(dir, [...specs, 'other.img'], () => runOurs([], ['--restore', folder, '--yes', 'other.img'], { cwd: dir }), /^ERROR: other\.img: no dump in \S+ is this disk's \(sda\.img, sdb\.img\)\n$/);
    });
  });
});

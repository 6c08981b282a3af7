// -R SET DEV on images rebuilds for real: after the reference's messages, the engine copies (mirror) or
// reconstructs (RAID5) the data onto DEV, and only then the metadata says the member is in sync. Stopped,
// the metadata still says rebuilding and the same -R continues from its checkpoint.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import { installedHandlers, runOurs, testIf } from '@dmraid/testkit';
import { run } from '../src/main.js';
import { tmp } from './helpers.js';

const SECTORS = 131072;
const exec = promisify(execFile);
const loops = process.getuid?.() === 0 && (await exec('losetup', ['-f']).then(() => true, () => false));
const itLoop = testIf(it, { name: 'a loop device', available: loops, reason: 'needs root and a free loop device (losetup -f)' });

async function blank(path: string, sectors = SECTORS) {
  await fs.writeFile(path, '');
  await fs.truncate(path, sectors * 512);
}

/** A volume of `level` over `n` images, its members' data areas filled as the volume's writes would fill them. */
async function filledSet(dir: string, level: '1' | '01' | '5', n: number): Promise<{ specs: string[]; name: string; memberSectors: number }> {
  const specs = Array.from({ length: n }, (_, i) => `d${i}.img:REBUILDT${i}`);
  for (const s of specs) await blank(join(dir, s.split(':')[0]!));
  const created = await runOurs(specs, ['-f', 'isw', '-C', 'Vol', '--type', level, '--disk', specs.map((s) => s.split(':')[0]).join(','), '--yes'], { cwd: dir });
  expect(created.status, created.stderr).toBe(0);
  const name = (await runOurs(specs, ['-s', '-c'], { cwd: dir })).stdout.trim();
  const member = (await runOurs(specs, ['-s', '-c', '-c', '-c'], { cwd: dir })).stdout.split('\n').find((l) => l.startsWith('d0.img:'))!.split(':');
  const memberSectors = Number(member[5]);
  expect(member[6]).toBe('0');
  if (level === '1') {
    const data = randomBytes(memberSectors * 512);
    for (const s of specs) await writeAt(join(dir, s.split(':')[0]!), data);
  } else if (level === '01') {
    // isw RAID10: disks 0 and 1 mirror each other, and so do 2 and 3 (mdadm's raid10 near=2 layout).
    for (let pair = 0; pair < n / 2; pair++) {
      const data = randomBytes(memberSectors * 512);
      for (const s of specs.slice(2 * pair, 2 * pair + 2)) await writeAt(join(dir, s.split(':')[0]!), data);
    }
  } else {
    // RAID5: random data members, the last one their XOR: parity holds in every row, whatever the layout.
    const parity = Buffer.alloc(memberSectors * 512);
    for (const [i, s] of specs.entries()) {
      const data = i < n - 1 ? randomBytes(memberSectors * 512) : parity;
      if (i < n - 1) {
        const [x, y] = [new Uint32Array(parity.buffer, parity.byteOffset, parity.length / 4), new Uint32Array(data.buffer, data.byteOffset, data.length / 4)];
        for (let w = 0; w < x.length; w++) x[w]! ^= y[w]!;
      }
      await writeAt(join(dir, s.split(':')[0]!), data);
    }
  }
  // The volume is written uninitialised by -C (docs/deviations.md); its members now agree, which -R's
  // rebuild needs: a normal volume. The rebuild start (map 0 normal) and end leave it so.
  return { specs, name, memberSectors };
}

async function writeAt(path: string, data: Uint8Array) {
  const fd = await fs.open(path, 'r+');
  await fd.write(data, 0, data.length, 0);
  await fd.close();
}

const head = async (path: string, sectors: number) => (await fs.readFile(path)).subarray(0, sectors * 512);

/** The disk at `index` dies; a blank one with another serial takes its place. */
async function replace(dir: string, specs: string[], index: number): Promise<{ specs: string[]; lost: Buffer }> {
  const path = join(dir, `d${index}.img`);
  const lost = await fs.readFile(path);
  await blank(path, lost.length / 512);
  return { specs: specs.map((s, i) => (i === index ? `d${index}.img:REPLACED${index}` : s)), lost };
}

describe('-R SET DEV copies the data, then writes the member in sync', () => {
  it('isw RAID1: the new disk holds the survivor\'s data, --check-data is clean, -s reads ok; the reference\'s message first', async () => {
    const dir = tmp('rebuild-copy');
    const { specs: before, name, memberSectors } = await filledSet(dir, '1', 2);
    const { specs, lost } = await replace(dir, before, 1);
    const r = await runOurs(specs, ['-R', name, 'd1.img'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(`isw: drive to rebuild: d1.img\n\nisw: d1.img rebuilt (${(memberSectors / 2048).toFixed(1)} MiB of ${name})\n`);
    expect((await head(join(dir, 'd1.img'), memberSectors)).equals(lost.subarray(0, memberSectors * 512))).toBe(true);
    const after = await runOurs(specs, ['-s', '-c', '-c', '-c'], { cwd: dir });
    expect(after).toEqual({ status: 0, stdout: expect.stringMatching(new RegExp(`^${name}:\\d+:128:mirror:ok:0:2:0\nd0.img:isw:${name}:mirror:ok:${memberSectors}:0\nd1.img:isw:${name}:mirror:ok:${memberSectors}:0\n$`)), stderr: '' });
    const check = await runOurs(specs, ['--check-data', name], { cwd: dir });
    expect([check.status, check.stdout]).toEqual([0, expect.stringContaining(`${name}: mismatch_cnt 0`)]);
    // Nothing left to continue: the checkpoint is gone.
    expect(existsSync(join(dir, 'dmraid.isw', `rebuild-${name}.json`))).toBe(false);
  }, 60_000);

  it('isw RAID5: the lost member (data and parity) is recomputed from the others', async () => {
    const dir = tmp('rebuild-raid5');
    const { specs: before, name, memberSectors } = await filledSet(dir, '5', 3);
    const { specs, lost } = await replace(dir, before, 1);
    const r = await runOurs(specs, ['-R', name, 'd1.img'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^isw: drive to rebuild: d1\.img\n\nisw: d1\.img rebuilt /);
    // The volume's rows: whole strips of every member (the sectors past the last one are no data).
    const rows = Math.floor(memberSectors / 256) * 256;
    const got = await head(join(dir, 'd1.img'), rows);
    const differs = got.findIndex((b, i) => b !== lost[i]);
    expect(differs).toBe(-1);
    expect((await runOurs(specs, ['-s', '-c', '-c', '-c'], { cwd: dir })).stdout).toMatch(new RegExp(`^${name}:\\d+:\\d+:raid5_la:ok:`));
    const check = await runOurs(specs, ['--check-data', name], { cwd: dir });
    expect([check.status, check.stdout]).toEqual([0, expect.stringContaining(`${name}: mismatch_cnt 0`)]);
  }, 60_000);

  it('isw RAID10 (a stripe over mirrored pairs): the lost disk gets its partner\'s data', async () => {
    const dir = tmp('rebuild-raid10');
    const { specs: before, name, memberSectors } = await filledSet(dir, '01', 4);
    const { specs, lost } = await replace(dir, before, 2);
    const r = await runOurs(specs, ['-R', name, 'd2.img'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^isw: drive to rebuild: d2\.img\n\nisw: d2\.img rebuilt /);
    const got = await head(join(dir, 'd2.img'), memberSectors);
    expect(got.findIndex((b, i) => b !== lost[i])).toBe(-1);
    expect((await runOurs(specs, ['-s', '-c', '-c', '-c'], { cwd: dir })).stdout).not.toMatch(/nosync|inconsistent/);
    const check = await runOurs(specs, ['--check-data', name], { cwd: dir });
    expect([check.status, check.stdout]).toEqual([0, expect.stringContaining(`${name}: mismatch_cnt 0`)]);
  }, 60_000);

  it('isw, two RAID5 volumes on the disks: both rebuilt in one -R (the second through its offset), both clean', async () => {
    const dir = tmp('rebuild-two');
    const specs = ['d0.img:TWOVOL0', 'd1.img:TWOVOL1', 'd2.img:TWOVOL2'];
    for (const s of specs) await blank(join(dir, s.split(':')[0]!), 327680);
    const disks = ['--disk', 'd0.img,d1.img,d2.img', '--yes'];
    expect((await runOurs(specs, ['-f', 'isw', '-C', 'A', '--type', '5', '--size', '8192', ...disks], { cwd: dir })).status).toBe(0);
    expect((await runOurs(specs, ['-f', 'isw', '-C', 'B', '--type', '5', ...disks], { cwd: dir })).status).toBe(0);
    const lines = (await runOurs(specs, ['-s', '-c', '-c', '-c'], { cwd: dir })).stdout.split('\n');
    const [a, b] = ['_A:', '_B:'].map((v) => lines.find((l) => l.startsWith('d0.img:') && l.includes(v))!.split(':'));
    const volumes = [a!, b!].map((m) => ({ name: m[2]!, offset: Number(m[6]), sectors: Number(m[5]) }));
    expect(volumes[1]!.offset).toBeGreaterThan(0);
    // Random data on two members, their XOR on the third: parity holds in every row of both volumes.
    const end = (volumes[1]!.offset + volumes[1]!.sectors) * 512;
    const [m0, m1] = [randomBytes(end), randomBytes(end)];
    const m2 = Buffer.from(m0);
    const [x, y] = [new Uint32Array(m2.buffer, m2.byteOffset, end / 4), new Uint32Array(m1.buffer, m1.byteOffset, end / 4)];
    for (let i = 0; i < x.length; i++) x[i]! ^= y[i]!;
    for (const [i, data] of [m0, m1, m2].entries()) await writeAt(join(dir, `d${i}.img`), data);
    const { specs: now } = await replace(dir, specs, 1);
    const r = await runOurs(now, ['-R', volumes[0]!.name, 'd1.img'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^isw: drive to rebuild: d1\\.img\\n\\nisw: d1\\.img rebuilt \\([\\d.]+ MiB of ${volumes[0]!.name}, ${volumes[1]!.name}\\)\\n$`));
    const d1 = await fs.readFile(join(dir, 'd1.img'));
    for (const v of volumes) {
      const rows = Math.floor(v.sectors / 128) * 128;
      expect(d1.subarray(v.offset * 512, (v.offset + rows) * 512).equals(m1.subarray(v.offset * 512, (v.offset + rows) * 512)), v.name).toBe(true);
      const check = await runOurs(now, ['--check-data', v.name], { cwd: dir });
      expect([check.status, check.stdout]).toEqual([0, expect.stringContaining(`${v.name}: mismatch_cnt 0`)]);
    }
    expect((await runOurs(now, ['-s', '-c', '-c', '-c'], { cwd: dir })).stdout).not.toMatch(/nosync|inconsistent/);
  }, 60_000);

  it('stopped after its first step: the metadata says rebuilding (nosync), the checkpoint holds what was copied; -R again finishes', async () => {
    const dir = tmp('rebuild-stop');
    const { specs: before, name, memberSectors } = await filledSet(dir, '1', 2);
    const { specs, lost } = await replace(dir, before, 1);
    const stop = new AbortController();
    const out = { stdout: '', stderr: '' };
    const io = {
      stdout: (t: string) => void (out.stdout += t),
      // The first progress line: the copy is under way; stop it as SIGINT would.
      stderr: (t: string) => {
        out.stderr += t;
        if (t.startsWith('rebuild d1.img')) stop.abort();
      },
      readLine: async () => null,
      cwd: dir,
    };
    const argv = [...specs.flatMap((s) => ['--devices', s]), '-R', name, 'd1.img'];
    const status = await run(argv, io, { handlers: await installedHandlers(), signal: stop.signal, progressEveryMs: 0 });
    expect(status).toBe(1);
    expect(out.stdout).toBe('isw: drive to rebuild: d1.img\n\n');
    expect(out.stderr).toContain(`ERROR: rebuild of "${name}" onto d1.img stopped at 1.0 MiB of ${(memberSectors / 2048).toFixed(1)} MiB (the metadata still says rebuilding; -R ${name} d1.img again continues)\n`);
    const checkpoint = JSON.parse(await fs.readFile(join(dir, 'dmraid.isw', `rebuild-${name}.json`), 'utf8'));
    expect(checkpoint).toMatchObject({ done: 2048, total: memberSectors, serial: 'REPLACED1' });
    const d1 = await fs.readFile(join(dir, 'd1.img'));
    expect(d1.subarray(0, 2048 * 512).equals(lost.subarray(0, 2048 * 512))).toBe(true);
    expect(d1.subarray(2048 * 512, memberSectors * 512).every((b) => b === 0)).toBe(true);
    expect((await runOurs(specs, ['-s', '-c', '-c', '-c'], { cwd: dir })).stdout).toContain(`d1.img:isw:${name}:mirror:nosync:`);
    const again = await runOurs(specs, ['-R', name, 'd1.img'], { cwd: dir });
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toBe(`isw: d1.img rebuilt (${(memberSectors / 2048).toFixed(1)} MiB of ${name})\n`);
    expect((await head(join(dir, 'd1.img'), memberSectors)).equals(lost.subarray(0, memberSectors * 512))).toBe(true);
    expect((await runOurs(specs, ['-s', '-c', '-c', '-c'], { cwd: dir })).stdout).toContain(`d1.img:isw:${name}:mirror:ok:`);
  }, 60_000);

  itLoop('on block devices (loop devices), claimed exclusively as every write is: the copy runs under its own claim and the set ends ok', async () => {
    const dir = tmp('rebuild-loop');
    const { specs: before, name, memberSectors } = await filledSet(dir, '1', 2);
    const { lost } = await replace(dir, before, 1);
    const attach = async (file: string) => {
      const loop = (await exec('losetup', ['-f', '--show', join(dir, file)])).stdout.trim();
      onTestFinished(() => exec('losetup', ['-d', loop]).then(() => undefined));
      return loop;
    };
    const [l0, l1] = [await attach('d0.img'), await attach('d1.img')];
    const specs = [`${l0}:REBUILDT0`, `${l1}:REPLACED1`];
    const r = await runOurs(specs, ['-R', name, l1], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(`isw: drive to rebuild: ${l1}\n\nisw: ${l1} rebuilt (${(memberSectors / 2048).toFixed(1)} MiB of ${name})\n`);
    expect((await head(l1, memberSectors)).equals(lost.subarray(0, memberSectors * 512))).toBe(true);
    expect((await runOurs(specs, ['-s', '-c', '-c', '-c'], { cwd: dir })).stdout).toContain(`${l1}:isw:${name}:mirror:ok:`);
  }, 60_000);
});

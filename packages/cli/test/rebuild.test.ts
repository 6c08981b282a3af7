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
      if (i < n - 1) for (let b = 0; b < data.length; b++) parity[b]! ^= data[b]!;
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
  await blank(path);
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

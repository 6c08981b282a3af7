// Ours: --rescue-map IMG=MAPFILE. Member images with GNU ddrescue mapfiles made by ddrescue itself
// (generate mode, -G: it maps the zeroed parts of a partial copy as never tried), a GPT made by sgdisk on the
// volume, and the NBD clients: the extract's data, lost ranges and partition map checked against the volume
// written and what each member's unrescued part held (every volume sector carries its own number).
import { execFile, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createEngine, isTableError, memorySource } from '@dmraid/engine';
import { seededBytes, testIf, xorshift32 } from '@dmraid/testkit';
import { run } from '../src/main.js';
import { tmp } from './helpers.js';
import { validate } from './json-schema.js';

const exec = promisify(execFile);
const has = (cmd: string) => exec('sh', ['-c', `command -v ${cmd}`]).then(() => true, () => false);
const tools = (await has('ddrescue')) && (await has('sgdisk'));
const itTools = testIf(it, { name: 'ddrescue and sgdisk', available: tools, reason: 'apt-get install -y gddrescue gdisk' });
const itNbd = testIf(it, { name: 'ddrescue, sgdisk and nbdcopy', available: tools && (await has('nbdcopy')), reason: 'apt-get install -y gddrescue gdisk libnbd-bin' });

const MEMBER = 2048; // sectors: 1 MiB members
const CHUNK = 16;
const SECTOR = 512;
const check = (n: number) => Math.imul(n + 1, 0x9e3779b1) >>> 0;

/** A RAID5 (raid5_ls, 3 members) whose volume carries a GPT (two partitions) over numbered random sectors. */
async function raid5(dir: string): Promise<{ volume: Buffer; members: Buffer[] }> {
  const sectors = 2 * MEMBER;
  const random = seededBytes(sectors * SECTOR, xorshift32(0x1234567));
  const volume = Buffer.from(random.buffer, random.byteOffset, random.length);
  for (let n = 0; n < sectors; n++) {
    volume.writeUInt32LE(n, n * SECTOR);
    volume.writeUInt32LE(check(n), n * SECTOR + 4);
  }
  await fs.writeFile(join(dir, 'vol.img'), volume);
  await exec('sgdisk', ['-o', '-a', '8', '-n', '1:40:2047', '-n', '2:2048:4000', join(dir, 'vol.img')]);
  const withGpt = await fs.readFile(join(dir, 'vol.img'));
  const members = [0, 1, 2].map(() => Buffer.alloc(MEMBER * SECTOR));
  const table = `0 ${sectors} raid raid5_ls 1 ${CHUNK} 3 - m0.img - m1.img - m2.img`;
  const e = createEngine([{ name: 'r5', table }], (p) => memorySource(p, members[Number(p[1])]!));
  if (isTableError(e)) throw new Error(e.message);
  expect(await e.get('r5')!.write(0, withGpt)).toBe(true);
  for (const [i, m] of members.entries()) await fs.writeFile(join(dir, `m${i}.img.orig`), m);
  await fs.writeFile(join(dir, 't.txt'), `r5: ${table}\n`);
  return { volume: withGpt, members };
}

/**
 * Member `i` as a partial ddrescue copy: `bad` sector ranges zeroed in m<i>.img, and m<i>.map made by
 * `ddrescue -G` from the original, which maps exactly those as never tried.
 */
async function rescued(dir: string, i: number, bad: { start: number; count: number }[]): Promise<void> {
  const img = await fs.readFile(join(dir, `m${i}.img.orig`));
  for (const b of bad) img.fill(0, b.start * SECTOR, (b.start + b.count) * SECTOR);
  await fs.writeFile(join(dir, `m${i}.img`), img);
  // Generate mode takes every zero block for unrescued: the GPT's empty sectors would be too. ddrescue maps
  // a copy whose zero sectors outside `bad` are filled with 0xff instead; the image keeps its real bytes.
  const marked = Buffer.from(img);
  for (let s = 0; s < MEMBER; s++) {
    const sec = marked.subarray(s * SECTOR, (s + 1) * SECTOR);
    if (sec.every((b) => b === 0) && !bad.some((b) => s >= b.start && s < b.start + b.count)) sec.fill(0xff);
  }
  await fs.writeFile(join(dir, `m${i}.gen`), marked);
  await fs.rm(join(dir, `m${i}.map`), { force: true });
  await exec('ddrescue', ['-G', `m${i}.img.orig`, `m${i}.gen`, `m${i}.map`], { cwd: dir });
}

/** The volume sectors member sectors held, read off their numbers. */
const heldBy = (member: Buffer, ranges: { start: number; count: number }[]) =>
  ranges.flatMap((r) => Array.from({ length: r.count }, (_, k) => r.start + k)).flatMap((s) => {
    const n = member.readUInt32LE(s * SECTOR);
    return member.readUInt32LE(s * SECTOR + 4) === check(n) ? [n] : [];
  });
const toRanges = (sectors: number[]) => {
  const out: { start: number; count: number }[] = [];
  for (const s of [...new Set(sectors)].sort((a, b) => a - b)) {
    const last = out[out.length - 1];
    if (last && last.start + last.count === s) last.count++;
    else out.push({ start: s, count: 1 });
  }
  return out;
};

async function dmraid(dir: string, args: string[]) {
  let stdout = '';
  let stderr = '';
  const status = await run(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), readLine: async () => null, cwd: dir }, { handlers: [] });
  return { status, stdout, stderr };
}

describe('--rescue-map: ddrescue mapfiles of member images', () => {
  itTools('RAID5 with one member partly unrescued: the volume comes back whole from parity, exit 0', async () => {
    const dir = tmp('rescue-one');
    const { volume } = await raid5(dir);
    await rescued(dir, 0, []);
    await rescued(dir, 2, []);
    await rescued(dir, 1, [{ start: 100, count: 300 }, { start: 1500, count: 7 }]);
    expect(await fs.readFile(join(dir, 'm1.map'), 'utf8')).toMatch(/\?\n/);
    const r = await dmraid(dir, ['--extract', 'r5', '-o', 'out.img', '--tables', 't.txt', '--rescue-map', 'm1.img=m1.map']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect((await fs.readFile(join(dir, 'out.img'))).equals(volume)).toBe(true);
    // --check-data sets the rows it cannot read apart (exit 2), the rest checks clean.
    const c = await dmraid(dir, ['--check-data', 'r5', '--tables', 't.txt', '--json', '--rescue-map', 'm1.img=m1.map']);
    expect(c.status).toBe(2);
    expect(validate(JSON.parse(c.stdout)), JSON.stringify(validate.errors)).toBe(true);
    const cd = (JSON.parse(c.stdout) as { check: { mismatches: number; unreadable: { start: number; length: number }[] } }).check;
    expect(cd.mismatches).toBe(0);
    // Member rows 96-399 and 1488-1507 (16-sector chunks), 32 volume sectors each: rows 6-24 and 93-94.
    expect(cd.unreadable.map((u) => [u.start, u.length])).toEqual([[6 * 32, 19 * 32], [93 * 32, 2 * 32]]);
    // Without the map the zeros of the partial copy would be taken for data.
    const blind = await dmraid(dir, ['--extract', 'r5', '-o', 'blind.img', '--tables', 't.txt']);
    expect(blind.status).toBe(0);
    expect((await fs.readFile(join(dir, 'blind.img'))).equals(volume)).toBe(false);
  });

  itTools('RAID5 with two members unrescued in the same rows: exactly those sectors lost (text, JSON, partition map), zeros there, exit 2', async () => {
    const dir = tmp('rescue-two');
    const { volume, members } = await raid5(dir);
    await rescued(dir, 0, []);
    await rescued(dir, 1, [{ start: 1200, count: 40 }]);
    await rescued(dir, 2, [{ start: 1220, count: 40 }, { start: 20, count: 4 }]);
    const both = [{ start: 1220, count: 20 }];
    const lost = toRanges([...heldBy(members[1]!, both), ...heldBy(members[2]!, both)]);
    expect(lost.length).toBeGreaterThan(0);
    const maps = ['--rescue-map', 'm1.img=m1.map', '--rescue-map', 'm2.img=m2.map', '--rescue-map', 'm0.img=m0.map'];
    const j = await dmraid(dir, ['--extract', 'r5', '-o', 'out.img', '--tables', 't.txt', '--json', ...maps]);
    expect(j.status).toBe(2);
    expect(validate(JSON.parse(j.stdout)), JSON.stringify(validate.errors)).toBe(true);
    const doc = JSON.parse(j.stdout) as { extract: { lost: unknown; lostByPartition: { partition: number | null; lost: number }[] } };
    expect(doc.extract.lost).toEqual(lost);
    // The GPT sgdisk wrote: partition 1 is sectors 40-2047, 2 is 2048-4000.
    const inP1 = lost.reduce((n, l) => n + Math.max(0, Math.min(l.start + l.count, 2048) - Math.max(l.start, 40)), 0);
    const inP2 = lost.reduce((n, l) => n + Math.max(0, Math.min(l.start + l.count, 4001) - Math.max(l.start, 2048)), 0);
    expect(inP1 + inP2).toBe(lost.reduce((n, l) => n + l.count, 0));
    expect(doc.extract.lostByPartition.map((p) => [p.partition, p.lost])).toEqual([...(inP1 ? [[1, inP1]] : []), ...(inP2 ? [[2, inP2]] : [])]);
    const want = Buffer.from(volume);
    for (const l of lost) want.fill(0, l.start * SECTOR, (l.start + l.count) * SECTOR);
    expect((await fs.readFile(join(dir, 'out.img'))).equals(want)).toBe(true);
    const t = await dmraid(dir, ['--extract', 'r5', '-o', 'out2.img', '--tables', 't.txt', ...maps]);
    expect(t.status).toBe(2);
    for (const l of lost) expect(t.stdout).toContain(`r5: lost sectors ${l.start}-${l.start + l.count - 1} (${l.count} sectors): no member could give them; written as zeros\n`);
    if (inP2) expect(t.stdout).toContain(`r5: partition 2 (sectors 2048-4000): ${inP2} sectors lost\n`);
    const total = lost.reduce((n, l) => n + l.count, 0);
    expect(t.stderr).toContain(`ERROR: "r5": ${total} sectors`);
  });

  itTools('a striped set loses what the map marks; a malformed map or one beyond the image is an ERROR naming file and line, nothing written', async () => {
    const dir = tmp('rescue-striped');
    const a = Buffer.alloc(MEMBER * SECTOR, 0xa1);
    const b = Buffer.alloc(MEMBER * SECTOR, 0xb2);
    await fs.writeFile(join(dir, 'a.img'), a);
    await fs.writeFile(join(dir, 'b.img'), b);
    await fs.writeFile(join(dir, 't.txt'), `r0: 0 ${2 * MEMBER} striped 2 ${CHUNK} a.img 0 b.img 0\n`);
    // b's sectors 17-18: chunk 1 of b (volume chunk 3, sectors 48-63) at offset 1-2.
    await fs.writeFile(join(dir, 'b.map'), `# hand-written\n0 +\n0 0x2200 +\n0x2200 1024 -\n0x2600 ${MEMBER * SECTOR - 0x2600} +\n`);
    const r = await dmraid(dir, ['--extract', 'r0', '-o', 'out.img', '--tables', 't.txt', '--json', '--rescue-map', 'b.img=b.map']);
    expect(r.status).toBe(2);
    expect((JSON.parse(r.stdout) as { extract: { lost: unknown } }).extract.lost).toEqual([{ start: 49, count: 2 }]);
    await fs.writeFile(join(dir, 'bad.map'), '0 +\n0 512 +\n512 oops +\n');
    expect(await dmraid(dir, ['--extract', 'r0', '-o', 'x.img', '--tables', 't.txt', '--rescue-map', 'b.img=bad.map'])).toEqual({
      status: 1,
      stdout: '',
      stderr: 'ERROR: rescue map "bad.map" line 3: not a ddrescue block line (pos size status): "512 oops +"\n',
    });
    await fs.writeFile(join(dir, 'long.map'), `0 +\n0 ${MEMBER * SECTOR + 512} +\n`);
    const long = await dmraid(dir, ['--extract', 'r0', '-o', 'x.img', '--tables', 't.txt', '--rescue-map', 'b.img=long.map']);
    expect([long.status, long.stderr]).toEqual([1, `ERROR: rescue map "long.map" line 2: block 0-${MEMBER * SECTOR + 512} lies beyond the end of the image (${MEMBER * SECTOR} bytes)\n`]);
    const other = await dmraid(dir, ['--extract', 'r0', '-o', 'x.img', '--tables', 't.txt', '--rescue-map', 'c.img=b.map']);
    expect([other.status, other.stderr]).toEqual([1, 'ERROR: rescue map for "c.img": not a member of the set (members: a.img, b.img)\n']);
    await expect(fs.stat(join(dir, 'x.img'))).rejects.toThrow();
  });

  itNbd('--serve: nbdcopy gets the RAID5 volume rebuilt through one unrescued member, and an error where two lose sectors', async () => {
    const dir = tmp('rescue-serve');
    const { volume } = await raid5(dir);
    await rescued(dir, 0, [{ start: 600, count: 50 }]);
    await rescued(dir, 1, []);
    await rescued(dir, 2, []);
    const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
    const serve = async (maps: string[], sock: string) => {
      const child = spawn(process.execPath, [bin, '--serve', '--tables', 't.txt', '--listen', sock, ...maps], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      onTestFinished(() => void child.kill('SIGTERM'));
      await new Promise<void>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()) && out.includes('serving') && resolve());
        child.on('exit', (code) => reject(new Error(`serve exited ${code}`)));
      });
      return child;
    };
    const one = await serve(['--rescue-map', 'm0.img=m0.map'], 'one.sock');
    await exec('nbdcopy', [`nbd+unix:///r5?socket=${join(dir, 'one.sock')}`, join(dir, 'copy.img')]);
    const copy = await fs.readFile(join(dir, 'copy.img'));
    const firstDiff = copy.findIndex((b, k) => b !== volume[k]);
    expect([copy.length, firstDiff]).toEqual([volume.length, -1]);
    one.kill('SIGTERM');
    await rescued(dir, 2, [{ start: 620, count: 10 }]);
    await serve(['--rescue-map', 'm0.img=m0.map', '--rescue-map', 'm2.img=m2.map'], 'two.sock');
    const failed = await exec('nbdcopy', [`nbd+unix:///r5?socket=${join(dir, 'two.sock')}`, join(dir, 'copy2.img')]).then(() => undefined, (e: { stderr: string }) => e);
    expect(failed?.stderr).toMatch(/Input\/output error/);
  });
});

// Ours: --infer end to end. An ext4 volume with files, laid out by this test as md's RAID5 (and a stripe)
// with metadata-like bytes in front of the data, members renamed and shuffled; `--infer -o t.txt` then
// `--tables t.txt --extract inferred` must give back the volume byte for byte.
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { testIf } from '@dmraid/testkit';
import { run } from '../src/main.js';
import { ext4Volume, tmp } from './helpers.js';
import { validate } from './json-schema.js';

const exec = promisify(execFile);
const mkfs = await exec('sh', ['-c', 'command -v mkfs.ext4']).then(() => true, () => false);
const itMkfs = testIf(it, { name: 'mkfs.ext4', available: mkfs, reason: 'apt-get install -y e2fsprogs' });

async function dmraid(dir: string, args: string[]) {
  let stdout = '';
  let stderr = '';
  const status = await run(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), readLine: async () => null, cwd: dir }, { handlers: [] });
  return { status, stdout, stderr };
}

/** md's left-symmetric RAID5 (parity slot n-1-r%n, data after it) or a stripe, `offset` sectors of noise in front. */
function layOut(vol: Buffer, disks: number, raid5: boolean, chunkSectors: number, offset: number): Buffer[] {
  const c = chunkSectors * 512;
  const data = raid5 ? disks - 1 : disks;
  const rows = vol.length / c / data;
  const ms = Array.from({ length: disks }, (_, i) => Buffer.alloc(offset * 512 + rows * c, 0x40 + i));
  for (let r = 0; r < rows; r++) {
    const p = disks - 1 - (r % disks);
    const parity = Buffer.alloc(c);
    for (let d = 0; d < data; d++) {
      const chunk = vol.subarray((r * data + d) * c, (r * data + d + 1) * c);
      chunk.copy(ms[raid5 ? (p + 1 + d) % disks : d]!, offset * 512 + r * c);
      for (let k = 0; k < c; k++) parity[k]! ^= chunk[k]!;
    }
    if (raid5) parity.copy(ms[p]!, offset * 512 + r * c);
  }
  return ms;
}

describe('dmraid --infer', () => {
  for (const t of [
    { what: 'a left-symmetric RAID5 of 4 with a data offset of 1 MiB', disks: 4, raid5: true, chunk: 128, offset: 2048, missing: undefined },
    { what: 'a left-symmetric RAID5 of 4 with its third member missing', disks: 4, raid5: true, chunk: 64, offset: 0, missing: 2 },
    { what: 'a stripe of 3 with 32 KiB chunks', disks: 3, raid5: false, chunk: 64, offset: 0, missing: undefined },
  ]) {
    itMkfs(`-o FILE writes tables that --extract reads back the volume of ${t.what} from`, async () => {
      const dir = tmp('infer');
      const vol = await ext4Volume(dir);
      const ms = layOut(vol, t.disks, t.raid5, t.chunk, t.offset);
      // Renamed: the names say nothing of the order (disk-d is the first member, and so on).
      const names = ['disk-d.img', 'disk a.img', 'disk-c.img', 'disk-b.img'];
      const given: string[] = [];
      for (const [i, m] of ms.entries()) {
        if (i === t.missing) continue;
        await fs.writeFile(join(dir, names[i]!), m);
        given.push(names[i]!);
      }
      given.sort();
      const inferred = await dmraid(dir, ['--infer', ...given.flatMap((g) => ['--devices', g]), '-o', 't.txt']);
      expect([inferred.status, inferred.stderr]).toEqual([0, '']);
      expect(inferred.stdout).toMatch(/\ntables of "inferred" written to t\.txt\n$/);
      const extracted = await dmraid(dir, ['--extract', 'inferred', '-o', 'back.img', '--tables', 't.txt']);
      expect([extracted.status, extracted.stderr.replace(/^NOTICE: .*\n/, '')]).toEqual([0, '']);
      expect((await fs.readFile(join(dir, 'back.img'))).equals(vol)).toBe(true);
    }, 120_000);
  }

  itMkfs('--json gives the candidates ranked, the best with its tables and a confidence', async () => {
    const dir = tmp('infer-json');
    const ms = layOut(await ext4Volume(dir), 2, false, 32, 0);
    await fs.writeFile(join(dir, 'x.img'), ms[1]!);
    await fs.writeFile(join(dir, 'y.img'), ms[0]!);
    const r = await dmraid(dir, ['--infer', '--devices', 'x.img', '--devices', 'y.img', '--json']);
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.stdout) as { command: string; candidates: { type: string; members: string[]; chunkSectors: number; confidence: number; tables: string }[] };
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
    expect(doc.command).toBe('infer');
    const best = doc.candidates[0]!;
    expect([best.type, best.members, best.chunkSectors, best.tables]).toEqual(['striped', ['y.img', 'x.img'], 32, `inferred: 0 49152 striped 2 32 y.img 0 x.img 0\n`]);
    expect(best.confidence).toBeGreaterThan(0.5);
    expect(doc.candidates.map((c) => c.confidence)).toEqual([...doc.candidates.map((c) => c.confidence)].sort((a, b) => b - a));
  }, 120_000);

  it('says what is wrong, in one ERROR line, and writes nothing: no members, one member, members of zeros', async () => {
    const dir = tmp('infer-bad');
    await fs.writeFile(join(dir, 'z1.img'), Buffer.alloc(1 << 20));
    await fs.writeFile(join(dir, 'z2.img'), Buffer.alloc(1 << 20));
    expect(await dmraid(dir, ['--infer'])).toEqual({ status: 1, stdout: '', stderr: 'ERROR: --infer needs the members: --devices A --devices B ... (two at least)\n' });
    expect(await dmraid(dir, ['--infer', '--devices', 'z1.img'])).toEqual({ status: 1, stdout: '', stderr: 'ERROR: --infer needs the members: --devices A --devices B ... (two at least)\n' });
    expect(await dmraid(dir, ['--infer', '--devices', 'z1.img,z2.img', '-o', 't.txt'])).toEqual({
      status: 1,
      stdout: '',
      stderr: 'ERROR: cannot infer a geometry of "z1.img", "z2.img": the first 1.0 MiB of every member are zeros: nothing to infer from\n',
    });
    expect(await fs.stat(join(dir, 't.txt')).catch(() => 'absent')).toBe('absent');
  });
});

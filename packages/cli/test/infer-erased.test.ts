// --infer on sets as users lose them: made by a format's own -C (the handlers' writers), an ext4 volume with
// files written through the set, the metadata erased with -E, the members renamed and shuffled. `--infer -o`
// then `--tables --extract` must give the volume back byte for byte.
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseTestTables } from '@dmraid/activation';
import { isIoError } from '@dmraid/core';
import { isRunError, openRun } from '@dmraid/engine';
import { runOurs, testIf } from '@dmraid/testkit';
import { ext4Volume, tmp } from './helpers.js';

const mkfs = await promisify(execFile)('sh', ['-c', 'command -v mkfs.ext4']).then(() => true, () => false);
const itMkfs = testIf(it, { name: 'mkfs.ext4', available: mkfs, reason: 'apt-get install -y e2fsprogs' });
const MIB = 1 << 20;

/** The volume written through the set's tables (as -tay prints them) with the userspace engine. */
async function writeVolume(dir: string, tables: string, volume: Buffer): Promise<void> {
  const devices = parseTestTables(tables);
  if (typeof devices === 'string') throw new Error(devices);
  const run = await openRun({ tables: devices, members: [...new Set(devices.flatMap((d) => d.members))], writable: true, cwd: dir });
  if (isRunError(run)) throw new Error(JSON.stringify(run));
  try {
    const top = run.engine.get(run.sets[0]!)!;
    expect(top.sizeSectors * 512).toBeGreaterThanOrEqual(volume.length);
    const w = await top.write(0, new Uint8Array(volume));
    if (isIoError(w)) throw new Error(w.message);
  } finally {
    await run.close();
  }
}

describe('--infer on a set whose metadata was erased', () => {
  for (const c of [
    { what: 'an isw RAID5 of 3 (left-asymmetric)', format: 'isw', args: ['--type', '5'], disks: 3, type: /^raid raid5_la \d+ 128 /m },
    { what: 'an nvidia stripe of 2', format: 'nvidia', args: ['--type', '0'], disks: 2, type: /^striped 2 128 /m },
  ]) {
    itMkfs(`${c.what}: made by -C, written, erased with -E, renamed and shuffled, comes back whole`, async () => {
      const dir = tmp('infer-erased');
      const names = Array.from({ length: c.disks }, (_, i) => `d${i}.img`);
      for (const n of names) {
        await fs.writeFile(join(dir, n), '');
        await fs.truncate(join(dir, n), 32 * MIB);
      }
      const specs = names.map((n, i) => `${n}:INFERSER${i}X`);
      const made = await runOurs(specs, ['-f', c.format, '-C', 'Lost', ...c.args, '--disk', names.join(' '), '--yes'], { cwd: dir });
      expect(made.status, made.stderr).toBe(0);
      const tables = await runOurs(specs, ['-tay'], { cwd: dir });
      expect(tables.status, tables.stderr).toBe(0);
      expect(tables.stdout.replace(/^\S+: \d+ \d+ /gm, '')).toMatch(c.type);
      const volume = await ext4Volume(dir);
      await writeVolume(dir, tables.stdout, volume);

      const erased = await runOurs(specs, ['-r', '-E', '--yes'], { cwd: dir });
      expect(erased.status, erased.stderr).toBe(0);
      const listed = await runOurs(specs, ['-r'], { cwd: dir });
      expect([listed.status, listed.stdout + listed.stderr]).toEqual([1, expect.stringMatching(/no raid disks/)]);
      // Renamed so that the names say nothing of the order, and given in another order.
      const renamed = names.map((_, i) => `member ${String.fromCharCode(122 - i)}.img`);
      for (const [i, n] of names.entries()) await fs.rename(join(dir, n), join(dir, renamed[i]!));
      const given = [...renamed].sort();

      const inferred = await runOurs([], ['--infer', ...given.flatMap((g) => ['--devices', g]), '-o', 't.txt'], { cwd: dir });
      expect(inferred.status, inferred.stderr).toBe(0);
      const text = await fs.readFile(join(dir, 't.txt'), 'utf8');
      expect(text.replace(/^\S+: \d+ \d+ /gm, '')).toMatch(c.type);
      const out = await runOurs([], ['--tables', 't.txt', '--extract', 'inferred', '-o', 'out.img'], { cwd: dir });
      expect(out.status, out.stderr).toBe(0);
      const back = await fs.readFile(join(dir, 'out.img'));
      expect(back.length).toBeGreaterThanOrEqual(volume.length);
      expect(back.subarray(0, volume.length).equals(volume)).toBe(true);
    }, 300_000);
  }
});

// --isw-match=position through the command line: members whose serials are unknown (images, disk clones)
// are matched by the disk table's order and size, with a warning the user sees at default verbosity.
import { mkdtempSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildTestbedImages, listTestbedSets, readExpected, runOurs, testbedDir } from '@dmraid/testkit';

async function images(config: string) {
  const set = (await listTestbedSets(testbedDir, 'isw')).find((s) => s.config === config)!;
  const dir = mkdtempSync(join(tmpdir(), `isw-position-${config}-`));
  return { set, dir, specs: await buildTestbedImages(set, dir) };
}

describe('--isw-match=position', () => {
  it('without it, members with unknown serials are "not in the metadata", as in dmraid', async () => {
    const { dir, specs } = await images('raid1-2');
    const clones = specs.map((s, i) => `${s.split(':')[0]}:CLONE${i}XYZ`);
    const r = await runOurs(clones, ['-s'], { cwd: dir });
    expect(r.stderr).toBe(clones.map((c) => `ERROR: isw: Could not find disk ${c.split(':')[0]} in the metadata\n`).join(''));
    expect(r.status).toBe(1);
    await fs.rm(dir, { recursive: true, force: true });
  });

  for (const config of ['raid1-2', 'raid10-4', 'matrix-raid0-raid1']) {
    it(`${config}: clones without known serials give the sets the originals give, with one warning per disk`, async () => {
      const { set, dir, specs } = await images(config);
      const clones = specs.map((s) => s.split(':')[0]!);
      const expected = (await readExpected(set, ['-s', '-c', '-c', '-c']))!;
      const r = await runOurs(clones, ['--isw-match=position', '-s', '-c', '-c', '-c'], { cwd: dir });
      const group = /^(isw_[a-j]+)_/.exec(expected.stdout)![1];
      const warnings = clones.map((c) => `WARNING: isw: ${c} (no serial) is not in the disk table of ${group}: matched by position and size (--isw-match=position)\n`);
      expect(r).toEqual({ status: 0, stdout: expected.stdout, stderr: warnings.join('') + expected.stderr });
      const verbose = await runOurs(clones, ['--isw-match=position', '-vv', '-s'], { cwd: dir });
      clones.forEach((c, i) => expect(verbose.stdout).toContain(`NOTICE: isw: ${c} takes the place of disk[${i}] "${specs[i]!.split(':')[1]}"`));
      await fs.rm(dir, { recursive: true, force: true });
    });
  }
});

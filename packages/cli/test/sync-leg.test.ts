// A mirror whose metadata records one member as the target of a rebuild (RaidDevice.outOfSync): the blank
// disk must never be the source. -tay puts an in-sync leg first (dm-raid1's `sync` copies its first leg over
// the others); --extract reads the in-sync leg. The testbed set ddf1/rebuilding-first-disk has its FIRST
// disk rebuilding (PD state 0x05); the reference lists that disk first.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildTestbedImages, listTestbedSets, runOurs, testbedDir } from '@dmraid/testkit';

const work = mkdtempSync(join(tmpdir(), 'dmraid-syncleg-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('a mirror rebuilding onto its first member', () => {
  it('--extract reads the in-sync leg, not the blank disk being rebuilt; -tay lists the in-sync leg first', async () => {
    const set = (await listTestbedSets(testbedDir, 'ddf1')).find((s) => s.config === 'rebuilding-first-disk')!;
    const images = await buildTestbedImages(set, work);
    // The volume's data at sector 0 of each member: the good copy on sdb, sda blank (being rebuilt).
    const good = randomBytes(1 << 20);
    const h = await fs.open(join(work, 'sdb.img'), 'r+');
    await h.write(good, 0, good.length, 0);
    await h.close();
    const tables = await runOurs(images, ['-tay'], { cwd: work });
    expect(tables.stdout).toMatch(/^ddf1_Rebuild: 0 \d+ mirror core 2 \d+ sync 2 sdb\.img 0 sda\.img 0 1 handle_errors\n$/);
    const out = join(work, 'volume.img');
    const r = await runOurs(images, ['--extract', 'ddf1_Rebuild', '-o', out], { cwd: work });
    expect(r.status, r.stderr).toBe(0);
    const volume = await fs.readFile(out);
    expect(volume.subarray(0, good.length).equals(good)).toBe(true);
  });
});

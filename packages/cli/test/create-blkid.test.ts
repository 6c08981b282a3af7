/**
 * blkid (util-linux, an independent reader) names every member our `-C` writes as the format's raid member, for
 * isw and ddf1 at each level they create (the six other formats: create-nv-pdc-sil.test.ts and
 * create-hpt-via.test.ts).
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runOurs } from '@dmraid/testkit';
import { tmp } from './helpers.js';

const CASES = [
  { format: 'isw', blkid: 'isw_raid_member', levels: [['0', 2], ['1', 2], ['5', 3], ['01', 4]] },
  { format: 'ddf1', blkid: 'ddf_raid_member', levels: [['0', 2], ['1', 2], ['5', 3], ['6', 4]] },
] as const;

describe('-C: blkid calls every member the format\'s raid member', () => {
  for (const c of CASES) {
    for (const [level, n] of c.levels) {
      it(`${c.format} RAID${level} of ${n}`, async () => {
        const dir = tmp(`create-blkid-${c.format}-${level}`);
        const specs = Array.from({ length: n }, (_, i) => `d${i}.img:BLKID${c.format.toUpperCase()}${level}X${i}`);
        for (const s of specs) {
          await fs.writeFile(join(dir, s.split(':')[0]!), '');
          await fs.truncate(join(dir, s.split(':')[0]!), 64 << 20);
        }
        const disks = specs.map((s) => s.split(':')[0]!).join(',');
        const r = await runOurs(specs, ['-f', c.format, '-C', `Blk${level}`, '--type', level, '--disk', disks, '--yes'], { cwd: dir });
        expect(r.status, r.stderr).toBe(0);
        for (const s of specs) {
          const file = join(dir, s.split(':')[0]!);
          expect(execFileSync('blkid', ['-p', '-o', 'udev', file], { encoding: 'utf8' }), file).toContain(`ID_FS_TYPE=${c.blkid}\n`);
        }
      });
    }
  }
});

import { it } from 'vitest';
import { mkdtempSync, writeFileSync, openSync, writeSync, closeSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runOurs, runReference, installedHandlers } from '@dmraid/testkit';
import { testbedSets, buildHpt37xSet, type Hpt37xSetSpec } from '../src/index.js';

function write(dir: string, name: string, size: number, off: number, data: Uint8Array) {
  const p = join(dir, name);
  const fd = openSync(p, 'w'); ftruncateSync(fd, size * 512); writeSync(fd, data, 0, data.length, off); closeSync(fd);
  return name;
}
const extra: [string, Hpt37xSetSpec, number[]][] = [
  ['errlog', { level: 'raid1', id: 77, disks: 2, diskSectors: 4096, errorLog: [{ timestamp: 5, reason: 0xfe, disk: 1, status: 2, sectors: 3, lba: 99 }, { timestamp: 6, lba: 7 }] }, []],
  ['raid01-6', { level: 'raid01', id: 0x10, disks: 6, diskSectors: 4096 }, []],
  ['raid10-4-bad', { level: 'raid10', id: 0x11, disks: 4, diskSectors: 4096, bad: [0, 1] }, []],
  ['raid01-4-bad', { level: 'raid01', id: 0x12, disks: 4, diskSectors: 4096, bad: [0] }, []],
];
it('compare', async () => {
  const handlers = (await installedHandlers()).filter((h) => h.handler.name === 'hpt37x');
  console.log('handlers', handlers.map((h) => h.packageName));
  const sets = testbedSets().map((s) => ({ config: s.config, members: s.members.map((m) => ({ size: m.sizeSectors, off: m.areas[0]!.offsetBytes, data: m.areas[0]!.data })) }));
  for (const [config, spec, missing] of extra) sets.push({ config, members: buildHpt37xSet(spec).filter((_, i) => !missing.includes(i)).map((m) => ({ size: m.sizeSectors, off: m.offsetBytes, data: m.data })) });
  const only = process.env.ONLY;
  for (const set of sets) {
    if (only && set.config !== only) continue;
    const dir = mkdtempSync(join(tmpdir(), 'h37-'));
    const imgs = set.members.map((m, i) => write(dir, `d${i}.img`, m.size, m.off, m.data));
    for (const args of [['-r'], ['-s', '-s'], ['-n'], ['-s', '-c', '-c', '-c']]) {
      const a = await runReference(imgs, args, { cwd: dir });
      const b = await runOurs(imgs, args, { cwd: dir, handlers });
      const same = JSON.stringify(a) === JSON.stringify(b);
      console.log(`== ${set.config} ${args.join(' ')}: ${same ? 'SAME' : 'DIFF'}`);
      if (!same || process.env.SHOW) { console.log('REF', JSON.stringify(a, null, 1)); console.log('OURS', JSON.stringify(b, null, 1)); }
    }
  }
}, 600_000);

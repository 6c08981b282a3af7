import { it } from 'vitest';
import { mkdtempSync, openSync, writeSync, closeSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runOurs, runReference, installedHandlers } from '@dmraid/testkit';
import { hpt37xLayout, type Hpt37x } from '../src/index.js';

const mk = (o: Partial<Hpt37x> & { log?: { timestamp: number; lba?: number }[] }, size = 4096) => {
  const m = hpt37xLayout.zero();
  Object.assign(m, { magic: 0x5a7816f0, magic_0: 1000, raid_disks: 2, raid0_shift: 7, total_secs: 8000, order: 4 }, o);
  (o.log ?? []).forEach((e, k) => Object.assign(m.errorlog[k]!, e));
  return { size, data: hpt37xLayout.encodeToBytes(m) };
};
const cases: Record<string, { size: number; data: Uint8Array }[]> = {
  negative2: [mk({ type: 0, total_secs: 10 }), mk({ type: 0, total_secs: 10, disk_number: 1 })],
  negative1: [mk({ type: 1, total_secs: 5 }), mk({ type: 1, total_secs: 5, disk_number: 1 })],
  mismatch0: [mk({ magic_1: 55, magic_0: 1, disk_number: 0 }), mk({ magic_1: 55, magic_0: 2, disk_number: 1 })],
  mismatch0first: [mk({ magic_1: 55, magic_0: 1, disk_number: 1 }), mk({ magic_1: 55, magic_0: 2, disk_number: 0 })],
  mismatch1: [mk({ type: 2, magic_0: 55, magic_1: 0, order: 0, disk_number: 0 }), mk({ type: 2, magic_0: 9, magic_1: 55, order: 0, disk_number: 1 }), mk({ type: 2, magic_0: 56, magic_1: 55, order: 1, disk_number: 0 })],
  errlog0: [mk({ type: 1, error_log_entries: 0, log: [{ timestamp: 3, lba: 4 }] })],
  errlog3: [mk({ type: 1, error_log_entries: 3, log: [{ timestamp: 3, lba: 4 }] })],
  order123: [mk({ type: 2, magic_1: 77, order: 123 }), mk({ type: 7, magic_1: 77, order: 12, disk_number: 1 })],
  negative: [mk({ type: 0, total_secs: 10, disk_number: 1 })],
  type5: [mk({ type: 5 }), mk({ type: 5, disk_number: 1 })],
  stride: [mk({ raid0_shift: 7 }), mk({ raid0_shift: 6, disk_number: 1 })],
  mixed01: [mk({ type: 2, magic_1: 88, order: 0 }), mk({ type: 2, magic_1: 88, order: 0, disk_number: 1 }), mk({ type: 7, magic_1: 88, order: 1 }), mk({ type: 7, magic_1: 88, order: 1, disk_number: 1 })],
  raiddisks0: [mk({ raid_disks: 0 })],
  zero: [mk({ type: 1, total_secs: 0 })],
  tiny9: [mk({ type: 3 }, 9)],
  tiny10: [mk({ type: 3 }, 10)],
  spare10: [mk({ magic_0: 0, disk_number: 3 }, 10)],
  disk8: [mk({ disk_number: 8 })],
};
it('compare', async () => {
  const handlers = (await installedHandlers()).filter((h) => h.handler.name === 'hpt37x');
  for (const [config, members] of Object.entries(cases)) {
    if (!config.startsWith('negative')) continue;
    const dir = mkdtempSync(join(tmpdir(), 'h37-'));
    const imgs = members.map((m, i) => {
      const p = join(dir, `d${i}.img`);
      const fd = openSync(p, 'w'); ftruncateSync(fd, m.size * 512);
      if (m.size >= 10) writeSync(fd, m.data, 0, 512, 4608); else writeSync(fd, m.data, 0, m.size * 512 - 4608 > 0 ? m.size * 512 - 4608 : 0, 4608);
      closeSync(fd); return `d${i}.img`;
    });
    for (const args of [['-r'], ['-s', '-s'], ['-n']]) {
      const a = await runReference(imgs, args, { cwd: dir });
      const b = await runOurs(imgs, args, { cwd: dir, handlers });
      const same = JSON.stringify(a) === JSON.stringify(b);
      console.log(`== ${config} ${args.join(' ')}: ${same ? 'SAME' : 'DIFF'}`);
      if (!same || process.env.SHOW) { console.log('REF', JSON.stringify(a, null, 1)); console.log('OURS', JSON.stringify(b, null, 1)); }
    }
  }
}, 600_000);

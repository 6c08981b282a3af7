// -f ddf1 -C gives every container, physical disk and virtual disk a GUID of its own, even for sets made
// within the same second: mdadm's assembly hung over two containers that shared one (a clock-made GUID).
import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runOurs } from '@dmraid/testkit';

describe('-f ddf1 -C GUIDs', () => {
  it('five sets made back to back have five container GUIDs and no PD or VD GUID in common', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ddf1-guid-'));
    try {
      const guids: string[][] = [];
      for (let s = 0; s < 5; s++) {
        const specs = [0, 1].map((i) => `s${s}d${i}.img:GUIDSET${s}DISK${i}`);
        for (const spec of specs) {
          const fd = await fs.open(join(dir, spec.split(':')[0]!), 'w');
          await fd.truncate(16 << 20);
          await fd.close();
        }
        const disks = specs.map((x) => x.split(':')[0]!).join(',');
        const r = await runOurs(specs, ['-f', 'ddf1', '-C', `Set${s}`, '--type', '1', '--disk', disks, '--yes'], { cwd: dir });
        expect(r.status, r.stderr).toBe(0);
        const n = await runOurs(specs, ['-n'], { cwd: dir });
        // Every GUID the metadata holds but the adapter's (the controller, the same for every set we make).
        const mine = [...new Set([...n.stdout.matchAll(/ guid:\s+"([^"]*)"/g)].map((m) => m[1]!))].filter((g) => !g.startsWith('DMRAID TESTBED'));
        expect(mine.length, n.stdout).toBeGreaterThanOrEqual(4);
        guids.push(mine);
      }
      const all = guids.flat();
      expect(new Set(all).size).toBe(all.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('stamps the clock in the headers and the config record (seconds since 1980), as mdadm does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ddf1-time-'));
    try {
      const specs = [0, 1].map((i) => `t${i}.img:TIMEDISK${i}`);
      for (const spec of specs) {
        const fd = await fs.open(join(dir, spec.split(':')[0]!), 'w');
        await fd.truncate(16 << 20);
        await fd.close();
      }
      const before = Math.floor(Date.now() / 1000) - 315532800;
      const r = await runOurs(specs, ['-f', 'ddf1', '-C', 'Timed', '--type', '1', '--disk', 't0.img,t1.img', '--yes'], { cwd: dir });
      expect(r.status, r.stderr).toBe(0);
      const after = Math.floor(Date.now() / 1000) - 315532800;
      const n = await runOurs(specs, ['-n'], { cwd: dir });
      const stamps = [...n.stdout.matchAll(/ timestamp:\s+(0x[0-9A-F]+)/g)].map((m) => Number(m[1]));
      expect(stamps.length, n.stdout).toBeGreaterThanOrEqual(4);
      for (const t of stamps) expect(t >= before && t <= after, `${t} not in [${before}, ${after}]`).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// The kernel half of -R SET DEV: when the set is active in the kernel, the handler's rebuild is written (the
// members are held by the set's own dm devices, which the claim accepts), then the table is reloaded in place
// with DEV (suspend --noflush) and the kernel resyncs: no engine copy, and -R says --monitor ends it.
// The kernel is a fake dmsetup (DMRAID_DMSETUP) that logs its calls.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { runOurs } from '@dmraid/testkit';
import { tmp } from './helpers.js';

const SECTORS = 65536;

describe('-R SET DEV of a set active in the kernel', () => {
  it('writes the rebuild, reloads the table with DEV in place and leaves the copy to the kernel', async () => {
    const dir = tmp('rebuild-live');
    const specs = ['d0.img:LIVER0', 'd1.img:LIVER1', 'd2.img:LIVER2'];
    for (const s of specs) {
      await fs.writeFile(join(dir, s.split(':')[0]!), '');
      await fs.truncate(join(dir, s.split(':')[0]!), SECTORS * 512);
    }
    expect((await runOurs(specs.slice(0, 2), ['-f', 'isw', '-C', 'Mir', '--type', '1', '--disk', 'd0.img,d1.img', '--yes'], { cwd: dir })).status).toBe(0);
    const name = (await runOurs(specs, ['-s', '-c'], { cwd: dir })).stdout.trim().split('\n')[0]!;
    // d1 is gone: the set runs degraded on d0, a linear table.
    await fs.truncate(join(dir, 'd1.img'), 0);
    const log = join(dir, 'dmsetup.log');
    const fake = join(dir, 'dmsetup');
    await fs.writeFile(fake, [
      '#!/bin/sh',
      `echo "$*" >> ${log}`,
      'case "$1" in',
      `info) printf '${name}\\tDMRAID-${name}\\t3\\t254\\t0\\t0\\n' ;;`,
      `table) echo "0 56328 linear 7:0 0" ;;`,
      'reload) cat >> ' + log + ' ;;',
      'esac',
      'exit 0',
      '',
    ].join('\n'), { mode: 0o755 });
    const before = process.env.DMRAID_DMSETUP;
    process.env.DMRAID_DMSETUP = fake;
    onTestFinished(() => {
      if (before === undefined) delete process.env.DMRAID_DMSETUP;
      else process.env.DMRAID_DMSETUP = before;
    });
    const r = await runOurs([specs[0]!, specs[2]!], ['-R', name, 'd2.img'], { cwd: dir, stdin: 'y\n' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`isw: RAID set "${name}" is active: its table was reloaded with d2.img, and the kernel resyncs onto it; \`dmraid --monitor\` (or \`dmraid --monitor --once\` after the resync) ends the rebuild`);
    const calls = (await fs.readFile(log, 'utf8')).split('\n');
    const at = calls.indexOf(`reload ${name}`);
    expect(at).toBeGreaterThan(0);
    // The table on stdin: the in-sync leg first, under sync; then the swap without a flush.
    expect(calls[at + 1]).toMatch(new RegExp(`^0 \\d+ mirror core 2 \\d+ sync 2 d0\\.img 0 d2\\.img 0 1 handle_errors$`));
    expect(calls.slice(at + 2, at + 4)).toEqual([`suspend --noflush ${name}`, `resume ${name}`]);
    // No engine copy: d2's data area is still blank, and the metadata says it is rebuilding.
    const h = await fs.open(join(dir, 'd2.img'), 'r');
    const head = Buffer.alloc(1 << 20);
    await h.read(head, 0, head.length, 0);
    await h.close();
    expect(head.every((b) => b === 0)).toBe(true);
    expect((await runOurs([specs[0]!, specs[2]!], ['-s'], { cwd: dir })).stdout).not.toMatch(/status\s*:\s*ok/);
  });
});

#!/usr/bin/env node
// `dmraid --infer` on 4 x 1 GiB members (the target: under 60 s, at most 256 MiB read of each): a 3 GiB ext4
// volume with ~150 MiB of log files laid out as md's left-symmetric RAID5 with 64 KiB chunks, members shuffled;
// the built CLI infers the geometry, then `--tables --extract` of the first 64 MiB is compared with the
// volume. Prints one Markdown line (docs/benchmarks.md keeps it with the machine). Options: --keep (the images stay).
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commandEnv } from './common.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(root, 'packages', 'cli', 'dist', 'bin.js');
const GIB = 1 << 30;
const DISKS = 4;
const CHUNK = 64 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'infer-bench-'));
try {
  const src = join(dir, 'files');
  mkdirSync(src);
  // Logs of a few MiB each, as a server's disk holds: files that run across many chunks.
  for (let f = 0; f < 40; f++) {
    const lines = Array.from({ length: 40000 + ((f * 9973) % 30000) }, (_, l) => `2026-12-0${1 + (f % 7)} ${String(l % 24).padStart(2, '0')}:${String(l % 60).padStart(2, '0')} host${f} ${['sshd', 'kernel', 'cron', 'nginx', 'smartd', 'mdadm'][(l * 5 + f) % 6]}[${(l * 2654435761) % 99991}]: ${['accepted', 'session opened', 'sync done', 'GET /index.html 200', 'temperature 38', 'check passed'][(l * 7 + f) % 6]}`);
    writeFileSync(join(src, `f${f}.txt`), lines.join('\n'));
  }
  const vol = join(dir, 'vol.img');
  const volBytes = (DISKS - 1) * GIB;
  closeSync(openSync(vol, 'w'));
  execFileSync('truncate', ['-s', String(volBytes), vol]);
  execFileSync('mkfs.ext4', ['-q', '-F', '-d', src, vol]);
  // Left-symmetric RAID5: row r's parity on slot n-1-r%n, data on the slots after it; zero rows stay holes.
  const names = ['m-c.img', 'm-a.img', 'm-d.img', 'm-b.img'];
  const fds = names.map((n) => {
    const fd = openSync(join(dir, n), 'w');
    ftruncateSync(fd, GIB);
    return fd;
  });
  const vfd = openSync(vol, 'r');
  const row = Buffer.alloc(CHUNK * (DISKS - 1));
  for (let r = 0; r < GIB / CHUNK; r++) {
    readSync(vfd, row, 0, row.length, r * row.length);
    if (row.every((b) => b === 0)) continue;
    const p = DISKS - 1 - (r % DISKS);
    const parity = Buffer.alloc(CHUNK);
    for (let d = 0; d < DISKS - 1; d++) {
      const chunk = row.subarray(d * CHUNK, (d + 1) * CHUNK);
      writeSync(fds[(p + 1 + d) % DISKS], chunk, 0, CHUNK, r * CHUNK);
      for (let k = 0; k < CHUNK; k++) parity[k] ^= chunk[k];
    }
    writeSync(fds[p], parity, 0, CHUNK, r * CHUNK);
  }
  for (const fd of [...fds, vfd]) closeSync(fd);
  const given = [...names].sort();
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, cli, '--infer', ...given.flatMap((g) => ['--devices', g]), '-o', 't.txt'], { cwd: dir, encoding: 'utf8', env: commandEnv() });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`--infer failed: ${r.stderr}`);
  const peakMiB = Number(r.stderr.trim().split('\n').pop()) / 1024;
  const x = spawnSync(process.execPath, [cli, '--extract', 'inferred', '-o', 'back.img', '--tables', 't.txt'], { cwd: dir, encoding: 'utf8', env: commandEnv() });
  if (x.status !== 0) throw new Error(`--extract failed: ${x.stderr}`);
  const same = execFileSync('cmp', ['-n', String(256 << 20), join(dir, 'back.img'), vol]).length === 0;
  console.log(`| ${DISKS} x 1 GiB, RAID5 left-symmetric, 64 KiB chunks | ${seconds.toFixed(1)} s | ${peakMiB.toFixed(0)} MiB peak | ${same ? 'volume recovered' : 'WRONG volume'} | ${r.stdout.split('\n')[0]} | ${cpus().length} CPUs |`);
} finally {
  if (!process.argv.includes('--keep')) rmSync(dir, { recursive: true, force: true });
}

#!/usr/bin/env node
// What discovery (`dmraid -r`) asks of each disk, ours against the C reference, at the syscall level and in the
// kernel: the same images as block.mjs's (loop devices shown as /dev/sdX in a private namespace), each command
// run once under `strace -f` (opens, reads, bytes, offsets of the disks' descriptors) with the loop devices'
// /sys/block/loopN/stat read before and after (what the kernel read from them, and in how many requests). The
// kernel drops a block device's page cache on its last close, so every run reads its disks cold.
//
// Options: --count N (disks, default 8), --cli PATH (ours; repeat to compare builds), --node PATH,
// --offsets sdX (print that disk's reads in order, per command), --json.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join, dirname, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanPath, commandEnv, commandLine, loopDisks, makeImages } from './common.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { args, option, every } = commandLine();
const count = Number(option('--count')) || 8;
const node = option('--node') ?? process.execPath;
const clis = every('--cli').length > 0 ? every('--cli') : [join(root, 'packages', 'dmraid', 'bin', 'dmraid.cjs')];
const showOffsets = option('--offsets');
const env = commandEnv({ PATH: cleanPath() });
const home = process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? '/root', '.cache');
const shim = join(home, 'dmraid-ref', 'ataserial.so');

const traced = `strace -f -qq -e trace=openat,pread64,read,lseek,fadvise64,close -o /run/trace "$@" >/dev/null 2>&1; cat /run/trace`;

/** Per /dev/sdX: opens, reads (pread64 and read), bytes, and the reads in order as [offset, length]. */
function parse(trace) {
  // By descriptor alone: a process's threads share them (ours reads ahead on the thread pool), and neither tool
  // starts another process that opens a disk.
  const fds = new Map(); // fd -> { disk, pos }
  const disks = new Map();
  const of = (d) => disks.get(d) ?? disks.set(d, { opens: 0, closes: 0, reads: 0, bytes: 0, order: [], seeks: 0, fadvise: 0 }).get(d);
  const pending = new Map(); // thread -> the start of its call that another thread's line interrupted
  for (let line of trace.split('\n')) {
    const unfinished = /^(\d+)\s+(.*) <unfinished \.\.\.>$/.exec(line);
    if (unfinished) {
      pending.set(unfinished[1], unfinished[2]);
      continue;
    }
    const resumed = /^(\d+)\s+<\.\.\. \w+ resumed>(.*)$/.exec(line);
    if (resumed) line = `${resumed[1]} ${pending.get(resumed[1]) ?? ''}${resumed[2]}`;
    const m = /^(\d+)\s+(\w+)\((.*)\)\s+=\s+(-?\d+)/.exec(line);
    if (!m) continue;
    const [, , call, a, ret] = m;
    const rv = Number(ret);
    const fd = Number(a.split(',')[0]);
    if (call === 'openat') {
      const path = /"([^"]*)"/.exec(a)?.[1];
      if (rv >= 0 && path && /^\/dev\/sd/.test(path)) {
        fds.set(rv, { disk: basename(path), pos: 0 });
        of(basename(path)).opens++;
      } else fds.delete(rv);
      continue;
    }
    const f = fds.get(fd);
    if (!f) continue;
    const s = of(f.disk);
    if (call === 'close') {
      s.closes++;
      fds.delete(fd);
    } else if (call === 'lseek') {
      s.seeks++;
      if (rv >= 0) f.pos = rv;
    } else if (call === 'fadvise64') s.fadvise++;
    else if (call === 'pread64' || call === 'read') {
      const offset = call === 'pread64' ? Number(a.split(',').at(-1)) : f.pos;
      if (rv > 0) {
        s.reads++;
        s.bytes += rv;
        s.order.push([offset, rv]);
        if (call === 'read') f.pos += rv;
      }
    }
  }
  return disks;
}

/** The loop device's reads completed and sectors read (the kernel's /sys/block/loopN/stat fields 1 and 3). */
const kernelReads = (loop) => readFileSync(`/sys/block/${basename(loop)}/stat`, 'utf8').trim().split(/\s+/).map(Number);

const dir = mkdtempSync(join(tmpdir(), 'dmraid-bench-blockreads-'));
let disks;
const out = { date: new Date().toISOString(), loadavg: loadavg().map((l) => l.toFixed(2)), count, tools: [] };
try {
  disks = loopDisks(await makeImages(join(dir, 'images'), count), env);
  const tools = [
    ...clis.map((cli, i) => ({ name: clis.length > 1 ? `ours#${i + 1}` : 'ours', argv: [node, cli, '-r'] })),
    ...(existsSync(shim) ? [{ name: 'reference', argv: ['env', `LD_PRELOAD=${shim}`, 'dmraid', '-r'] }] : []),
  ];
  for (const t of tools) {
    const before = disks.loops.map(kernelReads);
    const r = disks.run(traced, t.argv);
    const after = disks.loops.map(kernelReads);
    const per = parse(r.stdout);
    const kernel = disks.loops.map((_, i) => ({ requests: after[i][0] - before[i][0], sectors: after[i][2] - before[i][2] }));
    const sum = (f) => [...per.values()].reduce((a, s) => a + f(s), 0);
    out.tools.push({
      name: t.name,
      disks: per.size,
      opens: sum((s) => s.opens),
      closes: sum((s) => s.closes),
      reads: sum((s) => s.reads),
      bytes: sum((s) => s.bytes),
      seeks: sum((s) => s.seeks),
      fadvise: sum((s) => s.fadvise),
      kernelRequests: kernel.reduce((a, k) => a + k.requests, 0),
      kernelKiB: kernel.reduce((a, k) => a + k.sectors, 0) / 2,
      offsets: showOffsets ? per.get(showOffsets)?.order : undefined,
    });
  }
} finally {
  disks?.detach();
  rmSync(dir, { recursive: true, force: true });
}

if (args.includes('--json')) console.log(JSON.stringify(out, null, 2));
else {
  const f = (v) => (v / count).toFixed(1);
  console.log(`Date: ${out.date.slice(0, 16).replace('T', ' ')} UTC · load average ${out.loadavg.join(' ')} · ${count} disks · per disk, one \`-r\` each\n`);
  console.log('| command | opens | closes | reads | KiB read | lseeks | fadvise | kernel read requests | kernel KiB read |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const t of out.tools) console.log(`| ${t.name} | ${f(t.opens)} | ${f(t.closes)} | ${f(t.reads)} | ${f(t.bytes / 1024)} | ${f(t.seeks)} | ${f(t.fadvise)} | ${f(t.kernelRequests)} | ${f(t.kernelKiB)} |`);
  for (const t of out.tools.filter((x) => x.offsets)) {
    console.log(`\n${t.name} on ${showOffsets} (byte offset+length, in order):`);
    console.log(t.offsets.map(([o, n]) => `${o}+${n}`).join(' '));
  }
}

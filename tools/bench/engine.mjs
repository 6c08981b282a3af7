#!/usr/bin/env node
// Benchmarks of the userspace engine (docs/benchmarks.md, "Userspace engine"), all ratios from one run:
//   1. --extract of a RAID0 of 4 members vs `cat` of the members into one file     (target ≥ 0.8×);
//      and, for what it tells, vs `dd bs=128K` of the members (a copy through userspace, as ours); with
//      `--floor`, rounds of their own after the others: the same striped copy in C (copy-floor.c, needs cc),
//      pread/pwrite with holes where zero (one thread, and two as ours), and copy_file_range per chunk
//      (in the kernel as cat, no holes)
//   2. RAID5 read with a member missing vs healthy (extract to /dev/null)           (target ≥ 0.5×)
//      and RAID6 (raid6_zr, 4 members) read with two members missing vs healthy       (target ≥ 0.4×)
//   3. nbdcopy from `dmraid --serve` (the RAID0) vs from nbdkit's file plugin serving the same volume as
//      one flat file                                                                 (target ≥ 1.0×)
//   4. nbdcopy of the volume from a file into `dmraid --serve --writable` (the RAID0) vs into nbdkit's file
//      plugin serving a file of the same size (writes over a connection; none in the targets yet)
//   5. peak memory (max RSS) of each of ours                                         (target < 200 MiB)
//   7. a mostly sparse 2 GiB RAID0 (two sparse 1 GiB member images, 8 MiB of data): nbdcopy from --serve
//      vs from nbdkit's file plugin serving the flat image, servers warm, in batches (target ≥ 0.8×), and --extract vs
//      `cp --sparse=always` of the flat image (target: ours ≤ 2× cp's time, a ratio ≥ 0.5×); alone with --only-sparse
//   6. with --only-rescue, alone: RAID5 extract to /dev/null with a ddrescue mapfile (--rescue-map) marking
//      64 areas of 4 KiB of one member unrescued (rebuilt from parity) vs the same without  (target ≥ 0.8×)
//   8. --check-data of a healthy RAID5 (raid5_ls over m0, m1 and c2 = m0 ^ m1: parity right in every row
//      whatever the layout) vs --extract of the same set to /dev/null               (target ≥ 0.8×);
//      alone with --only-check
// With --baseline-bin PATH (another build of the CLI, e.g. the commit before a change), the rounds also run
// that build's RAID0 extract, RAID5 reads (healthy, degraded) and check-data, in turns with ours: the
// dense rows of the two builds compared in one run.
// Usage: node tools/bench/engine.mjs [--member-mib 512] [--rounds 7] [--floor] [--keep] [--only-write]
// [--only-raid6] [--only-sparse] [--only-check] [--bin PATH] [--baseline-bin PATH]: --only-write measures 4 alone,
// --only-raid6 the RAID6 reads of 2 alone, --only-sparse 7 alone, --only-check 8 alone; by default the CLI runs as installed
// (packages/dmraid/bin/dmraid.cjs, the bundle); --bin runs another build (an older commit's
// packages/dmraid/bin/dmraid.cjs or packages/cli/dist/bin.js, built in a directory of its own). Needs the built CLI (npm run build),
// nbdcopy (libnbd-bin), nbdkit and /usr/bin/time (package `time`). The member files stay in the page
// cache (nothing is dropped: other people share the machine), so this measures the engine, not the disk.
import { spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { existsSync, mkdtempSync, promises as fs, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commandEnv, commandLine, extraCerts } from './common.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { args: argv, option } = commandLine();
// The command as installed (the meta-package's one-file bundle), as users run it.
const bin = option('--bin') ? resolve(option('--bin')) : join(root, 'packages', 'dmraid', 'bin', 'dmraid.cjs');
const onlyWrite = argv.includes('--only-write');
const onlyRaid6 = argv.includes('--only-raid6');
const onlyRescue = argv.includes('--only-rescue');
const onlySparse = argv.includes('--only-sparse');
const onlyCheck = argv.includes('--only-check');
const baseBin = option('--baseline-bin') ? resolve(option('--baseline-bin')) : undefined;
const memberMiB = Number(option('--member-mib')) || 512;
const keep = argv.includes('--keep');
const wantFloor = argv.includes('--floor');
const rounds = Number(option('--rounds')) || 7;
/** The sparse copies: copies a sample averages, and copies each server makes before the samples. */
const BATCH = 8;
const WARM = 10;

for (const [what, path] of [['the built CLI (npm run build)', bin], ['/usr/bin/time', '/usr/bin/time'], ...(baseBin ? [['the baseline CLI (--baseline-bin)', baseBin]] : [])]) {
  if (!existsSync(path)) {
    console.error(`bench: ${what} is missing (${path})`);
    process.exit(1);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'dmraid-bench-engine-'));
const env = commandEnv();
const MiB = 1 << 20;

/** Run under /usr/bin/time: wall seconds and max RSS (MiB). */
function timed(cmd, args, options = {}) {
  return new Promise((resolvePromise, reject) => {
    const out = join(dir, `time-${Math.random().toString(36).slice(2)}.txt`);
    const child = spawn('/usr/bin/time', ['-f', '%e %M', '-o', out, cmd, ...args], { stdio: ['ignore', 'ignore', 'inherit'], cwd: dir, env: options.env ?? env });
    child.on('error', reject);
    child.on('exit', (code) => {
      const [secs, kib] = readFileSync(out, 'utf8').trim().split('\n').pop().split(' ').map(Number);
      resolvePromise({ code, seconds: secs, rssMiB: kib / 1024 });
    });
  });
}

/**
 * A server started directly (GNU time does not pass signals on), once `ready`; stop() reads its peak RSS
 * from /proc (with the processes it serves from, added up) and then stops it.
 */
function serve(cmd, args, ready, signal = 'SIGINT') {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], cwd: dir, env });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.on('error', reject);
    const exited = new Promise((r) => child.on('exit', r));
    const stop = async () => {
      const pids = [child.pid, ...childrenOf(child.pid)];
      const kib = pids.reduce((sum, pid) => sum + Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN), 0);
      child.kill(signal);
      await exited;
      return { rssMiB: kib / 1024, processes: pids.length };
    };
    // CPU-seconds the server has used so far (user + system, its serving processes included).
    const cpu = () => [child.pid, ...childrenOf(child.pid)].reduce((sum, pid) => {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return sum + (Number(f[11]) + Number(f[12])) / 100;
    }, 0);
    waitFor(() => ready(stdout), cmd).then(
      () => resolvePromise({ stop, cpu }),
      (e) => {
        child.kill('SIGKILL');
        reject(e);
      },
    );
  });
}

/** Child process ids of `pid` (every thread's children list). */
function childrenOf(pid) {
  const tasks = readdirSync(`/proc/${pid}/task`);
  return tasks.flatMap((t) => readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
}

async function waitFor(check, what) {
  const until = Date.now() + 30_000;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function makeMember(path, mib, seed) {
  const h = await fs.open(path, 'w');
  const block = Buffer.alloc(4 * MiB);
  randomFillSync(block);
  for (let i = 0; i < mib / 4; i++) {
    block.writeUInt32LE(seed * 1_000_003 + i, 0);
    await h.write(block, 0, block.length, i * block.length);
  }
  await h.close();
}

const dmraid = (args) => ['node', [bin, ...args]];
const baseline = (args) => ['node', [baseBin, ...args]];

/** c2.img = m0.img ^ m1.img: with m0 and m1, a RAID5 whose parity is right in every row, whatever the layout. */
async function makeParityMember(mib) {
  const [a, b, c] = [await fs.open(join(dir, 'm0.img')), await fs.open(join(dir, 'm1.img')), await fs.open(join(dir, 'c2.img'), 'w')];
  const [x, y] = [Buffer.alloc(4 * MiB), Buffer.alloc(4 * MiB)];
  for (let i = 0; i < mib / 4; i++) {
    await a.read(x, 0, x.length, i * x.length);
    await b.read(y, 0, y.length, i * y.length);
    const [x32, y32] = [new Uint32Array(x.buffer, x.byteOffset, x.length / 4), new Uint32Array(y.buffer, y.byteOffset, y.length / 4)];
    for (let k = 0; k < x32.length; k++) x32[k] ^= y32[k];
    await c.write(x, 0, x.length, i * x.length);
  }
  await Promise.all([a.close(), b.close(), c.close()]);
}

/**
 * Rounds of --check-data of the healthy RAID5 (c5.txt) and --extract of it to /dev/null, in turns (who goes
 * first alternating); with --baseline-bin that build's check-data too. The check must find the set clean.
 */
async function checkRound(runs, round) {
  const check = async (cmd, into) => {
    const r = await timed(...cmd(['--check-data', 'c5', '--tables', 'c5.txt']));
    if (r.code !== 0) throw new Error(`check-data of the healthy RAID5 exited ${r.code}`);
    into.push(r);
  };
  const steps = [
    async () => {
      const r = await timed(...dmraid(['--extract', 'c5', '-o', '/dev/null', '--tables', 'c5.txt']));
      if (r.code !== 0) throw new Error('extract of the healthy RAID5 failed');
      runs.cx.push(r);
    },
    () => check(dmraid, runs.ck),
    ...(baseBin ? [() => check(baseline, runs.bCk)] : []),
  ];
  for (const step of round % 2 ? [...steps].reverse() : steps) await step();
}

/** The check-data row, and its rounds (with the baseline build's check beside ours). */
function checkRow(runs) {
  const median = (xs) => [...xs].sort((a, b) => a.seconds - b.seconds)[Math.floor(xs.length / 2)];
  const rs = runs.cx.map((b, i) => b.seconds / runs.ck[i].seconds).sort((x, y) => x - y);
  console.log(`per-round ratios: check-data vs extract ${rs.map((r) => r.toFixed(2)).join(' ')}`);
  if (baseBin) {
    const bs = runs.bCk.map((b, i) => b.seconds / runs.ck[i].seconds).sort((x, y) => x - y);
    console.log(`baseline build's check-data: ${median(runs.bCk).seconds.toFixed(2)} s (median), ours ${bs[Math.floor(bs.length / 2)].toFixed(2)}× its speed (rounds ${bs.map((r) => r.toFixed(2)).join(' ')})`);
  }
  const [ck, cx] = [median(runs.ck), median(runs.cx)];
  const rss = Math.max(...runs.ck.map((x) => x.rssMiB));
  return ['check-data RAID5 3 × ' + memberMiB + ' MiB, healthy', `${ck.seconds.toFixed(2)} s (${((2 * memberMiB) / ck.seconds).toFixed(0)} MiB/s)`, `extract to /dev/null: ${cx.seconds.toFixed(2)} s`, rs[Math.floor(rs.length / 2)].toFixed(2), '≥ 0.8', rss];
}

/**
 * Writes: nbdcopy of flat.img (the volume's own bytes, so the members keep their data for the reads) into
 * `--serve --writable` on the RAID0 and into nbdkit's file plugin serving flat.img itself, each server
 * started once, a cold copy first, then a copy into each per round, who goes first alternating.
 */
async function nbdWrite(volumeMiB) {
  const [wsock, wksock] = [join(dir, 'ours-w.sock'), join(dir, 'nbdkit-w.sock')];
  const runs = { ours: [], kit: [], oursCold: [], kitCold: [] };
  const servers = [];
  try {
    servers.push(await serve('node', [bin, '--serve', '--writable', '--tables', 'r0.txt', '--listen', wsock], (out) => out.includes('serving')));
    servers.push(await serve('nbdkit', ['-f', '-U', wksock, 'file', join(dir, 'flat.img')], () => existsSync(wksock), 'SIGTERM'));
    // With the server's CPU-seconds for the copy: on a shared machine the wall time is also other people's.
    const copy = async (uri, server) => {
      const cpu = server.cpu();
      const r = await timed('nbdcopy', [join(dir, 'flat.img'), uri]);
      if (r.code !== 0) throw new Error(`nbdcopy into ${uri} failed`);
      return { ...r, cpu: server.cpu() - cpu };
    };
    const [oursUri, kitUri] = [`nbd+unix:///r0?socket=${wsock}`, `nbd+unix:///?socket=${wksock}`];
    runs.oursCold.push(await copy(oursUri, servers[0]));
    runs.kitCold.push(await copy(kitUri, servers[1]));
    for (let round = 0; round < rounds; round++) {
      if (round % 2 === 0) {
        runs.ours.push(await copy(oursUri, servers[0]));
        runs.kit.push(await copy(kitUri, servers[1]));
      } else {
        runs.kit.push(await copy(kitUri, servers[1]));
        runs.ours.push(await copy(oursUri, servers[0]));
      }
    }
  } finally {
    const [o, k] = await Promise.all(servers.map((s) => s.stop()));
    for (const r of runs.ours) Object.assign(r, o);
    for (const r of runs.kit) Object.assign(r, k ?? {});
  }
  const median = (xs) => [...xs].sort((a, b) => a.seconds - b.seconds)[Math.floor(xs.length / 2)];
  const ratios = runs.kit.map((b, i) => b.seconds / runs.ours[i].seconds).sort((x, y) => x - y);
  const [ours, kit] = [median(runs.ours), median(runs.kit)];
  const cpu = (xs) => [...xs].map((x) => x.cpu).sort((a, b) => a - b)[Math.floor(xs.length / 2)].toFixed(2);
  console.log(`nbdcopy into the servers: per-round ratios ${ratios.map((r) => r.toFixed(2)).join(' ')}; first copy after the start: ours ${runs.oursCold[0].seconds.toFixed(2)} s, nbdkit ${runs.kitCold[0].seconds.toFixed(2)} s; server CPU-seconds a copy (median): ours ${cpu(runs.ours)}, nbdkit ${cpu(runs.kit)}; nbdkit peak memory ${runs.kit[0].rssMiB.toFixed(0)} MiB`);
  return [
    'nbdcopy of a file into --serve --writable (RAID0), server warm',
    `${ours.seconds.toFixed(2)} s (${(volumeMiB / ours.seconds).toFixed(0)} MiB/s)`,
    `into nbdkit file: ${kit.seconds.toFixed(2)} s`,
    ratios[Math.floor(ratios.length / 2)].toFixed(2),
    '-',
    Math.max(...runs.ours.map((x) => x.rssMiB)),
  ];
}

/**
 * The mostly sparse volume: two 1 GiB member images with 32 blocks of 128 KiB of data each (8 MiB in all),
 * striped; its flat image extracted from it (sparse). Then, in turns, nbdcopy from ours and from nbdkit's
 * file plugin on the flat image, and --extract vs `cp --sparse=always` of the flat image.
 */
async function sparseRows() {
  const memberBytes = 1024 * MiB;
  const block = Buffer.alloc(128 * 1024);
  for (let m = 0; m < 2; m++) {
    const h = await fs.open(join(dir, `s${m}.img`), 'w');
    await h.truncate(memberBytes);
    for (let k = 0; k < 32; k++) {
      randomFillSync(block);
      await h.write(block, 0, block.length, Math.floor((k * memberBytes) / 32 / block.length) * block.length + m * 4 * MiB);
    }
    await h.close();
  }
  const sectors = (2 * memberBytes) / 512;
  await fs.writeFile(join(dir, 'sparse.txt'), `r0s: 0 ${sectors} striped 2 128 s0.img 0 s1.img 0\n`);
  const made = await timed(...dmraid(['--extract', 'r0s', '-o', 'sflat.img', '--tables', 'sparse.txt']));
  if (made.code !== 0) throw new Error('extract of the sparse volume failed');
  const [ssock, sksock] = [join(dir, 'ours-s.sock'), join(dir, 'nbdkit-s.sock')];
  const runs = { ours: [], kit: [], ex: [], cp: [], start: [] };
  // Wall time to the millisecond (/usr/bin/time says hundredths: cp of a sparse image takes a few ms).
  const fine = async (cmd, args) => {
    const t = performance.now();
    const r = await timed(cmd, args);
    return { ...r, seconds: (performance.now() - t) / 1000 };
  };
  const servers = [];
  try {
    servers.push(await serve('node', [bin, '--serve', '--tables', 'sparse.txt', '--listen', ssock], (out) => out.includes('serving')));
    servers.push(await serve('nbdkit', ['-f', '-U', sksock, 'file', join(dir, 'sflat.img')], () => existsSync(sksock), 'SIGTERM'));
    const [oursUri, kitUri] = [`nbd+unix:///r0s?socket=${ssock}`, `nbd+unix:///?socket=${sksock}`];
    const copy = async (uri) => {
      const r = await fine('nbdcopy', [uri, 'null:']);
      if (r.code !== 0) throw new Error(`nbdcopy from ${uri} failed`);
      return r;
    };
    // A copy here takes 20-40 ms, of which nbdcopy's own start is ~5: one copy is a noisy sample, so each
    // sample is a batch of BATCH copies (their mean time, as one copy's). The first copy after each server's
    // start is shown on its own (cold: our JIT compiles the serving code, each serving process maps the
    // members); then WARM copies each, not counted, before the rounds.
    const batch = async (uri) => {
      const each = [];
      for (let i = 0; i < BATCH; i++) each.push(await copy(uri));
      return { ...each[0], seconds: each.reduce((n, r) => n + r.seconds, 0) / BATCH };
    };
    runs.oursCold = await copy(oursUri);
    runs.kitCold = await copy(kitUri);
    for (let i = 0; i < WARM; i++) {
      await copy(oursUri);
      await copy(kitUri);
    }
    const cpuBefore = servers.map((x) => x.cpu());
    for (let round = 0; round < rounds; round++) {
      const pair = [
        async () => runs.ours.push(await batch(oursUri)),
        async () => runs.kit.push(await batch(kitUri)),
        async () => {
          await fs.rm(join(dir, 'sx.out'), { force: true });
          const r = await fine(...dmraid(['--extract', 'r0s', '-o', 'sx.out', '--tables', 'sparse.txt']));
          if (r.code !== 0) throw new Error('extract of the sparse volume failed');
          runs.ex.push(r);
          // The CLI's start alone (-V), beside it: what of the extract is Node and the CLI starting.
          runs.start.push(await fine(...dmraid(['-V'])));
        },
        async () => {
          await fs.rm(join(dir, 'scp.out'), { force: true });
          runs.cp.push(await fine('cp', ['--sparse=always', 'sflat.img', 'scp.out']));
        },
      ];
      // Who goes first alternates.
      const order = round % 2 === 0 ? [0, 1, 2, 3] : [1, 0, 3, 2];
      for (const i of order) await pair[i]();
    }
    // Server CPU time a copy (user + system, every serving process): what a copy costs the server, apart
    // from the client and the scheduling that the wall times carry.
    runs.cpu = servers.map((x, i) => ((x.cpu() - cpuBefore[i]) / (rounds * BATCH)) * 1000);
  } finally {
    const [o] = await Promise.all(servers.map((x) => x.stop()));
    for (const r of runs.ours) Object.assign(r, o);
  }
  // The engine alone, in this process: extract() of the volume as it is and with its map taken away (every
  // hole read and found zero, as before the map), in turns.
  const engine = await import(join(root, 'packages', 'engine', 'dist', 'index.js'));
  const members = ['s0.img', 's1.img'].map((p) => engine.fileSource(join(dir, p), memberBytes / 512));
  const e = engine.createEngine([{ name: 'v', table: `0 ${sectors} striped 2 128 s0.img 0 s1.img 0` }], (p) => members[['s0.img', 's1.img'].indexOf(p)]);
  const inProcess = { map: [], none: [] };
  for (let round = 0; round < rounds; round++) {
    for (const [k, src] of round % 2 ? [['map', e.get('v')], ['none', { ...e.get('v'), extents: undefined }]] : [['none', { ...e.get('v'), extents: undefined }], ['map', e.get('v')]]) {
      await fs.rm(join(dir, 'sip.out'), { force: true });
      const t = performance.now();
      const r = await engine.extract(src, join(dir, 'sip.out'));
      if (engine.isIoError(r)) throw new Error(r.message);
      inProcess[k].push(performance.now() - t);
    }
  }
  members.forEach((x) => x.close());
  const ms = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)].toFixed(0);
  console.log(`extract() in this process (no Node start): holes skipped ${ms(inProcess.map)} ms, every hole read ${ms(inProcess.none)} ms (medians)`);
  const same = await timed('cmp', ['sflat.img', 'sx.out']);
  if (same.code !== 0) throw new Error('the sparse extract differs from the flat image');
  const median = (xs) => [...xs].sort((a, b) => a.seconds - b.seconds)[Math.floor(xs.length / 2)];
  const paired = (base, mine) => base.map((b, i) => b.seconds / mine[i].seconds).sort((x, y) => x - y);
  const mid = (xs) => xs[Math.floor(xs.length / 2)].toFixed(2);
  console.log(`sparse nbdcopy, first copy after the server started: ours ${(runs.oursCold.seconds * 1000).toFixed(0)} ms, nbdkit ${(runs.kitCold.seconds * 1000).toFixed(0)} ms; server CPU a warm copy: ours ${runs.cpu[0].toFixed(1)} ms, nbdkit ${runs.cpu[1].toFixed(1)} ms`);
  console.log(`per-round ratios (sparse; nbdcopy: batches of ${BATCH} copies after ${WARM} warm-up copies): nbdcopy ${paired(runs.kit, runs.ours).map((r) => r.toFixed(2)).join(' ')}; extract vs cp --sparse=always ${paired(runs.cp, runs.ex).map((r) => r.toFixed(2)).join(' ')}`);
  const [ours, kit, ex, cp, start] = [runs.ours, runs.kit, runs.ex, runs.cp, runs.start].map(median);
  const beyond = runs.ex.map((x, i) => x.seconds - runs.start[i].seconds).sort((a, b) => a - b);
  console.log(`sparse extract: median ${(ex.seconds * 1000).toFixed(0)} ms, of which the CLI's start (dmraid -V) ${(start.seconds * 1000).toFixed(0)} ms; beyond the start (per round, median) ${(beyond[Math.floor(beyond.length / 2)] * 1000).toFixed(0)} ms; cp --sparse=always ${(cp.seconds * 1000).toFixed(1)} ms`);
  return [
    ['nbdcopy from --serve, mostly sparse 2 GiB RAID0 (8 MiB data), server warm', `${(ours.seconds * 1000).toFixed(1)} ms`, `nbdkit file (flat image): ${(kit.seconds * 1000).toFixed(1)} ms`, mid(paired(runs.kit, runs.ours)), '≥ 0.8', Math.max(...runs.ours.map((x) => x.rssMiB))],
    ['extract, mostly sparse 2 GiB RAID0 (8 MiB data)', `${ex.seconds.toFixed(3)} s`, `cp --sparse=always of the flat image: ${cp.seconds.toFixed(3)} s`, mid(paired(runs.cp, runs.ex)), '≥ 0.5', Math.max(...runs.ex.map((x) => x.rssMiB))],
  ];
}

function printTable(rows) {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(`\nMachine: ${cpu}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; Node ${process.version}; ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC; CLI ${bin}\n`);
  console.log('| measure | ours | baseline | ratio | target | our peak RSS |');
  console.log('|---|---|---|---|---|---|');
  for (const [m, o, b, r, t, rss] of rows) console.log(`| ${m} | ${o} | ${b} | ${r}× | ${t} | ${rss.toFixed(0)} MiB |`);
}

try {
  console.log(`bench/engine: ${memberMiB} MiB members in ${dir}`);
  if (onlySparse) {
    printTable(await sparseRows());
    if (!keep) rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  }
  const sectors = (memberMiB * MiB) / 512;
  for (let m = 0; m < 4; m++) await makeMember(join(dir, `m${m}.img`), memberMiB, m);
  await fs.writeFile(join(dir, 'r0.txt'), `r0: 0 ${4 * sectors} striped 4 128 m0.img 0 m1.img 0 m2.img 0 m3.img 0\n`);
  await fs.writeFile(join(dir, 'r5.txt'), `r5: 0 ${2 * sectors} raid raid5_ls 4 128 nosync region_size 1024 3 - m0.img - m1.img - m2.img\n`);
  await fs.writeFile(join(dir, 'c5.txt'), `c5: 0 ${2 * sectors} raid raid5_ls 4 128 nosync region_size 1024 3 - m0.img - m1.img - c2.img\n`);
  await makeParityMember(memberMiB);
  await fs.writeFile(join(dir, 'r5d.txt'), `r5: 0 ${2 * sectors} raid raid5_ls 4 128 nosync region_size 1024 3 - m0.img - - - m2.img\n`);
  // RAID6 over the four members; lost: members 1 and 2, so that a row loses two data chunks, data and P,
  // data and Q, or P and Q as the layout rotates (the members' bytes are no real P/Q: the work is the same).
  await fs.writeFile(join(dir, 'r6.txt'), `r6: 0 ${2 * sectors} raid raid6_zr 1 128 4 - m0.img - m1.img - m2.img - m3.img\n`);
  await fs.writeFile(join(dir, 'r6d.txt'), `r6: 0 ${2 * sectors} raid raid6_zr 1 128 4 - m0.img - - - - - m3.img\n`);
  const volumeMiB = 4 * memberMiB;
  // The C floor (copy-floor.c) with --floor: same map, same chunk (128 sectors), no Node.
  const floor = wantFloor && (await new Promise((done) => {
    const cc = spawn('cc', ['-O2', '-o', join(dir, 'copy-floor'), join(root, 'tools', 'bench', 'copy-floor.c'), '-lpthread'], { stdio: 'inherit' });
    cc.on('error', () => done(false));
    cc.on('exit', (code) => done(code === 0));
  }));
  if (wantFloor && !floor) console.log('--floor: no C compiler (cc), the C floor is not measured');

  await timed('sync', []);
  // Warm the page cache for both sides alike, then the median of `rounds` runs of each, in turns.
  await timed('sh', ['-c', 'cat m0.img m1.img m2.img m3.img c2.img > /dev/null']);
  const median = (xs) => [...xs].sort((a, b) => a.seconds - b.seconds)[Math.floor(xs.length / 2)];
  const runs = { cx: [], ck: [], bCk: [], bEx: [], bR5: [], bR5d: [], cat: [], dd: [], ex: [], fCat: [], fRw: [], fRw2: [], fCfr: [], fEx: [], r5: [], r5d: [], r6: [], r6d: [], ours: [], kit: [], oursCold: [], kitCold: [] };
  const copy = (uri) => timed('nbdcopy', [uri, 'null:']);
  const sock = join(dir, 'ours.sock');
  const ksock = join(dir, 'nbdkit.sock');
  const raid6Rounds = async () => {
    runs.r6.push(await timed(...dmraid(['--extract', 'r6', '-o', '/dev/null', '--tables', 'r6.txt'])));
    runs.r6d.push(await timed(...dmraid(['--extract', 'r6', '-o', '/dev/null', '--tables', 'r6d.txt'])));
  };
  const raid6Row = () => {
    const [r6, r6d] = [runs.r6, runs.r6d].map(median);
    const rs = runs.r6.map((b, i) => b.seconds / runs.r6d[i].seconds).sort((x, y) => x - y);
    console.log(`per-round ratios: RAID6 degraded by two ${rs.map((r) => r.toFixed(2)).join(' ')}`);
    const rss = Math.max(...[...runs.r6, ...runs.r6d].map((x) => x.rssMiB));
    return ['read RAID6 4 × ' + memberMiB + ' MiB, two members missing', `${r6d.seconds.toFixed(2)} s (${((2 * memberMiB) / r6d.seconds).toFixed(0)} MiB/s)`, `healthy: ${r6.seconds.toFixed(2)} s`, rs[Math.floor(rs.length / 2)].toFixed(2), '≥ 0.4', rss];
  };
  if (onlyRescue) {
    // A ddrescue mapfile of m1.img: 64 unrescued 4 KiB areas, evenly spread; the rest finished.
    const bytes = memberMiB * MiB;
    const lines = ['# Mapfile. Created by GNU ddrescue version 1.27', '0x00000000     +               1'];
    let at = 0;
    for (let k = 0; k < 64; k++) {
      const bad = Math.floor(((k + 0.5) * bytes) / 64 / 4096) * 4096;
      lines.push(`0x${at.toString(16)} 0x${(bad - at).toString(16)} +`, `0x${bad.toString(16)} 0x1000 -`);
      at = bad + 4096;
    }
    lines.push(`0x${at.toString(16)} 0x${(bytes - at).toString(16)} +`);
    await fs.writeFile(join(dir, 'm1.map'), `${lines.join('\n')}\n`);
    const plain = [];
    const mapped = [];
    for (let round = 0; round < rounds; round++) {
      plain.push(await timed(...dmraid(['--extract', 'r5', '-o', '/dev/null', '--tables', 'r5.txt'])));
      const r = await timed(...dmraid(['--extract', 'r5', '-o', '/dev/null', '--tables', 'r5.txt', '--rescue-map', 'm1.img=m1.map']));
      if (r.code !== 0) throw new Error(`extract with the rescue map exited ${r.code}`);
      mapped.push(r);
    }
    const rs = plain.map((b, i) => b.seconds / mapped[i].seconds).sort((x, y) => x - y);
    console.log(`per-round ratios: extract with a rescue map ${rs.map((r) => r.toFixed(2)).join(' ')}`);
    const m = median(mapped);
    const rss = Math.max(...[...plain, ...mapped].map((x) => x.rssMiB));
    printTable([['extract RAID5 3 × ' + memberMiB + ' MiB, --rescue-map: 64 × 4 KiB of a member rebuilt', `${m.seconds.toFixed(2)} s (${((2 * memberMiB) / m.seconds).toFixed(0)} MiB/s)`, `no map: ${median(plain).seconds.toFixed(2)} s`, rs[Math.floor(rs.length / 2)].toFixed(2), '≥ 0.8', rss]]);
    if (!keep) rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  }
  if (onlyCheck) {
    for (let round = 0; round < rounds; round++) await checkRound(runs, round);
    printTable([checkRow(runs)]);
    if (!keep) rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  }
  if (onlyRaid6) {
    for (let round = 0; round < rounds; round++) await raid6Rounds();
    printTable([raid6Row()]);
    if (!keep) rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  }
  // The volume as one flat file for nbdkit, written right after the members: both servers then read
  // page-cache data of the same age (the rounds below rewrite their outputs many times over).
  await timed(...dmraid(['--extract', 'r0', '-o', 'flat.img', '--tables', 'r0.txt']));
  if (onlyWrite) {
    printTable([await nbdWrite(volumeMiB)]);
    if (!keep) rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  }
  // The output the first round's `cat` replaces.
  await timed(...dmraid(['--extract', 'r0', '-o', 'r0.out', '--tables', 'r0.txt']));
  for (let round = 0; round < rounds; round++) {
    // Both writers start alike: no dirty pages of the other's (write-back throttling would favour the
    // first), and the other's 2 GiB output freed just before. The order matters on a VM that hands freed
    // memory back to its host: pages freed seconds ago must be faulted in from the host again, pages freed
    // just now are reused at once (a writer started late after a free ran up to 5 times slower here).
    await timed('sync', []);
    await fs.rm(join(dir, 'r0.out'));
    runs.cat.push(await timed('sh', ['-c', 'cat m0.img m1.img m2.img m3.img > cat.out']));
    await timed('sync', []);
    await fs.rm(join(dir, 'cat.out'));
    // A copy through userspace buffers (GNU cat copies file to file in the kernel, copy_file_range).
    runs.dd.push(await timed('sh', ['-c', 'for m in m0 m1 m2 m3; do dd if=$m.img bs=128K status=none; done > dd.out']));
    await timed('sync', []);
    await fs.rm(join(dir, 'dd.out'));
    const ex = await timed(...dmraid(['--extract', 'r0', '-o', 'r0.out', '--tables', 'r0.txt']));
    if (ex.code !== 0) throw new Error('extract failed');
    runs.ex.push(ex);
    if (baseBin) {
      // The baseline build's extract, after ours as cat's comes before it: its own output removed just before.
      await timed('sync', []);
      await fs.rm(join(dir, 'r0.out'));
      const bx = await timed(...baseline(['--extract', 'r0', '-o', 'r0.out', '--tables', 'r0.txt']));
      if (bx.code !== 0) throw new Error('extract of the baseline build failed');
      runs.bEx.push(bx);
    }
    runs.r5.push(await timed(...dmraid(['--extract', 'r5', '-o', '/dev/null', '--tables', 'r5.txt'])));
    runs.r5d.push(await timed(...dmraid(['--extract', 'r5', '-o', '/dev/null', '--tables', 'r5d.txt'])));
    if (baseBin) {
      runs.bR5.push(await timed(...baseline(['--extract', 'r5', '-o', '/dev/null', '--tables', 'r5.txt'])));
      runs.bR5d.push(await timed(...baseline(['--extract', 'r5', '-o', '/dev/null', '--tables', 'r5d.txt'])));
    }
    await raid6Rounds();
    await checkRound(runs, round);
  }
  // The C floor: rounds of their own (another writer between cat and ours would change what each finds
  // freed before it), the five writers in turns, each round starting with the next one.
  if (floor) {
    const cFloor = (mode) => [join(dir, 'copy-floor'), [mode, 'f.out', String(128 * 512), 'm0.img', 'm1.img', 'm2.img', 'm3.img']];
    const writers = [
      [runs.fCat, ['sh', ['-c', 'cat m0.img m1.img m2.img m3.img > f.out']]],
      [runs.fRw, cFloor('rw')],
      [runs.fRw2, cFloor('rw2')],
      [runs.fCfr, cFloor('cfr')],
      [runs.fEx, dmraid(['--extract', 'r0', '-o', 'f.out', '--tables', 'r0.txt'])],
    ];
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < writers.length; i++) {
        const [into, cmd] = writers[(round + i) % writers.length];
        await timed('sync', []);
        await fs.rm(join(dir, 'f.out'), { force: true });
        const r = await timed(...cmd);
        if (r.code !== 0) throw new Error(`${cmd[1].join(' ')} failed`);
        into.push(r);
      }
    }
    await fs.rm(join(dir, 'f.out'), { force: true });
  }
  // The servers: each started once and serving for the rest of the run, as a server lives. The first copy
  // after the start (cold: our JIT and buffer pool warm up; nbdkit has next to nothing to warm) is shown on
  // its own; then `rounds` rounds of one copy from each, in turns (who goes first alternates).
  await fs.rm(sock, { force: true });
  await fs.rm(ksock, { force: true });
  const servers = [];
  try {
    servers.push(await serve('node', [bin, '--serve', '--tables', 'r0.txt', '--listen', sock], (out) => out.includes('serving')));
    servers.push(await serve('nbdkit', ['-f', '-U', ksock, 'file', join(dir, 'flat.img')], () => existsSync(ksock), 'SIGTERM'));
    const [oursUri, kitUri] = [`nbd+unix:///r0?socket=${sock}`, `nbd+unix:///?socket=${ksock}`];
    runs.oursCold.push(await copy(oursUri));
    runs.kitCold.push(await copy(kitUri));
    for (let round = 0; round < rounds; round++) {
      if (round % 2 === 0) {
        runs.ours.push(await copy(oursUri));
        runs.kit.push(await copy(kitUri));
      } else {
        runs.kit.push(await copy(kitUri));
        runs.ours.push(await copy(oursUri));
      }
    }
  } finally {
    const [o, k] = await Promise.all(servers.map((s) => s.stop()));
    for (const r of runs.ours) Object.assign(r, o);
    for (const r of runs.kit) Object.assign(r, k);
  }
  const writeRow = await nbdWrite(volumeMiB);
  const sparse = await sparseRows();
  const peak = (xs) => Math.max(...xs.map((x) => x.rssMiB));
  const [cat, ex, r5, r5d, ours, kit] = [runs.cat, runs.ex, runs.r5, runs.r5d, runs.ours, runs.kit].map(median);
  ex.rssMiB = peak(runs.ex);
  r5.rssMiB = Math.max(peak(runs.r5), peak(runs.r5d));
  r5d.rssMiB = r5.rssMiB;
  ours.rssMiB = peak(runs.ours);
  kit.rssMiB = peak(runs.kit);

  // Each round's baseline and ours ran one after the other: the ratio is the median of the rounds' ratios
  // (load that changes between rounds then moves both sides of a ratio alike).
  const paired = (base, mine) => base.map((b, i) => b.seconds / mine[i].seconds).sort((x, y) => x - y);
  const ratio = (base, mine) => paired(base, mine)[Math.floor(base.length / 2)].toFixed(2);
  const spread = (base, mine) => paired(base, mine).map((r) => r.toFixed(2)).join(' ');
  const dd = median(runs.dd);
  console.log(`\nextract vs dd bs=128K of the members (userspace copies): dd ${dd.seconds.toFixed(2)} s, ratio ${ratio(runs.dd, runs.ex)}× (rounds: ${spread(runs.dd, runs.ex)})`);
  console.log(`per-round ratios: extract ${spread(runs.cat, runs.ex)}; RAID5 degraded ${spread(runs.r5, runs.r5d)}; nbdcopy ${spread(runs.kit, runs.ours)}`);
  // This VM's page-cache writes run in one of two speeds (docs/benchmarks.md); the fastest round of each
  // side is its copy at the fast speed, so their ratio compares the copies without the host's share.
  const best = (xs) => Math.min(...xs.map((x) => x.seconds));
  console.log(`fastest rounds: extract ${best(runs.ex).toFixed(2)} s, cat ${best(runs.cat).toFixed(2)} s: ratio ${(best(runs.cat) / best(runs.ex)).toFixed(2)}×`);
  if (floor) {
    // Fastest rounds (the fast page-cache mode) and medians, seconds; ratios are cat's time over each.
    const line = (what, xs) => `${what} ${best(xs).toFixed(2)} s (median ${median(xs).seconds.toFixed(2)} s): ${(best(runs.fCat) / best(xs)).toFixed(2)}× of cat`;
    console.log(`C floor (${rounds} rounds of their own): cat ${best(runs.fCat).toFixed(2)} s (median ${median(runs.fCat).seconds.toFixed(2)} s); ${line('C pread/pwrite with holes', runs.fRw)}; ${line('the same in two threads', runs.fRw2)}; ${line('C copy_file_range per chunk, no holes', runs.fCfr)}; ${line('ours --extract', runs.fEx)}`);
  }
  if (baseBin) {
    // Each build's own ratio per round, then their medians: the baseline's extract ran right after ours.
    const r = (base, mine) => ratio(base, mine);
    console.log(`baseline build (${baseBin}), same rounds: extract ${median(runs.bEx).seconds.toFixed(2)} s vs ours ${ex.seconds.toFixed(2)} s, vs cat ${r(runs.cat, runs.bEx)}× (ours ${r(runs.cat, runs.ex)}×); RAID5 healthy ${median(runs.bR5).seconds.toFixed(2)} s vs ours ${r5.seconds.toFixed(2)} s, degraded ${median(runs.bR5d).seconds.toFixed(2)} s vs ours ${r5d.seconds.toFixed(2)} s, degraded vs healthy ${r(runs.bR5, runs.bR5d)}× (ours ${r(runs.r5, runs.r5d)}×)`);
  }
  console.log(`serving processes: ${runs.ours[0].processes}`);
  console.log(`nbdcopy, first copy after the server started: ours ${runs.oursCold[0].seconds.toFixed(2)} s, nbdkit ${runs.kitCold[0].seconds.toFixed(2)} s, ratio ${ratio(runs.kitCold, runs.oursCold)}×`);
  const mbps = (mib, s) => (mib / s).toFixed(0);
  const rows = [
    ['extract RAID0 4 × ' + memberMiB + ' MiB', `${ex.seconds.toFixed(2)} s (${mbps(volumeMiB, ex.seconds)} MiB/s)`, `cat of the members: ${cat.seconds.toFixed(2)} s`, ratio(runs.cat, runs.ex), '≥ 0.8', ex.rssMiB],
    ['read RAID5 3 × ' + memberMiB + ' MiB, member missing', `${r5d.seconds.toFixed(2)} s (${mbps(2 * memberMiB, r5d.seconds)} MiB/s)`, `healthy: ${r5.seconds.toFixed(2)} s`, ratio(runs.r5, runs.r5d), '≥ 0.5', Math.max(r5.rssMiB, r5d.rssMiB)],
    raid6Row(),
    ['nbdcopy from --serve (RAID0), server warm', `${ours.seconds.toFixed(2)} s (${mbps(volumeMiB, ours.seconds)} MiB/s)`, `nbdkit file: ${kit.seconds.toFixed(2)} s`, ratio(runs.kit, runs.ours), '≥ 1.0', ours.rssMiB],
    writeRow,
    ...sparse,
    checkRow(runs),
  ];
  if (extraCerts !== undefined) {
    const start = async (e) => {
      const xs = [];
      for (let i = 0; i < 7; i++) xs.push((await timed('node', ['-e', '0'], { env: e })).seconds);
      return xs.sort((a, b) => a - b)[3];
    };
    const [without, withCerts] = [await start(env), await start(process.env)];
    console.log(`NODE_EXTRA_CA_CERTS=${extraCerts} is set here: every command ran without it (\`node -e 0\`: ${(without * 1000).toFixed(0)} ms without, ${(withCerts * 1000).toFixed(0)} ms with it)`);
  }
  console.log(`nbdkit peak memory: ${kit.rssMiB.toFixed(0)} MiB`);
  printTable(rows);
  const failed = rows.filter(([, , , r, t]) => t !== '-' && Number(r) < Number(t.slice(2)));
  if (failed.length) console.log(`\nbelow target: ${failed.map((r) => r[0]).join('; ')}`);
} finally {
  if (!keep) rmSync(dir, { recursive: true, force: true });
}

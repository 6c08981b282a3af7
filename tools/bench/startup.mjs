#!/usr/bin/env node
// `npm run bench:startup`: what a short command costs from exec to exit — `node -e 0` (Node's floor), the
// `dmraid` command (the meta-package's bin: one CommonJS file through a compile cache), `dmraid-cli` (the CLI
// alone, ES modules, which imports each handler package), and the C reference, interleaved round by round so that a busy machine
// slows every command alike. Peak RSS from /usr/bin/time. Results as a Markdown table (docs/benchmarks.md).
//
// The reference sees the images as ../shared/tools/dmraid-ref shows them (loop devices as /dev/sdX in a private
// mount namespace with a matching /sys/block: common.mjs loopDisks, as block.mjs's), set up once here; the clock
// runs inside the namespace, around dmraid alone, so neither losetup nor unshare is counted: the C tool's own
// cost, as the issue's targets mean it.
//
// --breakdown: instead, where the time of a start goes, from timing marks inside one process (a child per
// round, medians): for dmraid-cli importing @dmraid/core, @dmraid/cli, the scan of node_modules with the
// handlers described, the eight handler packages one by one; for dmraid its compile-cache loader, its one file
// and the handlers' code in it; with the compile caches warm, as the bins run.
//
// Options: --runs N (rounds, default 11), --node PATH (the Node that runs ours; default this one), --json.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanPath, commandEnv, commandLine, extraCerts, loopDisks, machine, makeImages, median } from './common.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dmraid = join(root, 'packages', 'dmraid', 'bin', 'dmraid.cjs');
const dmraidCli = join(root, 'packages', 'cli', 'dist', 'bin.js');
const reference = join(root, '..', 'shared', 'tools', 'dmraid-ref', 'dmraid-ref');
const { args, option } = commandLine();
const runs = Number(option('--runs')) || 11;
const node = option('--node') ?? process.execPath;
const asJson = args.includes('--json');
const env = commandEnv({ PATH: cleanPath() });
const haveTime = existsSync('/usr/bin/time');

/** One run: wall milliseconds, and peak RSS in KiB when /usr/bin/time is there (its own fork is in neither). */
function once(argv, cwd) {
  const [command, ...rest] = haveTime ? ['/usr/bin/time', '-f', '%M', ...argv] : argv;
  const t0 = process.hrtime.bigint();
  const r = spawnSync(command, rest, { cwd, encoding: 'latin1', maxBuffer: 64 << 20, env });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.error) throw r.error;
  const rssKiB = haveTime ? Number(r.stderr.trim().split('\n').at(-1)) : undefined;
  return { ms, rssKiB, status: r.status, stdout: r.stdout };
}

/** The reference dmraid over `images` as loop devices: run(args) times one call inside the namespace. */
function referenceOn(images, scratch) {
  const home = process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? '/root', '.cache');
  const shim = join(home, 'dmraid-ref', 'ataserial.so'); // built by dmraid-ref's first run
  const disks = loopDisks(images, env);
  const rss = join(scratch, `rss-${images.length}`);
  const script = `s=$EPOCHREALTIME; LD_PRELOAD=$SHIM /usr/bin/time -f %M -o "$RSS" dmraid "$@" >/dev/null 2>&1; e=$EPOCHREALTIME
    echo "$s $e $(cat "$RSS")"`;
  return {
    run(dmraidArgs) {
      const r = disks.run(script, dmraidArgs, { SHIM: shim, RSS: rss });
      const [s, e, kib] = r.stdout.trim().split(' ').map(Number);
      if (!(e > s)) throw new Error(`reference run failed: ${r.stderr}`);
      return { ms: (e - s) * 1000, rssKiB: kib };
    },
    detach: disks.detach,
  };
}

if (args.includes('--breakdown')) {
  console.log(breakdown());
  process.exit(0);
}

/** Median milliseconds of each step inside a fresh process, `runs` processes. */
function breakdown() {
  // dmraid-cli: the CLI's ES modules, importing each handler package.
  const packages = `
    const module = (await import('node:module')).default;
    module.enableCompileCache?.();
    const t = [performance.now()];
    const lap = () => { t.push(performance.now()); return t.at(-1) - t.at(-2); };
    const r = { sinceProcessStart: performance.now() };
    const core = await import('@dmraid/core'); r.core = lap();
    await import('@dmraid/cli'); r.cli = lap();
    await core.describeHandlers(); r.scanDescribe = lap();
    for (const name of ${JSON.stringify(['ddf1', 'hpt37x', 'hpt45x', 'isw', 'nvidia', 'promise', 'sil', 'via'])}) { await import('@dmraid/format-' + name); r[name] = lap(); }
    console.log(JSON.stringify(r));`;
  // dmraid: its one CommonJS file through the compile cache, then the handlers' code in it.
  const bundle = `
    const t = [performance.now()];
    const lap = () => { t.push(performance.now()); return t.at(-1) - t.at(-2); };
    const r = { sinceProcessStart: performance.now() };
    const { requireCached } = require('./bin/compile-cache.cjs'); r.cacheLoader = lap();
    const b = requireCached(require('node:path').resolve('dist/dmraid.cjs')); r.bundle = lap();
    b.bundledHandlers[0].load().then(() => { r.handlerCode = lap(); console.log(JSON.stringify(r)); });`;
  const cwd = join(root, 'packages', 'dmraid');
  const cacheDir = mkdtempSync(join(tmpdir(), 'dmraid-bench-cache-'));
  const lines = [`Date: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC · load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} · ${machine(node)} · median of ${runs} processes, ms`, ''];
  try {
    for (const [label, argv] of [['dmraid-cli (packages)', ['--input-type=module', '-e', packages]], ['dmraid (one file)', ['-e', bundle]]]) {
      const samples = {};
      for (let i = 0; i <= runs; i++) {
        const r = spawnSync(node, argv, { cwd, encoding: 'utf8', env: { ...env, NODE_COMPILE_CACHE: cacheDir, XDG_CACHE_HOME: cacheDir } });
        if (r.status !== 0) throw new Error(r.stderr);
        if (i === 0) continue; // fills the compile cache
        for (const [k, v] of Object.entries(JSON.parse(r.stdout))) (samples[k] ??= []).push(v);
      }
      lines.push(`- ${label}: ${Object.entries(samples).map(([k, v]) => `${k} ${median(v).toFixed(1)}`).join(' · ')}`);
    }
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
  return lines.join('\n');
}

const dir = mkdtempSync(join(tmpdir(), 'dmraid-bench-startup-'));
// dmraid's compile cache in this run's folder: filled by the warm-up round, as by a user's first command.
env.XDG_CACHE_HOME = join(dir, 'cache');
const haveReference = spawnSync('sh', ['-c', 'command -v dmraid'], { env }).status === 0 && existsSync(reference);
const refs = [];
const results = { date: new Date().toISOString(), loadavg: loadavg().map((l) => l.toFixed(2)), machine: machine(node), runs, rows: [] };
try {
  const one = await makeImages(join(dir, 'n1'), 1);
  const eight = await makeImages(join(dir, 'n8'), 8);
  const devices = (specs) => specs.flatMap((s) => ['--devices', s]);
  const commands = [
    ['node -e 0', [node, '-e', '0']],
    ['dmraid -V', [node, dmraid, '-V']],
    ['dmraid -l', [node, dmraid, '-l']],
    ['dmraid -h', [node, dmraid, '-h']],
    ['dmraid -s, 1 member', [node, dmraid, ...devices(one), '-s']],
    ['dmraid -s, 8 members', [node, dmraid, ...devices(eight), '-s']],
    ['dmraid-cli -V (no bundle)', [node, dmraidCli, '-V']],
    ['dmraid-cli -s, 8 members (no bundle)', [node, dmraidCli, ...devices(eight), '-s']],
  ];
  if (haveReference) {
    spawnSync(reference, [...one, '--', '-V']); // builds its serial shim once
    refs.push(referenceOn(one, dir), referenceOn(eight, dir));
    commands.push(
      ['reference -V', () => refs[0].run(['-V'])],
      ['reference -l', () => refs[0].run(['-l'])],
      ['reference -s, 1 member', () => refs[0].run(['-s'])],
      ['reference -s, 8 members', () => refs[1].run(['-s'])],
    );
  }
  const samples = commands.map(() => ({ ms: [], rss: [] }));
  const go = (how) => (typeof how === 'function' ? how() : once(how, dir));
  for (const [, how] of commands) go(how); // warm the page cache
  for (let round = 0; round < runs; round++) {
    commands.forEach(([, how], i) => {
      const r = go(how);
      samples[i].ms.push(r.ms);
      if (r.rssKiB !== undefined) samples[i].rss.push(r.rssKiB);
    });
  }
  results.rows = commands.map(([name], i) => ({ name, ms: median(samples[i].ms), rssMiB: samples[i].rss.length ? median(samples[i].rss) / 1024 : undefined }));
} finally {
  refs.forEach((r) => r.detach());
  rmSync(dir, { recursive: true, force: true });
}

if (asJson) console.log(JSON.stringify(results, null, 2));
else console.log(report(results));

function report(r) {
  const at = (name) => r.rows.find((x) => x.name === name);
  const floor = at('node -e 0');
  const f = (v, d = 1) => (v === undefined ? '–' : v.toFixed(d));
  const lines = [
    `Date: ${r.date.slice(0, 16).replace('T', ' ')} UTC · load average ${r.loadavg.join(' ')} · ${r.machine} · median of ${r.runs} interleaved rounds`,
    '',
    '| command | ms | × `node -e 0` | peak RSS MiB | RSS / `node -e 0` |',
    '|---|---:|---:|---:|---:|',
  ];
  for (const x of r.rows) {
    lines.push(`| ${x.name} | ${f(x.ms)} | ${f(x.ms / floor.ms, 2)} | ${f(x.rssMiB)} | ${x.rssMiB && floor.rssMiB ? f(x.rssMiB / floor.rssMiB, 2) : '–'} |`);
  }
  if (at('reference -V')) {
    lines.push('');
    for (const c of ['-V', '-l', '-s, 1 member', '-s, 8 members']) {
      lines.push(`- \`${c}\`: ours/reference ${f(at(`dmraid ${c}`).ms / at(`reference ${c}`).ms, 1)}× (without the bundle: ${at(`dmraid-cli ${c} (no bundle)`) ? f(at(`dmraid-cli ${c} (no bundle)`).ms / at(`reference ${c}`).ms, 1) + '×' : '–'})`);
    }
  }
  if (extraCerts !== undefined) lines.push('', 'NODE_EXTRA_CA_CERTS is set here: every command ran without it.');
  return lines.join('\n');
}

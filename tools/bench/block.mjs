#!/usr/bin/env node
// `npm run bench:block`: the cost of discovery (`dmraid -r`) on block devices, ours against the C reference,
// as the number of disks grows. Both scan /sys/block themselves (no --devices): the member images are attached
// to loop devices and shown, to both tools alike, as whole disks /dev/sda, /dev/sdb, ... inside a private mount
// namespace (common.mjs loopDisks). The machine's own disks are out of sight of both.
//
// The clock runs inside the namespace around the command alone (neither unshare nor the mounts are counted);
// every command runs once per round, rounds interleaved, medians reported, of the wall clock and of the command's
// CPU time (user + system, bash's `time`: steadier than the wall clock on a busy machine). Discovery is `-r`
// minus `-V` of the same setup (start-up is startup.mjs's business); the per-disk cost is the slope of discovery
// from the smallest count to the second largest, and between the two largest. Every loop device attached is
// detached at the end, also on failure.
//
// Options: --runs N (rounds, default 15), --counts 1,8,26,52 (sda ... sdz, sdaa ...), --cli PATH (ours, default
// the installed command packages/dmraid/bin/dmraid.cjs; repeat to compare builds, e.g. a copy of the previous
// build), --node PATH, --json.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanPath, commandEnv, commandLine, loopDisks, machine, makeImages, median } from './common.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { args, option, every } = commandLine();
const runs = Number(option('--runs')) || 15;
const counts = (option('--counts') ?? '1,8,26,52').split(',').map(Number);
const node = option('--node') ?? process.execPath;
const clis = every('--cli').length > 0 ? every('--cli') : [join(root, 'packages', 'dmraid', 'bin', 'dmraid.cjs')];
const asJson = args.includes('--json');
const env = commandEnv({ PATH: cleanPath() });
const home = process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? '/root', '.cache');
const shim = join(home, 'dmraid-ref', 'ataserial.so'); // built by dmraid-ref's first run
const reference = join(root, '..', 'shared', 'tools', 'dmraid-ref', 'dmraid-ref');
if (counts.some((n) => !(n >= 1 && n <= 702))) throw new Error('--counts: each between 1 and 702');

const timed = `
  TIMEFORMAT='%3U %3S'
  s=$EPOCHREALTIME; { time "$@" >/run/out 2>/run/err; } 2>/run/cpu; e=$EPOCHREALTIME
  echo "$s $e $(cat /run/cpu)"; cat /run/out`;

/** The images as loop devices named sda, sdb, ...: run(argv) times one command inside the namespace. */
function disksOf(images) {
  const disks = loopDisks(images, env);
  attached.push(disks);
  return {
    run(argv) {
      const r = disks.run(timed, argv);
      const [head, ...out] = r.stdout.split('\n');
      const [s, e, user, sys] = (head ?? '').split(' ').map(Number);
      if (!(e > s) || !(user + sys >= 0)) throw new Error(`run failed: ${argv.join(' ')}: ${r.stderr}`);
      return { ms: (e - s) * 1000, cpuMs: (user + sys) * 1000, stdout: out.join('\n') };
    },
  };
}

const haveReference = spawnSync('sh', ['-c', 'command -v dmraid'], { env }).status === 0 && existsSync(shim);
if (!existsSync(shim) && existsSync(reference)) spawnSync(reference, ['/dev/null', '--', '-V']); // builds the shim
const dir = mkdtempSync(join(tmpdir(), 'dmraid-bench-block-'));
const attached = [];
// Interrupted (^C reaches the command running, then us): detach and clean up all the same.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    attached.forEach((d) => d.detach());
    rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  });
}
const results = { date: new Date().toISOString(), loadavg: loadavg().map((l) => l.toFixed(2)), machine: machine(node), runs, clis, rows: [] };
try {
  const setups = [];
  for (const n of counts) {
    const disks = disksOf(await makeImages(join(dir, `n${n}`), n));
    setups.push({ n, disks });
  }
  const tools = [
    ...clis.map((cli, i) => ({ name: clis.length > 1 ? `ours#${i + 1}` : 'ours', argv: (mode) => [node, cli, mode] })),
    ...(haveReference ? [{ name: 'reference', argv: (mode) => ['env', `LD_PRELOAD=${shim}`, 'dmraid', mode] }] : []),
  ];
  const cells = setups.flatMap(({ n, disks }) => tools.flatMap((t) => ['-r', '-V'].map((mode) => ({ n, tool: t.name, mode, go: () => disks.run(t.argv(mode)), ms: [], cpuMs: [], out: '' }))));
  for (const c of cells) c.out = c.go().stdout; // warms the page cache and shows what each tool found
  for (let round = 0; round < runs; round++) {
    for (const c of cells) {
      const r = c.go();
      c.ms.push(r.ms);
      c.cpuMs.push(r.cpuMs);
    }
  }
  for (const { n } of setups) {
    const row = { disks: n };
    for (const t of tools) {
      const cell = (mode) => cells.find((c) => c.n === n && c.tool === t.name && c.mode === mode);
      row[t.name] = { rMs: median(cell('-r').ms), vMs: median(cell('-V').ms), rCpuMs: median(cell('-r').cpuMs), vCpuMs: median(cell('-V').cpuMs), raidDevices: cell('-r').out.split('\n').filter((l) => l.startsWith('/dev/')).length, output: cell('-r').out };
    }
    results.rows.push(row);
  }
  results.tools = tools.map((t) => t.name);
} finally {
  attached.forEach((d) => d.detach());
  rmSync(dir, { recursive: true, force: true });
}

if (asJson) console.log(JSON.stringify(results, (k, v) => (k === 'output' ? undefined : v), 2));
else console.log(report(results));

function report(r) {
  const f = (v, d = 1) => (v === undefined ? '–' : v.toFixed(d));
  const lines = [
    `Date: ${r.date.slice(0, 16).replace('T', ' ')} UTC · load average ${r.loadavg.join(' ')} · ${r.machine} · median of ${r.runs} interleaved rounds, ms (wall clock; CPU = user + system time of the command)`,
    '',
    `| disks | ${r.tools.map((t) => `${t} \`-r\` | ${t} \`-V\` | ${t} discovery | ${t} discovery CPU`).join(' | ')} | RAID devices (${r.tools.join('/')}) |`,
    `|---:|${r.tools.map(() => '---:|---:|---:|---:|').join('')}---|`,
  ];
  for (const row of r.rows) {
    lines.push(`| ${row.disks} | ${r.tools.map((t) => `${f(row[t].rMs)} | ${f(row[t].vMs)} | ${f(row[t].rMs - row[t].vMs)} | ${f(row[t].rCpuMs - row[t].vCpuMs)}`).join(' | ')} | ${r.tools.map((t) => row[t].raidDevices).join('/')} |`);
  }
  // From the fewest disks up, the slope also pays for compiling each format's code the first time it runs (one
  // disk shows one format); between the two largest counts, where every format is already in, a disk alone.
  const spans = r.rows.length > 2 ? [[r.rows[0], r.rows.at(-2)], [r.rows.at(-2), r.rows.at(-1)]] : [[r.rows[0], r.rows.at(-1)]];
  for (const [first, last] of spans) {
    if (!(last.disks > first.disks)) continue;
    const slope = (t, cpu) => {
      const d = (row) => (cpu ? row[t].rCpuMs - row[t].vCpuMs : row[t].rMs - row[t].vMs);
      return (d(last) - d(first)) / (last.disks - first.disks);
    };
    for (const cpu of [false, true]) {
      lines.push('', `Cost of each extra disk (discovery${cpu ? ', CPU' : ', wall clock'}, ${first.disks} → ${last.disks} disks): ${r.tools.map((t) => `${t} ${f(slope(t, cpu), 2)} ms`).join(', ')}`);
      if (r.tools.includes('reference')) {
        for (const t of r.tools.filter((x) => x !== 'reference')) lines.push(`- ${t}/reference: ${f(slope(t, cpu) / slope('reference', cpu), 2)}`);
      }
    }
  }
  if (r.tools.includes('reference')) {
    // Beyond sdz the reference lists disks in the order sysfs gives them (sdz before sdaa here), ours by name.
    const sorted = (text) => text.split('\n').sort().join('\n');
    const same = r.rows.every((row) => r.tools.every((t) => t === 'reference' || sorted(row[t].output) === sorted(row.reference.output)));
    lines.push('', same ? "Output of `-r`: the same lines as the reference's at every count." : "Output of `-r`: ours differs from the reference's (see --json counts).");
  }
  return lines.join('\n');
}

#!/usr/bin/env node
// `npm run bench`: the cost of discovery (`dmraid -r`) as the number of member images grows, ours against
// the reference dmraid in the same run, ours alone over 1,000 images, and the CLI's start-up beside Node's
// own floor. Results go to stdout as a Markdown table (docs/benchmarks.md keeps a copy with the machine).
//
// Options: --runs N (repetitions per point, the median is reported; default 5), --json.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanPath, commandEnv, commandLine, extraCerts, machine, makeImages, median } from './common.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(root, 'packages', 'cli', 'dist', 'bin.js');
const reference = join(root, '..', 'shared', 'tools', 'dmraid-ref', 'dmraid-ref');
const { args, option } = commandLine();
const runs = Number(option('--runs')) || 5;
const asJson = args.includes('--json');

function timeOnce(command, argv, cwd, env = commandEnv({ PATH: cleanPath() })) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(command, argv, { cwd, encoding: 'latin1', maxBuffer: 64 << 20, env });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.error) throw r.error;
  return { ms, status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function timeMedian(command, argv, cwd, env) {
  timeOnce(command, argv, cwd, env); // warm the page cache and the loader
  const samples = [];
  let last;
  for (let i = 0; i < runs; i++) {
    last = timeOnce(command, argv, cwd, env);
    samples.push(last.ms);
  }
  return { ms: median(samples), last };
}

const oursArgs = (specs, mode) => [cli, ...specs.flatMap((s) => ['--devices', s]), mode];
const refArgs = (specs, mode) => [...specs, '--', mode];

const dir = mkdtempSync(join(tmpdir(), 'dmraid-bench-'));
const haveReference = spawnSync('sh', ['-c', 'command -v dmraid'], { env: commandEnv({ PATH: cleanPath() }) }).status === 0;
const results = { date: new Date().toISOString(), machine: machine(), runs, discovery: [], thousand: undefined, startup: undefined };
try {
  for (const n of [1, 8, 26]) {
    const specs = await makeImages(join(dir, `n${n}`), n);
    const ours = timeMedian(process.execPath, oursArgs(specs, '-r'), dir);
    const oursBase = timeMedian(process.execPath, oursArgs(specs, '-V'), dir);
    const row = { images: n, oursMs: ours.ms, oursBaseMs: oursBase.ms, oursRaidDevices: countLines(ours.last.stdout) };
    if (haveReference) {
      const ref = timeMedian(reference, refArgs(specs, '-r'), dir);
      const refBase = timeMedian(reference, refArgs(specs, '-V'), dir);
      Object.assign(row, { refMs: ref.ms, refBaseMs: refBase.ms, refRaidDevices: countLines(ref.last.stdout) });
    }
    results.discovery.push(row);
  }
  const specs = await makeImages(join(dir, 'n1000'), 1000);
  const t = timeMedian(process.execPath, oursArgs(specs, '-r'), dir);
  const base = timeMedian(process.execPath, oursArgs(specs, '-V'), dir);
  results.thousand = { images: 1000, ms: t.ms, baseMs: base.ms, raidDevices: countLines(t.last.stdout) };
  results.startup = {
    nodeFloorMs: timeMedian(process.execPath, ['-e', '0'], dir).ms,
    ...(extraCerts === undefined ? {} : { nodeWithExtraCertsMs: timeMedian(process.execPath, ['-e', '0'], dir, { ...process.env, PATH: cleanPath() }).ms }),
    versionMs: timeMedian(process.execPath, [cli, '-V'], dir).ms,
    listMs: timeMedian(process.execPath, [cli, '-l'], dir).ms,
    helpMs: timeMedian(process.execPath, [cli, '-h'], dir).ms,
  };
} finally {
  rmSync(dir, { recursive: true, force: true });
}

if (asJson) console.log(JSON.stringify(results, null, 2));
else console.log(report(results));

function countLines(text) {
  return text.split('\n').filter((l) => l.startsWith('/')).length;
}

function report(r) {
  const f = (ms) => (ms === undefined ? '–' : ms.toFixed(0));
  const lines = [
    `Date: ${r.date.slice(0, 10)} · machine: ${r.machine} · median of ${r.runs} runs, milliseconds, wall clock`,
    '',
    '| images | ours `-r` | ours `-V` (same args) | ours discovery | reference `-r` | reference `-V` | reference discovery | RAID devices (ours/ref) |',
    '|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const d of r.discovery) {
    lines.push(`| ${d.images} | ${f(d.oursMs)} | ${f(d.oursBaseMs)} | ${f(d.oursMs - d.oursBaseMs)} | ${f(d.refMs)} | ${f(d.refBaseMs)} | ${f(d.refMs === undefined ? undefined : d.refMs - d.refBaseMs)} | ${d.oursRaidDevices}/${d.refRaidDevices ?? '–'} |`);
  }
  const first = r.discovery[0];
  const last = r.discovery.at(-1);
  const span = last.images - first.images;
  const perOurs = (last.oursMs - last.oursBaseMs - (first.oursMs - first.oursBaseMs)) / span;
  lines.push('');
  lines.push(`Cost of each extra disk (discovery, ${first.images} → ${last.images} images): ours ${perOurs.toFixed(2)} ms`);
  if (last.refMs !== undefined) {
    const perRef = (last.refMs - last.refBaseMs - (first.refMs - first.refBaseMs)) / span;
    lines.push(`, reference ${perRef.toFixed(2)} ms: ratio ours/reference ${(perOurs / perRef).toFixed(2)}`);
  }
  lines.push('');
  lines.push(`1,000 images (${r.thousand.raidDevices} RAID devices): ours \`-r\` ${f(r.thousand.ms)} ms, of which start-up and opening (\`-V\` with the same arguments) ${f(r.thousand.baseMs)} ms`);
  // From 1 image up, the slope also pays for compiling each format's code the first time it runs; from the
  // largest compared count to 1,000 it is the cost of a disk alone (the reference cannot go that far here).
  const perAtScale = (r.thousand.ms - r.thousand.baseMs - (last.oursMs - last.oursBaseMs)) / (r.thousand.images - last.images);
  lines.push('');
  lines.push(`Cost of each extra disk at scale (ours, discovery, ${last.images} → ${r.thousand.images} images): ${perAtScale.toFixed(2)} ms`);
  lines.push('');
  lines.push(`Start-up: \`node -e 0\` ${f(r.startup.nodeFloorMs)} ms (the floor) · \`dmraid -V\` ${f(r.startup.versionMs)} ms · \`dmraid -l\` ${f(r.startup.listMs)} ms · \`dmraid -h\` ${f(r.startup.helpMs)} ms`);
  if (r.startup.nodeWithExtraCertsMs !== undefined) {
    lines.push('');
    lines.push(`NODE_EXTRA_CA_CERTS is set here: every command ran without it (\`node -e 0\` with it: ${f(r.startup.nodeWithExtraCertsMs)} ms)`);
  }
  return lines.join('\n').replace(' ms\n, reference', ' ms, reference');
}

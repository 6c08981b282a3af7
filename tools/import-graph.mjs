#!/usr/bin/env node
// The import-graph check of `npm run lint`: dependency-cruiser with config/import-graph.mjs over packages/*/src.
// Violations listed in config/import-graph-known.json (the baseline) are reported but do not fail; a new one
// fails. The tree has none: no baseline file is committed.
//   node tools/import-graph.mjs              check
//   node tools/import-graph.mjs --baseline   record today's violations as the baseline
//   node tools/import-graph.mjs --root DIR   check another tree of the same shape (tools/test's fixtures)
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

const repoRoot = resolve(import.meta.dirname, '..');
const config = join(repoRoot, 'config', 'import-graph.mjs');
const depcruise = join(repoRoot, 'node_modules', '.bin', 'depcruise');

const args = process.argv.slice(2);
const baseline = args.includes('--baseline');
const at = args.indexOf('--root');
const root = at >= 0 && args[at + 1] ? resolve(args[at + 1]) : repoRoot;
const known = join(root, 'config', 'import-graph-known.json');

const packages = join(root, 'packages');
const sources = readdirSync(packages)
  .map((p) => join('packages', p, 'src'))
  .filter((dir) => existsSync(join(root, dir)))
  .sort();

const output = baseline ? ['--output-type', 'baseline', '--output-to', known] : ['--output-type', 'err', ...(existsSync(known) ? ['--ignore-known', known] : [])];
const r = spawnSync(depcruise, ['--config', config, ...output, ...sources], { cwd: root, stdio: 'inherit' });
if (r.error) {
  console.error(`import-graph: ${depcruise}: ${r.error.message} (npm install?)`);
  process.exit(1);
}
if (baseline && r.status === 0) console.log(`import-graph: baseline written to ${known}`);
process.exit(r.status ?? 1);

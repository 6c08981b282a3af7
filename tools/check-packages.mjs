#!/usr/bin/env node
// What a consumer's tools say about every published package, as packed: publint (the manifest against the
// tarball: exports, files, types, bin) in strict mode, and arethetypeswrong (do the types resolve as the
// JavaScript does) with the ESM-only profile, since the packages ship no CommonJS on purpose. The prepack
// check (tools/prepack.mjs) comes first: both tools would read an unbuilt package's stale or missing dist/.
// .ci/run runs it; tools/test/package-files.test.ts too. Exit 1 when any package has a finding.
//
//   node tools/check-packages.mjs [DIR...]    default: every publishable workspace package
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { publishableDirs } from './workspace.mjs';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const bin = (name) => join(root, 'node_modules', '.bin', name);

const dirs = process.argv.length > 2 ? process.argv.slice(2).map((d) => resolve(d)) : publishableDirs(root);
let failed = 0;
for (const dir of dirs) {
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const checks = [
    ['built', [process.execPath, join(root, 'tools', 'prepack.mjs'), dir]],
    ['publint', [bin('publint'), 'run', dir, '--strict']],
  ];
  // A package with no exports or types (the meta-package: a bin and its units) has no types to check.
  if (manifest.exports || manifest.types) checks.push(['attw', [bin('attw'), '--pack', dir, '--profile', 'esm-only', '--format', 'ascii', '--no-color', '--no-emoji']]);
  for (const [tool, [cmd, ...args]] of checks) {
    const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' } });
    if (r.status === 0) {
      console.log(`${tool} ${manifest.name}: ok`);
      continue;
    }
    failed++;
    if (tool === 'built') {
      process.stderr.write(r.stderr);
      break;
    }
    const output = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? r.error.message : ''}`.trim();
    console.error(`ERROR: ${tool} ${manifest.name} (${relative(root, dir)}): exit ${r.status ?? r.signal}\n${output.replace(/^/gm, '  ')}`);
  }
}
if (failed) {
  console.error(`check-packages: ${failed} finding${failed === 1 ? '' : 's'}`);
  process.exit(1);
}

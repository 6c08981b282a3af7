#!/usr/bin/env node
// The `prepack` of every published package (written there by tools/package-meta.mjs): refuses to pack a
// package whose build is missing or older than its sources, so `npm pack`/`npm publish` never ship a tarball
// whose dist/ is absent or says something src/ no longer does. npm runs it in the package's folder, also for
// `npm pack --dry-run`.
//
// What must exist: every file the manifest points at (exports targets but the workspace-only source condition,
// main, types, bin, man). Not older than the newest file under src/ (when the package has one): the built ones,
// under dist/ — a checked-in entry (create-format's bin/, the meta-package's bin/) has no build to be behind, and
// a fresh clone gives it and src/ the same moment in any order.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const SOURCE_CONDITION = '@dmraid/source';

const dir = process.argv[2] ?? process.cwd();
const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));

function exportTargets(value, out) {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) exportTargets(v, out);
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) if (k !== SOURCE_CONDITION) exportTargets(v, out);
}

/** The newest file under `path` (recursively): [mtimeMs, path], or undefined when there is none. */
function newest(path) {
  let best;
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const p = join(path, entry.name);
    const candidate = entry.isDirectory() ? newest(p) : [statSync(p).mtimeMs, p];
    if (candidate && (!best || candidate[0] > best[0])) best = candidate;
  }
  return best;
}

const targets = [];
exportTargets(manifest.exports, targets);
for (const field of ['main', 'types']) if (typeof manifest[field] === 'string') targets.push(manifest[field]);
if (typeof manifest.bin === 'string') targets.push(manifest.bin);
else targets.push(...Object.values(manifest.bin ?? {}));
targets.push(...[manifest.man ?? []].flat());
// "./package.json" exports itself; it is not a build output.
const outputs = [...new Set(targets.map((t) => t.replace(/^\.\//, '')))].filter((t) => t !== 'package.json').sort();

const problems = [];
const src = join(dir, 'src');
const newestSource = existsSync(src) ? newest(src) : undefined;
for (const out of outputs) {
  const path = join(dir, out);
  if (!existsSync(path)) problems.push(`${out} is missing`);
  else if (newestSource && out.startsWith('dist/') && statSync(path).mtimeMs < newestSource[0]) problems.push(`${out} is older than ${relative(dir, newestSource[1])}`);
}
if (outputs.length === 0) problems.push('its package.json names no entry point (exports, main, types, bin or man)');

if (problems.length) {
  for (const p of problems) console.error(`ERROR: ${manifest.name}: ${p}`);
  // nx leaves outputs alone when it restores a cache entry that matches them, so a checkout that only touched
  // the sources' times needs the build without the cache.
  console.error(`ERROR: ${manifest.name}: build it before packing: npm run build at the repository root (or, when nx finds it in its cache, npx nx run-many -t build --skip-nx-cache)`);
  process.exit(1);
}

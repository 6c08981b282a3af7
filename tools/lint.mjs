#!/usr/bin/env node
// `npm run lint`: the project's own rules (../shared/STYLE.md) that the type checker cannot see. Type errors
// are the `typecheck` target's (nx run-many -t typecheck), which `npm run lint` runs after this.
//
// 1. The core, the CLI, activation and the engine name no vendor package: handlers are found, not imported.
// 2. Handlers do not read or write fields at hand-written offsets (DataView/Buffer accessors with a literal
//    offset): a binary layout is declared once, in layout.ts, and read through it.
// 3. Nothing below the CLI prints or exits: output is the CLI's display module's job.
// 4. Every package.json has the source condition first in its exports, type module and engines covering Node 20
//    (the published ones: exactly the root's engines, checked by tools/package-meta.mjs --check).
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const problems = [];

function* sources(dir) {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* sources(path);
    else if (/\.(ts|mts|mjs|js)$/.test(name) && !name.endsWith('.d.ts')) yield path;
  }
}

function check(path, pattern, message) {
  readFileSync(path, 'utf8').split('\n').forEach((line, i) => {
    if (pattern.test(line) && !line.includes('lint-ignore')) problems.push(`${relative(root, path)}:${i + 1}: ${message}\n    ${line.trim()}`);
  });
}

const packagesDir = join(root, 'packages');
const packages = readdirSync(packagesDir).filter((p) => existsSync(join(packagesDir, p, 'package.json')));
const handlerDirs = [
  ...packages.filter((p) => p.startsWith('format-')).map((p) => join(packagesDir, p)),
  ...(existsSync(join(root, 'examples')) ? readdirSync(join(root, 'examples')).map((p) => join(root, 'examples', p)) : []),
];

for (const p of ['core', 'cli', 'activation', 'engine']) {
  for (const f of sources(join(packagesDir, p, 'src'))) check(f, /['"`]@dmraid\/format-[a-z0-9-]+['"`/]|['"`](@[\w-]+\/)?dmraid-format-[a-z0-9-]+['"`]/, 'names a format handler package');
}
const literalOffset = /\.(get|set)(Big)?(Uint|Int|Float)(8|16|32|64)\(\s*(0x[0-9a-fA-F]*[1-9a-fA-F][0-9a-fA-F]*|[1-9][0-9]*)\s*[,)]|\.(read|write)U?Int(8|16|32)(LE|BE)?\(/;
for (const dir of handlerDirs) {
  for (const f of sources(join(dir, 'src'))) check(f, literalOffset, 'a field at a hand-written offset: declare it in the layout');
}
for (const p of packages.filter((p) => p !== 'cli' && p !== 'testkit' && p !== 'dmraid')) {
  for (const f of sources(join(packagesDir, p, 'src'))) check(f, /\bconsole\.(log|error|warn|info)\(|process\.exit\(|process\.std(out|err)\.write/, 'prints or exits below the CLI');
}
for (const p of packages) {
  const file = join(packagesDir, p, 'package.json');
  const pkg = JSON.parse(readFileSync(file, 'utf8'));
  const where = relative(root, file);
  if (pkg.type !== 'module') problems.push(`${where}: "type" must be "module"`);
  if (!pkg.engines?.node?.includes('20')) problems.push(`${where}: engines.node must cover Node 20 (the root package.json: ^20.19.0 || >=22.12.0)`);
  const dot = pkg.exports?.['.'];
  if (dot && typeof dot === 'object' && Object.keys(dot)[0] !== '@dmraid/source') problems.push(`${where}: exports["."] must list the "@dmraid/source" condition first`);
}

if (problems.length) {
  console.error(problems.join('\n'));
  console.error(`lint: ${problems.length} problem${problems.length === 1 ? '' : 's'}`);
  process.exit(1);
}
console.log(`lint: ${packages.length} packages, ${handlerDirs.length} handlers checked`);

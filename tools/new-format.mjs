#!/usr/bin/env node
// A new format handler package, made by the same generator as `npm init @dmraid/format` (packages/create-format):
//   npm run new-format -- <name> [--description "Vendor RAID"]            packages/format-<name>, a workspace package
//   npm run new-format -- <name> [--scope @vendor] [--description ...] --dest DIR   a standalone vendor package
// Inside packages/ the copy keeps the repository's configs, is `@dmraid/format-<name>` at the workspace's version
// and is pinned in the `dmraid` meta-package; with --dest it is what a vendor gets (its own name and configs).
import { existsSync, promises as fs } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const generator = join(root, 'packages', 'create-format', 'dist', 'index.js');

function usage(message) {
  if (message) console.error(`new-format: ${message}`);
  console.error('usage: npm run new-format -- <name> [--description TEXT] [--dest DIR [--scope @vendor]]');
  process.exit(2);
}

const args = process.argv.slice(2);
let name;
let dest;
let description;
let scope;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--dest') dest = args[++i];
  else if (a.startsWith('--dest=')) dest = a.slice('--dest='.length);
  else if (a === '--description') description = args[++i];
  else if (a.startsWith('--description=')) description = a.slice('--description='.length);
  else if (a === '--scope') scope = args[++i];
  else if (a.startsWith('--scope=')) scope = a.slice('--scope='.length);
  else if (a.startsWith('-')) usage(`unknown option ${a}`);
  else if (name === undefined) name = a;
  else usage(`unexpected argument ${a}`);
}
if (!existsSync(generator)) usage(`${relative(process.cwd(), generator)} is missing: npm run build first`);
const { nameProblem, scaffold, ScaffoldError } = await import(pathToFileURL(generator).href);
if (name === undefined) usage('no format name given');
const problem = nameProblem(name);
if (problem) usage(problem);
if (scope !== undefined && dest === undefined) usage('--scope is for a standalone package (--dest DIR)');

const inPackages = dest === undefined;
let made;
try {
  made = await scaffold({
    name,
    description,
    scope,
    dest: dest ?? join(root, 'packages', `format-${name}`),
    // The template itself, not create-format's built copy of it: in the repository it is always current.
    templateDir: join(root, 'packages', 'format-template'),
    workspaceRoot: inPackages ? root : undefined,
  });
} catch (e) {
  if (e instanceof ScaffoldError) usage(e.message);
  throw e;
}

if (inPackages) {
  // The meta-package pins every handler at the one version of the fixed group.
  const metaPath = join(root, 'packages', 'dmraid', 'package.json');
  const meta = JSON.parse(await fs.readFile(metaPath, 'utf8'));
  meta.dependencies[made.packageName] = made.version;
  meta.dependencies = Object.fromEntries(Object.entries(meta.dependencies).sort(([a], [b]) => (a < b ? -1 : 1)));
  await fs.writeFile(metaPath, `${JSON.stringify(meta, null, 2)}\n`);
}

console.log(`created ${made.packageName} in ${relative(process.cwd(), made.dir) || '.'}`);
if (inPackages) {
  console.log(`pinned ${made.packageName}@${made.version} in the dmraid meta-package`);
  console.log('next: npm install (links the workspace), then');
  console.log(`  (cd packages/format-${name} && npx tsup) && npx vitest run --project format-${name}`);
} else {
  console.log('next: npm install && npm test in it (outside this repository it installs @dmraid/core and @dmraid/testkit from npm)');
}
console.log('and replace src/layout.ts with your format (docs/plugins.md).');

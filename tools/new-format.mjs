#!/usr/bin/env node
// A new format handler package from packages/format-template:
//   npm run new-format -- <name> [--description "Vendor RAID"] [--dest DIR]
// copies the template into packages/format-<name> (or DIR), renames template/Template/TEMPLATE to the new
// name everywhere (file names included), makes the package publishable (no "private", no template flag in
// its manifest, the workspace's version) and, inside packages/, pins it in the `dmraid` meta-package.
// The copy builds and passes its tests at once; then replace the made-up layout with your vendor's.
import { existsSync, promises as fs } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const template = join(root, 'packages', 'format-template');

function usage(message) {
  if (message) console.error(`new-format: ${message}`);
  console.error('usage: npm run new-format -- <name> [--description TEXT] [--dest DIR]');
  process.exit(2);
}

const args = process.argv.slice(2);
let name;
let dest;
let description;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--dest') dest = args[++i];
  else if (a.startsWith('--dest=')) dest = a.slice('--dest='.length);
  else if (a === '--description') description = args[++i];
  else if (a.startsWith('--description=')) description = a.slice('--description='.length);
  else if (a.startsWith('-')) usage(`unknown option ${a}`);
  else if (name === undefined) name = a;
  else usage(`unexpected argument ${a}`);
}
// The rule core's validateFormat applies to a handler's name.
if (!name || !/^[a-z][a-z0-9_]{0,15}$/.test(name)) usage('the name must be 1-16 lowercase letters, digits or _, starting with a letter');
if (name === 'template') usage('"template" is the template itself');

const inPackages = dest === undefined;
const target = resolve(dest ?? join(root, 'packages', `format-${name}`));
if (existsSync(target) && (await fs.readdir(target)).length > 0) usage(`${target} exists and is not empty`);

const pascal = name
  .split('_')
  .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
  .join('');
const rename = (text) => text.replaceAll('TEMPLATE', name.toUpperCase()).replaceAll('Template', pascal).replaceAll('template', name);

// Outside packages/ the relative paths to the shared configs (config/, vitest.shared, tsconfig.base) change.
const upToRoot = relative(target, root).split(sep).join('/') || '.';
const repoPaths = (text) => text.replaceAll('../../config/', `${upToRoot}/config/`).replaceAll('../../vitest.shared.js', `${upToRoot}/vitest.shared.js`).replaceAll('../../tsconfig.base.json', `${upToRoot}/tsconfig.base.json`);

async function copy(from, to) {
  await fs.mkdir(to, { recursive: true });
  for (const e of await fs.readdir(from, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name === 'dist') continue;
    const src = join(from, e.name);
    const dst = join(to, rename(e.name));
    if (e.isDirectory()) await copy(src, dst);
    else if (e.isFile()) await fs.writeFile(dst, repoPaths(rename(await fs.readFile(src, 'utf8'))));
  }
}
await copy(template, target);

const core = JSON.parse(await fs.readFile(join(root, 'packages', 'core', 'package.json'), 'utf8'));
const pkgPath = join(target, 'package.json');
// From the template's own manifest: the renaming above would have renamed its "template" flag too.
const pkg = JSON.parse(await fs.readFile(join(template, 'package.json'), 'utf8'));
delete pkg.private;
pkg.name = `@dmraid/format-${name}`;
pkg.dmraid = { apiVersion: pkg.dmraid.apiVersion, format: name };
pkg.version = core.version;
pkg.description = `dmraid format handler: ${description ?? `${name} metadata`}`;
pkg.keywords = [...new Set([...pkg.keywords, name])];
await fs.writeFile(pkgPath, `${JSON.stringify(pkg, null, 2)}\n`);
if (description) {
  const handlerPath = join(target, 'src', 'handler.ts');
  const text = await fs.readFile(handlerPath, 'utf8');
  await fs.writeFile(handlerPath, text.replace(`description: 'dmraid format ${name}'`, `description: ${JSON.stringify(description)}`));
}

if (inPackages) {
  // The meta-package pins every handler at the one version of the fixed group.
  const metaPath = join(root, 'packages', 'dmraid', 'package.json');
  const meta = JSON.parse(await fs.readFile(metaPath, 'utf8'));
  meta.dependencies[pkg.name] = pkg.version;
  meta.dependencies = Object.fromEntries(Object.entries(meta.dependencies).sort(([a], [b]) => (a < b ? -1 : 1)));
  await fs.writeFile(metaPath, `${JSON.stringify(meta, null, 2)}\n`);
}

console.log(`created ${pkg.name} in ${relative(process.cwd(), target) || '.'}`);
if (inPackages) {
  console.log(`pinned ${pkg.name}@${pkg.version} in the dmraid meta-package`);
  console.log('next: npm install (links the workspace), then');
  console.log(`  (cd packages/format-${name} && npx tsup) && npx vitest run --project format-${name}`);
  console.log('and replace src/layout.ts with your format (docs/plugins.md).');
}

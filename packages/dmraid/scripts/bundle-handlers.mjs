#!/usr/bin/env node
// Builds dist/handlers.js: every handler package this meta-package pins, in one file, each with the version it
// was built from. Importing one file costs about half of importing eight packages (module resolution, eight
// reads, eight compiles); the bin hands the list to the CLI, whose loader uses an entry only where the scan finds
// that package installed at that version. @dmraid/core stays external: third-party handlers import it too, and
// there must be one copy of it in the process (instanceof IoError, the handler registry).
import { readFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(here, 'package.json'));
const { dependencies } = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8'));
// The handlers are whichever pinned packages carry a handler manifest: this script names none of them.
const handlers = Object.keys(dependencies)
  .map((name) => ({ name, json: JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')) }))
  .filter(({ json }) => json.dmraid && json.dmraid.template !== true)
  .sort((a, b) => (a.name < b.name ? -1 : 1));

const source = [
  ...handlers.map(({ name }, i) => `import h${i} from ${JSON.stringify(name)};`),
  'export const bundledHandlers = [',
  ...handlers.map(({ name, json }, i) => `  { packageName: ${JSON.stringify(name)}, version: ${JSON.stringify(json.version)}, handler: h${i} },`),
  '];',
].join('\n');

mkdirSync(join(here, 'dist'), { recursive: true });
await build({
  stdin: { contents: source, resolveDir: here, sourcefile: 'handlers-entry.js', loader: 'js' },
  outfile: join(here, 'dist', 'handlers.js'),
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Only core is shared; node: built-ins are external on this platform anyway.
  external: ['@dmraid/core', '@dmraid/core/*'],
  // The handlers' own exports (layouts, testbed) are not reached from their default export: tree-shaken.
  treeShaking: true,
  // Whitespace and syntax only: identifiers, and so the names in error messages, stay as written.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});
console.log(`dist/handlers.js: ${handlers.length} handlers (${handlers.map((h) => h.json.dmraid.format).join(' ')})`);

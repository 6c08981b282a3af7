#!/usr/bin/env node
// Builds dist/dmraid.cjs: the `dmraid` command in one CommonJS file — the CLI, @dmraid/core, the engine, the
// activation package and the handler packages this meta-package pins. Why one CommonJS file (issue #26, numbers in
// docs/benchmarks.md "Start-up"): on Node 20 an ES module as the main script costs ~7 ms of loader set-up before
// a line runs, and resolving, reading and compiling some thirty modules costs more; one file loads once, and a
// compiled copy of it can be cached (bin/compile-cache.cjs). The sources stay ES modules; this is a build output.
//
// - Nothing is evaluated before it is needed: what the CLI imports on demand (commands, the engine, the
//   handlers' code) becomes a function run on first use (esbuild wraps dynamically imported modules).
// - The handlers are described without their code: per pinned package its name, version and the facts -V and -l
//   show (taken from the validated handler here). The CLI's loader still scans node_modules and uses a bundled
//   handler only for a package it finds installed at that version; any other handler package (a third party's,
//   another version) is imported from disk and brings its own @dmraid/core: the contract between the CLI and a
//   handler is plain values (no instanceof across it), so a second copy of core works.
// - `import.meta.url` in a bundled module becomes that module's own file in its installed package, resolved at
//   run time: what a package reads beside itself (its package.json, engine's worker script) stays where it was
//   (packageFiles below, with what else a bundled file needs changed).
// - node:crypto (~3 ms to load) is bound on first call: only writing commands use it.
import { readFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { validateFormat } from '@dmraid/core';

const here = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(here, 'package.json'));
const { dependencies } = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8'));
// The handlers are whichever pinned packages carry a handler manifest: this script names none of them.
const handlers = Object.keys(dependencies)
  .map((name) => ({ name, json: JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')) }))
  .filter(({ json }) => json.dmraid && json.dmraid.template !== true)
  .sort((a, b) => (a.name < b.name ? -1 : 1));

const facts = [];
for (const { name } of handlers) {
  const { default: handler } = await import(name);
  validateFormat(handler);
  facts.push({ name: handler.name, description: handler.description, levels: handler.levels });
}

const entry = [
  "import { main } from '@dmraid/cli';",
  "const code = () => import('dmraid:handler-code');",
  'export const bundledHandlers = [',
  ...handlers.map(({ name, json }, i) => `  { packageName: ${JSON.stringify(name)}, version: ${JSON.stringify(json.version)}, facts: ${JSON.stringify(facts[i])}, load: async () => (await code()).h${i} },`),
  '];',
  // For the compile cache (bin/compile-cache.cjs): how many of this file's on-demand modules this run has
  // started, counted by the esbuild helper that starts them (see the end of this script).
  'export const modulesRun = () => __dmraidModulesRun;',
  '/** Runs the command with these arguments (the bin passes process.argv.slice(2)). */',
  'export const run = (argv) => main(argv, { bundled: bundledHandlers });',
].join('\n');
const handlerCode = handlers.map(({ name }, i) => `export { default as h${i} } from ${JSON.stringify(name)};`).join('\n');

/** The handlers' code as one module of the bundle, imported on first use. */
const handlerCodeModule = {
  name: 'handler-code',
  setup(b) {
    b.onResolve({ filter: /^dmraid:handler-code$/ }, () => ({ path: 'handler-code', namespace: 'dmraid' }));
    b.onLoad({ filter: /.*/, namespace: 'dmraid' }, () => ({ contents: handlerCode, resolveDir: here, loader: 'js' }));
  },
};

/** The package a file belongs to, and the file's path inside it. */
function packageOf(file) {
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    try {
      const { name } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      if (name) return { name, path: relative(dir, file) };
    } catch {
      // no package.json here: look further up
    }
  }
  throw new Error(`${file}: in no package`);
}

/**
 * What a bundled package's file needs changed to run from here:
 * - `import.meta.url` (CommonJS has none): that file's own URL in its installed package, found at run time;
 * - `import()` of a built-in: a require of it (no ES module loader for readline's first question);
 * - `import()` of anything else (a handler package outside the bundle: an ES module from disk): a call of
 *   `__dmraidImport`, which the loader provides. On Node 20 the file is compiled by vm.Script for its cached
 *   data, where import() would need an experimental flag or print an ExperimentalWarning; compile-cache.cjs
 *   does the import() in a module of its own instead.
 */
const packageFiles = {
  name: 'package-files',
  setup(b) {
    b.onLoad({ filter: /\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      if (!source.includes('import.meta') && !/\bimport\(/.test(source)) return undefined;
      const { name, path } = packageOf(args.path);
      const contents = source
        .replaceAll('import.meta.url', `__dmraidFileUrl(${JSON.stringify(name)}, ${JSON.stringify(path)})`)
        .replace(/\bimport\((['"])([^'"]+)\1\)/g, (all, _q, spec) => (isBuiltin(spec) ? `Promise.resolve(require(${JSON.stringify(spec)}))` : all))
        .replace(/\bimport\((?!\s*['"])/g, '__dmraidImport(');
      // import.meta.dirname, .resolve, ...: each would need its own translation; none is used today.
      if (contents.includes('import.meta')) throw new Error(`${args.path}: uses import.meta beyond .url, which the bundle does not translate`);
      return { contents, loader: 'js' };
    });
  },
};

// Every function of node:crypto, bound on first call (a name imported from it that is not a plain function here
// fails the build, as a missing export would).
const crypto = require('node:crypto');
const lazyCrypto = {
  name: 'lazy-node-crypto',
  setup(b) {
    // Its own require of node:crypto is the real one (resolved by esbuild: a built-in, left to Node).
    b.onResolve({ filter: /^(node:)?crypto$/ }, (args) => (args.namespace === 'lazy' ? undefined : { path: 'lazy-crypto', namespace: 'lazy' }));
    b.onLoad({ filter: /.*/, namespace: 'lazy' }, () => ({
      loader: 'js',
      contents: [
        'let crypto;',
        "const get = () => (crypto ??= require('node:crypto'));",
        ...Object.keys(crypto)
          .filter((k) => /^[a-z]/.test(k) && typeof crypto[k] === 'function')
          .map((k) => `export const ${k} = (...a) => get().${k}(...a);`),
      ].join('\n'),
    }));
  },
};

const out = join(here, 'dist', 'dmraid.cjs');
mkdirSync(dirname(out), { recursive: true });
// What earlier builds wrote (the handler bundle before the whole command was one file).
for (const old of ['handlers.js', 'handlers-code.js']) rmSync(join(here, 'dist', old), { recursive: true, force: true });
await build({
  stdin: { contents: entry, resolveDir: here, sourcefile: 'dmraid-entry.js', loader: 'js' },
  outfile: out,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // Resolve each package to its built files (dist), never to sources through the workspace's condition.
  conditions: [],
  banner: {
    js: [
      '// Generated by packages/dmraid/scripts/bundle.mjs: the dmraid command in one file. Sources: the @dmraid packages.',
      // Where a package is installed, found the way require() looks (node_modules upward from here), without
      // require.resolve: resolving through package exports loads ~2 ms of Node's ES module resolver.
      // Each package's folder is found once, not once for each of its modules: path.join normalises character by
      // character, and enough of them at start send that loop to V8's optimising compiler (4 MiB of memory).
      'const __dmraidPackageDirs = new Map();',
      'const __dmraidFileUrl = (pkg, file) => {',
      "  const { dirname, join } = require('node:path');",
      '  let found = __dmraidPackageDirs.get(pkg);',
      '  for (let dir = __dirname; found === undefined; dir = dirname(dir)) {',
      "    const at = join(dir, 'node_modules', pkg);",
      "    if (require('node:fs').existsSync(at + '/package.json')) __dmraidPackageDirs.set(pkg, (found = require('node:fs').realpathSync(at)));",
      "    else if (dir === dirname(dir)) throw new Error(`${pkg} is not installed beside dmraid`);",
      '  }',
      // `file` is a path inside the package as the build wrote it (dist/index.js): nothing to normalise.
      "  return require('node:url').pathToFileURL(`${found}/${file}`).href;",
      '};',
      'var __dmraidModulesRun = 0;',
      // The loader's import() where it gives one (Node 20: see compile-cache.cjs), else this file's own.
      "const __dmraidImport = typeof __dmraidImportHook === 'function' ? __dmraidImportHook : (specifier) => import(specifier);",
    ].join('\n'),
  },
  treeShaking: true,
  // Whitespace and syntax only: identifiers, and so the names in error messages, stay as written.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
  plugins: [handlerCodeModule, packageFiles, lazyCrypto],
});
const code = readFileSync(out, 'latin1');
// compile-cache.cjs reads the file as latin1, which is its text only when every byte is ASCII (esbuild's default
// output charset: anything else is escaped).
if (!/^[\x00-\x7f]*$/.test(code)) throw new Error(`${out}: not plain ASCII`);
// esbuild's helper that starts an on-demand module the first time it is imported: counted (modulesRun above).
const helper = 'var __esm=(fn,res)=>function(){return fn&&(res=(0,fn[__getOwnPropNames(fn)[0]])(fn=0)),res};';
if (code.split(helper).length !== 2) throw new Error(`${out}: esbuild's __esm helper is not the one this script counts with (esbuild changed?)`);
writeFileSync(out, code.replace(helper, helper.replace('fn&&(res=', 'fn&&(__dmraidModulesRun++,res=')), 'latin1');
console.log(`dist/dmraid.cjs: the CLI with ${handlers.length} handlers (${handlers.map((h) => h.json.dmraid.format).join(' ')})`);

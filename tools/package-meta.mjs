#!/usr/bin/env node
// The npm metadata every published package shares, written from one place: the root package.json's license,
// repository and engines. Each publishable workspace package (not private) gets
//   license, repository {type, url, directory}, homepage (<repo>#readme), bugs (<repo>/issues), engines,
//   scripts.prepack (tools/prepack.mjs: refuses to pack an unbuilt package)
// and a copy of the root LICENSE. The copies are checked in rather than made by prepack, so a tarball holds
// the licence however it is packed (`npm pack --ignore-scripts`, `npm publish --ignore-scripts`, other clients)
// and the package's directory on the forge shows it; the text never changes, and --check catches a drift.
// The private format template gets the engines alone: every vendor package create-format makes inherits them.
//
//   node tools/package-meta.mjs           write the fields and LICENSE files
//   node tools/package-meta.mjs --check   write nothing; exit 1 naming each package that disagrees
//   --root DIR                            another checkout (the tests use a temporary copy)
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { workspaceDirs } from './workspace.mjs';

const args = process.argv.slice(2);
const check = args.includes('--check');
const rootAt = args.indexOf('--root');
const root = rootAt >= 0 ? resolve(args[rootAt + 1] ?? '.') : resolve(fileURLToPath(new URL('..', import.meta.url)));
const unknown = args.filter((a, i) => a !== '--check' && !(a === '--root' || (rootAt >= 0 && i === rootAt + 1)));
if (unknown.length) {
  console.error(`ERROR: package-meta: unknown argument ${unknown[0]} (usage: node tools/package-meta.mjs [--check] [--root DIR])`);
  process.exit(2);
}

const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));
const rootManifest = readJson(join(root, 'package.json'));
const licenseText = readFileSync(join(root, 'LICENSE'), 'utf8');

/** The project's web address from the repository url: `git+https://host/owner/name.git` → `https://host/owner/name`. */
function webUrl(repository) {
  const url = typeof repository === 'string' ? repository : repository?.url;
  const m = /^(?:git\+)?(https:\/\/[^/]+\/[^/]+\/[^/]+?)(?:\.git)?\/?$/.exec(url ?? '');
  if (!m) throw new Error(`the root package.json's repository.url "${url}" is not a git+https://host/owner/name.git address`);
  return m[1];
}

/** The shared fields as this package should have them. */
function sharedFields(dir) {
  const web = webUrl(rootManifest.repository);
  const directory = relative(root, dir).split('\\').join('/');
  const prepack = relative(dir, join(root, 'tools', 'prepack.mjs')).split('\\').join('/');
  return {
    license: rootManifest.license,
    repository: { type: 'git', url: rootManifest.repository.url, directory },
    homepage: `${web}#readme`,
    bugs: { url: `${web}/issues` },
    engines: rootManifest.engines,
    prepack: `node ${prepack}`,
  };
}

/** The manifest with the shared fields set; keys keep their order, new ones go after "license"/"description". */
function withShared(manifest, fields) {
  const { prepack, ...top } = fields;
  const out = {};
  const place = (k) => {
    out[k] = top[k];
  };
  const anchor = 'license' in manifest ? 'license' : 'description';
  for (const [k, v] of Object.entries(manifest)) {
    if (k in top) {
      if (!(k in out)) place(k);
    } else out[k] = v;
    if (k === anchor) for (const f of ['license', 'repository', 'homepage', 'bugs']) if (!(f in out)) place(f);
  }
  for (const f of Object.keys(top)) if (!(f in out)) place(f);
  out.scripts = { ...(out.scripts ?? {}), prepack };
  return out;
}

const rel = (p) => relative(root, p) || '.';
const findings = [];
let written = 0;
for (const dir of workspaceDirs(root)) {
  const file = join(dir, 'package.json');
  const manifest = readJson(file);
  if (manifest.private && manifest.dmraid?.template === true) {
    if (JSON.stringify(manifest.engines) === JSON.stringify(rootManifest.engines)) continue;
    if (check) findings.push(`${rel(file)}: "engines" is ${JSON.stringify(manifest.engines)}, the root says ${JSON.stringify(rootManifest.engines)}`);
    else {
      writeFileSync(file, `${JSON.stringify({ ...manifest, engines: rootManifest.engines }, null, 2)}\n`);
      written++;
    }
    continue;
  }
  if (manifest.private) continue;
  const wanted = withShared(manifest, sharedFields(dir));
  const before = `${JSON.stringify(manifest, null, 2)}\n`;
  const after = `${JSON.stringify(wanted, null, 2)}\n`;
  const licenseFile = join(dir, 'LICENSE');
  const licenseOk = existsSync(licenseFile) && readFileSync(licenseFile, 'utf8') === licenseText;
  if (check) {
    for (const k of ['license', 'repository', 'homepage', 'bugs', 'engines']) {
      if (JSON.stringify(manifest[k]) !== JSON.stringify(wanted[k])) findings.push(`${rel(file)}: "${k}" is ${JSON.stringify(manifest[k])}, the root says ${JSON.stringify(wanted[k])}`);
    }
    if (manifest.scripts?.prepack !== wanted.scripts.prepack) findings.push(`${rel(file)}: scripts.prepack is ${JSON.stringify(manifest.scripts?.prepack)}, should be ${JSON.stringify(wanted.scripts.prepack)}`);
    if (!licenseOk) findings.push(`${rel(licenseFile)}: ${existsSync(licenseFile) ? 'differs from' : 'missing, a copy of'} the root LICENSE`);
    continue;
  }
  if (before !== after) {
    writeFileSync(file, after);
    written++;
  }
  if (!licenseOk) {
    writeFileSync(licenseFile, licenseText);
    written++;
  }
}

if (check) {
  if (findings.length) {
    for (const f of findings) console.error(`ERROR: ${f}`);
    console.error(`package-meta: ${findings.length} difference${findings.length === 1 ? '' : 's'} from the root package.json (run: node tools/package-meta.mjs)`);
    process.exit(1);
  }
} else console.log(`package-meta: ${written} file${written === 1 ? '' : 's'} written`);

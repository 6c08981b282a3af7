// Releases: `changeset version` on a sample changeset, in a temporary clone, moves the fixed group
// [["@dmraid/*", "dmraid"]] as one: the CLI and the meta-package get the same version, and the
// meta-package pins exactly that version of every package it names.
import { existsSync, promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, sh, tmp } from './helpers.js';

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  dependencies?: Record<string, string>;
}

/** What a release reads: the changesets config and every workspace manifest, as they are in the working tree. */
async function releaseFiles(): Promise<string[]> {
  const files = ['package.json', '.changeset/config.json', 'tools/package.json'];
  for (const p of await fs.readdir(join(repoRoot, 'packages'))) {
    if (existsSync(join(repoRoot, 'packages', p, 'package.json'))) files.push(`packages/${p}/package.json`);
  }
  return files;
}

async function manifests(root: string): Promise<Map<string, Manifest>> {
  const out = new Map<string, Manifest>();
  for (const f of (await releaseFiles()).filter((f) => f.startsWith('packages/'))) {
    const m = JSON.parse(await fs.readFile(join(root, f), 'utf8')) as Manifest;
    out.set(m.name, m);
  }
  return out;
}

let before: Map<string, Manifest>;
let after: Map<string, Manifest>;
let clone: string;

beforeAll(async () => {
  clone = join(tmp('release'), 'repo');
  const cloned = await sh('git', ['clone', '--quiet', '--no-hardlinks', repoRoot, clone], repoRoot);
  if (cloned.status !== 0) throw new Error(`git clone failed: ${cloned.stderr}`);
  // The clone has the last commit; the manifests and config under test are the working tree's.
  for (const f of await releaseFiles()) {
    await fs.mkdir(dirname(join(clone, f)), { recursive: true });
    await fs.copyFile(join(repoRoot, f), join(clone, f));
  }
  await fs.writeFile(join(clone, '.changeset', 'sample-cli-change.md'), '---\n"@dmraid/cli": minor\n---\n\nA sample change of the CLI.\n');
  before = await manifests(clone);
  const cli = join(repoRoot, 'node_modules', '@changesets', 'cli', 'bin.js');
  const r = await sh(process.execPath, [cli, 'version'], clone);
  if (r.status !== 0) throw new Error(`changeset version failed:\n${r.stdout}${r.stderr}`);
  after = await manifests(clone);
}, 120_000);
afterAll(() => fs.rm(dirname(clone), { recursive: true, force: true }));

const published = (m: Map<string, Manifest>) => [...m.values()].filter((p) => !p.private);
/** Published for handler authors, not part of a dmraid install: in the release group, not in the meta-package. */
const FOR_VENDORS = ['@dmraid/testkit', '@dmraid/create-format'];

describe('changeset version (dry run in a temporary clone)', () => {
  it('bumps the CLI and the meta-package together, with every published package at the same new version', () => {
    const cli = after.get('@dmraid/cli')!;
    expect(cli.version).not.toBe(before.get('@dmraid/cli')!.version);
    expect(after.get('dmraid')!.version).toBe(cli.version);
    for (const p of published(after)) expect(`${p.name}@${p.version}`).toBe(`${p.name}@${cli.version}`);
  });

  it('rewrites the meta-package\'s pins to the exact new versions', () => {
    const meta = after.get('dmraid')!;
    const pinned = Object.keys(meta.dependencies!);
    expect(pinned).toEqual(expect.arrayContaining(['@dmraid/cli', '@dmraid/core']));
    for (const name of pinned) expect(`${name}@${meta.dependencies![name]}`).toBe(`${name}@${after.get(name)!.version}`);
  });

  it('pins every published handler and runtime package in the meta-package', () => {
    const meta = after.get('dmraid')!;
    const wanted = published(after).map((p) => p.name).filter((n) => n !== 'dmraid' && !FOR_VENDORS.includes(n)).sort();
    expect(Object.keys(meta.dependencies!).sort()).toEqual(wanted);
  });

  it('leaves private packages (the template) unversioned', () => {
    for (const p of [...before.values()].filter((p) => p.private)) expect(`${p.name}@${after.get(p.name)!.version}`).toBe(`${p.name}@${p.version}`);
  });

  it('writes the change into the CLI\'s changelog', async () => {
    expect(await fs.readFile(join(clone, 'packages', 'cli', 'CHANGELOG.md'), 'utf8')).toContain('A sample change of the CLI.');
  });

  // The handlers' peer range on @dmraid/core is ">=0.1.0 <1" and changesets updates peer dependents only out
  // of range (.changeset/config.json): otherwise a minor change would become a major release of everything.
  it('makes a minor change a minor release (0.1.0 → 0.2.0), not a major one', () => {
    const [major, minor] = before.get('@dmraid/cli')!.version.split('.').map(Number);
    expect(after.get('@dmraid/cli')!.version).toBe(`${major}.${minor! + 1}.0`);
  });
});

// The generator on its own: what a standalone package and a workspace package hold, the versions it writes,
// and what it refuses (before writing anything). The outside test builds, tests and installs what it makes.
import { execFile } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { testDir } from '@dmraid/testkit';
import { scaffold, scaffoldVersions, ScaffoldError } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..', '..', '..');
const templateDir = join(repoRoot, 'packages', 'format-template');
const readJson = async (path: string) => JSON.parse(await fs.readFile(path, 'utf8')) as Record<string, any>;

async function allFiles(dir: string, sub = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(join(dir, sub), { withFileTypes: true })) {
    const path = sub ? `${sub}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await allFiles(dir, path)));
    else out.push(path);
  }
  return out.sort();
}

describe('a standalone package (npm init @dmraid/format)', () => {
  it('is dmraid-format-<name>, with its own configs, @dmraid/core as peer and testkit as dev dependency, and the template renamed', async () => {
    const dest = join(testDir('scaffold'), 'pkg');
    const made = await scaffold({ name: 'acme', dest, templateDir });
    expect(made.packageName).toBe('dmraid-format-acme');
    expect(made.files).toEqual(await allFiles(dest));
    expect(made.files).toEqual(
      expect.arrayContaining(['.gitignore', 'README.md', 'package.json', 'tsconfig.json', 'tsup.config.ts', 'vitest.config.ts', 'src/handler.ts', 'src/layout.ts', 'src/index.ts', 'src/testbed.ts', 'src/writer.ts', 'test/acme.test.ts']),
    );
    const pkg = await readJson(join(dest, 'package.json'));
    const { dmraid, tools } = scaffoldVersions();
    const template = await readJson(join(templateDir, 'package.json'));
    expect(pkg).toMatchObject({
      name: 'dmraid-format-acme',
      type: 'module',
      keywords: ['dmraid', 'dmraid-format', 'acme'],
      dmraid: { apiVersion: 1, format: 'acme' },
      peerDependencies: { '@dmraid/core': template.peerDependencies['@dmraid/core'] },
      devDependencies: { '@dmraid/core': dmraid, '@dmraid/testkit': dmraid, ...tools },
    });
    expect(pkg.private).toBeUndefined();
    expect(pkg.dependencies).toBeUndefined();
    // Nothing of the repository: no source condition, no relative path out of the package, no template flag.
    const text = (await Promise.all(made.files.map((f) => fs.readFile(join(dest, f), 'utf8')))).join('\n');
    expect(text).not.toContain('@dmraid/source');
    expect(text).not.toContain('../../');
    expect(text).not.toContain(repoRoot);
    expect(text.toLowerCase()).not.toContain('template');
    expect(await fs.readFile(join(dest, 'src', 'handler.ts'), 'utf8')).toContain("const NAME = 'acme';");
  });

  it('takes a vendor scope and a description', async () => {
    const dest = join(testDir('scaffold-scope'), 'pkg');
    const made = await scaffold({ name: 'acme_raid', dest, templateDir, scope: '@acme', description: 'Acme RAID' });
    expect(made.packageName).toBe('@acme/dmraid-format-acme_raid');
    expect((await readJson(join(dest, 'package.json'))).name).toBe('@acme/dmraid-format-acme_raid');
    expect(await fs.readFile(join(dest, 'src', 'handler.ts'), 'utf8')).toContain('description: "Acme RAID"');
    expect(await fs.readFile(join(dest, 'vitest.config.ts'), 'utf8')).toContain("name: '@acme/dmraid-format-acme_raid'");
  });

  it('refuses a bad name, a bad scope and a folder that is not empty, writing nothing', async () => {
    const base = testDir('scaffold-refused');
    await expect(scaffold({ name: 'Acme', dest: join(base, 'a'), templateDir })).rejects.toThrow(new ScaffoldError('"Acme" is not a format name: 1-16 lowercase letters, digits or _, starting with a letter'));
    await expect(scaffold({ name: 'template', dest: join(base, 'b'), templateDir })).rejects.toThrow('"template" is the template itself');
    await expect(scaffold({ name: 'acme', dest: join(base, 'c'), templateDir, scope: 'acme' })).rejects.toThrow('"acme" is not an npm scope (like @acme)');
    await expect(scaffold({ name: 'acme', dest: join(base, 'd'), templateDir: join(base, 'nowhere') })).rejects.toThrow('holds no template');
    await fs.mkdir(join(base, 'full'));
    await fs.writeFile(join(base, 'full', 'keep.txt'), 'mine\n');
    await expect(scaffold({ name: 'acme', dest: join(base, 'full'), templateDir })).rejects.toThrow(`${join(base, 'full')} exists and is not an empty folder`);
    expect(await allFiles(base)).toEqual(['full/keep.txt']);
  });
});

describe('the create-format command (npm init @dmraid/format)', () => {
  const bin = join(here, '..', 'bin', 'create-format.js');
  const run = async (args: readonly string[], cwd: string) => {
    if (!existsSync(join(here, '..', 'dist', 'index.js'))) throw new Error('packages/create-format/dist is missing: npm run build first');
    try {
      const r = await promisify(execFile)(process.execPath, [bin, ...args], { cwd });
      return { stdout: r.stdout, stderr: r.stderr, status: 0 };
    } catch (e) {
      const x = e as { stdout: string; stderr: string; code: number };
      return { stdout: x.stdout, stderr: x.stderr, status: x.code };
    }
  };

  it('writes dmraid-format-<name> into the current folder by default, taking a scope with or without its @', async () => {
    const cwd = testDir('create-format-bin');
    const r = await run(['acme', '--scope', 'acme'], cwd);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('created @acme/dmraid-format-acme in dmraid-format-acme\n');
    expect((await readJson(join(cwd, 'dmraid-format-acme', 'package.json'))).name).toBe('@acme/dmraid-format-acme');
  });

  it('refuses a bad name with one ERROR line and a bad command line with its usage, writing nothing', async () => {
    const cwd = testDir('create-format-bin-bad');
    expect(await run(['Bad-Name'], cwd)).toEqual({
      stdout: '',
      stderr: 'ERROR: "Bad-Name" is not a format name: 1-16 lowercase letters, digits or _, starting with a letter\n',
      status: 1,
    });
    const usage = await run(['acme', '--flavour', 'x'], cwd);
    expect([usage.status, usage.stderr.split('\n')[0]]).toEqual([2, 'ERROR: unknown option --flavour']);
    expect(usage.stderr).toContain('usage: npm init @dmraid/format <name> [dir]');
    expect(await fs.readdir(cwd)).toEqual([]);
  });
});

describe('a workspace package (npm run new-format, inside the repository)', () => {
  it('is @dmraid/format-<name> at the workspace version, its configs extending the repository\'s from where it lands', async () => {
    const dest = join(testDir('scaffold-workspace'), 'format-acme');
    const made = await scaffold({ name: 'acme', dest, templateDir, workspaceRoot: repoRoot });
    const core = await readJson(join(repoRoot, 'packages', 'core', 'package.json'));
    expect([made.packageName, made.version]).toEqual(['@dmraid/format-acme', core.version]);
    const pkg = await readJson(join(dest, 'package.json'));
    expect(pkg.private).toBeUndefined();
    expect(pkg.dmraid).toEqual({ apiVersion: 1, format: 'acme' });
    expect(pkg.exports['.']['@dmraid/source']).toBe('./src/index.ts');
    const tsconfig = await fs.readFile(join(dest, 'tsconfig.json'), 'utf8');
    const extended = /"extends": "([^"]+)"/.exec(tsconfig)![1]!;
    expect(existsSync(resolve(dest, extended)) && resolve(dest, extended)).toBe(join(repoRoot, 'tsconfig.base.json'));
    const vitest = await fs.readFile(join(dest, 'vitest.config.ts'), 'utf8');
    expect(existsSync(resolve(dest, /from '([^']+vitest\.shared)\.js'/.exec(vitest)![1]! + '.ts'))).toBe(true);
    expect(vitest).toContain("name: 'format-acme'");
  });
});

describe('examples/dmraid-format-jmicron', () => {
  it('is such a standalone package: the same configs, dependencies, exports and scripts as create-format writes', async () => {
    const example = join(repoRoot, 'examples', 'dmraid-format-jmicron');
    const dest = join(testDir('scaffold-jmicron'), 'pkg');
    await scaffold({ name: 'jmicron', dest, templateDir });
    for (const f of ['tsconfig.json', 'tsup.config.ts', 'vitest.config.ts', '.gitignore']) {
      expect(await fs.readFile(join(example, f), 'utf8'), f).toBe(await fs.readFile(join(dest, f), 'utf8'));
    }
    const [ours, made] = [await readJson(join(example, 'package.json')), await readJson(join(dest, 'package.json'))];
    const { testbed: _own, ...scripts } = ours.scripts as Record<string, string>;
    expect({ ...ours, scripts }).toMatchObject({ name: made.name, dmraid: made.dmraid, exports: made.exports, files: made.files, engines: made.engines, peerDependencies: made.peerDependencies, devDependencies: made.devDependencies, scripts: made.scripts });
  });
});

describe('released in lockstep', () => {
  it('has the version of @dmraid/core and @dmraid/testkit, so ^version in a scaffold names this release of both', async () => {
    const own = await readJson(join(here, '..', 'package.json'));
    for (const p of ['core', 'testkit']) {
      const m = await readJson(join(repoRoot, 'packages', p, 'package.json'));
      expect(`${m.name}@${m.version}`).toBe(`${m.name}@${own.version}`);
      expect(m.private, `${m.name} is published`).toBeUndefined();
    }
    expect(scaffoldVersions().dmraid).toBe(`^${own.version}`);
  });

  it('writes the tool versions the repository builds and tests with', async () => {
    const root = await readJson(join(repoRoot, 'package.json'));
    for (const [tool, range] of Object.entries(scaffoldVersions().tools)) expect(`${tool}@${range}`).toBe(`${tool}@${root.devDependencies[tool]}`);
  });
});

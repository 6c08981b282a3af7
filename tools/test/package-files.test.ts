// What npm publishes, checked from npm's side: every published package's tarball holds its build, README.md
// and the licence and nothing else; its metadata agrees with the root package.json (tools/package-meta.mjs);
// its prepack refuses an unbuilt package; publint and arethetypeswrong find nothing (tools/check-packages.mjs);
// and dmraid and @dmraid/cli install globally one after the other, as users install them (one owner of `dmraid`).
import { createHash } from 'node:crypto';
import { existsSync, promises as fs, readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, requireBuilt, sh, tmp } from './helpers.js';

interface Manifest {
  name: string;
  private?: boolean;
  license?: string;
  repository?: { type: string; url: string; directory?: string };
  homepage?: string;
  bugs?: { url: string };
  engines?: { node: string };
  scripts?: Record<string, string>;
  bin?: Record<string, string>;
  man?: string[];
}

const readManifest = (dir: string) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
const root = readManifest(repoRoot);
const license = readFileSync(join(repoRoot, 'LICENSE'), 'utf8');
const published = readdirSync(join(repoRoot, 'packages'))
  .sort()
  .map((name) => ({ name, dir: join(repoRoot, 'packages', name) }))
  .filter(({ dir }) => existsSync(join(dir, 'package.json')) && !readManifest(dir).private)
  .map((p) => ({ ...p, manifest: readManifest(p.dir) }));

/** Files a package ships besides dist/, README.md, LICENSE and package.json: the meta-package's bins and units. */
const EXTRA: Record<string, RegExp> = {
  dmraid: /^(bin|contrib)\//,
  // The JSON contract, published as files (@dmraid/core/schema.json).
  core: /^(manifest\.)?schema\.json$/,
  // The initializer's command and the template it copies.
  'create-format': /^(bin|template)\//,
};

const packDryRun = async (dir: string) => {
  const r = await sh('npm', ['pack', '--dry-run', '--json', dir], repoRoot);
  return { ...r, files: r.status === 0 ? (JSON.parse(r.stdout) as { files: { path: string; size: number }[] }[])[0]!.files : [] };
};

describe('package metadata from one place (the root package.json)', () => {
  it('finds the published packages', () => expect(published.map((p) => p.manifest.name)).toEqual(expect.arrayContaining(['@dmraid/core', '@dmraid/cli', '@dmraid/format-isw', 'dmraid'])));

  it('the root names the licence, the repository and the Node versions: 20.19+, 22.12+ and 24', () => {
    expect(root.license).toBe('GPL-2.0-or-later');
    expect(license).toContain('GNU GENERAL PUBLIC LICENSE\n                       Version 2, June 1991');
    expect(root.repository).toEqual({ type: 'git', url: expect.stringMatching(/^git\+https:\/\/[^/]+\/[^/]+\/[^/]+\.git$/) });
    expect(root.engines).toEqual({ node: '^20.19.0 || >=22.12.0' });
  });

  for (const { name, dir, manifest } of published) {
    it(`${manifest.name}: licence, repository with its directory, homepage, bugs, engines and prepack as the root says`, () => {
      const web = root.repository!.url.replace(/^git\+/, '').replace(/\.git$/, '');
      expect(manifest.license).toBe(root.license);
      expect(manifest.repository).toEqual({ type: 'git', url: root.repository!.url, directory: `packages/${name}` });
      expect(manifest.homepage).toBe(`${web}#readme`);
      expect(manifest.bugs).toEqual({ url: `${web}/issues` });
      expect(manifest.engines).toEqual(root.engines);
      expect(manifest.scripts?.prepack).toBe('node ../../tools/prepack.mjs');
      expect(readFileSync(join(dir, 'LICENSE'), 'utf8') === license, `${name}/LICENSE is the root LICENSE`).toBe(true);
    });
  }

  it('package-meta --check passes on the tree, and names each package that disagrees in a copy', async () => {
    expect(await sh(process.execPath, ['tools/package-meta.mjs', '--check'], repoRoot)).toMatchObject({ status: 0, stderr: '' });
    const copy = tmp('package-meta');
    try {
      await fs.copyFile(join(repoRoot, 'package.json'), join(copy, 'package.json'));
      await fs.copyFile(join(repoRoot, 'LICENSE'), join(copy, 'LICENSE'));
      for (const { name, dir } of published) {
        await fs.mkdir(join(copy, 'packages', name), { recursive: true });
        for (const f of ['package.json', 'LICENSE']) await fs.copyFile(join(dir, f), join(copy, 'packages', name, f));
      }
      const core = join(copy, 'packages', 'core', 'package.json');
      await fs.writeFile(core, JSON.stringify({ ...readManifest(join(copy, 'packages', 'core')), repository: { type: 'git', url: 'git+https://example.org/x/y.git' } }, null, 2));
      await fs.rm(join(copy, 'packages', 'cli', 'LICENSE'));
      const rootCopy = readManifest(copy);
      await fs.writeFile(join(copy, 'package.json'), JSON.stringify({ ...rootCopy, engines: { node: '>=22.12.0' } }, null, 2));

      const checked = await sh(process.execPath, [join(repoRoot, 'tools', 'package-meta.mjs'), '--check', '--root', copy], repoRoot);
      expect(checked.status).toBe(1);
      expect(checked.stderr).toContain('ERROR: packages/core/package.json: "repository" is {"type":"git","url":"git+https://example.org/x/y.git"}');
      expect(checked.stderr).toContain('ERROR: packages/cli/LICENSE: missing, a copy of the root LICENSE');
      expect(checked.stderr).toContain('ERROR: packages/dmraid/package.json: "engines" is {"node":"^20.19.0 || >=22.12.0"}, the root says {"node":">=22.12.0"}');

      // The writer mends the copy, after which --check agrees.
      expect((await sh(process.execPath, [join(repoRoot, 'tools', 'package-meta.mjs'), '--root', copy], repoRoot)).status).toBe(0);
      expect(readManifest(join(copy, 'packages', 'core')).repository).toEqual({ type: 'git', url: root.repository!.url, directory: 'packages/core' });
      expect(await sh(process.execPath, [join(repoRoot, 'tools', 'package-meta.mjs'), '--check', '--root', copy], repoRoot)).toMatchObject({ status: 0, stderr: '' });
    } finally {
      await fs.rm(copy, { recursive: true, force: true });
    }
  });
});

describe('what each tarball holds (npm pack --dry-run, prepack included)', () => {
  for (const { name, dir, manifest } of published) {
    it(`${manifest.name}: dist, README.md, LICENSE and package.json, nothing else`, async () => {
      requireBuilt(dir, existsSync(join(dir, 'src')) ? 'dist/index.js' : 'dist/man/dmraid.8');
      const packed = await packDryRun(dir);
      expect(packed.status, packed.stderr).toBe(0);
      const paths = packed.files.map((f) => f.path);
      const stray = paths.filter((p) => !/^dist\//.test(p) && !['README.md', 'LICENSE', 'package.json'].includes(p) && !EXTRA[name]?.test(p));
      expect(stray, `files outside dist/ in ${manifest.name}'s tarball`).toEqual([]);
      expect(paths).toEqual(expect.arrayContaining(['README.md', 'LICENSE', 'package.json']));
      expect(paths.some((p) => p.startsWith('dist/'))).toBe(true);
      expect(packed.files.find((f) => f.path === 'LICENSE')!.size).toBe(Buffer.byteLength(license));
      const readme = await fs.readFile(join(dir, 'README.md'), 'utf8');
      expect(readme.startsWith(`# ${manifest.name}\n`), 'README.md opens with the package name').toBe(true);
      expect(readme).toMatch(/## Install\n[\s\S]*npm install[\s\S]*## Example\n/);
    });
  }
});

describe('prepack refuses to pack an unbuilt package', () => {
  let copy: string;
  beforeAll(async () => {
    // A copy of a real handler, with the prepack pointing back at this checkout's script.
    const via = join(repoRoot, 'packages', 'format-via');
    requireBuilt(via);
    copy = join(tmp('prepack'), 'format-via');
    for (const d of ['src', 'dist']) await fs.cp(join(via, d), join(copy, d), { recursive: true, preserveTimestamps: true });
    for (const f of ['README.md', 'LICENSE']) await fs.copyFile(join(via, f), join(copy, f));
    const manifest = readManifest(via);
    await fs.writeFile(join(copy, 'package.json'), JSON.stringify({ ...manifest, scripts: { prepack: `node ${join(repoRoot, 'tools', 'prepack.mjs')}` } }, null, 2));
  });
  afterAll(() => fs.rm(join(copy, '..'), { recursive: true, force: true }));

  it('packs the built copy', async () => {
    expect((await packDryRun(copy)).status).toBe(0);
  });

  it('refuses when a source is newer than the build, naming both', async () => {
    const later = new Date(Date.now() + 60_000);
    await fs.utimes(join(copy, 'src', 'handler.ts'), later, later);
    const r = await packDryRun(copy);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('ERROR: @dmraid/format-via: dist/index.js is older than src/handler.ts');
    const now = new Date(Date.now() - 60_000);
    await fs.utimes(join(copy, 'src', 'handler.ts'), now, now);
  });

  it('refuses when an entry point is missing, naming it', async () => {
    await fs.rm(join(copy, 'dist', 'testbed.d.ts'));
    const r = await packDryRun(copy);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('ERROR: @dmraid/format-via: dist/testbed.d.ts is missing');
    expect(r.stderr).toContain('build it before packing');
  });
});

describe('publint and arethetypeswrong (tools/check-packages.mjs)', () => {
  it('find nothing in any published package', async () => {
    const r = await sh(process.execPath, ['tools/check-packages.mjs'], repoRoot);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    for (const { manifest } of published) expect(r.stdout).toContain(`publint ${manifest.name}: ok\n`);
    expect(r.stdout).toContain('attw @dmraid/core: ok\n');
  }, 300_000);

  it('report a package whose exports list "types" after "import"', async () => {
    const dir = tmp('check-packages');
    try {
      await fs.mkdir(join(dir, 'dist'));
      await fs.writeFile(join(dir, 'dist', 'index.js'), 'export const x = 1;\n');
      await fs.writeFile(join(dir, 'dist', 'index.d.ts'), 'export declare const x: number;\n');
      await fs.writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'bad-order', version: '1.0.0', type: 'module', files: ['dist'], exports: { '.': { import: './dist/index.js', types: './dist/index.d.ts' } } }));
      const r = await sh(process.execPath, ['tools/check-packages.mjs', dir], repoRoot);
      expect(r.status).toBe(1);
      expect(r.stdout).toContain('built bad-order: ok');
      expect(r.stderr).toMatch(/^ERROR: publint bad-order/m);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

/**
 * A registry of our own tarballs on localhost: what `npm install -g NAME` reads (a packument per package, then
 * the tarball), so installs run one after another as a user's do, without the public registry.
 */
async function localRegistry(tarballs: readonly { file: string; manifest: Manifest & { version: string } }[]): Promise<{ url: string; close: () => Promise<void> }> {
  const packuments = new Map<string, unknown>();
  const files = new Map<string, Buffer>();
  const server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]!);
    const body = path.startsWith('/-/') ? files.get(path.slice(3)) : packuments.get(path.slice(1));
    if (body === undefined) return void res.writeHead(404).end('{}');
    const bytes = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
    res.writeHead(200, { 'content-type': Buffer.isBuffer(body) ? 'application/octet-stream' : 'application/json' }).end(bytes);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  for (const { file, manifest } of tarballs) {
    const bytes = await fs.readFile(file);
    files.set(basename(file), bytes);
    const dist = { tarball: `${url}-/${basename(file)}`, shasum: createHash('sha1').update(bytes).digest('hex'), integrity: `sha512-${createHash('sha512').update(bytes).digest('base64')}` };
    packuments.set(manifest.name, { name: manifest.name, 'dist-tags': { latest: manifest.version }, versions: { [manifest.version]: { ...manifest, dist } } });
  }
  return { url, close: () => new Promise<void>((done) => server.close(() => done())) };
}

describe('one owner of the dmraid command: global installs of dmraid and @dmraid/cli (npm i -g --prefix)', () => {
  const temporary: string[] = [];
  const tarballs: { file: string; manifest: Manifest & { version: string } }[] = [];
  let registry: Awaited<ReturnType<typeof localRegistry>> | undefined;
  beforeAll(async () => {
    const packs = tmp('global-packs');
    temporary.push(packs);
    for (const { dir, manifest } of published) {
      const r = await sh('npm', ['pack', '--silent', '--pack-destination', packs, dir], repoRoot);
      if (r.status !== 0) throw new Error(`npm pack ${dir} failed: ${r.stderr}`);
      tarballs.push({ file: join(packs, r.stdout.trim().split('\n').pop()!), manifest: manifest as Manifest & { version: string } });
    }
    registry = await localRegistry(tarballs);
  }, 300_000);
  afterAll(async () => {
    await registry?.close();
    for (const d of temporary) await fs.rm(d, { recursive: true, force: true });
  });

  /** `npm install --global` into a temporary prefix from the local registry, with a cache of its own. */
  const installGlobal = async (prefix: string, specs: readonly string[]) => {
    const r = await sh('npm', ['install', '--global', '--prefix', prefix, '--registry', registry!.url, '--cache', join(prefix, '.npm-cache'), '--no-audit', '--no-fund', ...specs], repoRoot);
    expect(r.stderr, `npm install -g ${specs.join(' ')}`).not.toContain('EEXIST');
    expect(r.status, r.stderr).toBe(0);
  };
  const target = async (prefix: string, link: string) => resolve(join(prefix, dirname(link)), await fs.readlink(join(prefix, link)));
  const formats = async (command: string) => {
    const r = await sh(command, ['-l'], repoRoot);
    expect(r.stderr).toBe('');
    return r.stdout.split('\n').filter(Boolean).map((l) => l.split(' ')[0]);
  };

  for (const order of [['@dmraid/cli', 'dmraid'], ['dmraid', '@dmraid/cli']] as const) {
    it(`${order[0]} then ${order[1]}, each on its own: dmraid and its man page from the meta-package, dmraid-cli from the CLI`, async () => {
      const prefix = tmp('global-prefix');
      temporary.push(prefix);
      for (const name of order) await installGlobal(prefix, name === '@dmraid/cli' ? ['@dmraid/cli@0.1.0', '@dmraid/format-via@0.1.0'] : ['dmraid@0.1.0']);
      const lib = join(prefix, 'lib', 'node_modules');
      expect(await target(prefix, 'bin/dmraid')).toBe(join(lib, 'dmraid', 'bin', 'dmraid.cjs'));
      expect(await target(prefix, 'bin/dmraid-cli')).toBe(join(lib, '@dmraid', 'cli', 'dist', 'bin.js'));
      expect(await target(prefix, 'share/man/man8/dmraid.8')).toBe(join(lib, 'dmraid', 'dist', 'man', 'dmraid.8'));
      expect(await formats(join(prefix, 'bin', 'dmraid'))).toEqual(['ddf1', 'hpt37x', 'hpt45x', 'isw', 'nvidia', 'pdc', 'sil', 'via']);
      // The CLI installed on its own finds the handler installed globally beside it.
      expect(await formats(join(prefix, 'bin', 'dmraid-cli'))).toEqual(['via']);
    }, 300_000);
  }
});

// A vendor outside this repository, end to end and offline: our packages as npm tarballs, `create-format` run
// from its tarball in an empty folder under the system's temporary folder, the vendor package installed from
// the tarballs (the registry's tools from npm's cache), type-checked, tested, built and packed, then installed
// beside the CLI in another empty folder, where `dmraid -l` lists it. Slow (npm installs, a build): minutes.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..', '..', '..');

interface Manifest {
  name: string;
  version: string;
  bin?: Record<string, string>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

interface Ran {
  readonly stdout: string;
  readonly stderr: string;
  readonly status: number;
}

// The outer npm's settings (npm_config_*, when the suite runs under `npm test`) and vitest's own variables
// must not reach the vendor's npm and vitest: a vendor's shell has neither.
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_|VITEST|INIT_CWD$)/i.test(k)));

async function sh(cmd: string, args: readonly string[], cwd: string): Promise<Ran> {
  try {
    const r = await promisify(execFile)(cmd, args, { cwd, env: { ...cleanEnv, NO_COLOR: '1' }, maxBuffer: 64 << 20 });
    return { stdout: r.stdout, stderr: r.stderr, status: 0 };
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string; code?: number | string };
    return { stdout: x.stdout ?? '', stderr: x.stderr ?? String(e), status: typeof x.code === 'number' ? x.code : 1 };
  }
}

async function ok(cmd: string, args: readonly string[], cwd: string): Promise<Ran> {
  const r = await sh(cmd, args, cwd);
  expect(r.status, `${cmd} ${args.join(' ')} in ${cwd}:\n${r.stdout}${r.stderr}`).toBe(0);
  return r;
}

const temps: string[] = [];
const temp = (label: string) => {
  const dir = mkdtempSync(join(tmpdir(), `dmraid-outside-${label}-`));
  temps.push(dir);
  return dir;
};
afterAll(async () => {
  for (const dir of temps) await fs.rm(dir, { recursive: true, force: true });
});

/** The workspace's packages by name. */
async function workspace(): Promise<Map<string, { dir: string; manifest: Manifest }>> {
  const out = new Map<string, { dir: string; manifest: Manifest }>();
  for (const p of await fs.readdir(join(repoRoot, 'packages'))) {
    const file = join(repoRoot, 'packages', p, 'package.json');
    if (!existsSync(file)) continue;
    const manifest = JSON.parse(await fs.readFile(file, 'utf8')) as Manifest;
    out.set(manifest.name, { dir: join(repoRoot, 'packages', p), manifest });
  }
  return out;
}

/** `names` and the workspace packages they depend on, transitively. */
function closure(names: readonly string[], ws: Awaited<ReturnType<typeof workspace>>): string[] {
  const out = new Set<string>();
  const visit = (name: string) => {
    if (out.has(name) || !ws.has(name)) return;
    out.add(name);
    for (const dep of Object.keys(ws.get(name)!.manifest.dependencies ?? {})) visit(dep);
  };
  for (const n of names) visit(n);
  return [...out].sort();
}

describe('a vendor outside the repository [slow: npm pack, offline installs, a build]', () => {
  it('scaffolds with create-format, installs from our tarballs, builds, tests and packs; dmraid -l lists the package installed beside the CLI', async () => {
    const ws = await workspace();
    // Whichever package owns the `dmraid` command is what a user installs to run it (the CLI first).
    const cliPackage = ['@dmraid/cli', 'dmraid'].find((n) => ws.get(n)?.manifest.bin?.dmraid)!;
    expect(cliPackage, 'a package with the dmraid bin').toBeDefined();
    const forVendor = closure(['@dmraid/core', '@dmraid/testkit'], ws);
    const forUser = closure([cliPackage], ws);
    for (const name of [...new Set([...forVendor, ...forUser, '@dmraid/create-format'])]) {
      const { dir } = ws.get(name)!;
      for (const built of name === '@dmraid/create-format' ? ['dist/index.js', 'template/template-package.json'] : name === 'dmraid' ? [] : ['dist/index.js']) {
        if (!existsSync(join(dir, built))) throw new Error(`${join(dir, built)} is missing: build first (npm run build)`);
      }
    }

    const packs = temp('packs');
    const tarball = new Map<string, string>();
    for (const name of [...new Set([...forVendor, ...forUser, '@dmraid/create-format'])]) {
      const r = await ok('npm', ['pack', '--silent', '--pack-destination', packs, ws.get(name)!.dir], repoRoot);
      tarball.set(name, join(packs, r.stdout.trim().split('\n').pop()!));
    }

    // What `npm init @dmraid/format acme_raid` runs (npm exec of create-format's bin), from the tarball.
    const vendor = temp('vendor');
    await ok('npm', ['exec', '--yes', '--offline', `--package=${tarball.get('@dmraid/create-format')}`, '--', 'create-format', 'acme_raid', '.', '--scope', '@acme', '--description', 'Acme RAID'], vendor);
    const scaffolded = await fs.readFile(join(vendor, 'package.json'), 'utf8');
    const version = ws.get('@dmraid/core')!.manifest.version;
    expect(JSON.parse(scaffolded)).toMatchObject({ name: '@acme/dmraid-format-acme_raid', devDependencies: { '@dmraid/core': `^${version}`, '@dmraid/testkit': `^${version}` } });

    // Our packages from the tarballs in place of the registry (--no-save keeps the vendor's package.json as
    // scaffolded); tsup, typescript, vitest and the rest from npm's cache.
    await ok('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--no-save', ...forVendor.map((n) => tarball.get(n)!)], vendor);
    expect(await fs.readFile(join(vendor, 'package.json'), 'utf8')).toBe(scaffolded);
    await ok('npm', ['run', 'typecheck'], vendor);
    const tested = await ok('npm', ['test'], vendor);
    expect(tested.stdout).toMatch(/Tests\s+\d+ passed \(\d+\)/);
    expect(tested.stdout).not.toMatch(/skipped|failed/);
    const vendorPacks = temp('vendor-packs');
    await ok('npm', ['pack', '--pack-destination', vendorPacks], vendor);
    const [vendorTarball] = await fs.readdir(vendorPacks);
    expect(vendorTarball).toBe('acme-dmraid-format-acme_raid-0.1.0.tgz');
    const packed = await ok('tar', ['tzf', join(vendorPacks, vendorTarball!)], vendorPacks);
    expect(packed.stdout.split('\n')).toEqual(expect.arrayContaining(['package/package.json', 'package/dist/index.js', 'package/dist/index.d.ts', 'package/README.md']));

    // A user: the CLI and the vendor's package, nothing else.
    const user = temp('user');
    await fs.writeFile(join(user, 'package.json'), `${JSON.stringify({ name: 'a-user', private: true }, null, 2)}\n`);
    await ok('npm', ['install', '--offline', '--no-audit', '--no-fund', ...forUser.map((n) => tarball.get(n)!), join(vendorPacks, vendorTarball!)], user);
    await ok('npm', ['ls', '--all'], user); // the vendor's peer @dmraid/core is met by the CLI's
    const listed = await ok('npx', ['--offline', 'dmraid', '-l'], user);
    expect(listed.stderr).toBe('');
    expect(listed.stdout).toMatch(/^acme_raid\s*: Acme RAID \(0,1\)$/m);
    if (cliPackage === '@dmraid/cli') expect(listed.stdout.trim().split('\n')).toHaveLength(1);
    expect((await ok('npx', ['--offline', 'dmraid', '-V'], user)).stdout).toMatch(/^format handler acme_raid:\s+@acme\/dmraid-format-acme_raid 0\.1\.0$/m);

    // And it does the work: the vendor's sample RAID0 (written by its own testbed) found, grouped and mapped
    // by the installed command (the meta-package runs its one-file build; the vendor's handler is an ES module
    // from disk, with @dmraid/core as it resolves from there).
    const write = `import { buildTestbedImages, buildTestbedSet, writeTestbedSet } from '@dmraid/testkit';
      import { sampleSets } from './dist/testbed.js';
      const def = buildTestbedSet(sampleSets().find((s) => s.config === 'raid0-2'));
      await writeTestbedSet('set', { description: def.description, members: def.members }, def.members);
      console.log((await buildTestbedImages({ ...def, format: 'acme_raid', dir: 'set' }, ${JSON.stringify(user)})).join('\\n'));`;
    await ok('npm', ['run', 'build'], vendor);
    const images = (await ok('node', ['--input-type=module', '-e', write], vendor)).stdout.trim().split('\n');
    const devices = images.flatMap((i) => ['--devices', i]);
    const found = await ok('npx', ['--offline', 'dmraid', ...devices, '-r'], user);
    expect(found.stdout).toBe('sda.img: acme_raid, "acme_raid_cacb", stripe, ok, 32640 sectors, data@ 0\nsdb.img: acme_raid, "acme_raid_cacb", stripe, ok, 32640 sectors, data@ 0\n');
    expect((await ok('npx', ['--offline', 'dmraid', ...devices, '-s', '-c'], user)).stdout).toBe('acme_raid_cacb\n');
    expect((await ok('npx', ['--offline', 'dmraid', ...devices, '-ay', '-t'], user)).stdout).toMatch(/^acme_raid_cacb: 0 65280 striped 2 128 /);
  }, 600_000);
});

// Install only what you need: the packed packages installed into empty projects offline (no registry), the
// installed `dmraid` listing and discovering with exactly the handlers installed beside it.
import { existsSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestbedImages, listTestbedSets, readExpected, testbedDir, type TestbedSet } from '@dmraid/testkit';
import { repoRoot, requireBuilt, sh, tmp } from './helpers.js';

const jmicronDir = join(repoRoot, 'examples', 'dmraid-format-jmicron');
const pkgDir = (p: string) => (p === 'dmraid-format-jmicron' ? jmicronDir : join(repoRoot, 'packages', p));

/** `dmraid -l` lines of the reference dmraid 1.0.0.rc16 for the formats we ship. */
const REFERENCE_LIST: Record<string, string> = {
  ddf1: 'ddf1    : SNIA DDF1 (0,1,4,5,linear)',
  hpt37x: 'hpt37x  : Highpoint HPT37X (S,0,1,10,01)',
  hpt45x: 'hpt45x  : Highpoint HPT45X (S,0,1,10)',
  isw: 'isw     : Intel Software RAID (0,1,5,01)',
  jmicron: 'jmicron : JMicron ATARAID (S,0,1)',
  nvidia: 'nvidia  : NVidia RAID (S,0,1,10,5)',
  pdc: 'pdc     : Promise FastTrack (S,0,1,10)',
  sil: 'sil     : Silicon Image(tm) Medley(tm) (0,1,10)',
  via: 'via     : VIA Software RAID (S,0,1,10)',
};
const listing = (...formats: string[]) => formats.map((f) => `${REFERENCE_LIST[f]}\n`).join('');

const RUNTIME = ['core', 'activation', 'engine', 'cli'];
const HANDLERS = ['format-ddf1', 'format-hpt37x', 'format-hpt45x', 'format-isw', 'format-nvidia', 'format-promise', 'format-sil', 'format-via'];

let packs: string;
const tarball = new Map<string, string>();
const projects: string[] = [];
afterAll(async () => {
  for (const dir of [packs, ...projects]) if (dir) await fs.rm(dir, { recursive: true, force: true });
});

beforeAll(async () => {
  for (const p of [...RUNTIME, ...HANDLERS]) requireBuilt(pkgDir(p));
  if (!existsSync(join(jmicronDir, 'dist', 'index.js'))) {
    // Not a workspace, so the root build does not build it: the vendor's own build step.
    const built = await sh(join(repoRoot, 'node_modules', '.bin', 'tsup'), [], jmicronDir);
    if (built.status !== 0) throw new Error(`building ${jmicronDir} failed: ${built.stderr}`);
  }
  packs = tmp('packs');
  for (const p of [...RUNTIME, ...HANDLERS, 'dmraid', 'dmraid-format-jmicron']) {
    const r = await sh('npm', ['pack', '--silent', '--pack-destination', packs, pkgDir(p)], repoRoot);
    if (r.status !== 0) throw new Error(`npm pack ${p} failed: ${r.stderr}`);
    tarball.set(p, join(packs, r.stdout.trim().split('\n').pop()!));
  }
}, 300_000);

/** An empty project with these packages installed from their tarballs, offline. */
async function project(label: string, packages: readonly string[]): Promise<string> {
  const dir = tmp(`install-${label}`);
  projects.push(dir);
  await fs.writeFile(join(dir, 'package.json'), `${JSON.stringify({ name: `try-${label}`, private: true }, null, 2)}\n`);
  const r = await sh('npm', ['install', '--offline', '--no-audit', '--no-fund', ...packages.map((p) => tarball.get(p)!)], dir);
  expect(r.status, r.stderr).toBe(0);
  return dir;
}

// @dmraid/cli's command is dmraid-cli; `dmraid` is the meta-package's (docs/releasing.md "Who owns the dmraid command").
const dmraid = (dir: string, args: readonly string[], cwd = dir) => sh(join(dir, 'node_modules', '.bin', 'dmraid-cli'), args, cwd);

async function testbedSet(root: string, format: string, config: string): Promise<TestbedSet> {
  const set = (await listTestbedSets(root, format)).find((s) => s.config === config);
  if (!set) throw new Error(`no testbed set ${format}/${config} in ${root}`);
  return set;
}

/** The installed dmraid's `-r` (and `-s`) on a testbed set equal the reference's recordings. */
async function discoversLikeTheReference(dir: string, set: TestbedSet) {
  const images = await buildTestbedImages(set, join(dir, 'images'));
  for (const args of [['-r'], ['-s']]) {
    const ours = await dmraid(dir, [...images.flatMap((i) => ['--devices', i]), ...args], join(dir, 'images'));
    expect(ours, `dmraid ${args.join(' ')} on ${set.format}/${set.config}`).toEqual(await readExpected(set, args));
  }
  return images;
}

describe('installing only what you need (npm pack, offline install into an empty project)', () => {
  it('@dmraid/cli with one handler: -l lists that handler alone, and it discovers its sets', async () => {
    const dir = await project('cli-hpt45x', [...RUNTIME, 'format-hpt45x']);
    expect(await dmraid(dir, ['-l'])).toEqual({ stdout: listing('hpt45x'), stderr: '', status: 0 });
    await discoversLikeTheReference(dir, await testbedSet(testbedDir, 'hpt45x', 'raid10-4'));
    const version = await dmraid(dir, ['-V']);
    expect(version.stdout).toContain('format handler hpt45x:\t@dmraid/format-hpt45x 0.1.0\n');
  });

  it('the dmraid meta-package: every handler at the pinned versions, nothing duplicated, exports resolve and type-check', async () => {
    const dir = await project('meta', [...RUNTIME, ...HANDLERS, 'dmraid']);
    const ls = await sh('npm', ['ls', '--all', '--json'], dir);
    expect(ls.status, ls.stderr).toBe(0);
    const meta = JSON.parse(await fs.readFile(join(pkgDir('dmraid'), 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const tree = JSON.parse(ls.stdout) as { dependencies: Record<string, { version: string; dependencies?: Record<string, unknown> }> };
    for (const [name, pin] of Object.entries(meta.dependencies)) expect(tree.dependencies[name]?.version, name).toBe(pin);
    // The meta-package's own bin, the project's `dmraid`, runs the same CLI.
    const bin = await sh(join(dir, 'node_modules', '.bin', 'dmraid'), ['-l'], dir);
    expect(bin).toEqual({ stdout: listing('ddf1', 'hpt37x', 'hpt45x', 'isw', 'nvidia', 'pdc', 'sil', 'via'), stderr: '', status: 0 });
    await discoversLikeTheReference(dir, await testbedSet(testbedDir, 'via', 'raid1-2'));

    // Every installed package resolves by name through its exports (no source condition) and its types
    // resolve under node16 rules, as a consumer's TypeScript sees them.
    const names = Object.keys(meta.dependencies);
    const imports = await sh(process.execPath, ['--input-type=module', '-e', `for (const n of ${JSON.stringify(names)}) { const m = await import(n); if (!m) throw new Error(n); } console.log('ok');`], dir);
    expect(imports, 'import() of every package').toMatchObject({ stdout: 'ok\n', status: 0 });
    await fs.writeFile(join(dir, 'consumer.ts'), `${names.map((n, i) => `import * as m${i} from '${n}';`).join('\n')}\nexport const all = [${names.map((_, i) => `m${i}`).join(', ')}];\n`);
    await fs.writeFile(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'node16', moduleResolution: 'node16', target: 'es2022', strict: true, noEmit: true, types: [], skipLibCheck: false, lib: ['es2022'] }, files: ['consumer.ts'] }));
    await fs.writeFile(join(dir, 'package.json'), JSON.stringify({ ...JSON.parse(await fs.readFile(join(dir, 'package.json'), 'utf8')), type: 'module' }));
    const tsc = await sh(process.execPath, [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json', '--typeRoots', join(repoRoot, 'node_modules', '@types'), '--types', 'node'], dir);
    expect(tsc.stdout + tsc.stderr, 'tsc on a consumer of every package').toBe('');
  });

  it('@dmraid/cli with the third-party jmicron package: picked up when installed, dropped when removed', async () => {
    const dir = await project('cli-jmicron', [...RUNTIME, 'dmraid-format-jmicron']);
    expect(await dmraid(dir, ['-l'])).toEqual({ stdout: listing('jmicron'), stderr: '', status: 0 });
    const images = await discoversLikeTheReference(dir, await testbedSet(join(jmicronDir, 'testbed'), 'jmicron', 'raid01-4'));
    expect((await dmraid(dir, ['-V'])).stdout).toContain('format handler jmicron:\tdmraid-format-jmicron 1.0.0\n');

    const removed = await sh('npm', ['uninstall', '--offline', '--no-audit', '--no-fund', 'dmraid-format-jmicron'], dir);
    expect(removed.status, removed.stderr).toBe(0);
    expect(await dmraid(dir, ['-l'])).toEqual({ stdout: '', stderr: '', status: 0 });
    const none = await dmraid(dir, [...images.flatMap((i) => ['--devices', i]), '-r'], join(dir, 'images'));
    expect(none).toEqual({ stdout: 'no raid disks\n', stderr: '', status: 1 });
  });
});

// `npm run new-format -- <name> --dest DIR` (the generator of `npm init @dmraid/format`) gives a standalone
// package that builds and passes its tests at once.
import { existsSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testDir } from '@dmraid/testkit';
import { repoRoot, requireBuilt, sh } from './helpers.js';

const newFormat = join(repoRoot, 'tools', 'new-format.mjs');

describe('new-format', () => {
  it('makes a standalone package from the template, renamed, that type-checks, builds and passes its own tests', async () => {
    requireBuilt(join(repoRoot, 'packages', 'create-format'));
    const dir = testDir('new-format');
    // Outside the repository the new package finds the built @dmraid/core and @dmraid/testkit through this
    // link, as it would once installed from npm (the standalone configs use no source condition).
    await fs.symlink(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
    const pkgDir = join(dir, 'format-acme_raid');
    const made = await sh(process.execPath, [newFormat, 'acme_raid', '--description', 'Acme RAID', '--scope', '@acme', '--dest', pkgDir], repoRoot);
    expect(made.status, made.stderr).toBe(0);

    const pkg = JSON.parse(await fs.readFile(join(pkgDir, 'package.json'), 'utf8'));
    expect(pkg).toMatchObject({ name: '@acme/dmraid-format-acme_raid', dmraid: { apiVersion: 1, format: 'acme_raid' }, peerDependencies: { '@dmraid/core': expect.any(String) } });
    expect(pkg.private).toBeUndefined();
    expect(existsSync(join(pkgDir, 'test', 'acme_raid.test.ts'))).toBe(true);
    const leftovers = await sh('grep', ['-rIl', '-i', 'template', 'src', 'test', 'package.json'], pkgDir);
    expect(leftovers.stdout, 'files still naming the template').toBe('');
    const repoPaths = await sh('grep', ['-rIlE', `\\.\\./\\.\\./|${repoRoot}`, '.', '--exclude-dir=node_modules'], pkgDir);
    expect(repoPaths.stdout, 'files with a path into the repository').toBe('');

    const bin = join(repoRoot, 'node_modules', '.bin');
    const typecheck = await sh(join(bin, 'tsc'), ['-p', 'tsconfig.json'], pkgDir);
    expect(typecheck.status, typecheck.stdout + typecheck.stderr).toBe(0);
    const build = await sh(join(bin, 'tsup'), [], pkgDir);
    expect(build.status, build.stderr).toBe(0);
    const built = (await import(join(pkgDir, 'dist', 'index.js'))) as { default: { name: string; description: string } };
    expect([built.default.name, built.default.description]).toEqual(['acme_raid', 'Acme RAID']);
    const test = await sh(join(bin, 'vitest'), ['run', '--config', 'vitest.config.ts', '--root', pkgDir], pkgDir, { NO_COLOR: '1' });
    expect(test.status, test.stdout + test.stderr).toBe(0);
    expect(test.stdout.replace(/\x1b\[[0-9;]*m/g, '')).toMatch(/Tests\s+\d+ passed \(\d+\)/);
  });

  it('refuses a name a handler cannot have, writing nothing', async () => {
    const dest = join(testDir('new-format-bad'), 'x');
    const r = await sh(process.execPath, [newFormat, 'Bad-Name', '--dest', dest], repoRoot);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('is not a format name: 1-16 lowercase letters');
    expect(existsSync(dest)).toBe(false);
  });

  it('refuses a folder that is not empty', async () => {
    const dest = testDir('new-format-full');
    await fs.writeFile(join(dest, 'keep.txt'), 'mine\n');
    const r = await sh(process.execPath, [newFormat, 'acme', '--dest', dest], repoRoot);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${dest} exists and is not an empty folder`);
    expect(await fs.readdir(dest)).toEqual(['keep.txt']);
  });
});

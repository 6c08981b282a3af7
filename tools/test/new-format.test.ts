// `npm run new-format -- <name>` gives a package that builds and passes its tests at once.
import { existsSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testDir } from '@dmraid/testkit';
import { repoRoot, sh } from './helpers.js';

describe('new-format', () => {
  it('copies the template into a renamed package that type-checks, builds and passes its own tests', async () => {
    const dir = testDir('new-format');
    // Outside the repository the new package finds the workspace's packages through this link.
    await fs.symlink(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
    const pkgDir = join(dir, 'format-acme_raid');
    const made = await sh(process.execPath, [join(repoRoot, 'tools', 'new-format.mjs'), 'acme_raid', '--description', 'Acme RAID', '--dest', pkgDir], repoRoot);
    expect(made.status, made.stderr).toBe(0);

    const pkg = JSON.parse(await fs.readFile(join(pkgDir, 'package.json'), 'utf8'));
    expect(pkg).toMatchObject({ name: '@dmraid/format-acme_raid', dmraid: { apiVersion: 1, format: 'acme_raid' }, peerDependencies: { '@dmraid/core': expect.any(String) } });
    expect(pkg.private).toBeUndefined();
    expect(existsSync(join(pkgDir, 'test', 'acme_raid.test.ts'))).toBe(true);
    const leftovers = await sh('grep', ['-rIl', '-i', 'template', 'src', 'test', 'package.json'], pkgDir);
    expect(leftovers.stdout, 'files still naming the template').toBe('');

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

  it('refuses a name a handler cannot have', async () => {
    const r = await sh(process.execPath, [join(repoRoot, 'tools', 'new-format.mjs'), 'Bad-Name', '--dest', join(testDir('new-format-bad'), 'x')], repoRoot);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('the name must be 1-16 lowercase letters');
  });
});

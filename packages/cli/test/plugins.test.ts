// Handlers are found through package manifests, never named by the CLI; broken ones cost one ERROR line.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isHandlerPackageName, loadHandlers } from '../src/plugins.js';
import { tmp } from './helpers.js';

const cliSrc = new URL('../src/', import.meta.url);

async function fakePackage(root: string, name: string, manifest: Record<string, unknown>, code: string) {
  const dir = join(root, 'node_modules', name);
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(join(dir, 'package.json'), JSON.stringify({ name, version: '9.9.9', type: 'module', main: 'index.js', exports: './index.js', ...manifest }));
  await fs.writeFile(join(dir, 'index.js'), code);
}

const GOOD = `export default { apiVersion: 1, name: 'zzfake', description: 'A fake format', levels: '0',
  read: async () => [], group: () => undefined, check: () => true, log: () => [] };`;

describe('handler discovery', () => {
  it('the CLI sources name no handler package', async () => {
    const files = (await fs.readdir(cliSrc, { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
    expect(files.length).toBeGreaterThan(5);
    for (const e of files) {
      const f = `${e.parentPath}/${e.name}`;
      const text = await fs.readFile(f, 'utf8');
      expect(text, f).not.toMatch(/['"`]@dmraid\/format-[a-z0-9]+['"`/]/);
    }
  });

  it('accepts the documented package names only', () => {
    expect(isHandlerPackageName('@dmraid/format-isw')).toBe(true);
    expect(isHandlerPackageName('dmraid-format-jmicron')).toBe(true);
    expect(isHandlerPackageName('@acme/dmraid-format-acme')).toBe(true);
    expect(isHandlerPackageName('@acme/format-acme')).toBe(false);
    expect(isHandlerPackageName('lodash')).toBe(false);
  });

  it('loads a third-party handler, and reports broken ones in one line each while the rest keep working', async () => {
    const root = tmp('plugins');
    const start = join(root, 'node_modules', '@dmraid', 'cli', 'dist');
    await fs.mkdir(start, { recursive: true });
    await fakePackage(root, 'dmraid-format-zzfake', { dmraid: { apiVersion: 1, format: 'zzfake' } }, GOOD);
    await fakePackage(root, 'dmraid-format-future', { dmraid: { apiVersion: 2, format: 'future' } }, GOOD);
    await fakePackage(root, 'dmraid-format-throws', { dmraid: { apiVersion: 1, format: 'throws' } }, `throw new Error('boom on load');`);
    await fakePackage(root, 'dmraid-format-nomethods', { dmraid: { apiVersion: 1, format: 'nomethods' } }, `export default { apiVersion: 1, name: 'nomethods', description: 'x', levels: '' };`);
    await fakePackage(root, 'dmraid-format-nomanifest', {}, GOOD);
    const scan = await loadHandlers(start);
    expect(scan.handlers.map((h) => [h.handler.name, h.packageName, h.version])).toEqual([['zzfake', 'dmraid-format-zzfake', '9.9.9']]);
    expect(scan.problems).toEqual([
      'dmraid-format-future: handler API version 2 is not supported (this dmraid supports 1)',
      'dmraid-format-nomethods: cannot load format handler: nomethods: missing metadata format handler read method',
      'dmraid-format-throws: cannot load format handler: boom on load',
    ]);
  });
});

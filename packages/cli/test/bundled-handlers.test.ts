// A bundle of handlers (the meta-package's) stands in for installed packages only: the scan of node_modules
// still decides what is installed, at which version, and reports broken packages in the same words.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeHandlers, loadHandlers, type BundledHandler } from '@dmraid/core';
import { tmp } from './helpers.js';

async function fakePackage(root: string, name: string, version: string, manifest: Record<string, unknown>, code: string) {
  const dir = join(root, 'node_modules', name);
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(join(dir, 'package.json'), JSON.stringify({ name, version, type: 'module', main: 'index.js', exports: './index.js', ...manifest }));
  await fs.writeFile(join(dir, 'index.js'), code);
}

const handlerCode = (name: string, description: string) =>
  `export default { apiVersion: 1, name: '${name}', description: '${description}', levels: '0',
  read: async () => [], group: () => undefined, check: () => true, log: () => [] };`;
const handlerObject = (name: string, description: string) => ({
  apiVersion: 1,
  name,
  description,
  levels: '0',
  read: async () => [],
  group: () => undefined,
  check: () => true,
  log: () => [],
});

/** A bundled handler whose load() calls are counted. */
function bundledOf(packageName: string, version: string, name: string, description: string) {
  const calls = { load: 0 };
  const entry: BundledHandler = {
    packageName,
    version,
    facts: { name, description, levels: '0' },
    load: async () => {
      calls.load++;
      return handlerObject(name, description);
    },
  };
  return { entry, calls };
}

/** A project whose node_modules holds `packages`; the scan starts where an installed CLI would be. */
async function project(label: string) {
  const root = tmp(label);
  const start = join(root, 'node_modules', '@dmraid', 'cli', 'dist');
  await fs.mkdir(start, { recursive: true });
  return { root, start };
}

const summary = (hs: readonly { handler: { name: string; description: string }; packageName: string; version: string }[]) =>
  hs.map((h) => `${h.handler.name} ${h.handler.description} ${h.packageName}@${h.version}`);

describe('bundled handlers', () => {
  it('stand in for the installed package at the same version: its own code is never imported', async () => {
    const { root, start } = await project('bundled-same');
    // Importing the installed copy would fail: only the bundle can make this load cleanly.
    await fakePackage(root, 'dmraid-format-zzb', '1.2.3', { dmraid: { apiVersion: 1, format: 'zzb' } }, `throw new Error('imported from disk');`);
    const { entry, calls } = bundledOf('dmraid-format-zzb', '1.2.3', 'zzb', 'Bundled B');
    const scan = await loadHandlers(start, { bundled: [entry] });
    expect(scan.problems).toEqual([]);
    expect(summary(scan.handlers)).toEqual(['zzb Bundled B dmraid-format-zzb@1.2.3']);
    expect(calls.load).toBe(1);
  });

  it('are not used for another installed version, nor for a package that is not installed', async () => {
    const { root, start } = await project('bundled-other');
    await fakePackage(root, 'dmraid-format-zzb', '2.0.0', { dmraid: { apiVersion: 1, format: 'zzb' } }, handlerCode('zzb', 'Installed B'));
    const b = bundledOf('dmraid-format-zzb', '1.2.3', 'zzb', 'Bundled B');
    const gone = bundledOf('dmraid-format-zzgone', '1.2.3', 'zzgone', 'Uninstalled');
    for (const scan of [await loadHandlers(start, { bundled: [b.entry, gone.entry] }), await describeHandlers(start, { bundled: [b.entry, gone.entry] })]) {
      expect(scan.problems).toEqual([]);
      expect(summary(scan.handlers)).toEqual(['zzb Installed B dmraid-format-zzb@2.0.0']);
    }
    expect(b.calls.load + gone.calls.load).toBe(0);
  });

  it('a bundled package whose installed manifest is broken or names another format is reported as without a bundle', async () => {
    const { root, start } = await project('bundled-broken');
    await fakePackage(root, 'dmraid-format-zzbad', '1.0.0', { dmraid: { apiVersion: 2, format: 'zzbad' } }, handlerCode('zzbad', 'x'));
    await fakePackage(root, 'dmraid-format-zzother', '1.0.0', { dmraid: { apiVersion: 1, format: 'zzelse' } }, handlerCode('zzother', 'x'));
    const bundled = [bundledOf('dmraid-format-zzbad', '1.0.0', 'zzbad', 'x').entry, bundledOf('dmraid-format-zzother', '1.0.0', 'zzother', 'x').entry];
    const expected = [
      'dmraid-format-zzbad: handler API version 2 is not supported (this dmraid supports 1)',
      'dmraid-format-zzother: cannot load format handler: manifest names format "zzelse" but the handler is "zzother"',
    ];
    expect((await loadHandlers(start)).problems).toEqual(expected);
    expect((await loadHandlers(start, { bundled })).problems).toEqual(expected);
    expect((await describeHandlers(start, { bundled })).problems).toEqual(expected);
  });
});

describe('describing handlers (-V, -l)', () => {
  it('gives the packages, order and problems loading gives, without loading a bundled handler', async () => {
    const { root, start } = await project('describe');
    await fakePackage(root, 'dmraid-format-zzb', '1.2.3', { dmraid: { apiVersion: 1, format: 'zzb' } }, handlerCode('zzb', 'Bundled B'));
    await fakePackage(root, '@acme/dmraid-format-aaa', '0.0.1', { dmraid: { apiVersion: 1, format: 'aaa' } }, handlerCode('aaa', 'Third party'));
    await fakePackage(root, 'dmraid-format-throws', '1.0.0', { dmraid: { apiVersion: 1, format: 'throws' } }, `throw new Error('boom on load');`);
    await fakePackage(root, 'dmraid-format-dup', '1.0.0', { dmraid: { apiVersion: 1, format: 'zzb' } }, handlerCode('zzb', 'Duplicate'));
    const b = bundledOf('dmraid-format-zzb', '1.2.3', 'zzb', 'Bundled B');
    const described = await describeHandlers(start, { bundled: [b.entry] });
    expect(b.calls.load).toBe(0);
    const loaded = await loadHandlers(start, { bundled: [b.entry] });
    expect(b.calls.load).toBe(1);
    expect(summary(described.handlers)).toEqual(summary(loaded.handlers));
    // Packages are taken in name order, so dmraid-format-dup's zzb comes first and the bundled one is the duplicate.
    expect(summary(described.handlers)).toEqual(['aaa Third party @acme/dmraid-format-aaa@0.0.1', 'zzb Duplicate dmraid-format-dup@1.0.0']);
    expect(described.problems).toEqual(loaded.problems);
    expect(described.problems).toEqual([
      'dmraid-format-throws: cannot load format handler: boom on load',
      'dmraid-format-zzb: format "zzb" is already provided by dmraid-format-dup',
    ]);
  });
});

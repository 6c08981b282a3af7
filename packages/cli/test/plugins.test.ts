// Handlers are found through package manifests, never named by the CLI; broken ones cost one ERROR line.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isHandlerPackageName, loadHandlers } from '@dmraid/core';
import { run } from '../src/main.js';
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

  it('skips the format template (its manifest says template: true)', async () => {
    const root = tmp('plugins-template');
    const start = join(root, 'node_modules', '@dmraid', 'cli', 'dist');
    await fs.mkdir(start, { recursive: true });
    await fakePackage(root, '@dmraid/format-template', { dmraid: { apiVersion: 1, format: 'zzfake', template: true } }, GOOD);
    const scan = await loadHandlers(start);
    expect(scan).toEqual({ handlers: [], problems: [] });
  });

  it('in this workspace, where every package is linked into node_modules, the template is not loaded', async () => {
    const scan = await loadHandlers();
    expect(scan.handlers.map((h) => h.packageName)).not.toContain('@dmraid/format-template');
    expect(scan.problems.filter((p) => p.includes('format-template'))).toEqual([]);
  });

  it('a handler that throws in read, group, check or log costs one ERROR line naming its package; the others keep working', async () => {
    const root = tmp('plugins-runtime');
    const start = join(root, 'node_modules', '@dmraid', 'cli', 'dist');
    await fs.mkdir(start, { recursive: true });
    // aaread throws while reading; zzok finds a.img; zzlog, zzgroup and zzcheck find b, c and d.img but
    // throw in log, group and check.
    await fakePackage(root, 'dmraid-format-aaread', { dmraid: { apiVersion: 1, format: 'aaread' } },
      GOOD.replaceAll('zzfake', 'aaread').replace('read: async () => []', "read: async () => { throw new Error('read boom'); }"));
    const finds = (name: string, disk: string) => `export default { apiVersion: 1, name: '${name}', description: 'finds one', levels: '0',
      read: async (device) => !device.path.endsWith('${disk}') ? [] : [{ device, format: '${name}', name: '${name}_set', type: 'raid0', status: 'ok', offset: 0, sectors: 8, areas: [], meta: {} }],
      group: (rd, ctx) => { const s = ctx.findOrCreateSet(rd.name, rd); ctx.initSet(s, rd, 128); ctx.addDevice(s, rd); ctx.addTopLevel(s); return s; },
      check: (set, ctx) => ctx.checkRaidSet(set, { devices: () => 1 }), log: (rd) => ['${name} of ' + rd.device.path] };`;
    await fakePackage(root, 'dmraid-format-zzok', { dmraid: { apiVersion: 1, format: 'zzok' } }, finds('zzok', 'a.img'));
    await fakePackage(root, 'dmraid-format-zzlog', { dmraid: { apiVersion: 1, format: 'zzlog' } },
      finds('zzlog', 'b.img').replace("log: (rd) => ['zzlog of ' + rd.device.path]", "log: () => { throw new Error('log boom'); }"));
    await fakePackage(root, 'dmraid-format-zzgroup', { dmraid: { apiVersion: 1, format: 'zzgroup' } },
      finds('zzgroup', 'c.img').replace(/group: \(rd, ctx\) => \{.*\},\n/, "group: () => { throw new Error('group boom'); },\n"));
    await fakePackage(root, 'dmraid-format-zzcheck', { dmraid: { apiVersion: 1, format: 'zzcheck' } },
      finds('zzcheck', 'd.img').replace('check: (set, ctx) => ctx.checkRaidSet(set, { devices: () => 1 })', "check: () => { throw new Error('check boom'); }"));
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((x) => join(root, `${x}.img`)) as [string, string, string, string];
    for (const image of [a, b, c, d]) await fs.writeFile(image, new Uint8Array(64 * 512));
    const errors: string[] = [];
    const scan = await loadHandlers(start, { report: (t) => errors.push(t) });
    expect(scan.problems).toEqual([]);
    const runWith = async (args: string[]) => {
      let stdout = '';
      let stderr = '';
      const status = await run([a, b, c, d].flatMap((i) => ['--devices', i]).concat(args), { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), readLine: async () => null, cwd: root }, { handlers: scan.handlers });
      return { stdout, stderr, status };
    };
    const r = await runWith(['-r']);
    expect(r.stderr).toBe([a, b, c, d].map((p) => `ERROR: dmraid-format-aaread: aaread: reading ${p} failed: read boom\n`).join(''));
    expect(r.stdout).toBe(['zzok', 'zzlog', 'zzgroup', 'zzcheck'].map((f, i) => `${[a, b, c, d][i]}: ${f}, "${f}_set", stripe, ok, 8 sectors, data@ 0\n`).join(''));
    expect(r.status).toBe(0);
    const sets = await runWith(['-s', '-c', '-c', '-c']);
    expect(sets.stderr).toContain(`ERROR: dmraid-format-zzgroup: zzgroup: grouping ${c} failed: group boom\n`);
    expect(sets.stderr).toContain('ERROR: dmraid-format-zzcheck: zzcheck: checking RAID set "zzcheck_set" failed: check boom\n');
    // A stripe rounds its members down to whole stripes: 8 sectors of stride 128 make a 0-sector set.
    expect(sets.stdout).toBe(`zzok_set:0:128:stripe:ok:0:1:0\n${a}:zzok:zzok_set:stripe:ok:8:0\nzzlog_set:0:128:stripe:ok:0:1:0\n${b}:zzlog:zzlog_set:stripe:ok:8:0\n`);
    const n = await runWith(['-n']);
    expect(n.stdout).toContain(`zzok of ${a}\n`);
    expect(errors).toEqual([`dmraid-format-zzlog: zzlog: native log of ${b} failed: log boom`]);
  });

  it('-V prints dmraid\'s version lines, then the CLI\'s version from its package.json and each loaded handler\'s', async () => {
    const root = tmp('plugins-version');
    const start = join(root, 'node_modules', '@dmraid', 'cli', 'dist');
    await fs.mkdir(start, { recursive: true });
    await fakePackage(root, 'dmraid-format-zzfake', { dmraid: { apiVersion: 1, format: 'zzfake' } }, GOOD);
    const scan = await loadHandlers(start);
    const cli = JSON.parse(await fs.readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    let stdout = '';
    const status = await run(['-V'], { stdout: (t) => (stdout += t), stderr: () => undefined, readLine: async () => null, cwd: root }, { handlers: scan.handlers });
    expect(status).toBe(0);
    expect(stdout.split('\n').slice(0, 3)[0]).toMatch(/^dmraid version:/);
    expect(stdout.split('\n').slice(3)).toEqual([`dmraid (TypeScript) cli:\t@dmraid/cli ${cli.version}`, 'format handler zzfake:\tdmraid-format-zzfake 9.9.9', '']);
  });
});

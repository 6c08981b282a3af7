// --json: every document validates against the published JSON Schema, and says what the text output says.
import { promises as fs, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { reference, runOurs, runReference, testIf } from '@dmraid/testkit';
import { imagesOf, tmp } from './helpers.js';
import { validate } from './json-schema.js';


describe('--json', () => {
  it('-r, -s, -b and -l print schema-valid documents that agree with the text output', async () => {
    const dir = tmp('json');
    const images = await imagesOf(dir, 'hpt45x/raid10-4', 'hpt45x/raid1-2-degraded', 'hpt45x/raid0-2-spare');
    const docs: Record<string, any> = {};
    for (const args of [['-r'], ['-s'], ['-b'], ['-l']]) {
      const r = await runOurs(images, ['--json', ...args], { cwd: dir });
      expect(r.stderr).toBe('');
      const doc = JSON.parse(r.stdout);
      expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
      docs[args[0]!] = doc;
    }
    expect(docs['-r'].raidDevices.map((d: any) => [d.path, d.set, d.type])).toContainEqual(['hpt45x-raid0-2-spare/sdc.img', 'hpt45x_SPARE', 'spare']);
    const raid10 = docs['-s'].sets.find((s: any) => s.name === 'hpt45x_bhehd');
    expect(raid10).toMatchObject({ type: 'raid10', status: 'ok', sizeSectors: 130816, stride: 128, format: 'hpt45x' });
    expect(raid10.sets.map((s: any) => [s.name, s.devices.length])).toEqual([['hpt45x_bhehd-0', 2], ['hpt45x_bhehd-1', 2]]);
    const mirror = docs['-s'].sets.find((s: any) => s.type === 'mirror');
    expect(mirror.status).toBe('inconsistent');
    expect(docs['-s'].messages).toContainEqual({ level: 'error', text: expect.stringMatching(/wrong # of devices/) });
    expect(docs['-b'].blockDevices).toHaveLength(images.length);
    expect(docs['-l'].formats.map((f: any) => f.name)).toContain('hpt45x');
  });

  it('a run that fails still prints its one schema-valid document, the messages saying why; other modes refuse --json', async () => {
    const dir = tmp('json-fail');
    const r = await runOurs(['no-such.img'], ['--json', '-r'], { cwd: dir });
    expect([r.status, r.stderr]).toEqual([1, '']);
    const doc = JSON.parse(r.stdout);
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
    expect(doc).toEqual({ command: 'raid_devices', schemaVersion: 1, messages: [{ level: 'error', text: expect.stringMatching(/cannot open device "no-such.img"/) }] });
    const images = await imagesOf(dir, 'hpt45x/raid1-2');
    for (const args of [['-n'], ['-ay'], ['-r', '-D'], ['-r', '-E']]) {
      const refused = await runOurs(images, ['--json', ...args], { cwd: dir });
      expect(refused, args.join(' ')).toEqual({ status: 1, stdout: '', stderr: 'ERROR: --json goes with -r, -s, -b, -l, -V, --extract, --serve, --check-data, --infer, --monitor and --restore\n' });
    }
  });

  it('a stale member: -r flags it with the reason, -s lists it in staleDevices and not in devices, schema-valid', async () => {
    const dir = tmp('json-stale');
    const images = await imagesOf(dir, 'isw/stale-raid1-2-mdadm');
    const r = JSON.parse((await runOurs(images, ['--json', '-r'], { cwd: dir })).stdout);
    expect(validate(r), JSON.stringify(validate.errors)).toBe(true);
    const old = r.raidDevices.find((d: any) => d.path.endsWith('sdb.img'));
    expect(old).toMatchObject({ status: 'broken', stale: true, staleReason: expect.stringMatching(/generation 4\) is older than .* \(generation 8\), which records it failed/) });
    expect(r.raidDevices.find((d: any) => d.path.endsWith('sda.img')).stale).toBeUndefined();
    expect(r.messages).toContainEqual({ level: 'warning', text: expect.stringMatching(/sdb\.img is stale, not used/) });
    const s = JSON.parse((await runOurs(images, ['--json', '-s'], { cwd: dir })).stdout);
    expect(validate(s), JSON.stringify(validate.errors)).toBe(true);
    const mirror = s.sets[0].sets[0];
    expect(mirror).toMatchObject({ type: 'mirror', status: 'inconsistent' });
    expect(mirror.devices.map((d: any) => d.path)).toEqual([expect.stringMatching(/sda\.img$/)]);
    expect(mirror.staleDevices.map((d: any) => [d.path.replace(/.*\//, ''), d.stale])).toEqual([['sdb.img', true]]);
  });

  it('a raid6 set carries its layout (raid6Layout) where the metadata says which, schema-valid', async () => {
    const dir = tmp('json-raid6');
    for (const [set, layout] of [['ddf1/mdadm-raid6-4-nr', 'raid6_nr'], ['ddf1/mdadm-raid6-4-zr', 'raid6_zr'], ['ddf1/mdadm-raid6-5', 'raid6_nc']] as const) {
      const images = await imagesOf(dir, set);
      const s = JSON.parse((await runOurs(images, ['--json', '-s'], { cwd: dir })).stdout);
      expect(validate(s), JSON.stringify(validate.errors)).toBe(true);
      const raid6 = [s.sets[0], ...s.sets[0].sets].find((x: any) => x.type === 'raid6');
      expect(raid6, set).toMatchObject({ raid6Layout: layout });
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('the schema rejects documents that break it', () => {
    expect(validate({ command: 'sets', schemaVersion: 1, messages: [] })).toBe(true);
    expect(validate({ command: 'sets', schemaVersion: 1, messages: [], sets: [{ name: 'x' }] })).toBe(false);
    expect(validate({ command: 'nope', schemaVersion: 1, messages: [] })).toBe(false);
    // A document without its schemaVersion, or of another version, is not this contract's.
    expect(validate({ command: 'sets', messages: [] })).toBe(false);
    expect(validate({ command: 'sets', schemaVersion: 2, messages: [] })).toBe(false);
  });

  it('-V --json gives the versions of the CLI, core and each loaded handler (what -V prints), not the -l list', async () => {
    const dir = tmp('json-version');
    const v = await runOurs([], ['-V', '--json'], { cwd: dir });
    expect([v.status, v.stderr]).toEqual([0, '']);
    const doc = JSON.parse(v.stdout);
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
    const pkg = (name: string) => JSON.parse(readFileSync(fileURLToPath(new URL(`../../${name}/package.json`, import.meta.url)), 'utf8')) as { name: string; version: string };
    expect(doc.command).toBe('version');
    expect(doc.formats).toBeUndefined();
    expect(doc.version.cli).toEqual({ package: '@dmraid/cli', version: pkg('cli').version });
    expect(doc.version.core).toEqual({ package: '@dmraid/core', version: pkg('core').version });
    expect(doc.version.dmraid).toBe('1.0.0.rc16 (2009.09.16)');
    // The same handlers, packages and versions as the text's `format handler` lines and as -l --json.
    const text = (await runOurs([], ['-V'], { cwd: dir })).stdout;
    const lines = [...text.matchAll(/^format handler (\S+):\t(\S+) (\S+)$/gm)].map((m) => ({ name: m[1], package: m[2], version: m[3] }));
    expect(lines.length).toBeGreaterThanOrEqual(8);
    expect(doc.version.handlers).toEqual(lines);
    const l = JSON.parse((await runOurs([], ['-l', '--json'], { cwd: dir })).stdout);
    expect(validate(l), JSON.stringify(validate.errors)).toBe(true);
    expect(l.formats.map((f: any) => ({ name: f.name, package: f.package, version: f.version }))).toEqual(doc.version.handlers);
    for (const h of doc.version.handlers) expect(h.version, h.package).toBe(pkg(h.package.replace('@dmraid/', '')).version);
  });

  testIf(it, reference())('plain -V is still the reference\'s lines byte for byte, then ours', async () => {
    const dir = tmp('json-version-ref');
    const images = await imagesOf(dir, 'hpt45x/raid1-2');
    const ref = await runReference(images, ['-V'], { cwd: dir });
    const ours = await runOurs(images, ['-V'], { cwd: dir });
    expect([ref.status, ref.stderr, ours.status, ours.stderr]).toEqual([0, '', 0, '']);
    expect(ref.stdout.split('\n').length).toBe(4);
    expect(ours.stdout.startsWith(ref.stdout)).toBe(true);
    expect(ours.stdout.slice(ref.stdout.length)).toMatch(/^dmraid \(TypeScript\) cli:\t@dmraid\/cli \S+\n(format handler \w+:\t\S+ \S+\n)+$/);
  });
});

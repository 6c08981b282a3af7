// dmraid.8 is made from the option table: every option has its entry (a row added without a text fails the
// build), the page renders in groff without a warning, and the packages install it through their man field.
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { testIf } from '@dmraid/testkit';
import { describe, expect, it } from 'vitest';
import { argumentName, OPTIONS, type OptionRow } from '../src/options.js';
import { tmp } from './helpers.js';

const exec = promisify(execFile);
const { manPage } = (await import('../scripts/man.mjs' as string)) as {
  manPage: (o: { options: readonly OptionRow[]; argumentName: (r: OptionRow) => string | undefined; version: string }) => string;
};
const page = (options: readonly OptionRow[] = OPTIONS) => manPage({ options, argumentName, version: '9.9.9' });
const roffName = (name: string) => name.replace(/-/g, '\\-');

const groff = await exec('sh', ['-c', 'command -v groff']).then(() => true, () => false);
const itGroff = testIf(it, { name: 'groff', available: groff, reason: "apt-get install -y groff-base (groff's man macros)" });

describe('the man page, dmraid.8', () => {
  it('has an entry for every option of the table, under dmraid\'s or ours, with its text', () => {
    const text = page();
    for (const row of OPTIONS) {
      const names = [row.short && `\\fB${roffName(`-${row.short}`)}\\fR`, row.long && `\\fB${roffName(`--${row.long}`)}\\fR`].filter(Boolean).join(', ');
      const at = text.indexOf(`.TP\n${names}`);
      expect(at, names).toBeGreaterThan(0);
      const body = text.slice(at).split('\n')[2]!;
      expect(body.length, names).toBeGreaterThan(10);
      expect(at > text.indexOf('.SS "Beyond dmraid"'), names).toBe(!row.dmraid);
    }
    for (const section of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'OPTIONS', 'EXIT STATUS', 'ENVIRONMENT', 'FILES', 'EXAMPLES', 'SEE ALSO']) {
      expect(text).toContain(`.SH ${section}\n`);
    }
  });

  it('refuses a row added without a text, or an argument without a name', () => {
    expect(() => page([...OPTIONS, { long: 'frobnicate', arg: 'none', apply: () => {} }])).toThrow('option --frobnicate has no text');
    expect(() => page([...OPTIONS, { long: 'frob', arg: 'required', man: { text: 'Frobs.' }, apply: () => {} }])).toThrow('--frob takes an argument without a name');
  });

  itGroff('renders in groff -man -ww without a warning', async () => {
    const file = join(tmp('man'), 'dmraid.8');
    await fs.writeFile(file, page());
    const r = await exec('groff', ['-man', '-ww', '-z', file]);
    expect(r.stderr).toBe('');
    const text = (await exec('groff', ['-man', '-Tutf8', '-P', '-c', file], { env: { ...process.env, LC_ALL: 'C.UTF-8' } })).stdout;
    expect(text).toContain('--extract');
    expect(text).toContain('dmraid 9.9.9');
  });

  // One owner of the `dmraid` command and its page (docs/releasing.md "Who owns the dmraid command"): two
  // packages linking the same bin or man page make a global install of both fail with EEXIST.
  it('is installed through the man field of the dmraid meta-package, which owns the dmraid bin; the CLI ships the page without linking it', async () => {
    const manifest = async (pkg: string) => JSON.parse(await fs.readFile(resolve(import.meta.dirname, '../..', pkg, 'package.json'), 'utf8')) as { bin: Record<string, string>; man?: string[]; files: string[]; scripts: Record<string, string> };
    const cli = await manifest('cli');
    expect(cli.bin).toEqual({ 'dmraid-cli': './dist/bin.js' });
    expect(cli.man).toBeUndefined();
    expect((await manifest('dmraid')).bin.dmraid).toBeDefined();
    expect((await manifest('dmraid')).man).toEqual(['./dist/man/dmraid.8']);
    for (const pkg of ['cli', 'dmraid']) {
      const json = await manifest(pkg);
      expect(json.files, pkg).toContain('dist');
      expect(json.scripts.build, pkg).toMatch(/scripts\/man\.mjs dist$/);
      // What npm would publish (after the build): the page, and the completion files.
      const packed = JSON.parse((await exec('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: resolve(import.meta.dirname, '../..', pkg) })).stdout) as [{ files: { path: string }[] }];
      const paths = packed[0].files.map((f) => f.path);
      expect(paths, pkg).toEqual(expect.arrayContaining(['dist/man/dmraid.8', 'dist/completion/bash/dmraid', 'dist/completion/zsh/_dmraid']));
    }
  }, 60_000);
});

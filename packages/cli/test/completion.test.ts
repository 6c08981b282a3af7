// Bash and zsh completion made from the option table: a real bash completes options and -f's formats through
// the script; zsh parses its script; `--completion SHELL` prints them.
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { testIf } from '@dmraid/testkit';
import { describe, expect, it } from 'vitest';
import { bashCompletion, zshCompletion } from '../src/commands/completion.js';
import { run } from '../src/main.js';
import { OPTIONS } from '../src/options.js';
import { loadHandlers } from '@dmraid/core';
import { tmp } from './helpers.js';

const exec = promisify(execFile);
const has = (cmd: string) => exec('sh', ['-c', `command -v ${cmd}`]).then(() => true, () => false);
const itZsh = testIf(it, { name: 'zsh', available: await has('zsh'), reason: 'apt-get install -y zsh' });
const bin = resolve(import.meta.dirname, '../dist/bin.js');

/** What bash's completion function offers for the words of a line (the last one being completed). */
async function complete(script: string, words: string[]): Promise<string[]> {
  const dir = tmp('completion');
  await fs.writeFile(join(dir, 'dmraid.bash'), script);
  // `dmraid` on PATH is the built CLI, as an installed one would be.
  await fs.writeFile(join(dir, 'dmraid'), `#!/bin/sh\nexec "${process.execPath}" "${bin}" "$@"\n`, { mode: 0o755 });
  const line = words.map((w) => `'${w}'`).join(' ');
  const r = await exec('bash', ['-c', `source dmraid.bash; COMP_WORDS=(${line}); COMP_CWORD=${words.length - 1}; _dmraid; printf '%s\\n' "\${COMPREPLY[@]}"`], {
    cwd: dir,
    env: { ...process.env, PATH: `${dir}:${process.env.PATH}` },
  });
  return r.stdout.split('\n').filter(Boolean);
}

describe('shell completion from the option table', () => {
  it('bash completes --ext to --extract, every option from --, and -a to yes or no', async () => {
    const script = bashCompletion();
    expect(await complete(script, ['dmraid', '--ext'])).toEqual(['--extract']);
    const longs = OPTIONS.flatMap((r) => (r.long ? [`--${r.long}`] : []));
    expect((await complete(script, ['dmraid', '--'])).sort()).toEqual(longs.sort());
    expect(await complete(script, ['dmraid', '-a', ''])).toEqual(['yes', 'no']);
    expect(await complete(script, ['dmraid', '--completion', 'z'])).toEqual(['zsh']);
  });

  it('bash completes -f and --format to the installed format handlers\' names', async () => {
    expect((await fs.stat(bin)).isFile(), 'npm run build first: the completion asks the built dmraid -l').toBe(true);
    const installed = (await loadHandlers()).handlers.map((l) => l.handler.name).sort();
    expect(installed.length).toBeGreaterThanOrEqual(8);
    const script = bashCompletion();
    expect((await complete(script, ['dmraid', '-f', ''])).sort()).toEqual(installed);
    expect(await complete(script, ['dmraid', '--format', 'hpt4'])).toEqual(['hpt45x']);
  });

  it('a row added to the table completes without editing the script', async () => {
    const rows = [...OPTIONS, { long: 'frobnicate', arg: 'required' as const, man: { arg: 'yes|no', text: 'Frobs.' }, apply: () => {} }];
    expect(await complete(bashCompletion(rows), ['dmraid', '--frob'])).toEqual(['--frobnicate']);
    expect(await complete(bashCompletion(rows), ['dmraid', '--frobnicate', 'n'])).toEqual(['no']);
    expect(zshCompletion(rows)).toContain("'*--frobnicate=[Frobs]:yes|no:(yes no)'");
  });

  itZsh('zsh parses its script, which names every option', async () => {
    const script = zshCompletion();
    const file = join(tmp('completion-zsh'), '_dmraid');
    await fs.writeFile(file, script);
    const r = await exec('zsh', ['-n', file]);
    expect(r.stderr).toBe('');
    expect(script.startsWith('#compdef dmraid\n')).toBe(true);
    // What zsh hands _arguments: one spec a word per option name, none split or run together by a quote.
    const specs = (await exec('zsh', ['-f', '-c', `_arguments() { print -rl -- "$@" }; source ${file}`])).stdout.split('\n').filter(Boolean);
    const names = OPTIONS.flatMap((row) => [...(row.short ? [`-${row.short}`] : []), ...(row.long ? [`--${row.long}`] : [])]);
    expect(specs[0]).toBe('-s');
    expect(specs.at(-1)).toBe('*:device or set:_files');
    expect(specs.slice(1, -1).map((s) => /^\*(--?[A-Za-z_-]+?)(?:\+|=-|=|-)?\[[^\]'\\]*\](?::[^:]*:[^:]*|::[^:]*:[^:]*)?$/.exec(s)?.[1])).toEqual(names);
  });

  it('--completion bash|zsh prints the script; another shell is refused', async () => {
    let out = '';
    let err = '';
    const io = { stdout: (t: string) => void (out += t), stderr: (t: string) => void (err += t), readLine: async () => null, cwd: process.cwd() };
    expect(await run(['--completion', 'bash'], io, { handlers: [] })).toBe(0);
    expect(out).toBe(bashCompletion());
    out = '';
    expect(await run(['--completion', 'zsh'], io, { handlers: [] })).toBe(0);
    expect(out).toBe(zshCompletion());
    out = '';
    expect(await run(['--completion', 'fish'], io, { handlers: [] })).toBe(1);
    expect(err).toBe('ERROR: --completion fish: give bash or zsh\n');
    expect(out).toBe('');
  });
});

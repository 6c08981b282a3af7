// --listen edges: what the kernel would not bind as written is an ERROR line that names it, nothing created.
import { existsSync, promises as fs, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../src/main.js';
import { tmp } from './helpers.js';

async function dmraid(dir: string, args: string[]) {
  let stdout = '';
  let stderr = '';
  const status = await run(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), readLine: async () => null, cwd: dir }, { handlers: [] });
  return { status, stdout, stderr };
}

async function tables(dir: string): Promise<void> {
  await fs.writeFile(join(dir, 'm0.img'), Buffer.alloc(64 * 512, 1));
  await fs.writeFile(join(dir, 't.txt'), 'v: 0 64 linear m0.img 0\n');
}

describe('--serve --listen', () => {
  it('a socket path longer than a unix socket path may be (108 bytes with the NUL) is an error naming it and the limit; no file is made', async () => {
    const dir = tmp('listen-long');
    await tables(dir);
    const name = 'x'.repeat(120 - dir.length);
    const path = join(dir, name);
    const bytes = Buffer.byteLength(path);
    const r = await dmraid(dir, ['--serve', '--tables', 't.txt', '--listen', name]);
    expect(r).toEqual({ status: 1, stdout: '', stderr: `ERROR: cannot listen on ${path}: socket path ${path} is ${bytes} bytes, over the 107 a unix socket path may have (108 with its NUL)\n` });
    expect(readdirSync(dir).sort()).toEqual(['m0.img', 't.txt']);
    // 107 bytes is the longest that fits: it is served there (and the file is removed at the end).
    const fits = 'y'.repeat(107 - dir.length - 1);
    const ctl = new AbortController();
    const serving = run(['--serve', '--tables', 't.txt', '--listen', fits], { stdout: () => ctl.abort(), stderr: () => undefined, readLine: async () => null, cwd: dir }, { handlers: [], signal: ctl.signal });
    expect(await serving).toBe(0);
    expect(existsSync(join(dir, fits))).toBe(false);
  });

  it('a socket path in a directory that is not there says "No such file or directory" naming the directory', async () => {
    const dir = tmp('listen-nodir');
    await tables(dir);
    const r = await dmraid(dir, ['--serve', '--tables', 't.txt', '--listen', 'no/such/nbd.sock']);
    expect(r).toEqual({ status: 1, stdout: '', stderr: `ERROR: cannot listen on ${join(dir, 'no/such/nbd.sock')}: directory ${join(dir, 'no/such')}: No such file or directory\n` });
    await fs.writeFile(join(dir, 'file'), '');
    const f = await dmraid(dir, ['--serve', '--tables', 't.txt', '--listen', 'file/nbd.sock']);
    expect(f.stderr).toBe(`ERROR: cannot listen on ${join(dir, 'file/nbd.sock')}: directory ${join(dir, 'file')}: Not a directory\n`);
  });

  it('--listen -1 (or any value starting with -) is a usage error, not a socket named -1', async () => {
    const dir = tmp('listen-dash');
    await tables(dir);
    const r = await dmraid(dir, ['--serve', '--tables', 't.txt', '--listen', '-1']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^ERROR: --listen -1: not a port \(0-65535\), HOST:PORT or a socket path \(a socket named so is written \.\/-1\)\n/);
    expect(readdirSync(dir).sort()).toEqual(['m0.img', 't.txt']);
  });
});

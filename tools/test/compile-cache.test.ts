// The meta-package's compile cache (packages/dmraid/bin/compile-cache.cjs): cached code is code, and the tool
// runs as root, so what it reads must be this user's own, made from exactly the source it is given for, and a
// cache that cannot be had must cost nothing but the compile.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, promises as fs, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot, sh, tmp } from './helpers.js';

const loader = join(repoRoot, 'packages', 'dmraid', 'bin', 'compile-cache.cjs');

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});

/** A fresh folder with a CommonJS module that exports `answer`, and a cache home of its own (not yet made). */
function fixture(answer: string) {
  const dir = tmp('compile-cache');
  dirs.push(dir);
  const file = join(dir, 'module.cjs');
  writeFileSync(file, moduleSource(answer));
  return { dir, file, home: join(dir, 'cache-home') };
}

// Enough functions that V8's cached data is more than a header; `answer` is what a stale cache would get wrong.
const moduleSource = (answer: string) =>
  `'use strict';\n${Array.from({ length: 50 }, (_, i) => `function f${i}(x) { return x * ${i} + 1; }`).join('\n')}\nexports.answer = () => ${JSON.stringify(answer)} + f7(1);\nexports.modulesRun = () => Number(process.env.REACH ?? 0);\n`;

/** One process: load `file` through the cache; what it exported, and what the cache did. */
async function load(file: string, home: string, reach = 0, env: NodeJS.ProcessEnv = {}) {
  const probe = `const r = require(${JSON.stringify(loader)}).loadWithCachedData(${JSON.stringify(file)}); console.log(JSON.stringify({ answer: r.exports.answer(), cache: r.cache }));`;
  const r = await sh(process.execPath, ['-e', probe], repoRoot, { XDG_CACHE_HOME: home, REACH: String(reach), ...env });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as { answer: string; cache: string };
}

const cacheFiles = (home: string) => readdirSync(join(home, 'dmraid'));

describe('the compile cache of the dmraid command', () => {
  it('makes a private cache on the first run and uses it on the next', async () => {
    const { file, home } = fixture('a');
    expect(await load(file, home)).toEqual({ answer: 'a8', cache: 'made' });
    expect(statSync(join(home, 'dmraid')).mode & 0o777).toBe(0o700);
    const [name] = cacheFiles(home);
    expect(name).toMatch(/^module\.cjs-[0-9a-f]{8}-v\d+\.\d+\.\d+-\w+\.v8$/);
    expect(statSync(join(home, 'dmraid', name!)).mode & 0o777).toBe(0o600);
    expect(await load(file, home)).toEqual({ answer: 'a8', cache: 'used' });
  });

  it('writes the cache again after a run that ran more of the file (its modulesRun()), not after one that ran less', async () => {
    const { file, home } = fixture('a');
    expect((await load(file, home, 2)).cache).toBe('made');
    const cached = join(home, 'dmraid', cacheFiles(home)[0]!);
    const reachOf = async () => Number(/\n\d+:\d+:\d+:\d+:\d+\n(\d+)\n/.exec((await fs.readFile(cached)).toString('latin1'))![1]);
    expect(await reachOf()).toBe(2);
    expect(await load(file, home, 1)).toEqual({ answer: 'a8', cache: 'used' });
    expect(await reachOf()).toBe(2);
    expect(await load(file, home, 5)).toEqual({ answer: 'a8', cache: 'used' });
    expect(await reachOf()).toBe(5);
    expect(await load(file, home, 5)).toEqual({ answer: 'a8', cache: 'used' });
  });

  it('never runs the code of another source of the same length (V8 checks only the length), mtime set back or not', async () => {
    const { file, home } = fixture('a');
    expect((await load(file, home)).cache).toBe('made');
    writeFileSync(file, moduleSource('b'));
    expect(await load(file, home)).toEqual({ answer: 'b8', cache: 'made' });
    expect(await load(file, home)).toEqual({ answer: 'b8', cache: 'used' });
    // The times set back to the nanosecond (`touch -r`, as `cp -p` or a tarball would): the change time moves.
    const before = statSync(file, { bigint: true }).mtimeNs;
    execFileSync('touch', ['-r', file, `${file}.times`]);
    writeFileSync(file, moduleSource('c'));
    execFileSync('touch', ['-r', `${file}.times`, file]);
    expect(statSync(file, { bigint: true }).mtimeNs).toBe(before);
    expect(await load(file, home)).toEqual({ answer: 'c8', cache: 'made' });
  });

  it('keeps one cache file per installed file: a rebuild of another size replaces it; a copy elsewhere has its own', async () => {
    const { dir, file, home } = fixture('a');
    expect((await load(file, home)).cache).toBe('made');
    const [first] = cacheFiles(home);
    writeFileSync(file, moduleSource('a longer answer'));
    expect(await load(file, home)).toEqual({ answer: 'a longer answer8', cache: 'made' });
    expect(cacheFiles(home)).toEqual([first]);
    const copy = join(dir, 'elsewhere', 'module.cjs');
    mkdirSync(join(dir, 'elsewhere'));
    writeFileSync(copy, moduleSource('c'));
    expect(await load(copy, home)).toEqual({ answer: 'c8', cache: 'made' });
    expect(cacheFiles(home)).toHaveLength(2);
    expect(await load(file, home)).toEqual({ answer: 'a longer answer8', cache: 'used' });
    expect(await load(copy, home)).toEqual({ answer: 'c8', cache: 'used' });
  });

  it('does not read a cache file that is damaged, or that another user owns or could have written', async () => {
    const { file, home } = fixture('a');
    await load(file, home);
    const cached = join(home, 'dmraid', cacheFiles(home)[0]!);
    const good = await fs.readFile(cached);
    await fs.writeFile(cached, good.subarray(0, good.length - 1)); // V8's data cut short (its header has the length)
    expect((await load(file, home)).cache).toBe('made');
    expect((await fs.readFile(cached)).length).toBe(good.length); // written again whole
    expect((await load(file, home)).cache).toBe('used');
    chmodSync(cached, 0o622);
    expect((await load(file, home)).cache).toBe('made');
    chownSync(cached, 65534, 65534);
    chmodSync(cached, 0o600);
    expect(await load(file, home)).toEqual({ answer: 'a8', cache: 'made' });
  });

  it('uses no directory that others can write, and gives up quietly where none can be made', async () => {
    const { file, home } = fixture('a');
    mkdirSync(join(home, 'dmraid'), { recursive: true });
    chmodSync(join(home, 'dmraid'), 0o777);
    expect(await load(file, home)).toEqual({ answer: 'a8', cache: 'none' });
    expect(cacheFiles(home)).toEqual([]);
    // Where mkdir fails with ENOENT for ever (procfs): a recursive mkdir would loop; the run must just go on.
    expect(await load(file, '/proc/no-such-dir')).toEqual({ answer: 'a8', cache: 'none' });
    expect(await load(file, join(file, 'not-a-dir'))).toEqual({ answer: 'a8', cache: 'none' });
    // Node's switch for its own compile cache turns this one off too: nothing read, nothing made.
    const other = join(home, 'other');
    expect(await load(file, other, 0, { NODE_DISABLE_COMPILE_CACHE: '1' })).toEqual({ answer: 'a8', cache: 'none' });
    expect(existsSync(other)).toBe(false);
  });
});

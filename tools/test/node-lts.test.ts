// The maintained Node LTS lines besides this machine's 20: the built commands run on 22 and 24 (binaries from
// the npm registry's `node` package, as .ci/run gets them), and there they turn on Node's compile cache before
// loading the CLI, so the CLI's modules land in it. Node 20's module has no enableCompileCache: dmraid-cli runs
// without, the meta-package's dmraid with its own (tools/test/compile-cache.test.ts).
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { testIf, type Requirement } from '@dmraid/testkit';
import { repoRoot, requireBuilt, sh, tmp } from './helpers.js';

/** A Node binary of this major line from the npm registry's `node` package (npx caches it after the first time). */
function nodeOf(major: number): { execPath: string; req: Requirement } {
  const name = `node ${major}`;
  try {
    const out = execFileSync('npx', ['-y', '-p', `node@${major}`, '--', 'node', '-p', 'process.version + " " + process.execPath'], { cwd: repoRoot, encoding: 'utf8', timeout: 180_000, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    const [version, execPath] = out.split(' ');
    if (!version?.startsWith(`v${major}.`) || !execPath) return { execPath: '', req: { name, available: false, reason: `npx -p node@${major} ran ${out}` } };
    return { execPath, req: { name, available: true, reason: '' } };
  } catch (e) {
    return { execPath: '', req: { name, available: false, reason: `npx -p node@${major} failed (no network?): ${String(e).split('\n')[0]}` } };
  }
}

/** Each command, and a module of handler code it loads through the cache (the meta-package's is its bundle). */
const ENTRIES = {
  '@dmraid/cli (dmraid-cli)': [join(repoRoot, 'packages', 'cli', 'dist', 'bin.js'), 'packages/format-isw/dist/index.js'],
  'dmraid (the meta-package)': [join(repoRoot, 'packages', 'dmraid', 'bin', 'dmraid.cjs'), 'packages/dmraid/dist/dmraid.cjs'],
} as const;
const HANDLERS = ['ddf1', 'hpt37x', 'hpt45x', 'isw', 'nvidia', 'pdc', 'sil', 'via'];

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});

/**
 * `-l` with a TMPDIR of its own (where Node's default compile cache directory goes) and Node's compile cache
 * debug log on: the modules that went through the cache, and stderr without that log.
 */
async function listWith(node: string, entry: string): Promise<{ formats: string[]; stderr: string; status: number; cached: string[] }> {
  requireBuilt(join(repoRoot, 'packages', 'cli'), 'dist/bin.js');
  const dir = tmp('compile-cache');
  dirs.push(dir);
  const r = await sh(node, [entry, '-l'], repoRoot, { TMPDIR: dir, XDG_CACHE_HOME: dir, NODE_DEBUG_NATIVE: 'COMPILE_CACHE' });
  const lines = r.stderr.split('\n').filter(Boolean);
  const cached = lines.flatMap((l) => /^\[compile cache\] reading cache from \S+ for \S+ (?:file:\/\/)?(\/\S+?)\.\.\./.exec(l)?.[1] ?? []).map((p) => relative(repoRoot, p));
  const stderr = lines.filter((l) => !l.startsWith('[compile cache]')).map((l) => `${l}\n`).join('');
  return { formats: r.stdout.split('\n').filter(Boolean).map((l) => l.split(' ')[0]!), stderr, status: r.status, cached };
}

describe('the dmraid commands on Node 20, 22 and 24', () => {
  for (const [label, [entry]] of Object.entries(ENTRIES)) {
    it(`${label} on this machine's Node ${process.versions.node}: lists every handler; no compile cache where Node has none`, async () => {
      const r = await listWith(process.execPath, entry);
      expect(r).toMatchObject({ formats: HANDLERS, stderr: '', status: 0 });
      const hasCache = typeof (await import('node:module') as unknown as { default: { enableCompileCache?: unknown } }).default.enableCompileCache === 'function';
      if (!hasCache) expect(r.cached).toEqual([]);
    });
  }

  for (const major of [22, 24]) {
    const { execPath, req } = nodeOf(major);
    const itOn = testIf(it, req);
    for (const [label, [entry, handlerModule]] of Object.entries(ENTRIES)) {
      itOn(`${label} on Node ${major}: lists every handler, and its modules go into the compile cache`, async () => {
        const r = await listWith(execPath, entry);
        expect(r).toMatchObject({ formats: HANDLERS, stderr: '', status: 0 });
        // The entry loads the CLI after enableCompileCache, so the modules the CLI imports statically
        // (@dmraid/core; in the meta-package's one file, everything) go through the cache too.
        expect(r.cached).toEqual(expect.arrayContaining([handlerModule]));
        if (!label.startsWith('dmraid ')) expect(r.cached).toEqual(expect.arrayContaining(['packages/core/dist/index.js']));
      }, 300_000);
    }
  }
});

/**
 * Where the shared material is, and what a test needs that may be missing: ../shared, the reference
 * dmraid, root. Missing requirements skip a test with the reason, except under CI, where they fail it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (dirname(dir) !== dir) {
    if (existsSync(join(dir, 'nx.json'))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}

export const repoRoot = findRepoRoot();
export const sharedDir = resolve(repoRoot, '..', 'shared');
export const fixturesDir = join(sharedDir, 'fixtures', 'util-linux');
export const referenceTool = join(sharedDir, 'tools', 'dmraid-ref', 'dmraid-ref');
export const testbedDir = join(repoRoot, 'testbed');
export const inCI = !!process.env.CI;

export interface Requirement {
  readonly name: string;
  readonly available: boolean;
  readonly reason: string;
}

function which(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function sharedFixtures(): Requirement {
  const ok = existsSync(fixturesDir);
  return { name: 'shared fixtures', available: ok, reason: ok ? '' : `${fixturesDir} is missing` };
}

export function reference(): Requirement {
  if (!existsSync(referenceTool)) return { name: 'reference dmraid', available: false, reason: `${referenceTool} is missing` };
  if (!which('dmraid')) return { name: 'reference dmraid', available: false, reason: 'dmraid is not installed (apt-get install -y dmraid)' };
  if (process.getuid?.() !== 0) return { name: 'reference dmraid', available: false, reason: 'the reference runs only as root' };
  if (!which('losetup') || !which('unshare') || !which('gcc')) return { name: 'reference dmraid', available: false, reason: 'losetup, unshare or gcc is missing' };
  return { name: 'reference dmraid', available: true, reason: '' };
}

/**
 * `it` for a test that needs `req`: skipped with the reason when it is missing, failing under CI.
 */
export function testIf<T extends (name: string, fn: () => Promise<void> | void, timeout?: number) => void>(
  it: T & { skip: T },
  req: Requirement,
): (name: string, fn: () => Promise<void> | void, timeout?: number) => void {
  if (req.available) return it;
  if (inCI) {
    return (name, _fn, timeout) =>
      it(name, () => {
        throw new Error(`${req.name} is required under CI: ${req.reason}`);
      }, timeout);
  }
  return (name, fn, timeout) => it.skip(`${name} [skipped: ${req.reason}]`, fn, timeout);
}

/**
 * dmraid's locking layer: one run at a time, through /var/lock/dmraid/.lock (`-i` skips it). dmraid uses
 * flock(2), which Node lacks; an exclusive create of the file holding our pid does the same job, and a
 * file left by a dead process is taken over.
 */
import { promises as fs } from 'node:fs';
import { dirname } from 'node:path';

export const LOCK_FILE = '/var/lock/dmraid/.lock';

export interface Lock {
  release(): Promise<void>;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Take the lock, waiting up to `waitMs`; an error text (dmraid's words) when it cannot. */
export async function acquireLock(file = LOCK_FILE, waitMs = 10_000): Promise<Lock | string> {
  try {
    await fs.mkdir(dirname(file), { recursive: true });
  } catch {
    return `opening lockfile ${file}`;
  }
  const until = Date.now() + waitMs;
  for (;;) {
    try {
      const h = await fs.open(file, 'wx', 0o644);
      await h.writeFile(`${process.pid}\n`);
      await h.close();
      return { release: () => fs.rm(file, { force: true }) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return `opening lockfile ${file}`;
    }
    const pid = Number((await fs.readFile(file, 'utf8').catch(() => '')).trim());
    if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) {
      await fs.rm(file, { force: true });
      continue;
    }
    if (Date.now() >= until) return `flock lockfile ${file}: held by process ${pid}`;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The monitor's claim on the disks it writes metadata to. write.ts's claim opens a block device exclusively,
 * which the kernel refuses while device-mapper holds it: the very state of a set the monitor looks after.
 * Here a disk is taken when the only holders are the set's own device-mapper devices, and still refused
 * when another device holds it or another process writes it.
 */
import { resolve } from 'node:path';
import type { DeviceClaims } from '../claim.js';
import type { MonitorSystem } from './system.js';

export function monitorClaims(cwd: string, system: Pick<MonitorSystem, 'holders'>, ownDevices: ReadonlySet<string>, proc = '/proc'): DeviceClaims {
  const held = new Set<string>();
  return {
    async take(paths) {
      const fresh = [...new Set(paths.map((p) => resolve(cwd, p)))].filter((p) => !held.has(p));
      const given = (full: string) => paths.find((p) => resolve(cwd, p) === full)!;
      const { otherWriters } = await import('@dmraid/engine');
      const writing = await otherWriters(fresh.map(given), cwd, proc);
      if (writing !== true) return writing;
      for (const full of fresh) {
        const holders = await system.holders(full);
        const foreign = (holders ?? []).filter((h) => !ownDevices.has(h));
        if (foreign.length > 0) {
          return { kind: 'io', path: given(full), code: 'EBUSY', message: `held by device-mapper device${foreign.length > 1 ? 's' : ''} ${foreign.map((h) => `"${h}"`).join(', ')}, which ${foreign.length > 1 ? 'are' : 'is'} not of this set` } as const;
        }
      }
      for (const full of fresh) held.add(full);
      return true;
    },
    holds: (path) => held.has(resolve(cwd, path)),
    async release() {
      held.clear();
    },
  };
}

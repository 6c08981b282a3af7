/**
 * Claiming devices before a metadata write (-E, -C, -S, -R, -x): a write under a live writer (a
 * `--serve --writable`, a virtual machine on the image, a mounted filesystem, an active device-mapper set)
 * would be overwritten by it or corrupt what it holds. Every command that writes asks here first, before any
 * prompt and before any byte, and holds the claim until it is done.
 */
import type { promises as fs } from 'node:fs';
import { resolve } from 'node:path';
import { isIoError, type IoError } from '@dmraid/core';

/** Devices claimed for writing: block devices stay opened exclusively (O_EXCL) until release. */
export interface DeviceClaims {
  /**
   * Claim more devices (paths as the user gave them, relative to the claims' folder): an IoError (code
   * EBUSY, message naming the holder) for the first one in use, and then none of these is claimed.
   * A path claimed before is not looked at again.
   */
  take(paths: readonly string[]): Promise<true | IoError>;
  /** Whether `path` is claimed. */
  holds(path: string): boolean;
  /** Let go of every block device claimed; taking more afterwards claims anew. */
  release(): Promise<void>;
}

/**
 * Claims for devices to be written, relative to `cwd`, on the engine's claims (its claim.ts: the same
 * refusals as `--serve --writable`'s). Refused when another process holds a device open for writing
 * (looked up in `proc`, /proc, naming the process) or, for a block device, when it cannot be opened
 * exclusively. Take a device after opening it for writing yourself: two
 * commands started together then both see the other.
 */
export function deviceClaims(cwd: string, proc = '/proc'): DeviceClaims {
  const held = new Map<string, fs.FileHandle | undefined>();
  return {
    async take(paths) {
      const fresh = [...new Set(paths.map((p) => resolve(cwd, p)))].filter((p) => !held.has(p));
      const given = (full: string) => paths.find((p) => resolve(cwd, p) === full)!;
      // Loaded here: the commands that never write start without the engine.
      const { claimBlockDevice, otherWriters } = await import('@dmraid/engine');
      // Writers first: they can be named; an exclusive open that fails cannot say by whom.
      const writing = await otherWriters(fresh.map(given), cwd, proc);
      if (writing !== true) return writing;
      const opened: [string, fs.FileHandle | undefined][] = [];
      for (const full of fresh) {
        const claimed = await claimBlockDevice(full, given(full));
        if (isIoError(claimed)) {
          await Promise.all(opened.map(([, h]) => h?.close()));
          return claimed;
        }
        opened.push([full, claimed === true ? undefined : claimed]);
      }
      for (const [full, h] of opened) held.set(full, h);
      return true;
    },
    holds: (path) => held.has(resolve(cwd, path)),
    async release() {
      const handles = [...held.values()];
      held.clear();
      await Promise.all(handles.map((h) => h?.close().catch(() => undefined)));
    },
  };
}

/** The error line's text for a refused claim, as `--serve --writable` words it. */
export const claimRefusal = (e: IoError) => `cannot open device "${e.path}" for writing: ${e.message}`;

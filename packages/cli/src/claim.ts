/**
 * Claiming devices before a metadata write (-E, -C, -S, -R, -x): a write under a live writer (a
 * `--serve --writable`, a virtual machine on the image, a mounted filesystem, an active device-mapper set)
 * would be overwritten by it or corrupt what it holds. Every command that writes asks here first, before any
 * prompt and before any byte, and holds the claim until it is done.
 */
import { constants, promises as fs } from 'node:fs';
import { resolve } from 'node:path';
import { fromNodeError, ioError, isIoError, writersOf, type IoError } from '@dmraid/core';

/** Why a block device's exclusive open failed with EBUSY: the kernel does not say who holds it. */
export const BLOCK_DEVICE_BUSY = 'it is in use (mounted, a partition of it mounted, held by device-mapper or md, or claimed by another writer)';

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
 * Claims for devices to be written, relative to `cwd`. Refused when another process holds a device open
 * for writing (looked up in `proc`, /proc, naming the process as `--serve --writable` does) or, for a block
 * device, when it cannot be opened exclusively. Take a device after opening it for writing yourself: two
 * commands started together then both see the other.
 */
export function deviceClaims(cwd: string, proc = '/proc'): DeviceClaims {
  const held = new Map<string, fs.FileHandle | undefined>();
  return {
    async take(paths) {
      const fresh = [...new Set(paths.map((p) => resolve(cwd, p)))].filter((p) => !held.has(p));
      const given = (full: string) => paths.find((p) => resolve(cwd, p) === full)!;
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

/**
 * Whether another process holds one of `paths` (relative to `cwd`) open for writing: the first such path
 * as an IoError (code EBUSY) naming the processes. Every command that writes asks this, the metadata writes
 * through `deviceClaims` and `--serve --writable` after its own opens (whose block devices its sources
 * already hold exclusively).
 */
export async function otherWriters(paths: readonly string[], cwd: string, proc = '/proc'): Promise<true | IoError> {
  const holders = await Promise.all(paths.map((p) => writersOf(resolve(cwd, p), proc)));
  const busy = paths.findIndex((_, i) => holders[i]!.length > 0);
  if (busy < 0) return true;
  const by = holders[busy]!.map((h) => `process ${h.pid} (${h.command})`).join(', ');
  return ioError(paths[busy]!, 'EBUSY', `it is open for writing by ${by}`);
}

/** The exclusive handle of a block device, true for anything else (an image file), or why not. */
async function claimBlockDevice(full: string, path: string): Promise<fs.FileHandle | true | IoError> {
  const st = await fs.stat(full).catch(() => undefined);
  if (!st?.isBlockDevice()) return true;
  try {
    // O_EXCL on a block device is the kernel's claim, as mount, md and device-mapper take it.
    return await fs.open(full, constants.O_RDONLY | constants.O_EXCL);
  } catch (e) {
    return openForWritingError(path, e);
  }
}

/** What an exclusive open of a block device to be written threw: EBUSY as in use, else the errno's words. */
export function openForWritingError(path: string, e: unknown): IoError {
  return (e as NodeJS.ErrnoException)?.code === 'EBUSY' ? ioError(path, 'EBUSY', BLOCK_DEVICE_BUSY) : fromNodeError(path, e);
}

/** The error line's text for a refused claim, as `--serve --writable` words it. */
export const claimRefusal = (e: IoError) => `cannot open device "${e.path}" for writing: ${e.message}`;

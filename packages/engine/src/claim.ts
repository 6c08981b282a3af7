/**
 * Claims on devices to be written. A write under another writer (a `--serve --writable`, a virtual machine on
 * the image, a mounted filesystem, an active device-mapper set) would be overwritten by it or corrupt what it
 * holds: a block device is claimed with an exclusive open (O_EXCL, the kernel's claim, as mount, md and
 * device-mapper take theirs), and a file or device another process holds open for writing is refused by the
 * processes' names (/proc). Every writer of this project asks here: the run's members, the extract's output
 * disk, the CLI's metadata writes.
 */
import { constants, promises as fs } from 'node:fs';
import { resolve } from 'node:path';
import { fromNodeError, ioError, isIoError, openDevice, writersOf, type IoError } from '@dmraid/core';
import { isZero, SECTOR } from './source.js';

/** Why a member or metadata device is not opened for writing: its exclusive open failed with EBUSY. */
export const BLOCK_DEVICE_BUSY = 'it is in use (mounted, a partition of it mounted, held by device-mapper or md, or claimed by another writer)';

/** Why an extract's output disk is not written: its exclusive open failed with EBUSY. */
export const DISK_IN_USE = 'in use (mounted, a partition of it mounted, or held by device-mapper or md): not written';

/**
 * What an exclusive open threw: EBUSY in the words of `busy` (the kernel does not say who holds the device),
 * anything else by its errno's words.
 */
export function claimError(path: string, e: unknown, busy = BLOCK_DEVICE_BUSY): IoError {
  return (e as NodeJS.ErrnoException)?.code === 'EBUSY' ? ioError(path, 'EBUSY', busy) : fromNodeError(path, e);
}

/**
 * The exclusive handle of a block device (`full`, an absolute path; `path` names it in the error), true for
 * anything else (an image file), or why not.
 */
export async function claimBlockDevice(full: string, path: string, busy = BLOCK_DEVICE_BUSY): Promise<fs.FileHandle | true | IoError> {
  const st = await fs.stat(full).catch(() => undefined);
  if (!st?.isBlockDevice()) return true;
  try {
    return await fs.open(full, constants.O_RDONLY | constants.O_EXCL);
  } catch (e) {
    return claimError(path, e, busy);
  }
}

/**
 * Whether another process holds one of `paths` (relative to `cwd`) open for writing: the first such path
 * as an IoError (code EBUSY) naming the processes. Asked after one's own opens, so two writers started
 * together both see the other.
 */
export async function otherWriters(paths: readonly string[], cwd: string, proc = '/proc'): Promise<true | IoError> {
  const holders = await Promise.all(paths.map((p) => writersOf(resolve(cwd, p), proc)));
  const busy = paths.findIndex((_, i) => holders[i]!.length > 0);
  if (busy < 0) return true;
  const by = holders[busy]!.map((h) => `process ${h.pid} (${h.command})`).join(', ');
  return ioError(paths[busy]!, 'EBUSY', `it is open for writing by ${by}`);
}

/**
 * Whether a disk holds anything but zeros in its first or last MiB (a partition table, a filesystem, RAID
 * metadata at its end); EBUSY in DISK_IN_USE's words when another claims it (asked first: a disk that will
 * not be written anyway needs no question), or the error that kept it from being read.
 */
export async function holdsData(path: string): Promise<boolean | IoError> {
  const claimed = await claimBlockDevice(path, path, DISK_IN_USE);
  if (isIoError(claimed)) return claimed;
  if (claimed !== true) await claimed.close();
  const disk = await openDevice(path);
  if (isIoError(disk)) return disk;
  try {
    const size = disk.sizeSectors * SECTOR;
    const span = Math.min(1 << 20, size);
    for (const at of new Set([0, size - span])) {
      const bytes = await disk.read(at, span);
      if (isIoError(bytes)) return bytes;
      if (!isZero(bytes)) return true;
    }
    return false;
  } finally {
    await disk.close();
  }
}

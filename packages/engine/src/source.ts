/**
 * What the engine reads and writes: a run of 512-byte sectors. Member files, member devices and mapped
 * devices (tables) all present this one interface, so tables nest as they do in the kernel.
 */
import { closeSync, constants, fdatasync as fdatasyncCb, fstatSync, openSync, readSync, readvSync, statSync, writeSync } from 'node:fs';
import { promisify } from 'node:util';
import { fromNodeError, ioError, isIoError, type BlockDevice, type IoError, type WritableDevice } from '@dmraid/core';
import { skewed } from './pool.js';
import { FileMap, readFileMap, type Extent } from './extents.js';

export const SECTOR = 512;

const fdatasync = promisify(fdatasyncCb);

export interface Source {
  /** Name in messages: a member path or /dev/mapper/<name>. */
  readonly name: string;
  readonly sizeSectors: number;
  read(sector: number, count: number): Promise<Uint8Array | IoError>;
  write(sector: number, data: Uint8Array): Promise<true | IoError>;
  /**
   * Read `out.length` bytes at `sector` into `out` (optional): large copies then need no fresh buffers,
   * whose page faults cost more than the copy itself.
   */
  readInto?(sector: number, out: Uint8Array): Promise<true | IoError>;
  /** Read consecutive sectors from `sector` into several buffers in turn (preadv; optional). */
  readvInto?(sector: number, outs: readonly Uint8Array[]): Promise<true | IoError>;
  /**
   * Make every write that completed durable (fdatasync of the files and devices beneath; optional: a
   * source without it keeps nothing that a flush could lose, as memory and read-only sources).
   */
  flush?(): Promise<true | IoError>;
  /**
   * Allocation of [sector, sector+count): runs covering it exactly, in order, adjacent runs of a kind merged
   * (optional: a source without it is all data). A run is `zero` only where a read gives zeros.
   */
  extents?(sector: number, count: number): readonly Extent[];
}

/**
 * Learn a member's allocation now: an image file's map is one filefrag run, made at the first question and
 * kept for the source's life; asking for one sector makes it without building any volume's runs.
 */
export const learnAllocation = (source: Source): void => void source.extents?.(0, 1);

/** `extents` for any Source: its own, or all data. */
export const extentsOf = (source: Source, sector: number, count: number): readonly Extent[] =>
  source.extents ? source.extents(sector, count) : count > 0 ? [{ sectors: count, zero: false }] : [];

/** `flush` for any Source: its own, or nothing to do for one without (memory, read-only). */
export const flushOf = async (source: Source): Promise<true | IoError> => (await source.flush?.()) ?? true;

/** `readInto` for any Source: its own, or a read and a copy. */
export async function readInto(source: Source, sector: number, out: Uint8Array): Promise<true | IoError> {
  if (source.readInto) return source.readInto(sector, out);
  const r = await source.read(sector, out.length / SECTOR);
  if (isIoError(r)) return r;
  out.set(r);
  return true;
}

/** pwrite(2) all of `data` at byte `position`: a write may return short, so the rest follows it. Throws as writeSync does. */
export function pwriteAll(fd: number, data: Uint8Array, position: number): void {
  for (let done = 0; done < data.length; ) done += writeSync(fd, data, done, data.length - done, position + done);
}

/**
 * A member image file or block device opened by path, read with pread(2) straight into the caller's
 * buffer (page-cache reads of image files are microseconds: synchronous, as discovery reads them).
 * A block device opened writable is claimed exclusively (O_EXCL), as the kernel's own users claim theirs:
 * one that is mounted, held by device-mapper or md, or written by another such open throws EBUSY.
 */
export function fileSource(path: string, sizeSectors: number, writable = false): Source & { close(): void } {
  const fd = openSync(path, writable ? constants.O_RDWR | (statSync(path).isBlockDevice() ? constants.O_EXCL : 0) : constants.O_RDONLY);
  // Learnt at the first question (serving, extracting), not at open: discovery never asks. A block device
  // is all data (its holes, a thin volume's, are not ours to see).
  let map: FileMap | undefined;
  const fileMap = (): FileMap => {
    if (map) return map;
    const st = fstatSync(fd);
    map = st.isFile() ? readFileMap(path, sizeSectors, st.blocks).map : FileMap.dense(sizeSectors);
    return map;
  };
  const inRange = (s: number, n: number) => Number.isInteger(s) && Number.isInteger(n) && s >= 0 && n >= 0 && s + n <= sizeSectors;
  const fail = (e: unknown) => fromNodeError(path, e);
  const readIntoFile = async (sector: number, out: Uint8Array): Promise<true | IoError> => {
    if (!inRange(sector, out.length / SECTOR)) return ioError(path, 'EINVAL');
    try {
      let done = 0;
      while (done < out.length) {
        const n = readSync(fd, out, done, out.length - done, sector * SECTOR + done);
        if (n === 0) return ioError(path, 'EINVAL');
        done += n;
      }
      return true;
    } catch (e) {
      return fail(e);
    }
  };
  const readvIntoFile = async (sector: number, outs: readonly Uint8Array[]): Promise<true | IoError> => {
    const bytes = outs.reduce((n, o) => n + o.length, 0);
    if (!inRange(sector, bytes / SECTOR)) return ioError(path, 'EINVAL');
    try {
      const n = readvSync(fd, outs as Uint8Array[], sector * SECTOR);
      if (n === bytes) return true;
    } catch (e) {
      return fail(e);
    }
    // A short read (rare): finish piece by piece.
    let at = sector;
    for (const o of outs) {
      const r = await readIntoFile(at, o);
      if (r !== true) return r;
      at += o.length / SECTOR;
    }
    return true;
  };
  return {
    name: path,
    sizeSectors,
    readInto: readIntoFile,
    readvInto: readvIntoFile,
    async read(sector, count) {
      const out = skewed(count * SECTOR);
      const r = await readIntoFile(sector, out);
      return r === true ? out : r;
    },
    async write(sector, data) {
      if (!writable) return ioError(path, 'EROFS');
      if (!inRange(sector, data.length / SECTOR)) return ioError(path, 'EINVAL');
      try {
        pwriteAll(fd, data, sector * SECTOR);
        map?.markData(sector, data.length / SECTOR);
        return true;
      } catch (e) {
        return fail(e);
      }
    },
    ...(writable
      ? {
          flush: async () => {
            try {
              await fdatasync(fd);
              return true as const;
            } catch (e) {
              return fail(e);
            }
          },
        }
      : {}),
    extents: (sector, count) => fileMap().extents(sector, count),
    close: () => closeSync(fd),
  };
}

export { fromNodeError, ioError, isIoError, type IoError };

const isWritable = (d: BlockDevice): d is WritableDevice => typeof (d as Partial<WritableDevice>).write === 'function';

/** A member device or image file as a Source; writes only through a writable open. */
export function deviceSource(device: BlockDevice, writable = false): Source {
  return {
    name: device.path,
    sizeSectors: device.sizeSectors,
    read: (sector, count) => device.read(sector * SECTOR, count * SECTOR),
    write: async (sector, data) => {
      if (!writable || !isWritable(device)) return ioError(device.path, 'EROFS');
      return device.write(sector * SECTOR, data);
    },
    ...(writable && isWritable(device) ? { flush: () => device.sync() } : {}),
  };
}

/** A Source held in memory (tests, the naive model); `holes` gives it an allocation map (tests). */
export function memorySource(name: string, bytes: Uint8Array, holes?: FileMap): Source {
  const sizeSectors = Math.floor(bytes.length / SECTOR);
  const inRange = (s: number, n: number) => Number.isInteger(s) && Number.isInteger(n) && s >= 0 && n >= 0 && s + n <= sizeSectors;
  return {
    name,
    sizeSectors,
    read: async (sector, count) => (inRange(sector, count) ? bytes.slice(sector * SECTOR, (sector + count) * SECTOR) : ioError(name, 'EINVAL')),
    readInto: async (sector, out) => {
      if (!inRange(sector, out.length / SECTOR)) return ioError(name, 'EINVAL');
      out.set(bytes.subarray(sector * SECTOR, sector * SECTOR + out.length));
      return true;
    },
    write: async (sector, data) => {
      if (!inRange(sector, data.length / SECTOR)) return ioError(name, 'EINVAL');
      bytes.set(data, sector * SECTOR);
      holes?.markData(sector, data.length / SECTOR);
      return true;
    },
    ...(holes ? { extents: (sector: number, count: number) => holes.extents(sector, count) } : {}),
  };
}

/** XOR `src` into `dst` (same length): parity arithmetic, 32 bits at a time where aligned. */
export function xorInto(dst: Uint8Array, src: Uint8Array): void {
  const n = dst.length;
  if (dst.byteOffset % 4 === 0 && src.byteOffset % 4 === 0) {
    const words = n >>> 2;
    const d32 = new Uint32Array(dst.buffer, dst.byteOffset, words);
    const s32 = new Uint32Array(src.buffer, src.byteOffset, words);
    // Eight words a turn: 1.6-1.8 times the speed of one a turn here (the degraded RAID5 read's XOR).
    let i = 0;
    for (; i + 8 <= words; i += 8) {
      d32[i]! ^= s32[i]!;
      d32[i + 1]! ^= s32[i + 1]!;
      d32[i + 2]! ^= s32[i + 2]!;
      d32[i + 3]! ^= s32[i + 3]!;
      d32[i + 4]! ^= s32[i + 4]!;
      d32[i + 5]! ^= s32[i + 5]!;
      d32[i + 6]! ^= s32[i + 6]!;
      d32[i + 7]! ^= s32[i + 7]!;
    }
    for (; i < words; i++) d32[i]! ^= s32[i]!;
    for (let b = words << 2; b < n; b++) dst[b]! ^= src[b]!;
    return;
  }
  for (let i = 0; i < n; i++) dst[i]! ^= src[i]!;
}

const ZEROS = new Uint8Array(1 << 20);

/** True when every byte is zero (memcmp against a zero block, megabyte by megabyte). */
export function isZero(b: Uint8Array): boolean {
  for (let at = 0; at < b.length; at += ZEROS.length) {
    const part = b.subarray(at, Math.min(b.length, at + ZEROS.length));
    if (Buffer.compare(Buffer.from(part.buffer, part.byteOffset, part.length), Buffer.from(ZEROS.buffer, 0, part.length)) !== 0) return false;
  }
  return true;
}

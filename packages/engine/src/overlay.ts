/**
 * A copy-on-write overlay over a volume: writes go to the overlay, reads take the overlay's bytes where a
 * chunk was written and the origin's elsewhere, the origin is never written. The overlay is kept in the
 * kernel's persistent snapshot exception store (dm-snap-persistent.c, the `P` of a `snapshot` table), so a
 * loop device over the same file is the COW device of `dmsetup create X --table "0 LEN snapshot ORIGIN COW P
 * CHUNK"`, and the kernel sees the volume the engine served:
 *
 *   chunk 0           header (magic 'SnAp', valid, version 1, chunk size in sectors); ours at byte 512:
 *                     the volume it was made for (set name, size), which the kernel does not read
 *   chunk 1           metadata area 0: `chunk*512/16` exceptions {old_chunk u64le, new_chunk u64le}, ended
 *                     by the first new_chunk 0; area i sits at chunk 1 + i*(exceptions per area + 1)
 *   other chunks      the data of the written chunks, allocated in order past the areas
 *
 * Crash safety as the kernel's: a chunk's data is written (and made durable) before the exception that
 * points at it, so a crash loses at most the writes in flight, never bytes of the origin.
 */
import { closeSync, constants, fdatasyncSync, fstatSync, ftruncateSync, openSync, readSync } from 'node:fs';
import { bytes, cString, struct, toBytes, u16le, u32le, u64le, exactNumber } from '@dmraid/core';
import { fromNodeError, ioError, isIoError, pwriteAll, readInto, SECTOR, type IoError, type Source } from './source.js';

/** dm-snap-persistent.c's struct disk_header. */
export const SNAPSHOT_HEADER = struct(
  { magic: u32le.at(0x00), valid: u32le.at(0x04), version: u32le.at(0x08), chunk_size: u32le.at(0x0c) },
  { size: 16, name: 'disk_header' },
);
/** dm-snap-persistent.c's struct disk_exception: origin chunk → COW chunk. */
export const SNAPSHOT_EXCEPTION = struct({ old_chunk: u64le.at(0x00), new_chunk: u64le.at(0x08) }, { size: 16, name: 'disk_exception' });
/** Ours, at byte 512 of chunk 0: the volume the overlay belongs to. */
export const OVERLAY_IDENTITY = struct(
  { magic: bytes(8).at(0x00), version: u32le.at(0x08), size_sectors: u64le.at(0x10), name_length: u16le.at(0x18), name: bytes(256).at(0x20) },
  { size: 0x120, name: 'overlay_identity' },
);

export const SNAP_MAGIC = 0x70416e53;
const SNAP_VERSION = 1;
const IDENTITY_AT = 512;
const IDENTITY_MAGIC = toBytes('DMRAIDOV', 8);
/** 64 KiB: a partial write copies at most this much, and the map costs 4 bytes per 64 KiB of volume at most. */
export const DEFAULT_OVERLAY_CHUNK = 128;
/** The map's pages: entries of a page are allocated when the first chunk in it is written. */
const PAGE = 4096;

export interface OverlayIdentity {
  readonly name: string;
  readonly sizeSectors: number;
}

export interface OverlayOptions {
  /** Chunk size in sectors (a power of two, 8-1024) for a new overlay; an existing one keeps its own. */
  readonly chunk?: number;
  /** The volume the overlay is for: stored in a new overlay, compared with an existing one's. */
  readonly identity?: OverlayIdentity;
  /** Make a new overlay when the store is empty (all zero, as a new file or a fresh COW device). */
  readonly create?: boolean;
  /** Writes allowed (they go to the store); otherwise the overlay is only read. */
  readonly writable?: boolean;
}

export interface Overlay extends Source {
  readonly chunk: number;
  /** Origin chunks that the overlay holds. */
  readonly exceptions: number;
  /** Bytes the in-memory map takes (bounded by 4 bytes per chunk of the volume, whatever is written). */
  mapBytes(): number;
}

/** Why an overlay cannot be used: its store's path and the words for it. */
export interface OverlayError {
  readonly kind: 'overlay';
  readonly path: string;
  readonly message: string;
}

export const isOverlayError = (x: unknown): x is OverlayError =>
  typeof x === 'object' && x !== null && (x as { kind?: unknown }).kind === 'overlay';

/** The chunk's location in the store of the k-th data chunk allocated (0-based): past header and areas. */
const areaLocation = (area: number, perArea: number) => 1 + area * (perArea + 1);

/**
 * Open the overlay kept in `store` over `origin`. A store that holds no overlay yet is made one when
 * `create` is set; one made for another volume (name or size) or damaged is refused.
 */
export async function openOverlay(origin: Source, store: Source, options: OverlayOptions = {}): Promise<Overlay | OverlayError> {
  const fail = (message: string): OverlayError => ({ kind: 'overlay', path: store.name, message });
  const first = await store.read(0, 2);
  if (isIoError(first)) return fail(first.message);
  let header = SNAPSHOT_HEADER.decodeFrom(first);
  const writable = options.writable ?? false;
  let chunk: number;
  if (header.magic === 0) {
    if (!options.create) return fail('holds no overlay (no snapshot header)');
    if (!writable) return fail('holds no overlay and is not to be written');
    chunk = options.chunk ?? DEFAULT_OVERLAY_CHUNK;
    if (!validChunk(chunk)) return fail(`chunk size ${chunk} is not a power of two of 8-1024 sectors`);
    const made = await create(store, chunk, options.identity ?? { name: '', sizeSectors: origin.sizeSectors });
    if (made !== true) return fail(made.message);
    header = { ...header, magic: SNAP_MAGIC, valid: 1, version: SNAP_VERSION, chunk_size: chunk };
  } else {
    if (header.magic !== SNAP_MAGIC) return fail('is no overlay (no snapshot header)');
    if (header.version !== SNAP_VERSION) return fail(`snapshot store version ${header.version} (only ${SNAP_VERSION} is known)`);
    // The kernel clears `valid` when the store overflowed or failed: its exceptions are not to be trusted.
    if (header.valid !== 1) return fail('was marked invalid (the kernel drops a snapshot that overflowed or failed)');
    chunk = header.chunk_size;
    if (!validChunk(chunk)) return fail(`chunk size ${chunk} in its header is not a power of two of 8-1024 sectors`);
    const id = OVERLAY_IDENTITY.decodeFrom(first, IDENTITY_AT);
    if (cString(id.magic) === 'DMRAIDOV') {
      const name = new TextDecoder().decode(id.name.subarray(0, Math.min(id.name_length, id.name.length)));
      const size = exactNumber(id.size_sectors);
      const want = options.identity;
      if (want && want.name !== '' && name !== want.name) return fail(`was made for RAID set "${name}", not "${want.name}"`);
      if (size !== origin.sizeSectors) return fail(`was made for a volume of ${String(id.size_sectors)} sectors, this one has ${origin.sizeSectors}`);
    }
  }
  const perArea = (chunk * SECTOR) / SNAPSHOT_EXCEPTION.size;
  const chunks = Math.ceil(origin.sizeSectors / chunk);
  const map = new ChunkMap(chunks);
  // Read every area up to the first that is not full (as the kernel's read_exceptions).
  let area = 0;
  let committed = 0;
  let nextFree = 2;
  const areaBuf = new Uint8Array(chunk * SECTOR);
  for (;;) {
    const r = await readInto(store, areaLocation(area, perArea) * chunk, areaBuf);
    // A store cut short past its last area (a file that was never grown) reads as an empty area.
    if (isIoError(r)) {
      if (r.code !== 'EINVAL') return fail(r.message);
      areaBuf.fill(0);
    }
    let full = true;
    for (let i = 0; i < perArea; i++) {
      const e = SNAPSHOT_EXCEPTION.decodeFrom(areaBuf, i * SNAPSHOT_EXCEPTION.size);
      if (e.new_chunk === 0n) {
        committed = i;
        full = false;
        break;
      }
      const from = exactNumber(e.old_chunk);
      const to = exactNumber(e.new_chunk);
      if (from === undefined || from >= chunks || to === undefined || to < 2 || (to - 1) % (perArea + 1) === 0 || to >= 2 ** 32 - 1) {
        return fail(`exception ${i} of area ${area} maps chunk ${String(e.old_chunk)} to ${String(e.new_chunk)}: not a chunk of this volume and store`);
      }
      map.set(from, to);
      nextFree = Math.max(nextFree, to + 1);
    }
    if (!full) break;
    area++;
  }
  if ((nextFree - 1) % (perArea + 1) === 0) nextFree++;
  // The exceptions of the current area, written out whole with each one added.
  const current = areaBuf.slice();
  let count = map.count;
  const sizeSectors = origin.sizeSectors;
  const inRange = (s: number, n: number) => Number.isInteger(s) && Number.isInteger(n) && s >= 0 && n >= 0 && s + n <= sizeSectors;
  // Writes one at a time: two writes into one new chunk must not both allocate it.
  let queue: Promise<unknown> = Promise.resolve();

  /** Read [sector, sector+out/512) into `out`, run by run of origin chunks and overlay chunks. */
  const readOverlay = async (sector: number, out: Uint8Array): Promise<true | IoError> => {
    const count = out.length / SECTOR;
    if (!inRange(sector, count)) return ioError(store.name, 'EINVAL');
    let at = sector;
    const end = sector + count;
    while (at < end) {
      const c = Math.floor(at / chunk);
      const to = map.get(c);
      // Extend the run while the next chunks lie the same way (origin, or consecutive overlay chunks).
      let runEnd = Math.min(end, (c + 1) * chunk);
      for (let n = c + 1; runEnd < end; n++) {
        const next = map.get(n);
        if (to === 0 ? next !== 0 : next !== to + (n - c)) break;
        runEnd = Math.min(end, (n + 1) * chunk);
      }
      const part = out.subarray((at - sector) * SECTOR, (runEnd - sector) * SECTOR);
      const r = to === 0 ? await readInto(origin, at, part) : await readInto(store, to * chunk + (at - c * chunk), part);
      if (r !== true) return r;
      at = runEnd;
    }
    return true;
  };

  const writeOverlay = async (sector: number, data: Uint8Array): Promise<true | IoError> => {
    const n = data.length / SECTOR;
    if (!writable) return ioError(store.name, 'EROFS');
    if (!inRange(sector, n)) return ioError(store.name, 'EINVAL');
    const fresh: { from: number; to: number }[] = [];
    let at = sector;
    const end = sector + n;
    while (at < end) {
      const c = Math.floor(at / chunk);
      const chunkStart = c * chunk;
      const pieceEnd = Math.min(end, chunkStart + chunk);
      const piece = data.subarray((at - sector) * SECTOR, (pieceEnd - sector) * SECTOR);
      let to = map.get(c);
      if (to !== 0) {
        const r = await store.write(to * chunk + (at - chunkStart), piece);
        if (r !== true) return r;
      } else {
        // Copy on write: the chunk as the origin has it, the new bytes over it, into a chunk of its own.
        const whole = new Uint8Array(chunk * SECTOR);
        const originEnd = Math.min(chunkStart + chunk, sizeSectors);
        if (at > chunkStart || pieceEnd < originEnd) {
          const r = await readInto(origin, chunkStart, whole.subarray(0, (originEnd - chunkStart) * SECTOR));
          if (r !== true) return r;
        }
        whole.set(piece, (at - chunkStart) * SECTOR);
        to = nextFree++;
        if ((nextFree - 1) % (perArea + 1) === 0) nextFree++;
        const r = await store.write(to * chunk, whole);
        if (r !== true) return r;
        fresh.push({ from: c, to });
      }
      at = pieceEnd;
    }
    if (fresh.length === 0) return true;
    // The data is durable before any exception names it: a crash then keeps the origin's bytes, never a
    // chunk of the store that was not written.
    const synced = await flushStore(store);
    if (synced !== true) return synced;
    let dirty = false;
    for (const e of fresh) {
      SNAPSHOT_EXCEPTION.encode(new DataView(current.buffer), committed * SNAPSHOT_EXCEPTION.size, { old_chunk: BigInt(e.from), new_chunk: BigInt(e.to) }, 'le');
      committed++;
      dirty = true;
      map.set(e.from, e.to);
      count++;
      if (committed === perArea) {
        const r = await store.write(areaLocation(area, perArea) * chunk, current);
        if (r !== true) return r;
        // A full area: the next one starts empty (zeroed on disk, as the kernel zeroes it).
        area++;
        committed = 0;
        current.fill(0);
        const z = await store.write(areaLocation(area, perArea) * chunk, current);
        if (z !== true) return z;
        dirty = false;
      }
    }
    if (dirty) {
      const r = await store.write(areaLocation(area, perArea) * chunk, current);
      if (r !== true) return r;
    }
    return true;
  };

  return {
    name: store.name,
    sizeSectors,
    chunk,
    get exceptions() {
      return count;
    },
    mapBytes: () => map.bytes(),
    readInto: readOverlay,
    async read(sector, n) {
      const out = new Uint8Array(n * SECTOR);
      const r = await readOverlay(sector, out);
      return r === true ? out : r;
    },
    write(sector, data) {
      const done = queue.then(() => writeOverlay(sector, data));
      queue = done.catch(() => undefined);
      return done;
    },
    ...(writable ? { flush: () => queue.then(() => flushStore(store)) } : {}),
  };
}

const validChunk = (c: number) => Number.isInteger(c) && c >= 8 && c <= 1024 && (c & (c - 1)) === 0;
const flushStore = async (store: Source): Promise<true | IoError> => (await store.flush?.()) ?? true;

async function create(store: Source, chunk: number, identity: OverlayIdentity): Promise<true | IoError> {
  const head = new Uint8Array(chunk * SECTOR);
  const name = new TextEncoder().encode(identity.name);
  if (name.length > 256) return ioError(store.name, 'ENAMETOOLONG');
  const id = OVERLAY_IDENTITY.zero();
  const nameField = new Uint8Array(256);
  nameField.set(name);
  Object.assign(id, { magic: IDENTITY_MAGIC, version: 1, size_sectors: BigInt(identity.sizeSectors), name_length: name.length, name: nameField });
  head.set(OVERLAY_IDENTITY.encodeToBytes(id), IDENTITY_AT);
  // Area 0 empty first, the header last (dm-snap-persistent's order): a half-made store has no header.
  const area = await store.write(chunk, new Uint8Array(chunk * SECTOR));
  if (area !== true) return area;
  const body = await store.write(0, head);
  if (body !== true) return body;
  const synced = await flushStore(store);
  if (synced !== true) return synced;
  const hdr = SNAPSHOT_HEADER.encodeToBytes({ magic: SNAP_MAGIC, valid: 1, version: SNAP_VERSION, chunk_size: chunk });
  const withHeader = head.slice(0, SECTOR);
  withHeader.set(hdr, 0);
  const r = await store.write(0, withHeader);
  if (r !== true) return r;
  return flushStore(store);
}

/**
 * Origin chunk → store chunk, 0 for none: a Uint32Array per page of PAGE chunks, made on the first write
 * into it, so memory follows what was written and never exceeds 4 bytes per chunk of the volume.
 */
class ChunkMap {
  private readonly pages: (Uint32Array | undefined)[];
  count = 0;
  constructor(chunks: number) {
    this.pages = new Array<Uint32Array | undefined>(Math.ceil(chunks / PAGE));
  }
  get(c: number): number {
    return this.pages[Math.floor(c / PAGE)]?.[c % PAGE] ?? 0;
  }
  set(c: number, to: number): void {
    const p = Math.floor(c / PAGE);
    const page = (this.pages[p] ??= new Uint32Array(PAGE));
    if (page[c % PAGE] === 0) this.count++;
    page[c % PAGE] = to;
  }
  bytes(): number {
    return this.pages.reduce((n, p) => n + (p ? p.byteLength : 0), this.pages.length * 8);
  }
}

/**
 * An overlay file by path as a store: opened read-write (created, sparse, when missing and `create`) or
 * read-only, with no end (writes grow it). Its size is kept at what the kernel needs to take it as a COW
 * device for the whole volume (a loop device is the file's size), as a hole.
 */
export function overlayFile(path: string, options: { create: boolean; writable: boolean; volumeSectors: number }): (Source & { close(): void }) | IoError {
  let fd: number;
  try {
    fd = openSync(path, options.writable ? constants.O_RDWR | (options.create ? constants.O_CREAT : 0) : constants.O_RDONLY, 0o600);
  } catch (e) {
    return fromNodeError(path, e);
  }
  const fail = (e: unknown) => fromNodeError(path, e);
  const readIntoFile = async (sector: number, out: Uint8Array): Promise<true | IoError> => {
    try {
      let done = 0;
      while (done < out.length) {
        const n = readSync(fd, out, done, out.length - done, sector * SECTOR + done);
        // Past the end of the file: the hole it is once grown.
        if (n === 0) {
          out.fill(0, done);
          break;
        }
        done += n;
      }
      return true;
    } catch (e) {
      return fail(e);
    }
  };
  return {
    name: path,
    sizeSectors: Number.MAX_SAFE_INTEGER,
    readInto: readIntoFile,
    async read(sector, count) {
      const out = new Uint8Array(count * SECTOR);
      const r = await readIntoFile(sector, out);
      return r === true ? out : r;
    },
    async write(sector, data) {
      if (!options.writable) return ioError(path, 'EROFS');
      try {
        pwriteAll(fd, data, sector * SECTOR);
        return true;
      } catch (e) {
        return fail(e);
      }
    },
    async flush() {
      if (!options.writable) return true;
      try {
        // A file only: a disk or partition as the store has the size it has.
        const st = fstatSync(fd);
        const want = cowSectors(options.volumeSectors) * SECTOR;
        if (st.isFile() && st.size < want) ftruncateSync(fd, want);
        fdatasyncSync(fd);
        return true;
      } catch (e) {
        return fail(e);
      }
    },
    close: () => closeSync(fd),
  };
}

/**
 * A size for the COW device that holds every chunk of a volume whatever the chunk size (8-1024 sectors):
 * the data, one metadata area per 256 sectors at the smallest chunk, header, first area and the last
 * chunk's rounding at the largest.
 */
export function cowSectors(volumeSectors: number): number {
  return volumeSectors + Math.ceil(volumeSectors / 256) + 4 * 1024;
}

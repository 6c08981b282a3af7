/**
 * Device access: image files and Linux block devices behind one interface. Reads never throw: an I/O
 * problem comes back as an IoError value naming the device. Writes exist only on an explicitly writable open.
 */
import { close, closeSync, constants, existsSync, fstat, fsync, openSync, promises as fs, read, readSync, statSync, write, type BigIntStats } from 'node:fs';
import { promisify } from 'node:util';
import { basename, dirname, resolve } from 'node:path';
import type { DeviceInfo } from '../model/raid.js';

export const SECTOR = 512;

export interface IoError {
  readonly kind: 'io';
  readonly path: string;
  /** errno name: ENOENT, EINVAL, EIO, ... */
  readonly code: string;
  /** strerror text as C prints it: "Invalid argument". */
  readonly message: string;
}

export const isIoError = (x: unknown): x is IoError =>
  typeof x === 'object' && x !== null && (x as { kind?: unknown }).kind === 'io';

const STRERROR: Record<string, string> = {
  ENOENT: 'No such file or directory',
  EINVAL: 'Invalid argument',
  EIO: 'Input/output error',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  EISDIR: 'Is a directory',
  ENXIO: 'No such device or address',
  EROFS: 'Read-only file system',
  ENOSPC: 'No space left on device',
  EBUSY: 'Device or resource busy',
  EBADF: 'Bad file descriptor',
  EEXIST: 'File exists',
  ENOTDIR: 'Not a directory',
  EFBIG: 'File too large',
  EDQUOT: 'Disk quota exceeded',
  ENODEV: 'No such device',
  EMFILE: 'Too many open files',
  EAGAIN: 'Resource temporarily unavailable',
  EADDRINUSE: 'Address already in use',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  ENAMETOOLONG: 'File name too long',
  ELOOP: 'Too many levels of symbolic links',
};

export function ioError(path: string, code: string, message?: string): IoError {
  return { kind: 'io', path, code, message: message ?? STRERROR[code] ?? code };
}

/**
 * An IoError from what a Node call threw: the strerror text for the errno (`No space left on device`), not
 * Node's `ENOSPC: no space left on device, write`; for an errno the table lacks, Node's description.
 */
export function fromNodeError(path: string, e: unknown): IoError {
  const code = (e as NodeJS.ErrnoException)?.code ?? 'EIO';
  if (STRERROR[code]) return ioError(path, code);
  const text = String((e as Error)?.message ?? code)
    .replace(/^[A-Z][A-Z0-9_]*: /, '')
    .replace(/, [a-z_]+( '[^']*')?( -> '[^']*')?$/, '');
  return ioError(path, code, text.charAt(0).toUpperCase() + text.slice(1));
}

/** A readable device: what every format handler reads from. */
export interface BlockDevice extends DeviceInfo {
  /** Logical sector size in bytes (512 for images unless given). */
  readonly sectorSize: number;
  /** True for a Linux block device, false for an image file. */
  readonly isBlockDevice: boolean;
  /** Read `length` bytes at `byteOffset`; a read past the end or an error is an IoError. */
  read(byteOffset: number, length: number): Promise<Uint8Array | IoError>;
  close(): Promise<void>;
}

export interface WritableDevice extends BlockDevice {
  write(byteOffset: number, data: Uint8Array): Promise<true | IoError>;
  sync(): Promise<true | IoError>;
}

/**
 * The entries of a `--devices` list: split at each comma that no backslash escapes (`a\,b.img` is one
 * entry); the escapes are kept for `parseDeviceSpec`.
 */
export function splitDeviceList(list: string): string[] {
  const out: string[] = [];
  let entry = '';
  for (let i = 0; i < list.length; i++) {
    const c = list[i]!;
    if (c === '\\' && i + 1 < list.length) entry += c + list[++i];
    else if (c === ',') {
      out.push(entry);
      entry = '';
    } else entry += c;
  }
  out.push(entry);
  return out.filter(Boolean);
}

/**
 * `PATH[:SERIAL]`: the serial is everything after the first colon no backslash escapes, unless the whole
 * text is a path (as before escapes were read). A backslash makes the next character literal, so a path
 * with a colon or a comma is `c\:d.img` or `a\,b.img`, with a serial `c\:d.img:WD-123`.
 */
export async function parseDeviceSpec(spec: string, cwd?: string): Promise<{ path: string; serial?: string }> {
  if (!/[:\\]/.test(spec)) return { path: spec };
  // A stat of the page cache, synchronous as the opens are (fs.promises would load ~1 ms of Node's modules).
  if (existsSync(cwd ? resolve(cwd, spec) : spec)) return { path: spec };
  let path = '';
  let serial: string | undefined;
  for (let i = 0; i < spec.length; i++) {
    let c = spec[i]!;
    if (c === '\\' && i + 1 < spec.length) c = spec[++i]!;
    else if (c === ':' && serial === undefined) {
      serial = '';
      continue;
    }
    if (serial === undefined) path += c;
    else serial += c;
  }
  return serial === undefined ? { path } : { path, serial: serial.replace(/\s+/g, '') };
}

/**
 * A read that takes longer than this came from the disk, not the page cache (which answers in microseconds):
 * the device's reads go through the thread pool from then on.
 */
export const SLOW_READ_MS = 4;

/**
 * How much of a block device's end is read when it is opened: the kernel drops a block device's page cache on its
 * last close, so each run reads every disk cold, 20-30 small reads a disk, one cold request after another (~90 µs
 * each through the loop driver). One read of the end instead, on the thread pool while the other disks are opened
 * and probed, fills the cache that the handlers' reads then hit. 528 KiB take in pdc's search (N-63 ... N-991)
 * and every read nearer the end (tools/bench/blockreads.mjs); the two farther out (N-1537, isw's fallback probe at
 * N-2115, formats.md §8) stay cold reads of their own: a window that takes them in too (1,060 KiB) cost the same
 * wall clock and 0.4-1.0 ms more CPU a disk (docs/benchmarks.md).
 */
export const READ_AHEAD_BYTES = 1056 * SECTOR;

const readAsync = promisify(read);

/**
 * The read-ahead lanes: as many reads at once as the thread pool has threads (libuv's default 4), each lane with
 * one buffer that its reads overwrite (the data is wanted in the page cache, not here): 52 disks cost 4 buffers.
 */
const lanes = Array.from({ length: 4 }, () => ({ queue: Promise.resolve() as Promise<unknown>, buffer: undefined as Uint8Array | undefined }));
let nextLane = 0;

/** Read the last READ_AHEAD_BYTES of `fd` (4 KiB aligned, at most the whole device) into the page cache. */
function readAhead(fd: number, sizeBytes: number): Promise<unknown> {
  const lane = lanes[nextLane++ % lanes.length]!;
  const start = Math.max(0, Math.floor((sizeBytes - READ_AHEAD_BYTES) / 4096) * 4096);
  const length = sizeBytes - start;
  // Errors are the handlers' to meet and report on their own reads.
  lane.queue = lane.queue.then(() => {
    lane.buffer ??= new Uint8Array(READ_AHEAD_BYTES + 4096);
    return readAsync(fd, lane.buffer, 0, length, start).catch(() => undefined);
  });
  return lane.queue;
}

const writeAsync = promisify(write);
const fsyncAsync = promisify(fsync);
const closeAsync = promisify(close);

class FileDevice implements WritableDevice {
  /**
   * Whether reads are synchronous. Image files: always (the page cache costs microseconds, a thread-pool round
   * trip tens: discovery of 1,000 images makes 25,000 small reads). Block devices: until one read is slow, so
   * that discovery pays for disk latency at most once per device while slow disks are read in parallel.
   */
  private synchronous = true;
  /** The read-ahead of a block device's end while it runs: reads wait for it, close too (it uses the descriptor). */
  private ahead: Promise<unknown> | undefined;

  constructor(
    readonly path: string,
    readonly serial: string | undefined,
    readonly sizeSectors: number,
    readonly sectorSize: number,
    readonly isBlockDevice: boolean,
    private readonly fd: number,
    private readonly sizeBytes: number,
    private readonly slowReadMs: number,
  ) {
    // The monitor's reads (slowReadMs 0) go through the thread pool from the first, and read no ahead: a hung
    // disk would hold up the other disks of its lane.
    if (isBlockDevice && slowReadMs <= 0) this.synchronous = false;
    else if (isBlockDevice) {
      const ahead = readAhead(fd, sizeBytes).finally(() => {
        if (this.ahead === ahead) this.ahead = undefined;
      });
      this.ahead = ahead;
    }
  }

  async read(byteOffset: number, length: number): Promise<Uint8Array | IoError> {
    if (byteOffset < 0 || byteOffset + length > this.sizeBytes) return ioError(this.path, 'EINVAL');
    if (this.ahead) await this.ahead;
    const buf = new Uint8Array(length);
    let done = 0;
    try {
      while (done < length) {
        let bytesRead: number;
        if (this.synchronous) {
          const t0 = this.isBlockDevice ? performance.now() : 0;
          bytesRead = readSync(this.fd, buf, done, length - done, byteOffset + done);
          if (this.isBlockDevice && performance.now() - t0 >= this.slowReadMs) this.synchronous = false;
        } else bytesRead = (await readAsync(this.fd, buf, done, length - done, byteOffset + done)).bytesRead;
        if (bytesRead === 0) return ioError(this.path, 'EINVAL');
        done += bytesRead;
      }
    } catch (e) {
      return fromNodeError(this.path, e);
    }
    return buf;
  }

  async write(byteOffset: number, data: Uint8Array): Promise<true | IoError> {
    if (byteOffset < 0 || byteOffset + data.length > this.sizeBytes) return ioError(this.path, 'EINVAL');
    try {
      let done = 0;
      while (done < data.length) {
        const { bytesWritten } = await writeAsync(this.fd, data, done, data.length - done, byteOffset + done);
        done += bytesWritten;
      }
      return true;
    } catch (e) {
      return fromNodeError(this.path, e);
    }
  }

  async sync(): Promise<true | IoError> {
    try {
      await fsyncAsync(this.fd);
      return true;
    } catch (e) {
      return fromNodeError(this.path, e);
    }
  }

  async close(): Promise<void> {
    if (this.ahead) await this.ahead;
    await closeAsync(this.fd).catch(() => undefined);
  }
}

export interface OpenOptions {
  readonly serial?: string;
  readonly writable?: boolean;
  /** Where sysfs is mounted (tests point it elsewhere). */
  readonly sysfs?: string;
  /** Folder a relative path is relative to (default: the process's); the device keeps the path as given. */
  readonly cwd?: string;
  /** SLOW_READ_MS unless given; 0: a block device's every read goes through the thread pool (the monitor). */
  readonly slowReadMs?: number;
}

/**
 * Open an image file or a block device. The size of an image is its length in whole sectors; a block
 * device's size and serial come from sysfs/udev.
 */
export async function openDevice(path: string, options: OpenOptions = {}): Promise<WritableDevice | IoError> {
  // Synchronous: a stat, an open and a few sysfs attributes cost microseconds each, a thread-pool round trip
  // tens, and a caller opening device after device would wait for each (dmraid opens as it scans, too).
  const where = options.cwd ? resolve(options.cwd, path) : path;
  let st;
  try {
    st = statSync(where);
  } catch (e) {
    return fromNodeError(path, e);
  }
  if (st.isDirectory()) return ioError(path, 'EISDIR');
  if (!st.isFile() && !st.isBlockDevice()) return ioError(path, 'EINVAL', 'not a block device or image file');
  let fd: number;
  try {
    fd = openSync(where, options.writable ? constants.O_RDWR : constants.O_RDONLY);
  } catch (e) {
    return fromNodeError(path, e);
  }
  if (st.isFile()) {
    const sizeSectors = Math.floor(st.size / SECTOR);
    return new FileDevice(path, options.serial, sizeSectors, SECTOR, false, fd, sizeSectors * SECTOR, Infinity);
  }
  const info = blockDeviceInfo(st.rdev, options.sysfs ?? '/sys');
  if (!info) {
    await closeAsync(fd).catch(() => undefined);
    return ioError(path, 'ENXIO', 'cannot read the device size from sysfs');
  }
  const serial = options.serial ?? blockDeviceSerial(st.rdev, info.sysDir);
  return new FileDevice(path, serial, info.sizeSectors, info.sectorSize, true, fd, info.sizeSectors * SECTOR, options.slowReadMs ?? SLOW_READ_MS);
}

const major = (rdev: number) => Math.floor(rdev / 256) & 0xfff;
const minor = (rdev: number) => (rdev & 0xff) | ((Math.floor(rdev / 4096) >>> 0) & ~0xff);
/** A device number (stat's rdev) as the kernel writes it in sysfs and tables: `major:minor`. */
export const deviceNumberText = (rdev: number) => `${major(rdev)}:${minor(rdev)}`;

/**
 * A sysfs or udev attribute's bytes, read synchronously: the kernel makes them from memory (udev's database is
 * on a tmpfs), so a thread-pool round trip would cost more than the read. A read that comes back short is the
 * end (sysfs answers an attribute in one read): one read where readFileSync makes two.
 */
function attributeBytes(path: string): Uint8Array | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY);
  } catch {
    return undefined;
  }
  try {
    const chunks: Uint8Array[] = [];
    for (;;) {
      const chunk = new Uint8Array(4096);
      const n = readSync(fd, chunk, 0, chunk.length, null);
      chunks.push(chunk.subarray(0, n));
      if (n < chunk.length) break;
    }
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

function readAttribute(path: string): string | undefined {
  const bytes = attributeBytes(path);
  return bytes && Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8').trim();
}

/** A disk's unit serial number page as sysfs exposes it (device/vpd_pg80, the kernel's copy); undefined when there is none. */
function vpdSerial(sysDir: string): string | undefined {
  const page = attributeBytes(`${sysDir}/device/vpd_pg80`);
  return page && parseVpdSerial(page);
}

/**
 * The serial in a SCSI VPD page 0x80 (what dmraid asks the drive for; there is no udev in an initramfs or a
 * VM): a 4-byte header, byte 1 the page code, byte 3 the length, then the serial, space padded.
 */
export function parseVpdSerial(page: Uint8Array): string | undefined {
  if (page.length < 4 || page[1] !== 0x80) return undefined;
  return latin1Of(page.subarray(4, 4 + page[3]!)).replace(/\0+$/, '').trim() || undefined;
}

const latin1Of = (bytes: Uint8Array) => Array.from(bytes, (b) => String.fromCharCode(b)).join('');

function blockDeviceInfo(rdev: number, sysfs: string) {
  const sysDir = `${sysfs}/dev/block/${deviceNumberText(rdev)}`;
  const size = readAttribute(`${sysDir}/size`);
  if (size === undefined || !/^\d+$/.test(size)) return undefined;
  const logical = Number(readAttribute(`${sysDir}/queue/logical_block_size`) ?? SECTOR);
  return { sysDir, sizeSectors: Number(size), sectorSize: logical || SECTOR };
}

/** The drive serial: udev's ID_SERIAL_SHORT, else the device's own sysfs serial, whitespace removed. */
function blockDeviceSerial(rdev: number, sysDir: string): string | undefined {
  const udev = readAttribute(`/run/udev/data/b${deviceNumberText(rdev)}`);
  const fromUdev = udev?.split('\n').find((l) => l.startsWith('E:ID_SERIAL_SHORT='));
  const raw = fromUdev?.slice('E:ID_SERIAL_SHORT='.length) ?? readAttribute(`${sysDir}/device/serial`) ?? vpdSerial(sysDir);
  const serial = raw?.replace(/\s+/g, '');
  return serial ? serial : undefined;
}

/** A block device in sysfs (its folder), and the disk it is a partition of. */
interface BlockNode {
  readonly block: string;
  readonly disk?: string;
}

/**
 * What a path reaches on storage. `files`: the file (device and inode), or the backing files of loop
 * devices in the block device's stack. `blocks`: a block device and everything beneath it (the slaves of
 * device-mapper and md devices, down to the disks; a partition of a stacked device reaches what that device
 * does). `hosts`: the block devices holding the filesystem a file lives on (and what is beneath them).
 */
interface Reach {
  readonly files: string[];
  readonly blocks: BlockNode[];
  readonly hosts: BlockNode[];
}

const fileId = (st: BigIntStats) => `${st.dev}:${st.ino}`;

/** The block device numbered `rdev` and its stack beneath, with the loop devices' backing files. */
async function blockStack(rdev: number, sysfs: string): Promise<{ blocks: BlockNode[]; files: BigIntStats[] }> {
  const blocks: BlockNode[] = [];
  const files: BigIntStats[] = [];
  const seen = new Set<string>();
  const visit = async (dir: string, withDisk: boolean): Promise<void> => {
    if (seen.has(dir)) return;
    seen.add(dir);
    const disk = readAttribute(`${dir}/partition`) !== undefined ? dirname(dir) : undefined;
    if (withDisk) blocks.push(disk ? { block: dir, disk } : { block: dir });
    for (const d of disk ? [dir, disk] : [dir]) {
      const backing = readAttribute(`${d}/loop/backing_file`);
      const st = backing ? await fs.stat(backing, { bigint: true }).catch(() => undefined) : undefined;
      if (st?.isFile()) files.push(st);
      const slaves = await fs.readdir(`${d}/slaves`).catch(() => [] as string[]);
      for (const s of slaves) {
        const below = await fs.realpath(`${d}/slaves/${s}`).catch(() => undefined);
        if (below) await visit(below, true);
      }
    }
  };
  const top = await fs.realpath(`${sysfs}/dev/block/${deviceNumberText(rdev)}`).catch(() => undefined);
  if (top) await visit(top, true);
  return { blocks, files };
}

async function reachOf(path: string, sysfs: string): Promise<Reach> {
  return reachOfStats(await fs.stat(path, { bigint: true }).catch(() => undefined), path, sysfs);
}

/** What a file or device reaches, from its stat; `path` (undefined: an open descriptor) names anything else. */
async function reachOfStats(st: BigIntStats | undefined, path: string | undefined, sysfs: string): Promise<Reach> {
  if (!st) return { files: [], blocks: [], hosts: [] };
  if (st.isBlockDevice()) {
    const { blocks, files } = await blockStack(Number(st.rdev), sysfs);
    // Writing a loop device writes its backing file, and so the filesystem's device that holds it.
    const hosts = (await Promise.all(files.map((f) => blockStack(Number(f.dev), sysfs)))).flatMap((h) => h.blocks);
    return { files: files.map(fileId), blocks, hosts };
  }
  if (!st.isFile()) return { files: path === undefined ? [] : [`path:${resolve(path)}`], blocks: [], hosts: [] };
  return { files: [fileId(st)], blocks: [], hosts: (await blockStack(Number(st.dev), sysfs)).blocks };
}

/** Whether two block devices share sectors: the same device, or a disk and one of its partitions. */
const meet = (xs: readonly BlockNode[], ys: readonly BlockNode[]) =>
  xs.some((x) => ys.some((y) => x.block === y.block || x.disk === y.block || y.disk === x.block));

/**
 * The first of `others` that writing `path` could change, or that holds it: the same file (through
 * links), the same block device, a disk and one of its partitions, a device-mapper or md device and the
 * devices beneath it, a loop device (or its partition) and its backing file, a block device and a file on
 * a filesystem it holds. Paths that do not exist, two partitions of one disk, or two files on one
 * filesystem do not overlap (two partitions of a stacked device, such as md0p1 and md0p2, do: they reach
 * the same disks). `path` is looked at once.
 */
export async function overlapping(path: string, others: readonly string[], sysfs = '/sys'): Promise<string | undefined> {
  const [x, ys] = await Promise.all([reachOf(path, sysfs), Promise.all(others.map((o) => reachOf(o, sysfs)))]);
  return others.find((_, i) => overlaps(x, ys[i]!));
}

const overlaps = (x: Reach, y: Reach) => x.files.some((f) => y.files.includes(f)) || meet(x.blocks, y.blocks) || meet(x.blocks, y.hosts) || meet(x.hosts, y.blocks);

/**
 * `overlapping` for what an open descriptor is (fstat: the file or device itself, whatever name it was
 * opened by, as a shell's `1<>member.img` or `>> member.img` gives standard output): a pipe, a socket or a
 * terminal overlaps nothing.
 */
export async function overlappingFd(fd: number, others: readonly string[], sysfs = '/sys'): Promise<string | undefined> {
  const st = await new Promise<BigIntStats | undefined>((done) => fstat(fd, { bigint: true }, (e, s) => done(e ? undefined : s)));
  const [x, ys] = await Promise.all([reachOfStats(st, undefined, sysfs), Promise.all(others.map((o) => reachOf(o, sysfs)))]);
  return others.find((_, i) => overlaps(x, ys[i]!));
}

/** Whether writing `a` could change what `b` holds (`overlapping` for one other path). */
export async function sameStorage(a: string, b: string, sysfs = '/sys'): Promise<boolean> {
  return (await overlapping(a, [b], sysfs)) !== undefined;
}

/** A process that holds a file open. */
export interface Holder {
  readonly pid: number;
  /** Its command name (/proc/PID/comm). */
  readonly command: string;
}

/**
 * Processes other than this one that hold `path` open for writing, from `proc` (/proc): what `fuser` would
 * name. An open file is known by the path the kernel gives for it (symbolic links resolved; another hard
 * link to the file is not seen), so nothing outside /proc is looked at: a stat of another process's files
 * could hang on a dead network mount. Processes this user may not look into are not seen.
 */
export async function writersOf(path: string, proc = '/proc'): Promise<Holder[]> {
  const target = await fs.realpath(path).catch(() => undefined);
  if (!target) return [];
  const pids = (await fs.readdir(proc).catch(() => [] as string[])).filter((n) => /^\d+$/.test(n) && Number(n) !== process.pid);
  const found: Holder[] = [];
  await Promise.all(
    pids.map(async (pid) => {
      const fds = await fs.readdir(`${proc}/${pid}/fd`).catch(() => [] as string[]);
      for (const fd of fds) {
        if ((await fs.readlink(`${proc}/${pid}/fd/${fd}`).catch(() => undefined)) !== target) continue;
        const flags = parseInt(/^flags:\s*([0-7]+)/m.exec(readAttribute(`${proc}/${pid}/fdinfo/${fd}`) ?? '')?.[1] ?? '0', 8);
        if ((flags & (constants.O_WRONLY | constants.O_RDWR)) === 0) continue;
        found.push({ pid: Number(pid), command: (readAttribute(`${proc}/${pid}/comm`) ?? '').trim() });
        return;
      }
    }),
  );
  return found.sort((a, b) => a.pid - b.pid);
}

export interface ScanEntry {
  readonly name: string;
  readonly path: string;
}

export interface ScanResult {
  readonly devices: ScanEntry[];
  /** NOTICE-level lines (removable devices skipped), as dmraid prints them. */
  readonly notices: string[];
}

/**
 * Whole disks in /sys/block as dmraid picks them: sd*, hd*, vd* not ending in a digit, plus NVMe
 * namespaces (nvme0n1) and Xen disks (xvd*); removable devices are skipped.
 */
export async function scanBlockDevices(sysfs = '/sys', dev = '/dev'): Promise<ScanResult> {
  let names: string[];
  try {
    names = await fs.readdir(`${sysfs}/block`);
  } catch {
    return { devices: [], notices: [] };
  }
  const devices: ScanEntry[] = [];
  const notices: string[] = [];
  for (const name of names.sort()) {
    const dmraidStyle = /^[shv]d[^/]*[^0-9]$/.test(name) || /^xvd[a-z]+$/.test(name);
    const nvme = /^nvme\d+n\d+$/.test(name);
    if (!dmraidStyle && !nvme) continue;
    const path = `${dev}/${basename(name)}`;
    if (readAttribute(`${sysfs}/block/${name}/removable`) === '1') {
      notices.push(`skipping removable device ${path}`);
      continue;
    }
    devices.push({ name, path });
  }
  return { devices, notices };
}

/**
 * A device held in memory: tests, fuzzing and building images. Reads past the end are errors as on disk.
 */
export function memoryDevice(path: string, bytes: Uint8Array, serial?: string, sectorSize = SECTOR): WritableDevice {
  const sizeSectors = Math.floor(bytes.length / SECTOR);
  const limit = sizeSectors * SECTOR;
  return {
    path,
    serial,
    sizeSectors,
    sectorSize,
    isBlockDevice: false,
    async read(byteOffset, length) {
      if (byteOffset < 0 || length < 0 || byteOffset + length > limit) return ioError(path, 'EINVAL');
      return bytes.slice(byteOffset, byteOffset + length);
    },
    async write(byteOffset, data) {
      if (byteOffset < 0 || byteOffset + data.length > limit) return ioError(path, 'EINVAL');
      bytes.set(data, byteOffset);
      return true;
    },
    async sync() {
      return true;
    },
    async close() {},
  };
}

/**
 * A large device of which only some sectors hold data (the rest read as zeros): member disks of any size
 * for tests and fuzzing without allocating them.
 */
export function sparseDevice(path: string, sizeSectors: number, serial?: string): WritableDevice & { readonly sectors: Map<number, Uint8Array> } {
  const sectors = new Map<number, Uint8Array>();
  const limit = sizeSectors * SECTOR;
  return {
    path,
    serial,
    sizeSectors,
    sectorSize: SECTOR,
    isBlockDevice: false,
    sectors,
    async read(byteOffset, length) {
      if (byteOffset < 0 || length < 0 || byteOffset + length > limit) return ioError(path, 'EINVAL');
      const out = new Uint8Array(length);
      const first = Math.floor(byteOffset / SECTOR);
      const last = Math.floor((byteOffset + length - 1) / SECTOR);
      for (let s = first; s <= last && length > 0; s++) {
        const data = sectors.get(s);
        if (!data) continue;
        const from = Math.max(byteOffset, s * SECTOR);
        const to = Math.min(byteOffset + length, (s + 1) * SECTOR);
        out.set(data.subarray(from - s * SECTOR, to - s * SECTOR), from - byteOffset);
      }
      return out;
    },
    async write(byteOffset, data) {
      if (byteOffset < 0 || byteOffset + data.length > limit) return ioError(path, 'EINVAL');
      for (let i = 0; i < data.length; ) {
        const pos = byteOffset + i;
        const s = Math.floor(pos / SECTOR);
        const within = pos - s * SECTOR;
        const n = Math.min(SECTOR - within, data.length - i);
        let sector = sectors.get(s);
        if (!sector) sectors.set(s, (sector = new Uint8Array(SECTOR)));
        sector.set(data.subarray(i, i + n), within);
        i += n;
      }
      return true;
    },
    async sync() {
      return true;
    },
    async close() {},
  };
}

/**
 * An NBD server (the protocol of nbd's doc/proto.md): fixed newstyle handshake; NBD_OPT_EXPORT_NAME, GO,
 * INFO, LIST and ABORT; simple replies, or structured ones (NBD_OPT_STRUCTURED_REPLY) with the
 * `base:allocation` meta context and NBD_CMD_BLOCK_STATUS from what the members say (extents.ts); one export
 * per mapped device; read-only unless writable. A request the protocol does not allow gets an error reply,
 * or a clean disconnect when the stream cannot be trusted.
 */
import { promises as fs } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { BufferPool, ReplyBudget } from './pool.js';
import { readSalvaging, type SectorRange } from './rescue.js';
import { extentsOf, flushOf, ioError, isIoError, SECTOR, type IoError, type Source } from './source.js';

const NBDMAGIC = 0x4e42444d41474943n;
const IHAVEOPT = 0x49484156454f5054n;
const REPLY_MAGIC = 0x3e889045565a9n;
const REQUEST_MAGIC = 0x25609513;
const SIMPLE_REPLY_MAGIC = 0x67446698;
const STRUCTURED_REPLY_MAGIC = 0x668e33ef;

const FLAG_FIXED_NEWSTYLE = 1;
const FLAG_NO_ZEROES = 2;

const OPT = { EXPORT_NAME: 1, ABORT: 2, LIST: 3, INFO: 6, GO: 7, STRUCTURED_REPLY: 8, LIST_META_CONTEXT: 9, SET_META_CONTEXT: 10 } as const;
const REP = {
  ACK: 1, SERVER: 2, INFO: 3, META_CONTEXT: 4,
  ERR_UNSUP: 0x80000001, ERR_POLICY: 0x80000002, ERR_INVALID: 0x80000003, ERR_UNKNOWN: 0x80000006,
} as const;
const INFO = { EXPORT: 0, NAME: 1, DESCRIPTION: 2, BLOCK_SIZE: 3 } as const;
const TFLAG = { HAS_FLAGS: 1, READ_ONLY: 2, SEND_FLUSH: 4, SEND_FUA: 8, CAN_MULTI_CONN: 256 } as const;
const CMD = { READ: 0, WRITE: 1, DISC: 2, FLUSH: 3, TRIM: 4, CACHE: 5, WRITE_ZEROES: 6, BLOCK_STATUS: 7 } as const;
const CMD_FLAG_FUA = 1;
const CMD_FLAG_REQ_ONE = 8;
const REPLY_FLAG_DONE = 1;
const REPLY = { NONE: 0, OFFSET_DATA: 1, OFFSET_HOLE: 2, BLOCK_STATUS: 5, ERROR: 0x8001, ERROR_OFFSET: 0x8002 } as const;
const STATE_HOLE_ZERO = 3;
/** The one meta context served, and the id it is given. */
const ALLOCATION = 'base:allocation';
const ALLOCATION_ID = 1;
/** Descriptors in one block status reply (12 KiB): a client asks again from where it ends. */
const MAX_EXTENTS = 1024;
/** Sectors of allocation one block status request looks at (1 GiB), whatever length the client asks. */
const STATUS_WINDOW = 1 << 21;
const ERR = { EPERM: 1, EIO: 5, ENOMEM: 12, EINVAL: 22, ENOSPC: 28, EOVERFLOW: 75, ENOTSUP: 95 } as const;

/** Largest request payload accepted (the protocol's suggested maximum), advertised in NBD_INFO_BLOCK_SIZE. */
export const MAX_REQUEST = 32 * 1024 * 1024;
/** Requests one connection may have in flight before the server stops reading from it. */
const IN_FLIGHT = 16;
const MAX_OPTION = 64 * 1024;
/** Reply buffers per server (per process), lent out and kept for reuse together. */
export const REPLY_BYTES = 32 * 1024 * 1024;
/** Bytes one connection's unsent replies may hold while others share REPLY_BYTES. */
const CONNECTION_REPLY_BYTES = 8 * 1024 * 1024;
/** What every connection may hold whatever the others do: one buffer of the pool's smallest size. */
const FLOOR_BYTES = BufferPool.classOf(1);
/** A read larger than this goes out as it is read, a piece at a time (a simple reply is header, then data). */
const PIECE = 2 * 1024 * 1024;
/** Request bytes read ahead of the request being parsed; then the socket is paused until they are used. */
const READ_AHEAD = 128 * 1024;
export const DEFAULT_MAX_CONNECTIONS = 128;
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 30_000;
/** sockaddr_un.sun_path on Linux: 108 bytes, the terminating NUL included. */
const UNIX_PATH_MAX = 108;

export interface Export {
  readonly name: string;
  readonly description?: string;
  readonly source: Source;
}

export interface NbdServerOptions {
  readonly exports: readonly Export[];
  readonly writable?: boolean;
  /** Problems with a connection (malformed requests): logged, never thrown. */
  readonly onEvent?: (message: string) => void;
  /** Given each accepted socket first (not yet read from): true when it took it (serving in other processes). */
  readonly handOff?: (socket: Socket) => boolean;
  /** Connections this process serves at once; one more is closed with a log line. Default 128. */
  readonly maxConnections?: number;
  /** A client that has not finished the handshake this long after connecting is disconnected. Default 30 s. */
  readonly handshakeTimeoutMs?: number;
}

/** What a server holds now: its connections and the bytes of its reply buffers. */
export interface NbdServerStats {
  readonly connections: number;
  /** Reply bytes granted to connections and not yet sent. */
  readonly heldBytes: number;
  /** Reply buffers alive in the pool: lent out plus waiting for reuse. */
  readonly poolBytes: number;
}

/** Buffered exact reads from a socket; null once the peer has gone. */
class Reader {
  private chunks: Buffer[] = [];
  private have = 0;
  private waiting: { n: number; resolve: (enough: boolean) => void } | undefined;
  private ended = false;
  constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.chunks.push(d);
      this.have += d.length;
      if (this.have >= Math.max(READ_AHEAD, this.waiting?.n ?? 0)) socket.pause();
      this.wake();
    });
    const end = () => {
      this.ended = true;
      this.wake();
    };
    socket.on('end', end);
    socket.on('close', end);
    socket.on('error', end);
  }
  private wake() {
    const w = this.waiting;
    if (!w) return;
    if (this.have >= w.n || this.ended) {
      this.waiting = undefined;
      w.resolve(this.have >= w.n);
    }
  }
  /** Until n bytes are buffered: false if the peer goes first. */
  private need(n: number): Promise<boolean> {
    if (this.have >= n) return Promise.resolve(true);
    if (this.ended) return Promise.resolve(false);
    // Paused with less than this read needs: read on (the request loop only asks when it wants more).
    if (this.socket.isPaused()) this.socket.resume();
    return new Promise((resolve) => {
      this.waiting = { n, resolve };
    });
  }
  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.have = rest.length;
    return out;
  }
  async read(n: number): Promise<Buffer | null> {
    return (await this.need(n)) ? this.take(n) : null;
  }
  /**
   * Fill `into` from the socket, copying each chunk as it comes: no chunk is kept once copied, so the
   * caller's buffer is all the memory a payload holds. False once the peer has gone.
   */
  async readInto(into: Uint8Array): Promise<boolean> {
    for (let at = 0; at < into.length; ) {
      if (!(await this.need(1))) return false;
      const c = this.chunks[0]!;
      const n = Math.min(c.length, into.length - at);
      into.set(n === c.length ? c : c.subarray(0, n), at);
      at += n;
      this.have -= n;
      if (n === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(n);
    }
    return true;
  }
  /** Read and drop n bytes a little at a time; false once the peer has gone. */
  async skip(n: number): Promise<boolean> {
    for (let left = n; left > 0; ) {
      const b = await this.read(Math.min(left, READ_AHEAD));
      if (!b) return false;
      left -= b.length;
    }
    return true;
  }
}

function optionReply(option: number, type: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(20);
  h.writeBigUInt64BE(REPLY_MAGIC, 0);
  h.writeUInt32BE(option, 8);
  h.writeUInt32BE(type, 12);
  h.writeUInt32BE(data.length, 16);
  return Buffer.concat([h, data]);
}

function simpleReply(handle: Buffer, error: number): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt32BE(SIMPLE_REPLY_MAGIC, 0);
  h.writeUInt32BE(error, 4);
  handle.copy(h, 8);
  return h;
}

/** A structured reply chunk's header (payload `length` bytes follow). */
function chunkHeader(handle: Buffer, type: number, length: number, done = false): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt32BE(STRUCTURED_REPLY_MAGIC, 0);
  h.writeUInt16BE(done ? REPLY_FLAG_DONE : 0, 4);
  h.writeUInt16BE(type, 6);
  handle.copy(h, 8);
  h.writeUInt32BE(length, 16);
  return h;
}

/** NBD_REPLY_TYPE_ERROR (the reply's last chunk), or ERROR_OFFSET naming where in the read it happened. */
function errorChunk(handle: Buffer, error: number, message: string, offset?: number): Buffer {
  const text = Buffer.from(message, 'utf8');
  const body = Buffer.alloc(6 + text.length + (offset === undefined ? 0 : 8));
  body.writeUInt32BE(error, 0);
  body.writeUInt16BE(text.length, 4);
  text.copy(body, 6);
  if (offset !== undefined) body.writeBigUInt64BE(BigInt(offset), 6 + text.length);
  return Buffer.concat([chunkHeader(handle, offset === undefined ? REPLY.ERROR : REPLY.ERROR_OFFSET, body.length, offset === undefined), body]);
}

/** Data (OFFSET_DATA: its offset, then the bytes) at byte `offset` of the export. */
function dataChunk(handle: Buffer, offset: number, bytes: Uint8Array): Uint8Array[] {
  const h = Buffer.alloc(28);
  chunkHeader(handle, REPLY.OFFSET_DATA, 8 + bytes.length).copy(h, 0);
  h.writeBigUInt64BE(BigInt(offset), 20);
  return [h, bytes];
}

function holeChunk(handle: Buffer, offset: number, length: number): Buffer {
  const h = Buffer.alloc(32);
  chunkHeader(handle, REPLY.OFFSET_HOLE, 12).copy(h, 0);
  h.writeBigUInt64BE(BigInt(offset), 20);
  h.writeUInt32BE(length, 28);
  return h;
}

/** Allocation of bytes [offset, end) of a sector Source: runs of bytes, a partial sector taking its sector's kind. */
function byteRuns(source: Source, offset: number, end: number): { pos: number; end: number; zero: boolean }[] {
  const first = Math.floor(offset / SECTOR);
  const runs: { pos: number; end: number; zero: boolean }[] = [];
  let at = first * SECTOR;
  for (const r of extentsOf(source, first, Math.ceil(end / SECTOR) - first)) {
    const s = Math.max(at, offset);
    const e = Math.min(at + r.sectors * SECTOR, end);
    if (e > s) runs.push({ pos: s, end: e, zero: r.zero });
    at += r.sectors * SECTOR;
  }
  return runs;
}

/** Whether meta context queries name `base:allocation` (LIST: an empty list or the `base:` namespace too). */
function queriesAllocation(queries: readonly string[], list: boolean): boolean {
  if (list && queries.length === 0) return true;
  return queries.some((q) => q === ALLOCATION || (list && q === 'base:'));
}

/** NBD_OPT_{LIST,SET}_META_CONTEXT's data: the export name and the queries; undefined when malformed. */
function parseMetaContext(data: Buffer): { exportName: string; queries: string[] } | undefined {
  if (data.length < 8) return undefined;
  const nameLength = data.readUInt32BE(0);
  if (data.length < 4 + nameLength + 4) return undefined;
  const exportName = data.subarray(4, 4 + nameLength).toString('utf8');
  const n = data.readUInt32BE(4 + nameLength);
  const queries: string[] = [];
  let at = 8 + nameLength;
  for (let i = 0; i < n; i++) {
    if (data.length < at + 4) return undefined;
    const len = data.readUInt32BE(at);
    if (data.length < at + 4 + len) return undefined;
    queries.push(data.subarray(at + 4, at + 4 + len).toString('utf8'));
    at += 4 + len;
  }
  return at === data.length ? { exportName, queries } : undefined;
}

const errno = (e: IoError) => (e.code === 'EINVAL' ? ERR.EINVAL : e.code === 'EROFS' || e.code === 'EPERM' ? ERR.EPERM : e.code === 'ENOSPC' ? ERR.ENOSPC : ERR.EIO);

/** The buffer size for the next piece of a read of bytes [pos, end): whole sectors, PIECE at most. */
const pieceSize = (pos: number, end: number) => BufferPool.classOf(Math.min(PIECE, Math.ceil(end / SECTOR) * SECTOR - Math.floor(pos / SECTOR) * SECTOR));

/**
 * Read as much of bytes [pos, end) as `buffer` holds from a sector Source (unaligned ends read the whole
 * sectors): the bytes, and where the next piece starts.
 */
async function readPiece(source: Source, buffer: Uint8Array, pos: number, end: number): Promise<{ bytes: Uint8Array; next: number } | IoError> {
  const r = await readPieceSalvaged(source, buffer, pos, end);
  if (isIoError(r)) return r;
  // A read over sectors lost to every member answers EIO (a simple reply cannot say which).
  return r.lost.length > 0 ? ioError(source.name, 'EIO') : r;
}

/** readPiece, with the sectors lost to every member left zero and named (sectors of the source) instead. */
async function readPieceSalvaged(source: Source, buffer: Uint8Array, pos: number, end: number): Promise<{ bytes: Uint8Array; next: number; lost: SectorRange[] } | IoError> {
  const first = Math.floor(pos / SECTOR);
  const next = Math.min(end, first * SECTOR + buffer.length);
  const sectors = Math.ceil(next / SECTOR) - first;
  // A read a member's unreadable sectors fail is narrowed down (rebuilt where the set can).
  const r = await readSalvaging(source, first, buffer.subarray(0, sectors * SECTOR));
  if (isIoError(r)) return r;
  const skip = pos - first * SECTOR;
  return { bytes: buffer.subarray(skip, skip + next - pos), next, lost: r };
}

/**
 * The chunks of a structured read reply for bytes [pos, pos+bytes.length) just read: OFFSET_DATA for what was
 * read, ERROR_OFFSET (EIO) where sectors were lost.
 */
function pieceChunks(handle: Buffer, source: Source, pos: number, bytes: Uint8Array, lost: readonly SectorRange[]): Uint8Array[] {
  const end = pos + bytes.length;
  const out: Uint8Array[] = [];
  let at = pos;
  for (const l of lost) {
    const s = Math.max(at, l.start * SECTOR);
    const e = Math.min(end, (l.start + l.count) * SECTOR);
    if (e <= s) continue;
    if (s > at) out.push(...dataChunk(handle, at, bytes.subarray(at - pos, s - pos)));
    out.push(errorChunk(handle, ERR.EIO, `${source.name}: ${e - s} bytes lost to every member`, s));
    at = e;
  }
  if (end > at) out.push(...dataChunk(handle, at, bytes.subarray(at - pos)));
  return out;
}

async function writeBytes(source: Source, offset: number, data: Uint8Array): Promise<true | IoError> {
  if (offset % SECTOR === 0 && data.length % SECTOR === 0) return source.write(offset / SECTOR, data);
  const first = Math.floor(offset / SECTOR);
  const last = Math.ceil((offset + data.length) / SECTOR);
  const old = await source.read(first, last - first);
  if (isIoError(old)) return old;
  old.set(data, offset - first * SECTOR);
  return source.write(first, old);
}

/** Whether a server accepts connections on the unix socket `path`. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

/**
 * Refuse what the kernel would not bind as asked: a path longer than sun_path (Node binds the truncated
 * name and leaves that file behind), or one in a directory that is not there (bind says EACCES then).
 */
async function checkSocketPath(path: string): Promise<void> {
  const bytes = Buffer.byteLength(path);
  if (bytes >= UNIX_PATH_MAX) {
    throw new Error(`socket path ${path} is ${bytes} bytes, over the ${UNIX_PATH_MAX - 1} a unix socket path may have (${UNIX_PATH_MAX} with its NUL)`);
  }
  const dir = dirname(path);
  const st = await fs.stat(dir).catch((e: NodeJS.ErrnoException) => e);
  if (st instanceof Error) {
    if (st.code === 'ENOENT') throw new Error(`directory ${dir}: No such file or directory`);
    if (st.code === 'ENOTDIR') throw new Error(`directory ${dir}: Not a directory`);
  } else if (!st.isDirectory()) throw new Error(`directory ${dir}: Not a directory`);
}

/** A listen address that is not [HOST:]PORT is a unix socket path. */
export const isUnixSocketPath = (where: string): boolean => !/^(?:.*:)?\d+$/.test(where);

export class NbdServer {
  readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly exports: Map<string, Export>;
  private readonly pool = new BufferPool(REPLY_BYTES);
  private readonly maxConnections: number;
  private readonly budget: ReplyBudget;

  constructor(private readonly options: NbdServerOptions) {
    this.maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    // Every connection's floor comes out of the same 32 MiB, so the pool's limit holds with all of them in.
    this.budget = new ReplyBudget(Math.max(0, REPLY_BYTES - this.maxConnections * FLOOR_BYTES), FLOOR_BYTES, CONNECTION_REPLY_BYTES);
    this.exports = new Map(options.exports.map((e) => [e.name, e]));
    this.server = createServer({ pauseOnConnect: true }, (socket) => {
      if (options.handOff?.(socket)) return;
      this.serve(socket);
    });
  }

  /** Run the protocol on a connected socket (one accepted here, or handed over by another process). */
  serve(socket: Socket): void {
    socket.on('error', () => undefined);
    if (this.sockets.size >= this.maxConnections) {
      this.event(`refusing a connection: this process serves ${this.sockets.size} already, the most it takes`);
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.setNoDelay(true);
    socket.resume();
    this.session(socket).catch((e: unknown) => {
      this.event(`connection ended on an internal error: ${(e as Error)?.message ?? String(e)}`);
      socket.destroy();
    });
  }

  private event(message: string) {
    this.options.onEvent?.(message);
  }

  stats(): NbdServerStats {
    const pool = this.pool.bytes;
    return { connections: this.sockets.size, heldBytes: this.budget.heldBytes, poolBytes: pool.lent + pool.pooled };
  }

  /**
   * Listen on a unix socket path or HOST:PORT; resolves with the address clients use. A socket file that no
   * server answers on (left by one that was killed) is replaced; a live one, or a file that is no socket, is
   * an error that says so.
   */
  async listen(where: string): Promise<string> {
    if (isUnixSocketPath(where)) await checkSocketPath(where);
    try {
      return await this.listenOnce(where);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || !isUnixSocketPath(where)) throw e;
      const st = await fs.lstat(where).catch(() => undefined);
      if (!st?.isSocket()) throw new Error(`${where} exists and is not a socket`);
      if (await answers(where)) throw new Error(`${where} is in use by a running server`);
      await fs.rm(where, { force: true });
      return this.listenOnce(where);
    }
  }

  private listenOnce(where: string): Promise<string> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      const done = () => {
        this.server.off('error', reject);
        const a = this.server.address();
        // HOST:PORT as a URI writes it: an IPv6 address in brackets.
        resolve(typeof a === 'string' || a === null ? where : a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`);
      };
      if (isUnixSocketPath(where)) this.server.listen(where, done);
      else {
        const colon = where.lastIndexOf(':');
        const host = colon < 0 ? '127.0.0.1' : where.slice(0, colon).replace(/^\[|\]$/g, '');
        const port = Number(colon < 0 ? where : where.slice(colon + 1));
        this.server.listen(port, host, done);
      }
    });
  }

  /** Stop accepting, end every connection; resolves when the server is closed. */
  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private lookup(name: string): Export | undefined {
    // The empty name is the default export: the first one.
    return name === '' ? this.options.exports[0] : this.exports.get(name);
  }

  private transmissionFlags(): number {
    let f = TFLAG.HAS_FLAGS | TFLAG.SEND_FLUSH | TFLAG.CAN_MULTI_CONN;
    f |= this.options.writable ? TFLAG.SEND_FUA : TFLAG.READ_ONLY;
    return f;
  }

  private async session(socket: Socket): Promise<void> {
    const timeout = this.options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
    const timer = setTimeout(() => {
      this.event(`no handshake within ${timeout / 1000} s: disconnecting`);
      socket.destroy();
    }, timeout);
    timer.unref();
    try {
      await this.handshake(socket, timer);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Wait until the socket's unsent bytes are down to its mark (or it is gone): a client that does not read does not grow them. */
  private drained(socket: Socket): Promise<void> {
    if (!socket.writableNeedDrain || socket.destroyed) return Promise.resolve();
    return new Promise<void>((r) => {
      const done = () => {
        socket.off('drain', done);
        socket.off('close', done);
        r();
      };
      socket.on('drain', done);
      socket.on('close', done);
    });
  }

  private async handshake(socket: Socket, timer: NodeJS.Timeout): Promise<void> {
    const reader = new Reader(socket);
    const hello = Buffer.alloc(18);
    hello.writeBigUInt64BE(NBDMAGIC, 0);
    hello.writeBigUInt64BE(IHAVEOPT, 8);
    hello.writeUInt16BE(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES, 16);
    socket.write(hello);
    const cflags = await reader.read(4);
    if (!cflags) return;
    const clientFlags = cflags.readUInt32BE(0);
    if (!(clientFlags & FLAG_FIXED_NEWSTYLE) || clientFlags & ~(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES)) {
      this.event('client did not accept the fixed newstyle handshake');
      socket.destroy();
      return;
    }
    const noZeroes = !!(clientFlags & FLAG_NO_ZEROES);
    let structured = false;
    // The export base:allocation was set for (SET_META_CONTEXT names one; it holds for that export only).
    let allocationFor: Export | undefined;
    const modes = (exp: Export) => ({ structured, allocation: structured && allocationFor === exp });

    // Option haggling.
    for (;;) {
      await this.drained(socket);
      const head = await reader.read(16);
      if (!head) return;
      if (head.readBigUInt64BE(0) !== IHAVEOPT) {
        this.event('bad option magic');
        socket.destroy();
        return;
      }
      const option = head.readUInt32BE(8);
      const length = head.readUInt32BE(12);
      if (length > MAX_OPTION) {
        this.event(`option ${option} too long (${length} bytes)`);
        socket.destroy();
        return;
      }
      const data = length ? await reader.read(length) : Buffer.alloc(0);
      if (!data) return;
      if (option === OPT.EXPORT_NAME) {
        const exp = this.lookup(data.toString('utf8'));
        if (!exp) {
          socket.destroy();
          return;
        }
        const r = Buffer.alloc(noZeroes ? 10 : 134);
        r.writeBigUInt64BE(BigInt(exp.source.sizeSectors * SECTOR), 0);
        r.writeUInt16BE(this.transmissionFlags(), 8);
        socket.write(r);
        clearTimeout(timer);
        return this.transmission(socket, reader, exp, modes(exp));
      }
      if (option === OPT.STRUCTURED_REPLY) {
        if (length === 0) structured = true;
        socket.write(optionReply(option, length === 0 ? REP.ACK : REP.ERR_INVALID));
        continue;
      }
      if (option === OPT.LIST_META_CONTEXT || option === OPT.SET_META_CONTEXT) {
        const set = option === OPT.SET_META_CONTEXT;
        const query = parseMetaContext(data);
        // Contexts are used in structured replies only: setting one first needs them.
        if (!query || (set && !structured)) {
          socket.write(optionReply(option, REP.ERR_INVALID));
          continue;
        }
        const exp = this.lookup(query.exportName);
        if (!exp) {
          socket.write(optionReply(option, REP.ERR_UNKNOWN, Buffer.from('no such export')));
          continue;
        }
        // A SET replaces what an earlier one set.
        if (set) allocationFor = undefined;
        if (queriesAllocation(query.queries, !set)) {
          const d = Buffer.alloc(4 + ALLOCATION.length);
          d.writeUInt32BE(ALLOCATION_ID, 0);
          d.write(ALLOCATION, 4, 'utf8');
          socket.write(optionReply(option, REP.META_CONTEXT, d));
          if (set) allocationFor = exp;
        }
        socket.write(optionReply(option, REP.ACK));
        continue;
      }
      if (option === OPT.ABORT) {
        socket.end(optionReply(option, REP.ACK));
        return;
      }
      if (option === OPT.LIST) {
        if (length !== 0) {
          socket.write(optionReply(option, REP.ERR_INVALID));
          continue;
        }
        for (const e of this.options.exports) {
          const name = Buffer.from(e.name, 'utf8');
          const d = Buffer.alloc(4 + name.length);
          d.writeUInt32BE(name.length, 0);
          name.copy(d, 4);
          socket.write(optionReply(option, REP.SERVER, d));
        }
        socket.write(optionReply(option, REP.ACK));
        continue;
      }
      if (option === OPT.INFO || option === OPT.GO) {
        const nameLength = data.length >= 4 ? data.readUInt32BE(0) : -1;
        if (nameLength < 0 || data.length < 4 + nameLength + 2 || data.length !== 4 + nameLength + 2 + 2 * data.readUInt16BE(4 + nameLength)) {
          socket.write(optionReply(option, REP.ERR_INVALID));
          continue;
        }
        const exp = this.lookup(data.subarray(4, 4 + nameLength).toString('utf8'));
        if (!exp) {
          socket.write(optionReply(option, REP.ERR_UNKNOWN, Buffer.from('no such export')));
          continue;
        }
        const requests = new Set<number>();
        for (let i = 0; i < data.readUInt16BE(4 + nameLength); i++) requests.add(data.readUInt16BE(6 + nameLength + 2 * i));
        const info = Buffer.alloc(12);
        info.writeUInt16BE(INFO.EXPORT, 0);
        info.writeBigUInt64BE(BigInt(exp.source.sizeSectors * SECTOR), 2);
        info.writeUInt16BE(this.transmissionFlags(), 10);
        socket.write(optionReply(option, REP.INFO, info));
        if (requests.has(INFO.NAME)) socket.write(optionReply(option, REP.INFO, Buffer.concat([Buffer.from([0, INFO.NAME]), Buffer.from(exp.name)])));
        if (requests.has(INFO.DESCRIPTION) && exp.description) {
          socket.write(optionReply(option, REP.INFO, Buffer.concat([Buffer.from([0, INFO.DESCRIPTION]), Buffer.from(exp.description)])));
        }
        const bs = Buffer.alloc(14);
        bs.writeUInt16BE(INFO.BLOCK_SIZE, 0);
        bs.writeUInt32BE(1, 2);
        bs.writeUInt32BE(4096, 6);
        bs.writeUInt32BE(MAX_REQUEST, 10);
        socket.write(optionReply(option, REP.INFO, bs));
        socket.write(optionReply(option, REP.ACK));
        if (option === OPT.GO) {
          clearTimeout(timer);
          return this.transmission(socket, reader, exp, modes(exp));
        }
        continue;
      }
      socket.write(optionReply(option, REP.ERR_UNSUP));
    }
  }

  private async transmission(socket: Socket, reader: Reader, exp: Export, modes: { structured: boolean; allocation: boolean }): Promise<void> {
    const size = exp.source.sizeSectors * SECTOR;
    const holder = this.budget.holder();
    // Gone: its waits for reply bytes end; what its unsent replies hold comes back through their write callbacks.
    socket.once('close', () => this.budget.close(holder));
    const inflight = new Set<Promise<void>>();
    const writes = new Set<Promise<void>>();
    /** Write a reply; `done` runs once the kernel has the bytes (or the connection is gone). */
    const send = (chunks: Uint8Array[], done?: () => void) => {
      if (socket.destroyed) return done?.();
      socket.cork();
      for (let i = 0; i < chunks.length; i++) socket.write(chunks[i]!, i === chunks.length - 1 ? done : undefined);
      socket.uncork();
    };
    const sent = (chunks: Uint8Array[]) => new Promise<void>((r) => send(chunks, r));
    const giveBack = (buffer: Uint8Array) => {
      this.pool.give(buffer);
      this.budget.release(holder, buffer.length);
    };
    // Replies go out whole, one after another: a read sent in pieces keeps the line until its last piece.
    let line = Promise.resolve();
    const takeLine = () => {
      let free!: () => void;
      const before = line;
      line = new Promise<void>((r) => (free = r));
      return before.then(() => free);
    };
    const track = (p: Promise<void>, write: boolean) => {
      inflight.add(p);
      if (write) writes.add(p);
      void p.finally(() => {
        inflight.delete(p);
        writes.delete(p);
      });
    };
    /** A reply without data, in its turn on the line. */
    const answer = (handle: Buffer, error: number) => track(takeLine().then((free) => (send([simpleReply(handle, error)]), free())), false);
    const read = async (handle: Buffer, offset: number, length: number) => {
      const end = offset + length;
      const first = await this.budget.acquire(holder, pieceSize(offset, end));
      if (first === 0) return;
      const buffer = this.pool.take(first);
      const r = await readPiece(exp.source, buffer, offset, end);
      const free = await takeLine();
      try {
        if (isIoError(r)) {
          giveBack(buffer);
          send([simpleReply(handle, errno(r))]);
          return;
        }
        if (r.next === end) {
          send([simpleReply(handle, 0), r.bytes], () => giveBack(buffer));
          return;
        }
        // The rest in pieces, each read while the one before is being sent: two buffers when the budget has
        // them, else one, refilled once the kernel has taken it.
        const pending = [{ buffer, out: sent([simpleReply(handle, 0), r.bytes]) }];
        const idle = this.budget.tryAcquire(holder, first) ? [this.pool.take(first)] : [];
        for (let pos = r.next; pos < end && !socket.destroyed; ) {
          let b = idle.pop();
          if (!b) {
            const oldest = pending.shift()!;
            await oldest.out;
            b = oldest.buffer;
          }
          const piece = await readPiece(exp.source, b, pos, end);
          if (isIoError(piece)) {
            // The header said success: the stream cannot be trusted past this point.
            this.event(`read of ${length} bytes at ${offset} failed after its reply began (${piece.code}): disconnecting`);
            idle.push(b);
            socket.destroy();
            break;
          }
          pending.push({ buffer: b, out: sent([piece.bytes]) });
          pos = piece.next;
        }
        for (const b of idle) giveBack(b);
        for (const p of pending) void p.out.then(() => giveBack(p.buffer));
      } finally {
        free();
      }
    };
    /** An error for a read or a block status request: a structured ERROR chunk once those are in use. */
    const refuse = (handle: Buffer, error: number, message: string) =>
      track(takeLine().then((free) => (send([modes.structured ? errorChunk(handle, error, message) : simpleReply(handle, error)]), free())), false);
    /**
     * A read as structured chunks: holes (what the members say reads as zeros) as OFFSET_HOLE, unread; the
     * rest read in pieces, each read while the one before is sent (as `read`), lost sectors as
     * ERROR_OFFSET; an error ends the reply with an ERROR chunk and the connection stays usable.
     */
    const readStructured = async (handle: Buffer, offset: number, length: number) => {
      const end = offset + length;
      // Holes are sent as such whether or not the client asked for base:allocation (structured replies allow them).
      const runs = byteRuns(exp.source, offset, end);
      let run = 0;
      let pos = offset;
      /** The next chunks and whether they are in `b`; undefined when the reply is complete. */
      const produce = async (b: Uint8Array | undefined): Promise<{ chunks: Uint8Array[]; holds: boolean } | IoError | undefined> => {
        const r = runs[run];
        if (!r) return undefined;
        if (r.zero) {
          run++;
          pos = runs[run]?.pos ?? end;
          return { chunks: [holeChunk(handle, r.pos, r.end - r.pos)], holds: false };
        }
        const piece = await readPieceSalvaged(exp.source, b!, pos, r.end);
        if (isIoError(piece)) return piece;
        const chunks = pieceChunks(handle, exp.source, pos, piece.bytes, piece.lost);
        pos = piece.next;
        if (pos >= r.end) {
          run++;
          pos = runs[run]?.pos ?? end;
        }
        return { chunks, holds: true };
      };
      const dataBytes = runs.reduce((n, r) => (r.zero ? n : Math.max(n, r.end - r.pos)), 0);
      const grant = dataBytes > 0 ? await this.budget.acquire(holder, pieceSize(runs.find((r) => !r.zero)!.pos, runs.find((r) => !r.zero)!.pos + dataBytes)) : 0;
      if (dataBytes > 0 && grant === 0) return;
      const idle = grant > 0 ? [this.pool.take(grant)] : [];
      const pending: { buffer: Uint8Array; out: Promise<void> }[] = [];
      // The first piece is read before this reply's turn on the line, as a simple read's.
      let next = await produce(runs[run]?.zero ? undefined : idle[idle.length - 1]);
      const free = await takeLine();
      try {
        if (grant > 0 && this.budget.tryAcquire(holder, grant)) idle.unshift(this.pool.take(grant));
        while (next !== undefined && !socket.destroyed) {
          if (isIoError(next)) {
            send([errorChunk(handle, errno(next), `${next.path}: ${next.message}`)]);
            break;
          }
          if (next.holds) pending.push({ buffer: idle.pop()!, out: sent(next.chunks) });
          else send(next.chunks);
          const r = runs[run];
          if (!r) {
            send([chunkHeader(handle, REPLY.NONE, 0, true)]);
            break;
          }
          let b: Uint8Array | undefined;
          if (!r.zero) {
            b = idle.pop();
            if (!b) {
              const oldest = pending.shift()!;
              await oldest.out;
              b = oldest.buffer;
            }
            idle.push(b);
          }
          next = await produce(b);
        }
        if (next === undefined && runs.length === 0) send([chunkHeader(handle, REPLY.NONE, 0, true)]);
        for (const b of idle) giveBack(b);
        for (const p of pending) void p.out.then(() => giveBack(p.buffer));
      } finally {
        free();
      }
    };
    /** NBD_CMD_BLOCK_STATUS: base:allocation's runs from `offset`, at most MAX_EXTENTS (one with REQ_ONE). */
    const blockStatus = (handle: Buffer, flags: number, offset: number, length: number) => {
      const end = Math.min(offset + length, size, (Math.floor(offset / SECTOR) + STATUS_WINDOW) * SECTOR);
      const runs = byteRuns(exp.source, offset, end).slice(0, flags & CMD_FLAG_REQ_ONE ? 1 : MAX_EXTENTS);
      const body = Buffer.alloc(4 + 8 * runs.length);
      body.writeUInt32BE(ALLOCATION_ID, 0);
      runs.forEach((r, i) => {
        body.writeUInt32BE(r.end - r.pos, 4 + 8 * i);
        body.writeUInt32BE(r.zero ? STATE_HOLE_ZERO : 0, 8 + 8 * i);
      });
      track(takeLine().then((free) => (send([chunkHeader(handle, REPLY.BLOCK_STATUS, body.length, true), body]), free())), false);
    };
    /**
     * Writes whose payload has been read and is not yet all applied, by the whole sectors they touch: a
     * later request over any of those sectors waits for them, so it sees the data (a read) or lands after it
     * (a write; unaligned writes read and rewrite whole sectors), as when each write was applied before the
     * next request was read.
     */
    const applying = new Set<{ first: number; end: number; done: Promise<unknown> }>();
    const after = (offset: number, length: number): Promise<unknown> | undefined => {
      const first = Math.floor(offset / SECTOR);
      const end = Math.ceil((offset + length) / SECTOR);
      const earlier = [...applying].filter((w) => w.first < end && first < w.end).map((w) => w.done);
      return earlier.length ? Promise.all(earlier) : undefined;
    };
    /**
     * Read a write's payload a piece at a time into buffers granted by the reply budget, each piece applied
     * as soon as it is in, without waiting: the request loop reads on while the pieces are written, and it
     * stops reading the socket when the budget has no more bytes for a piece (backpressure, never an
     * unbounded payload in memory). Resolves once the payload is read, with the pieces' outcome to come (in an
     * object: a promise resolving to a promise would wait for it), or false once the client has gone.
     */
    const write = async (offset: number, length: number): Promise<{ applied: Promise<true | IoError> } | false> => {
      const end = offset + length;
      const before = after(offset, length);
      const pieces: Promise<true | IoError>[] = [];
      const outcome = async () => {
        for (const r of await Promise.all(pieces)) if (r !== true) return r;
        return true as const;
      };
      const entry = { first: Math.floor(offset / SECTOR), end: Math.ceil(end / SECTOR), done: Promise.resolve() as Promise<unknown> };
      applying.add(entry);
      let gone = false;
      for (let pos = offset; pos < end; ) {
        const granted = await this.budget.acquire(holder, BufferPool.classOf(Math.min(PIECE, end - pos)));
        if (granted === 0) {
          gone = true;
          break;
        }
        const buffer = this.pool.take(granted);
        const data = buffer.subarray(0, Math.min(granted, end - pos));
        if (!(await reader.readInto(data))) {
          giveBack(buffer);
          gone = true;
          break;
        }
        const at = pos;
        const apply = () => writeBytes(exp.source, at, data);
        pieces.push((before ? before.then(apply) : apply()).finally(() => giveBack(buffer)));
        pos += data.length;
      }
      const result = outcome();
      entry.done = result;
      void result.finally(() => applying.delete(entry));
      if (gone) {
        // What was read is still being written: the session waits for it before it ends.
        track(result.then(() => undefined), true);
        return false;
      }
      return { applied: result };
    };
    for (;;) {
      while (inflight.size >= IN_FLIGHT || socket.writableNeedDrain) {
        if (socket.writableNeedDrain) await this.drained(socket);
        else await Promise.race(inflight);
        if (socket.destroyed) return;
      }
      const h = await reader.read(28);
      if (!h) break;
      if (h.readUInt32BE(0) !== REQUEST_MAGIC) {
        this.event('bad request magic: disconnecting');
        break;
      }
      const flags = h.readUInt16BE(4);
      const type = h.readUInt16BE(6);
      const handle = Buffer.from(h.subarray(8, 16));
      const offset = Number(h.readBigUInt64BE(16));
      const length = h.readUInt32BE(24);
      const inRange = offset + length <= size && Number.isSafeInteger(offset);
      if (type === CMD.DISC) break;
      if (type === CMD.WRITE) {
        // The payload follows the header whatever the verdict; one too large to trust ends the session.
        if (length > MAX_REQUEST) {
          this.event(`write of ${length} bytes is over the maximum: disconnecting`);
          break;
        }
        if (!this.options.writable || !inRange) {
          if (!(await reader.skip(length))) break;
          answer(handle, this.options.writable ? ERR.ENOSPC : ERR.EPERM);
          continue;
        }
        const r = await write(offset, length);
        if (r === false) break;
        // FUA: the write is durable before its reply, as if a flush followed it.
        const fua = (flags & CMD_FLAG_FUA) !== 0;
        track(
          r.applied
            .then((w) => (w === true && fua ? flushOf(exp.source) : w))
            .then(async (w) => {
              // Replies to earlier reads may still be on their way: this one waits its turn on the line.
              const free = await takeLine();
              send([simpleReply(handle, w === true ? 0 : errno(w))]);
              free();
            }),
          true,
        );
        continue;
      }
      if (type === CMD.READ) {
        // Over the advertised maximum block size, or past the end: EINVAL, as nbdkit answers.
        if (length > MAX_REQUEST || !inRange) {
          refuse(handle, ERR.EINVAL, length > MAX_REQUEST ? 'request over the maximum block size' : 'request past the end of the export');
          continue;
        }
        const go = modes.structured ? () => readStructured(handle, offset, length) : () => read(handle, offset, length);
        const wait = after(offset, length);
        track(wait ? wait.then(go) : go(), false);
        continue;
      }
      if (type === CMD.BLOCK_STATUS && modes.structured) {
        if (!modes.allocation || length === 0 || !inRange) {
          refuse(handle, ERR.EINVAL, !modes.allocation ? 'no meta context was negotiated' : length === 0 ? 'block status of no bytes' : 'request past the end of the export');
          continue;
        }
        // After the writes before it, as a read is: their sectors are data by then.
        const wait = after(offset, length);
        if (wait) track(wait.then(() => blockStatus(handle, flags, offset, length)), false);
        else blockStatus(handle, flags, offset, length);
        continue;
      }
      if (type === CMD.FLUSH) {
        // Every write replied to before this request is on stable storage when it is answered.
        const pending = [...writes];
        track(
          Promise.all(pending)
            .then(() => flushOf(exp.source))
            .then(async (r) => {
              const free = await takeLine();
              send([simpleReply(handle, r === true ? 0 : errno(r))]);
              free();
            }),
          false,
        );
        continue;
      }
      answer(handle, type === CMD.TRIM || type === CMD.WRITE_ZEROES || type === CMD.CACHE ? ERR.ENOTSUP : ERR.EINVAL);
    }
    await Promise.all(inflight);
    socket.end();
  }
}

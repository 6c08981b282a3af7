/**
 * An NBD server (the protocol of nbd's doc/proto.md): fixed newstyle handshake; NBD_OPT_EXPORT_NAME, GO,
 * INFO, LIST and ABORT; simple replies; one export per mapped device; read-only unless writable. A request
 * the protocol does not allow gets an error reply, or a clean disconnect when the stream cannot be trusted.
 */
import { promises as fs } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { BufferPool, ReplyBudget } from './pool.js';
import { readSalvaging } from './rescue.js';
import { flushOf, ioError, isIoError, SECTOR, type IoError, type Source } from './source.js';

const NBDMAGIC = 0x4e42444d41474943n;
const IHAVEOPT = 0x49484156454f5054n;
const REPLY_MAGIC = 0x3e889045565a9n;
const REQUEST_MAGIC = 0x25609513;
const SIMPLE_REPLY_MAGIC = 0x67446698;

const FLAG_FIXED_NEWSTYLE = 1;
const FLAG_NO_ZEROES = 2;

const OPT = { EXPORT_NAME: 1, ABORT: 2, LIST: 3, INFO: 6, GO: 7 } as const;
const REP = {
  ACK: 1, SERVER: 2, INFO: 3,
  ERR_UNSUP: 0x80000001, ERR_POLICY: 0x80000002, ERR_INVALID: 0x80000003, ERR_UNKNOWN: 0x80000006,
} as const;
const INFO = { EXPORT: 0, NAME: 1, DESCRIPTION: 2, BLOCK_SIZE: 3 } as const;
const TFLAG = { HAS_FLAGS: 1, READ_ONLY: 2, SEND_FLUSH: 4, SEND_FUA: 8, CAN_MULTI_CONN: 256 } as const;
const CMD = { READ: 0, WRITE: 1, DISC: 2, FLUSH: 3, TRIM: 4, CACHE: 5, WRITE_ZEROES: 6 } as const;
const CMD_FLAG_FUA = 1;
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

const errno = (e: IoError) => (e.code === 'EINVAL' ? ERR.EINVAL : e.code === 'EROFS' || e.code === 'EPERM' ? ERR.EPERM : e.code === 'ENOSPC' ? ERR.ENOSPC : ERR.EIO);

/** The buffer size for the next piece of a read of bytes [pos, end): whole sectors, PIECE at most. */
const pieceSize = (pos: number, end: number) => BufferPool.classOf(Math.min(PIECE, Math.ceil(end / SECTOR) * SECTOR - Math.floor(pos / SECTOR) * SECTOR));

/**
 * Read as much of bytes [pos, end) as `buffer` holds from a sector Source (unaligned ends read the whole
 * sectors): the bytes, and where the next piece starts.
 */
async function readPiece(source: Source, buffer: Uint8Array, pos: number, end: number): Promise<{ bytes: Uint8Array; next: number } | IoError> {
  const first = Math.floor(pos / SECTOR);
  const next = Math.min(end, first * SECTOR + buffer.length);
  const sectors = Math.ceil(next / SECTOR) - first;
  // A read a member's unreadable sectors fail is narrowed down (rebuilt where the set can); one over sectors
  // lost to every member answers EIO.
  const r = await readSalvaging(source, first, buffer.subarray(0, sectors * SECTOR));
  if (isIoError(r)) return r;
  if (r.length > 0) return ioError(source.name, 'EIO');
  const skip = pos - first * SECTOR;
  return { bytes: buffer.subarray(skip, skip + next - pos), next };
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
        return this.transmission(socket, reader, exp);
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
          return this.transmission(socket, reader, exp);
        }
        continue;
      }
      socket.write(optionReply(option, REP.ERR_UNSUP));
    }
  }

  private async transmission(socket: Socket, reader: Reader, exp: Export): Promise<void> {
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
          answer(handle, ERR.EINVAL);
          continue;
        }
        const wait = after(offset, length);
        track(wait ? wait.then(() => read(handle, offset, length)) : read(handle, offset, length), false);
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

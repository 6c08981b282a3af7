/**
 * An NBD server (the protocol of nbd's doc/proto.md): fixed newstyle handshake; NBD_OPT_EXPORT_NAME, GO,
 * INFO, LIST and ABORT; simple replies; one export per mapped device; read-only unless writable. A request
 * the protocol does not allow gets an error reply, or a clean disconnect when the stream cannot be trusted.
 */
import { promises as fs } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { BufferPool } from './pool.js';
import { flushOf, isIoError, readInto, SECTOR, type IoError, type Source } from './source.js';

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

/** Largest request payload accepted (the protocol's suggested maximum). */
export const MAX_REQUEST = 32 * 1024 * 1024;
/** Requests one connection may have in flight before the server stops reading from it. */
const IN_FLIGHT = 16;
const MAX_OPTION = 64 * 1024;
/** Reply buffers kept for reuse, per server. */
const MAX_POOLED = 32 * 1024 * 1024;

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
}

/** Buffered exact reads from a socket; null once the peer has gone. */
class Reader {
  private chunks: Buffer[] = [];
  private have = 0;
  private waiting: { n: number; resolve: (b: Buffer | null) => void } | undefined;
  private ended = false;
  constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.chunks.push(d);
      this.have += d.length;
      if (this.have > 2 * MAX_REQUEST) socket.pause();
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
    if (this.have >= w.n) {
      this.waiting = undefined;
      w.resolve(this.take(w.n));
    } else if (this.ended) {
      this.waiting = undefined;
      w.resolve(null);
    }
  }
  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.have = rest.length;
    if (this.have <= MAX_REQUEST && this.socket.isPaused()) this.socket.resume();
    return out;
  }
  read(n: number): Promise<Buffer | null> {
    if (this.have >= n) return Promise.resolve(this.take(n));
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.waiting = { n, resolve };
    });
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

/**
 * Read [offset, offset+length) in bytes from a sector Source into a pooled buffer (unaligned ends read the
 * whole sectors): the bytes, and the buffer to give back once they are sent.
 */
async function readBytes(source: Source, offset: number, length: number, pool: BufferPool): Promise<{ bytes: Uint8Array; buffer: Uint8Array } | IoError> {
  const first = Math.floor(offset / SECTOR);
  const last = Math.ceil((offset + length) / SECTOR);
  const buffer = pool.take((last - first) * SECTOR);
  const r = await readInto(source, first, buffer.subarray(0, (last - first) * SECTOR));
  if (isIoError(r)) {
    pool.give(buffer);
    return r;
  }
  const skip = offset - first * SECTOR;
  return { bytes: buffer.subarray(skip, skip + length), buffer };
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

/** A listen address that is not [HOST:]PORT is a unix socket path. */
export const isUnixSocketPath = (where: string): boolean => !/^(?:.*:)?\d+$/.test(where);

export class NbdServer {
  readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly exports: Map<string, Export>;
  private readonly pool = new BufferPool(MAX_POOLED);

  constructor(private readonly options: NbdServerOptions) {
    this.exports = new Map(options.exports.map((e) => [e.name, e]));
    this.server = createServer({ pauseOnConnect: true }, (socket) => {
      if (options.handOff?.(socket)) return;
      this.serve(socket);
    });
  }

  /** Run the protocol on a connected socket (one accepted here, or handed over by another process). */
  serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
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

  /**
   * Listen on a unix socket path or HOST:PORT; resolves with the address clients use. A socket file that no
   * server answers on (left by one that was killed) is replaced; a live one, or a file that is no socket, is
   * an error that says so.
   */
  async listen(where: string): Promise<string> {
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
        if (option === OPT.GO) return this.transmission(socket, reader, exp);
        continue;
      }
      socket.write(optionReply(option, REP.ERR_UNSUP));
    }
  }

  private async transmission(socket: Socket, reader: Reader, exp: Export): Promise<void> {
    const size = exp.source.sizeSectors * SECTOR;
    const inflight = new Set<Promise<void>>();
    const writes = new Set<Promise<void>>();
    /** Write a reply; `done` runs once the kernel has the bytes (or the connection is gone). */
    const send = (chunks: Uint8Array[], done?: () => void) => {
      if (socket.destroyed) return done?.();
      socket.cork();
      for (let i = 0; i < chunks.length; i++) socket.write(chunks[i]!, i === chunks.length - 1 ? done : undefined);
      socket.uncork();
    };
    const track = (p: Promise<void>, write: boolean) => {
      inflight.add(p);
      if (write) writes.add(p);
      void p.finally(() => {
        inflight.delete(p);
        writes.delete(p);
      });
    };
    for (;;) {
      while (inflight.size >= IN_FLIGHT || socket.writableNeedDrain) {
        if (socket.writableNeedDrain) {
          await new Promise<void>((r) => {
            const done = () => {
              socket.off('drain', done);
              socket.off('close', done);
              r();
            };
            socket.on('drain', done);
            socket.on('close', done);
          });
        }
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
        const data = await reader.read(length);
        if (!data) break;
        if (!this.options.writable) {
          send([simpleReply(handle, ERR.EPERM)]);
          continue;
        }
        if (!inRange) {
          send([simpleReply(handle, ERR.ENOSPC)]);
          continue;
        }
        // FUA: the write is durable before its reply, as if a flush followed it.
        const fua = (flags & CMD_FLAG_FUA) !== 0;
        track(
          writeBytes(exp.source, offset, new Uint8Array(data))
            .then((r) => (r === true && fua ? flushOf(exp.source) : r))
            .then((r) => send([simpleReply(handle, r === true ? 0 : errno(r))])),
          true,
        );
        continue;
      }
      if (type === CMD.READ) {
        if (length > MAX_REQUEST) {
          send([simpleReply(handle, ERR.EINVAL)]);
          continue;
        }
        if (!inRange) {
          send([simpleReply(handle, ERR.EINVAL)]);
          continue;
        }
        track(
          readBytes(exp.source, offset, length, this.pool).then((r) => {
            if (isIoError(r)) send([simpleReply(handle, errno(r))]);
            else send([simpleReply(handle, 0), r.bytes], () => this.pool.give(r.buffer));
          }),
          false,
        );
        continue;
      }
      if (type === CMD.FLUSH) {
        // Every write replied to before this request is on stable storage when it is answered.
        const pending = [...writes];
        track(
          Promise.all(pending)
            .then(() => flushOf(exp.source))
            .then((r) => send([simpleReply(handle, r === true ? 0 : errno(r))])),
          false,
        );
        continue;
      }
      send([simpleReply(handle, type === CMD.TRIM || type === CMD.WRITE_ZEROES || type === CMD.CACHE ? ERR.ENOTSUP : ERR.EINVAL)]);
    }
    await Promise.all(inflight);
    socket.end();
  }
}

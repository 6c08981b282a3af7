/** A minimal NBD client for tests: fixed newstyle, NBD_OPT_GO, simple replies; raw frames for misuse. */
import { connect, type Socket } from 'node:net';

export class RawConnection {
  // Chunks as they came (one concat per read, not per chunk: a 32 MiB reply comes in hundreds).
  private chunks: Buffer[] = [];
  private have = 0;
  private waiters: (() => void)[] = [];
  closed = false;
  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.chunks.push(d);
      this.have += d.length;
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }
  private wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
  static open(path: string): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const s = connect(path, () => resolve(new RawConnection(s)));
      s.once('error', reject);
    });
  }
  /** n bytes, or null if the server closed first. */
  async read(n: number): Promise<Buffer | null> {
    while (this.have < n) {
      if (this.closed) return null;
      await new Promise<void>((r) => this.waiters.push(r));
    }
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.have = rest.length;
    return all.subarray(0, n);
  }
  write(b: Buffer) {
    this.socket.write(b);
  }
  close() {
    this.socket.destroy();
  }
}

export function option(opt: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(16);
  h.write('IHAVEOPT', 0, 'latin1');
  h.writeUInt32BE(opt, 8);
  h.writeUInt32BE(data.length, 12);
  return Buffer.concat([h, data]);
}

export function goData(name: string): Buffer {
  const n = Buffer.from(name);
  const b = Buffer.alloc(4 + n.length + 2);
  b.writeUInt32BE(n.length, 0);
  n.copy(b, 4);
  return b;
}

export function request(type: number, handle: number, offset: number | bigint, length: number, magic = 0x25609513): Buffer {
  const b = Buffer.alloc(28);
  b.writeUInt32BE(magic, 0);
  b.writeUInt16BE(0, 4);
  b.writeUInt16BE(type, 6);
  b.writeBigUInt64BE(BigInt(handle), 8);
  b.writeBigUInt64BE(BigInt(offset), 16);
  b.writeUInt32BE(length, 24);
  return b;
}

/** Handshake and NBD_OPT_GO on `name`: the export size, or an error text. */
export async function handshake(c: RawConnection, name: string): Promise<bigint | string> {
  const hello = await c.read(18);
  if (!hello || hello.toString('latin1', 0, 16) !== 'NBDMAGICIHAVEOPT') return 'bad greeting';
  c.write(Buffer.from([0, 0, 0, 3]));
  c.write(option(7, goData(name)));
  let size: bigint | undefined;
  for (;;) {
    const h = await c.read(20);
    if (!h) return 'closed during GO';
    const type = h.readUInt32BE(12);
    const data = (await c.read(h.readUInt32BE(16)))!;
    if (type === 3 && data.readUInt16BE(0) === 0) size = data.readBigUInt64BE(2);
    if (type === 1) return size ?? 'no size';
    if (type >= 0x80000000) return `error reply ${type.toString(16)}`;
  }
}

/** One simple reply: error and, for a successful read of `length`, the data. */
export async function reply(c: RawConnection, length: number): Promise<{ error: number; handle: bigint; data?: Buffer } | null> {
  const h = await c.read(16);
  if (!h) return null;
  const error = h.readUInt32BE(4);
  const handle = h.readBigUInt64BE(8);
  if (error !== 0 || length === 0) return { error, handle };
  const data = await c.read(length);
  return data ? { error, handle, data } : null;
}

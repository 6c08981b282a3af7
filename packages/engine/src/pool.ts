/**
 * Where data buffers start: 16 bytes past a page boundary. The kernel copies between the page cache and a
 * process with `rep movsb`; on this project's machines (AMD EPYC) that copy runs at two thirds of its
 * speed when the process's buffer starts on a page boundary as the page-cache page does (pread of 1 MiB
 * into a page-aligned buffer: 70 ms per 512 MiB, 16 bytes further: 45 ms; pwrite of 128 KiB from it: 62
 * against 49 ms). V8 puts large buffers on page boundaries, so data buffers start SKEW bytes into theirs.
 */
export const SKEW = 16;
export const PAGE = 4096;

/** A fresh buffer of `bytes` starting SKEW bytes past its allocation's start. */
export function skewed(bytes: number): Uint8Array {
  return new Uint8Array(new ArrayBuffer(bytes + SKEW), SKEW, bytes);
}

/**
 * Buffers for reuse: a fresh buffer per read costs more (zero-fill, then the kernel's page faults) than
 * the read itself. Sizes round up to a power of two from 64 KiB; at most `limit` bytes wait here.
 */
export class BufferPool {
  private readonly free = new Map<number, Uint8Array[]>();
  private pooled = 0;
  constructor(private readonly limit: number) {}
  static classOf(bytes: number): number {
    let c = 64 * 1024;
    while (c < bytes) c *= 2;
    return c;
  }
  /** A buffer of at least `bytes` (its contents are whatever the last user left). */
  take(bytes: number): Uint8Array {
    const size = BufferPool.classOf(bytes);
    const b = this.free.get(size)?.pop();
    if (!b) return skewed(size);
    this.pooled -= size;
    return b;
  }
  /** Hand a buffer from `take` back once nothing refers to it. */
  give(b: Uint8Array): void {
    if (this.pooled + b.length > this.limit || BufferPool.classOf(b.length) !== b.length) return;
    const list = this.free.get(b.length) ?? [];
    list.push(b);
    this.free.set(b.length, list);
    this.pooled += b.length;
  }
}

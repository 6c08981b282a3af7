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
    if (!b) return new Uint8Array(size);
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

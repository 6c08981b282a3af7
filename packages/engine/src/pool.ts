/**
 * Where data buffers start. The kernel copies between the page cache and a process with `rep movsb`; on this
 * project's machines (AMD EPYC) that copy into a buffer whose first byte lies 8 to 24 bytes past a page
 * boundary runs at a third to two thirds of its speed (pread of 1 MiB, 128 MiB cached, 2026-12-07: 20-25 ms at
 * 0, 32, 48 ... 2048 bytes past a page, 68-74 ms at 8, 16 and 24; 2026-11-25 on another of these hosts: 71-75 ms
 * at 16 and 24, 45-50 ms from 32 on). Node's large buffers come from malloc, 16 bytes past a page (glibc's
 * mmapped chunks): their data starts SKEW bytes in, DATA_IN_PAGE past the page.
 */
export const SKEW = 16;
/** Where in a page a buffer's data starts, as an address: for memory that starts on a page (WebAssembly's). */
export const DATA_IN_PAGE = 32;
export const PAGE = 4096;

/** A fresh buffer of `bytes` starting SKEW bytes past its allocation's start. */
export function skewed(bytes: number): Uint8Array {
  return new Uint8Array(new ArrayBuffer(bytes + SKEW), SKEW, bytes);
}

/**
 * Buffers for reuse: a fresh buffer per read costs more (zero-fill, then the kernel's page faults) than
 * the read itself. Sizes round up to a power of two from 64 KiB. `limit` bounds the buffers the pool keeps
 * alive, lent out and waiting here together: a lent one counts until it is given back, and free ones of
 * other sizes are let go to make room (so a caller that bounds what it borrows bounds the memory).
 */
export class BufferPool {
  private readonly free = new Map<number, Uint8Array[]>();
  private pooled = 0;
  private lent = 0;
  constructor(private readonly limit: number) {}
  static classOf(bytes: number): number {
    let c = 64 * 1024;
    while (c < bytes) c *= 2;
    return c;
  }
  /** Bytes of the buffers lent out and of those waiting for reuse. */
  get bytes(): { readonly lent: number; readonly pooled: number } {
    return { lent: this.lent, pooled: this.pooled };
  }
  /** A buffer of at least `bytes` (its contents are whatever the last user left). */
  take(bytes: number): Uint8Array {
    const size = BufferPool.classOf(bytes);
    this.lent += size;
    const b = this.free.get(size)?.pop();
    if (b) {
      this.pooled -= size;
      return b;
    }
    for (const [s, list] of this.free) {
      while (list.length > 0 && this.pooled + this.lent > this.limit) {
        list.pop();
        this.pooled -= s;
      }
    }
    return skewed(size);
  }
  /** Hand a buffer from `take` back once nothing refers to it. */
  give(b: Uint8Array): void {
    if (BufferPool.classOf(b.length) !== b.length) return;
    this.lent = Math.max(0, this.lent - b.length);
    if (this.pooled + this.lent + b.length > this.limit) return;
    const list = this.free.get(b.length) ?? [];
    list.push(b);
    this.free.set(b.length, list);
    this.pooled += b.length;
  }
}

/** One connection's share of a ReplyBudget. */
export interface BudgetHolder {
  /** Bytes granted and not yet returned. */
  held: number;
  closed: boolean;
}

/**
 * The bytes of reply buffers a process lets its connections hold: each connection may always hold `floor`
 * bytes (so one whose client reads its replies is served however many others do not), and up to `cap` when
 * the bytes above the floors, all connections together, stay within `shared`. With at most N connections
 * the process holds at most shared + N * floor.
 */
export class ReplyBudget {
  private above = 0;
  private total = 0;
  private readonly waiting: { holder: BudgetHolder; want: number; resolve: (granted: number) => void }[] = [];
  constructor(
    readonly shared: number,
    readonly floor: number,
    readonly cap: number,
  ) {}

  /** Bytes held, every connection together. */
  get heldBytes(): number {
    return this.total;
  }

  holder(): BudgetHolder {
    return { held: 0, closed: false };
  }

  private over(held: number) {
    return Math.max(0, held - this.floor);
  }

  /** What `holder` may take now of `want` (`floor` at least, a power of two): want, the floor, or 0. */
  private grant(holder: BudgetHolder, want: number): number {
    const after = holder.held + want;
    if (after <= this.cap && this.above + this.over(after) - this.over(holder.held) <= this.shared) return want;
    return holder.held === 0 ? this.floor : 0;
  }

  private apply(holder: BudgetHolder, n: number) {
    this.above += this.over(holder.held + n) - this.over(holder.held);
    holder.held += n;
    this.total += n;
  }

  /**
   * Bytes for a buffer of `want` (a pool size class): resolves with want or, when the shared bytes are
   * taken, a smaller piece from the holder's floor; 0 once the holder is closed.
   */
  acquire(holder: BudgetHolder, want: number): Promise<number> {
    if (holder.closed) return Promise.resolve(0);
    const n = this.waiting.length === 0 || holder.held === 0 ? this.grant(holder, want) : 0;
    if (n > 0) {
      this.apply(holder, n);
      return Promise.resolve(n);
    }
    return new Promise((resolve) => this.waiting.push({ holder, want, resolve }));
  }

  /** `want` now or nothing (0), never waiting. */
  tryAcquire(holder: BudgetHolder, want: number): number {
    if (holder.closed || this.waiting.length > 0) return 0;
    const n = this.grant(holder, want);
    if (n !== want) return 0;
    this.apply(holder, n);
    return n;
  }

  release(holder: BudgetHolder, n: number): void {
    this.apply(holder, -n);
    for (let i = 0; i < this.waiting.length; ) {
      const w = this.waiting[i]!;
      const g = this.grant(w.holder, w.want);
      if (g === 0) {
        i++;
        continue;
      }
      this.waiting.splice(i, 1);
      this.apply(w.holder, g);
      w.resolve(g);
    }
  }

  /** The connection has gone: its waits end with 0 (what it holds comes back through release). */
  close(holder: BudgetHolder): void {
    holder.closed = true;
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      if (this.waiting[i]!.holder === holder) this.waiting.splice(i, 1)[0]!.resolve(0);
    }
  }
}

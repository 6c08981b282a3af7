/**
 * The target interface, as the kernel's struct target_type: construct from the table line's arguments
 * (an error is a message, as ti->error), map I/O to the devices beneath, destroy. One target per module.
 */
import type { Extent } from './extents.js';
import type { IoError, Source } from './source.js';

export interface ConstructContext {
  /** A device argument of the table (`/dev/mapper/<name>`, a member path, `-`) → its Source, or undefined. */
  lookup(path: string): Source | undefined;
  /** Events worth reporting (a mirror leg failed, a RAID member is missing). */
  report(message: string): void;
}

export interface Target {
  /** Sectors this target covers (the table line's length). */
  readonly length: number;
  /** I/O relative to the target's start, always within [0, length). */
  read(sector: number, count: number): Promise<Uint8Array | IoError>;
  write(sector: number, data: Uint8Array): Promise<true | IoError>;
  /** Read into the caller's buffer (optional; see Source.readInto). */
  readInto?(sector: number, out: Uint8Array): Promise<true | IoError>;
  /** Allocation of [sector, sector+count), as Source.extents (optional: a target without it is all data). */
  extents?(sector: number, count: number): readonly Extent[];
  /** What `dmsetup status` would say, in words. */
  status?(): string;
  /** The redundancy a data check verifies: legs that must agree, or parity rows. */
  readonly check?: DataCheck;
  destroy?(): void;
}

/** A target with redundancy: check-data calls `verify` over [0, length) in steps of `unit` sectors. */
export interface DataCheck {
  readonly kind: 'mirror' | 'parity';
  /** Sectors per checked unit (a chunk row for parity; any size for mirrors). */
  readonly unit: number;
  /**
   * Where the redundancy disagrees: ranges of the target's sectors (a mirror's differing sectors, a parity
   * row's extent) and the count of mismatching sectors (as the kernel's mismatch_cnt: parity or leg sectors);
   * RAID6 counts its P sectors in `mismatches` and its Q sectors apart, in `syndromeMismatches`.
   */
  verify(
    sector: number,
    count: number,
  ): Promise<{ ranges: { start: number; length: number }[]; mismatches: number; syndromeMismatches?: number } | IoError>;
}

export interface TargetType {
  readonly name: string;
  construct(ctx: ConstructContext, length: number, args: readonly string[]): Target | string;
}

/** A non-negative integer argument (sectors, counts), as the kernel's sscanf("%llu%c"). */
export function uint(arg: string | undefined): number | undefined {
  if (arg === undefined || !/^\d+$/.test(arg)) return undefined;
  const n = Number(arg);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * Offline data check (md's `check` sync action, without the kernel): read every redundant target of a
 * device and report where mirror legs disagree or RAID4/5/6 parity (RAID6: P and Q apart) does not match, with a mismatch count.
 */
import { isMediumError } from './rescue.js';
import { isIoError, type IoError } from './source.js';
import type { MappedDevice } from './table.js';
import type { Engine } from './engine.js';

export interface CheckRange {
  /** The mapped device holding the redundancy (a RAID10's mirror is the top device, its legs below). */
  readonly device: string;
  readonly kind: 'mirror' | 'parity';
  /** Sectors of that device. */
  readonly start: number;
  readonly length: number;
}

export interface CheckReport {
  readonly ranges: CheckRange[];
  readonly mismatches: number;
  /** RAID6 only: Q (syndrome) sectors that do not match, counted apart from P's in `mismatches`. */
  readonly syndromeMismatches?: number;
  /** Devices with redundancy that were checked, and those that could not be (a member missing). */
  readonly checked: string[];
  /** Sectors of the redundant targets checked (each compared across all its legs or members). */
  readonly sectors: number;
  /**
   * Units (a chunk row, a mirror's 2048 sectors) not checked because a member sector of them could not be
   * read (EIO: a bad sector, an unrescued area of --rescue-map); in the redundant device's sectors.
   */
  readonly unreadable: CheckRange[];
}

const STEP = 8192;

export async function checkData(
  engine: Engine,
  names: readonly string[],
  progress?: (done: number, total: number) => void,
): Promise<CheckReport | IoError> {
  const ranges: CheckRange[] = [];
  let mismatches = 0;
  let syndromeMismatches: number | undefined;
  const checked: string[] = [];
  const unreadable: CheckRange[] = [];
  const devices = names.map((n) => engine.get(n)).filter((d): d is MappedDevice => !!d);
  // Only the sectors of redundant targets are checked (a RAID10's stripes below its mirror are read through it).
  const redundant = devices.map((dev) => ({ dev, targets: dev.targets.filter((t) => t.target.check) }));
  const total = redundant.reduce((n, { targets }) => targets.reduce((m, t) => m + t.target.length, n), 0);
  let done = 0;
  for (const { dev, targets } of redundant) {
    if (!targets.length) continue;
    const name = dev.name.replace(/^\/dev\/mapper\//, '');
    for (const { start, target } of targets) {
      const check = target.check!;
      const step = Math.max(check.unit, Math.floor(STEP / check.unit) * check.unit);
      for (let s = 0; s < target.length; s += step) {
        const n = Math.min(step, target.length - s);
        let r = await check.verify(s, n);
        // A member sector that cannot be read: the step unit by unit, the units that still fail set apart.
        if (isIoError(r) && isMediumError(r)) {
          const merged = { ranges: [] as { start: number; length: number }[], mismatches: 0, syndromeMismatches: undefined as number | undefined };
          for (let u = s; u < s + n; u += check.unit) {
            const m = Math.min(check.unit, s + n - u);
            const one = await check.verify(u, m);
            if (isIoError(one)) {
              if (!isMediumError(one)) return one;
              const prev = unreadable[unreadable.length - 1];
              const abs = start + u;
              if (prev && prev.device === name && prev.start + prev.length === abs) unreadable[unreadable.length - 1] = { ...prev, length: prev.length + m };
              else unreadable.push({ device: name, kind: check.kind, start: abs, length: m });
              continue;
            }
            merged.ranges.push(...one.ranges);
            merged.mismatches += one.mismatches;
            if (one.syndromeMismatches !== undefined) merged.syndromeMismatches = (merged.syndromeMismatches ?? 0) + one.syndromeMismatches;
          }
          r = { ranges: merged.ranges, mismatches: merged.mismatches, ...(merged.syndromeMismatches === undefined ? {} : { syndromeMismatches: merged.syndromeMismatches }) };
        }
        if (isIoError(r)) return r;
        mismatches += r.mismatches;
        if (r.syndromeMismatches !== undefined) syndromeMismatches = (syndromeMismatches ?? 0) + r.syndromeMismatches;
        for (const range of r.ranges) {
          const prev = ranges[ranges.length - 1];
          const abs = start + range.start;
          if (prev && prev.device === name && prev.start + prev.length === abs) ranges[ranges.length - 1] = { ...prev, length: prev.length + range.length };
          else ranges.push({ device: name, kind: check.kind, start: abs, length: range.length });
        }
        progress?.(done + s + n, total);
      }
      done += target.length;
    }
    checked.push(name);
  }
  return { ranges, mismatches, ...(syndromeMismatches === undefined ? {} : { syndromeMismatches }), checked, sectors: total, unreadable };
}

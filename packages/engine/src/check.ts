/**
 * Offline data check (md's `check` sync action, without the kernel): read every redundant target of a
 * device and report where mirror legs disagree or RAID4/5 parity does not match, with a mismatch count.
 */
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
  /** Devices with redundancy that were checked, and those that could not be (a member missing). */
  readonly checked: string[];
  readonly sectors: number;
}

const STEP = 8192;

export async function checkData(
  engine: Engine,
  names: readonly string[],
  progress?: (done: number, total: number) => void,
): Promise<CheckReport | IoError> {
  const ranges: CheckRange[] = [];
  let mismatches = 0;
  const checked: string[] = [];
  const devices = names.map((n) => engine.get(n)).filter((d): d is MappedDevice => !!d);
  const total = devices.reduce((n, d) => n + d.sizeSectors, 0);
  let done = 0;
  for (const dev of devices) {
    const name = dev.name.replace(/^\/dev\/mapper\//, '');
    let hadCheck = false;
    for (const { start, target } of dev.targets) {
      const check = target.check;
      if (!check) continue;
      hadCheck = true;
      const step = Math.max(check.unit, Math.floor(STEP / check.unit) * check.unit);
      for (let s = 0; s < target.length; s += step) {
        const n = Math.min(step, target.length - s);
        const r = await check.verify(s, n);
        if (isIoError(r)) return r;
        mismatches += r.mismatches;
        for (const range of r.ranges) {
          const prev = ranges[ranges.length - 1];
          const abs = start + range.start;
          if (prev && prev.device === name && prev.start + prev.length === abs) ranges[ranges.length - 1] = { ...prev, length: prev.length + range.length };
          else ranges.push({ device: name, kind: check.kind, start: abs, length: range.length });
        }
        progress?.(done + start + s + n, total);
      }
    }
    if (hadCheck) checked.push(name);
    done += dev.sizeSectors;
  }
  return { ranges, mismatches, checked, sectors: total };
}

/**
 * `mirror <log type> <#log args> <log args...> <#legs> (<dev> <offset>)... [<#features> <features...>]`:
 * dm-raid1. Under `nosync` every leg is in sync: reads come from the first healthy leg, the next where one
 * fails. Otherwise (`sync`, the log's default) the legs are not in sync and, as the kernel reads a region
 * not yet resynced, only the first leg (the default mirror, the resync's source) is read: the others may
 * be the blank target of a rebuild. Writes go to every healthy leg. A leg whose I/O fails is marked
 * failed, reported and skipped after.
 */
import { extentsOf, isIoError, SECTOR, type IoError, type Source } from '../source.js';
import { isMediumError } from '../rescue.js';
import { uint, type TargetType } from '../target.js';

export const mirror: TargetType = {
  name: 'mirror',
  construct(ctx, length, args) {
    let i = 1;
    const logArgs = uint(args[i]);
    if (args[0] === undefined || logArgs === undefined) return 'Invalid number of mirror log arguments';
    const inSync = args.slice(i + 1, i + 1 + logArgs).includes('nosync');
    i += 1 + logArgs;
    const legCount = uint(args[i]);
    if (legCount === undefined || legCount < 2) return 'Invalid number of mirrors';
    i++;
    if (args.length < i + 2 * legCount) return 'Too few mirror arguments';
    const legs: { source: Source; offset: number; failed: boolean; readErrors: number }[] = [];
    for (let l = 0; l < legCount; l++, i += 2) {
      const source = ctx.lookup(args[i]!);
      const offset = uint(args[i + 1]);
      if (!source) return `Device lookup failure: ${args[i]}`;
      if (offset === undefined) return 'Invalid offset';
      if (offset + length > source.sizeSectors) return `Device ${args[i]} too small for the target`;
      legs.push({ source, offset, failed: false, readErrors: 0 });
    }
    if (i < args.length) {
      const features = uint(args[i]);
      if (features === undefined || args.length !== i + 1 + features) return 'Invalid number of features';
    }
    const fail = (leg: (typeof legs)[number], e: IoError) => {
      if (leg.failed) return;
      leg.failed = true;
      ctx.report(`mirror leg ${leg.source.name} failed (${e.message}); skipped from now on`);
    };
    return {
      length,
      async read(sector, count) {
        let last: IoError | undefined;
        for (const leg of inSync ? legs : legs.slice(0, 1)) {
          if (leg.failed) continue;
          const r = await leg.source.read(leg.offset + sector, count);
          if (!isIoError(r)) return r;
          // Unreadable sectors (a medium error) fail this read of the leg only: the next leg is read, and
          // the leg stays in use for the rest (a whole leg is not lost for a bad sector).
          if (!isMediumError(r)) fail(leg, r);
          else if (!leg.readErrors++) ctx.report(`mirror leg ${leg.source.name} failed a read (${r.message}); such reads go to the next leg`);
          last = r;
        }
        return last ?? { kind: 'io', path: 'mirror', code: 'EIO', message: 'Input/output error' };
      },
      async write(sector, data) {
        const healthy = legs.filter((l) => !l.failed);
        const results = await Promise.all(healthy.map((l) => l.source.write(l.offset + sector, data)));
        let ok = false;
        let last: IoError | undefined;
        results.forEach((r, n) => {
          if (isIoError(r)) {
            fail(healthy[n]!, r);
            last = r;
          } else ok = true;
        });
        return ok ? true : (last ?? { kind: 'io', path: 'mirror', code: 'EIO', message: 'Input/output error' });
      },
      // The leg a read goes to now: the first healthy one in sync, else the first (the resync's source).
      extents: (sector, count) => {
        const leg = (inSync ? legs.find((l) => !l.failed) : undefined) ?? legs[0]!;
        return extentsOf(leg.source, leg.offset + sector, count);
      },
      status: () => `${legCount} ${legs.map((l) => `${l.source.name}${l.failed ? ' (failed)' : ''}`).join(' ')}`,
      check: {
        kind: 'mirror',
        unit: 2048,
        async verify(sector, count) {
          const reads = await Promise.all(legs.map((l) => l.source.read(l.offset + sector, count)));
          for (const r of reads) if (isIoError(r)) return r;
          const [first, ...rest] = reads as Uint8Array[];
          const bad: { start: number; length: number }[] = [];
          for (let s = 0; s < count; s++) {
            const a = first!.subarray(s * SECTOR, (s + 1) * SECTOR);
            const differs = rest.some((b) => !sameBytes(a, b.subarray(s * SECTOR, (s + 1) * SECTOR)));
            if (!differs) continue;
            const prev = bad[bad.length - 1];
            if (prev && prev.start + prev.length === sector + s) prev.length++;
            else bad.push({ start: sector + s, length: 1 });
          }
          return { ranges: bad, mismatches: bad.reduce((n, r) => n + r.length, 0) };
        },
      },
    };
  },
};

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

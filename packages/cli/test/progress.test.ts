// Progress of --extract and --check-data, on a clock of our own: rate and time left, redraws, plain lines.
import { describe, expect, it } from 'vitest';
import { clockTime, progress } from '../src/progress.js';

const MIB = 2048; // sectors

function on(terminal: boolean) {
  let stderr = '';
  let t = 0;
  const io = { stdout: () => undefined, stderr: (s: string) => (stderr += s), readLine: async () => null, cwd: '/', terminal };
  return {
    io,
    at: (ms: number) => (t = ms),
    now: () => t,
    take: () => {
      const s = stderr;
      stderr = '';
      return s;
    },
  };
}

/** At `ms`, `done` of `total` sectors: what `p` wrote. */
const stepper = (c: ReturnType<typeof on>, p: ReturnType<typeof progress>, total: number) => (ms: number, done: number) => {
  c.at(ms);
  p.update(done, total);
  return c.take();
};

describe('progress', () => {
  it('a terminal: the bar with rate and time left once a second of work gives them, redrawn each second, padded over longer text', () => {
    const c = on(true);
    const p = progress(c.io, 'r0', { json: false, now: c.now });
    const total = 100 * MIB;
    const step = stepper(c, p, total);
    expect(step(0, 0)).toBe('\rr0 [.........................]   0% 0.0 MiB / 100.0 MiB');
    expect(step(500, 5 * MIB)).toBe('\rr0 [#........................]   5% 5.0 MiB / 100.0 MiB');
    expect(step(2000, 20 * MIB)).toBe('\rr0 [#####....................]  20% 20.0 MiB / 100.0 MiB, 10.0 MiB/s, 0:08 left');
    // The same percentage within a second: not drawn; after a second: drawn, the rate and time left updated.
    expect(step(2500, 20 * MIB + 100)).toBe('');
    // One space over the end of the longer line before.
    expect(step(3000, 20 * MIB)).toBe('\rr0 [#####....................]  20% 20.0 MiB / 100.0 MiB, 6.7 MiB/s, 0:12 left ');
    const last = 'r0 [#########################] 100% 100.0 MiB / 100.0 MiB, 10.0 MiB/s';
    // Shorter than the line before: spaces over the rest.
    expect(step(10_000, total)).toBe(`\r${last}${' '.repeat('r0 [#####....................]  20% 20.0 MiB / 100.0 MiB, 6.7 MiB/s, 0:12 left'.length - last.length)}`);
    p.end();
    expect(c.take()).toBe('\n');
  });

  it('no terminal: a plain line at most every interval, when the percentage moved; the rate from the first update (a resume counts only its own part)', () => {
    const c = on(false);
    const p = progress(c.io, 'check r5', { json: false, everyMs: 10_000, now: c.now });
    const total = 1000 * MIB;
    const step = stepper(c, p, total);
    expect(step(0, 400 * MIB)).toBe(''); // resumed at 40 %
    expect(step(5000, 450 * MIB)).toBe('');
    expect(step(10_000, 500 * MIB)).toBe('check r5: 50% (500.0 MiB of 1000.0 MiB, 10.0 MiB/s, 0:50 left)\n');
    expect(step(25_000, 500 * MIB)).toBe('');
    expect(step(70_000, total)).toBe('check r5: 100% (1000.0 MiB of 1000.0 MiB, 8.6 MiB/s)\n');
  });

  it('--json: nothing at all', () => {
    const c = on(true);
    const p = progress(c.io, 'r0', { json: true, now: c.now });
    p.update(1, 2);
    p.end();
    expect(c.take()).toBe('');
  });

  it('time left reads M:SS, or H:MM:SS from an hour on', () => {
    expect([clockTime(0), clockTime(8.4), clockTime(65), clockTime(3599.6), clockTime(3725), clockTime(100 * 3600)]).toEqual(['0:00', '0:08', '1:05', '1:00:00', '1:02:05', '100:00:00']);
  });
});

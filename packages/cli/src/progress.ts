/**
 * Progress of long work (--extract, --check-data) on standard error: on a terminal a bar redrawn in place;
 * otherwise (a log file, a pipe) a plain line now and then, so a copy of hours shows it is alive without
 * filling the log. Nothing for --json runs (a script reads those).
 */
import type { Io } from './main.js';

export interface Progress {
  update(doneSectors: number, totalSectors: number): void;
  /** Ends the bar's line (a terminal); the plain lines need nothing. */
  end(): void;
}

/** Plain lines when not on a terminal: at most one per this many milliseconds (the first after as long). */
export const PLAIN_PROGRESS_EVERY_MS = 10_000;

/** Sectors as MiB with one decimal, as the engine commands print sizes. */
export const mib = (sectors: number): string => `${((sectors * 512) / 1048576).toFixed(1)} MiB`;

export function progress(io: Io, label: string, options: { readonly json: boolean; readonly everyMs?: number }): Progress {
  if (options.json) return { update: () => undefined, end: () => undefined };
  if (io.terminal) {
    let shown = -1;
    return {
      update(done, total) {
        const pct = total > 0 ? Math.floor((done * 100) / total) : 100;
        if (pct === shown) return;
        shown = pct;
        const bar = '#'.repeat(Math.floor(pct / 4)).padEnd(25, '.');
        io.stderr(`\r${label} [${bar}] ${String(pct).padStart(3)}% ${mib(done)} / ${mib(total)}`);
      },
      end: () => {
        if (shown >= 0) io.stderr('\n');
      },
    };
  }
  const every = options.everyMs ?? PLAIN_PROGRESS_EVERY_MS;
  let last = Date.now();
  let lastPct = -1;
  return {
    update(done, total) {
      const pct = total > 0 ? Math.floor((done * 100) / total) : 100;
      const now = Date.now();
      if (now - last < every || pct === lastPct) return;
      last = now;
      lastPct = pct;
      io.stderr(`${label}: ${pct}% (${mib(done)} of ${mib(total)})\n`);
    },
    end: () => undefined,
  };
}

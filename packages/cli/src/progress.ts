/**
 * Progress of long work (--extract, --check-data) on standard error: on a terminal a bar redrawn in place;
 * otherwise (a log file, a pipe) a plain line now and then, so a copy of hours shows it is alive without
 * filling the log. Nothing for --json runs (a script reads those).
 */
import type { Io } from './context.js';

export interface Progress {
  update(doneSectors: number, totalSectors: number): void;
  /** Ends the bar's line (a terminal); the plain lines need nothing. */
  end(): void;
}

/** Plain lines when not on a terminal: at most one per this many milliseconds (the first after as long). */
export const PLAIN_PROGRESS_EVERY_MS = 10_000;

/** Sectors as MiB with one decimal, as the engine commands print sizes. */
export const mib = (sectors: number): string => `${((sectors * 512) / 1048576).toFixed(1)} MiB`;

/** Seconds as M:SS or H:MM:SS. */
export const clockTime = (seconds: number): string => {
  const s = Math.max(0, Math.round(seconds));
  const hms = [Math.floor(s / 3600), Math.floor(s / 60) % 60, s % 60];
  return hms[0]! > 0 ? `${hms[0]}:${String(hms[1]).padStart(2, '0')}:${String(hms[2]).padStart(2, '0')}` : `${hms[1]}:${String(hms[2]).padStart(2, '0')}`;
};

/** Rate and time left, once a second of work gives a rate to go by: `, 152.3 MiB/s, 0:12 left`. */
function pace(done: number, total: number, since: { at: number; done: number }, now: number): string {
  const seconds = (now - since.at) / 1000;
  if (seconds < 1 || done <= since.done) return '';
  const perSecond = (done - since.done) / seconds;
  const rate = `, ${mib(perSecond)}/s`;
  return done < total ? `${rate}, ${clockTime((total - done) / perSecond)} left` : rate;
}

/** Whole percent done (an empty volume is done). */
const percent = (done: number, total: number) => (total > 0 ? Math.floor((done * 100) / total) : 100);

/** How often a terminal's bar is redrawn when its percentage does not change (rate and time left move). */
const REDRAW_MS = 1000;

export function progress(
  io: Io,
  label: string,
  options: { readonly json: boolean; readonly everyMs?: number; readonly now?: () => number },
): Progress {
  if (options.json) return { update: () => undefined, end: () => undefined };
  const now = options.now ?? Date.now;
  // The rate counts from the first update: a resumed copy's earlier part is not in it.
  let since: { at: number; done: number } | undefined;
  if (io.terminal) {
    let shown = -1;
    let drawn = 0;
    let width = 0;
    return {
      update(done, total) {
        const t = now();
        since ??= { at: t, done };
        const pct = percent(done, total);
        if (pct === shown && t - drawn < REDRAW_MS) return;
        shown = pct;
        drawn = t;
        const bar = '#'.repeat(Math.floor(pct / 4)).padEnd(25, '.');
        // Padded over what was there: the text is shorter when the rate or the time left shrinks.
        const text = `${label} [${bar}] ${String(pct).padStart(3)}% ${mib(done)} / ${mib(total)}${pace(done, total, since, t)}`;
        io.stderr(`\r${text.padEnd(width)}`);
        width = text.length;
      },
      end: () => {
        if (shown >= 0) io.stderr('\n');
      },
    };
  }
  const every = options.everyMs ?? PLAIN_PROGRESS_EVERY_MS;
  let last = now();
  let lastPct = -1;
  return {
    update(done, total) {
      const t = now();
      since ??= { at: t, done };
      const pct = percent(done, total);
      if (t - last < every || pct === lastPct) return;
      last = t;
      lastPct = pct;
      io.stderr(`${label}: ${pct}% (${mib(done)} of ${mib(total)}${pace(done, total, since, t)})\n`);
    },
    end: () => undefined,
  };
}

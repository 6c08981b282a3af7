/**
 * Messages: everything below the CLI reports through a Log instead of printing. The levels are dmraid's:
 * `error`/`fatal` lines go to stderr as `ERROR: ...`/`FATAL: ...`; `print` lines are plain stdout; `info`,
 * `notice`, `warn` and `debug` are stdout lines shown at -v, -vv, -vvv and -d. Ours beside them: `warning`, a
 * stderr line `WARNING: ...` shown always, for what a user must know although nothing failed (dmraid has no
 * such level; it is used only where dmraid would have failed, so it never changes dmraid's output).
 */
export type LogLevel = 'fatal' | 'error' | 'warning' | 'print' | 'info' | 'notice' | 'warn' | 'debug';

export interface LogLine {
  readonly level: LogLevel;
  readonly text: string;
}

export type Log = (level: LogLevel, text: string) => void;

/** A log that keeps its lines, to be replayed in a deterministic order after concurrent work. */
export function bufferLog(): { log: Log; lines: LogLine[] } {
  const lines: LogLine[] = [];
  return { log: (level, text) => lines.push({ level, text }), lines };
}

export function replay(lines: readonly LogLine[], log: Log): void {
  for (const l of lines) log(l.level, l.text);
}

export const nullLog: Log = () => undefined;

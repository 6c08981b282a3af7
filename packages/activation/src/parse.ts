/**
 * Tables a user gives as text (`--tables FILE`): what `dmraid -tay` prints, read back into the plan's
 * model. Only text from outside is read here; the tables we build are never printed and parsed again.
 */
import { splitTableWords, typedArgs, type TableTarget } from '@dmraid/core';
import { dmDevice, type DmDevice } from './plan.js';

/** A table line's start or length: a decimal number of safe size. */
const sectorNumber = (word: string | undefined): number | undefined => {
  if (word === undefined || !/^\d+$/.test(word)) return undefined;
  const n = Number(word);
  return Number.isSafeInteger(n) ? n : undefined;
};

/**
 * `NAME: START LENGTH TARGET ARGS...` lines, as `dmraid -tay` prints them, in creation order; or the error
 * naming the first line that is none. Arguments are split as the kernel splits them (a backslash makes the
 * next character literal: `sp\ ace.img`), and the device arguments found by each target's syntax, so a
 * member path is never guessed from a word.
 */
export function parseTestTables(text: string): DmDevice[] | string {
  const order: string[] = [];
  const lines = new Map<string, { start: number; length: number; type: string; args: string[] }[]>();
  for (const raw of text.split('\n')) {
    if (!raw.trim()) continue;
    const m = /^\s*(\S+?):\s+(\d[^]*)$/.exec(raw);
    const [start, length, type, ...args] = m ? splitTableWords(m[2]!) : [];
    const s = sectorNumber(start);
    const l = sectorNumber(length);
    if (!m || s === undefined || l === undefined || type === undefined) return `not a table line: "${raw.trim()}"`;
    if (!lines.has(m[1]!)) {
      order.push(m[1]!);
      lines.set(m[1]!, []);
    }
    lines.get(m[1]!)!.push({ start: s, length: l, type, args });
  }
  const names = new Set(order);
  return order.map((name) => {
    const targets: TableTarget[] = lines.get(name)!.map((t) => ({ ...t, args: typedArgs(t.type, t.args, (n) => names.has(n)) }));
    return dmDevice({ name, targets, dependsOn: [...new Set(mappedNames(targets))], set: name, role: 'set' });
  });
}

const mappedNames = (targets: readonly TableTarget[]) => targets.flatMap((t) => t.args.flatMap((a) => (typeof a !== 'string' && a.kind === 'mapped' ? [a.name] : [])));

/**
 * A device-mapper table as data: what activation builds and the userspace engine runs. Its text (what
 * `dmsetup create` reads and `-t` prints) is rendered from it, never parsed back: a member's path may hold
 * spaces, commas or colons, and a word of text cannot say whether it names a device.
 */

/**
 * A device a target maps onto: a member (a disk or an image file, by the path it was opened by), another
 * device of the same plan (`/dev/mapper/<name>`), or the stand-in dmraid maps a missing member to.
 */
export type DeviceRef =
  | { readonly kind: 'member'; readonly path: string }
  | { readonly kind: 'mapped'; readonly name: string }
  | { readonly kind: 'zero' };

/** A target argument: a word (a number, a keyword, `-`) or a device. */
export type TableArg = string | DeviceRef;

/** One table line: `<start> <length> <type> <args...>`. */
export interface TableTarget {
  readonly start: number;
  readonly length: number;
  readonly type: string;
  readonly args: readonly TableArg[];
}

/** dmraid's stand-in for a missing member: the path `-t` prints for `{ kind: 'zero' }`. */
export const ZERO_PATH = '/dev/zero';

export const memberRef = (path: string): DeviceRef => ({ kind: 'member', path });
export const mappedRef = (name: string): DeviceRef => ({ kind: 'mapped', name });
export const ZERO_REF: DeviceRef = { kind: 'zero' };

export const isDeviceRef = (arg: TableArg): arg is DeviceRef => typeof arg !== 'string';

/** The path a device argument stands for: what the kernel would open. */
export function devicePath(ref: DeviceRef): string {
  switch (ref.kind) {
    case 'member':
      return ref.path;
    case 'mapped':
      return `/dev/mapper/${ref.name}`;
    case 'zero':
      return ZERO_PATH;
  }
}

/**
 * A word as a table line holds it. The kernel splits a table's arguments at whitespace and reads a backslash
 * as "the next character is literal" (dm-table.c, dm_split_args), so a backslash goes before each whitespace
 * character and each backslash: `sp ace.img` is `sp\ ace.img`, which dmsetup and the kernel read back as
 * the one path. A newline cannot be written at all (a table is read line by line): see `tableTextProblem`.
 */
export function escapeTableWord(word: string): string {
  return word.replace(/[ \t\n\v\f\r\\]/g, (c) => `\\${c}`);
}

/** The kernel's isspace (ASCII): a non-breaking space is part of a word, as the kernel reads it. */
const SPACE = /[ \t\n\v\f\r]/;

/** The words of a table line's text, backslash escapes undone: the kernel's split (dm_split_args). */
export function splitTableWords(text: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length) {
      word = (word ?? '') + text[++i];
    } else if (SPACE.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

/** What keeps a table from being written as text (a device path with a newline), or undefined. */
export function tableTextProblem(targets: readonly TableTarget[]): string | undefined {
  for (const t of targets) {
    for (const a of t.args) {
      const word = typeof a === 'string' ? a : devicePath(a);
      if (word.includes('\n')) return `"${word.replace(/\n/g, '\\n')}" holds a newline, which a table line cannot`;
    }
  }
  return undefined;
}

/** One target as a table line (no newline). */
export function renderTarget(t: TableTarget): string {
  const args = t.args.map((a) => escapeTableWord(typeof a === 'string' ? a : devicePath(a)));
  return [t.start, t.length, t.type, ...args].join(' ');
}

/** The table's text: its lines joined by '\n', no trailing newline (what `dmsetup create NAME` reads). */
export function renderTable(targets: readonly TableTarget[]): string {
  return targets.map(renderTarget).join('\n');
}

/** A table's count or offset word: a decimal number of safe size, or undefined. */
const tableNumber = (word: string | undefined): number | undefined => {
  if (word === undefined || !/^\d+$/.test(word)) return undefined;
  const n = Number(word);
  return Number.isSafeInteger(n) ? n : undefined;
};

/**
 * Which arguments of a target name a device, by the target's syntax (the kernel's constructors): linear
 * `<dev> <offset>`; striped `<#stripes> <chunk> (<dev> <offset>)...`; mirror `<log type> <#log args>
 * <log args...> <#legs> (<dev> <offset>)...` (a `disk` log's first argument is its device); raid `<level>
 * <#params> <params...> <#devs> (<meta dev> <data dev>)...` (`-` for none). Counts that do not parse end
 * the list: the target's constructor then says what is wrong.
 */
export function deviceArgIndexes(type: string, args: readonly string[]): number[] {
  const pairs = (first: number, count: number | undefined, step: number[]) => {
    const out: number[] = [];
    for (let k = 0; count !== undefined && k < count && first + 2 * k < args.length; k++) {
      for (const s of step) if (first + 2 * k + s < args.length) out.push(first + 2 * k + s);
    }
    return out;
  };
  switch (type) {
    case 'linear':
      return args.length > 0 ? [0] : [];
    case 'striped':
      return pairs(2, tableNumber(args[0]), [0]);
    case 'mirror': {
      const logArgs = tableNumber(args[1]);
      if (logArgs === undefined) return [];
      const log = args[0] === 'disk' && logArgs > 0 ? [2] : [];
      return [...log, ...pairs(3 + logArgs, tableNumber(args[2 + logArgs]), [0])];
    }
    case 'raid': {
      const params = tableNumber(args[1]);
      if (params === undefined) return [];
      return pairs(3 + params, tableNumber(args[2 + params]), [0, 1]);
    }
    case 'snapshot':
      // <origin> <COW device> <P|PO|N> <chunk>
      return [0, 1].filter((i) => i < args.length);
    default:
      return [];
  }
}

/**
 * A table line's arguments with its device arguments typed: `/dev/zero`, `/dev/mapper/<name>` where
 * `mapped(name)` (a device of the same run), `-` left as a word, anything else a member by its path.
 */
export function typedArgs(type: string, args: readonly string[], mapped: (name: string) => boolean): TableArg[] {
  const devices = new Set(deviceArgIndexes(type, args));
  return args.map((word, i): TableArg => {
    if (!devices.has(i) || word === '-') return word;
    if (word === ZERO_PATH) return ZERO_REF;
    if (word.startsWith('/dev/mapper/') && mapped(word.slice('/dev/mapper/'.length))) return mappedRef(word.slice('/dev/mapper/'.length));
    return memberRef(word);
  });
}

/** The member paths a table maps onto, each once, in the order its targets name them. */
export function memberPaths(targets: readonly TableTarget[]): string[] {
  return [...new Set(targets.flatMap((t) => t.args.flatMap((a) => (typeof a !== 'string' && a.kind === 'member' ? [a.path] : []))))];
}

/**
 * Command-line parsing compatible with dmraid 1.0.0.rc16 (2009 tools/): getopt_long with the short string
 * "a:hipP:bc::dDEf:glxM:nrR:s::tvVC:S::Z", unique-prefix long options, argument permutation, and dmraid's
 * action table that decides which options combine. Ours beside them: --devices, --json, --yes.
 */
import { splitDeviceList } from '@dmraid/core';

export class UsageError extends Error {
  constructor(
    message: string,
    /** Lines printed after the ERROR line (dmraid prints an empty one after some messages). */
    readonly trailer: string[] = [],
    /** getopt's own messages are not "ERROR:" lines. */
    readonly raw = false,
  ) {
    super(message);
  }
}

type ArgKind = 'none' | 'required' | 'optional';

interface LongOption {
  readonly name: string;
  readonly arg: ArgKind;
  readonly key: string;
  /** Not dmraid's: -h lists it under "Beyond dmraid". */
  readonly ours?: true;
}

const SHORT: Record<string, ArgKind> = {
  a: 'required', h: 'none', i: 'none', p: 'none', P: 'required', b: 'none', c: 'optional', d: 'none', D: 'none',
  E: 'none', f: 'required', g: 'none', l: 'none', x: 'none', M: 'required', n: 'none', r: 'none', R: 'required',
  s: 'optional', t: 'none', v: 'none', V: 'none', C: 'required', S: 'optional', Z: 'none',
  // Ours: --output of --extract.
  o: 'required',
};

const LONG: LongOption[] = [
  { name: 'activate', arg: 'required', key: 'a' },
  { name: 'block_devices', arg: 'none', key: 'b' },
  { name: 'create', arg: 'required', key: 'C' },
  { name: 'debug', arg: 'none', key: 'd' },
  { name: 'dump_metadata', arg: 'none', key: 'D' },
  { name: 'display_columns', arg: 'optional', key: 'c' },
  { name: 'display_group', arg: 'none', key: 'g' },
  { name: 'erase_metadata', arg: 'none', key: 'E' },
  { name: 'format', arg: 'required', key: 'f' },
  { name: 'help', arg: 'none', key: 'h' },
  { name: 'ignorelocking', arg: 'none', key: 'i' },
  { name: 'list_formats', arg: 'none', key: 'l' },
  { name: 'media', arg: 'required', key: 'M' },
  { name: 'native_log', arg: 'none', key: 'n' },
  { name: 'no_partitions', arg: 'none', key: 'p' },
  { name: 'partchar', arg: 'required', key: 'P' },
  { name: 'raid_devices', arg: 'none', key: 'r' },
  { name: 'rebuild', arg: 'required', key: 'R' },
  { name: 'remove', arg: 'none', key: 'x' },
  { name: 'rm_partitions', arg: 'none', key: 'Z' },
  { name: 'separator', arg: 'required', key: 'SEP' },
  { name: 'sets', arg: 'optional', key: 's' },
  { name: 'spare', arg: 'optional', key: 'S' },
  { name: 'test', arg: 'none', key: 't' },
  { name: 'verbose', arg: 'none', key: 'v' },
  { name: 'version', arg: 'none', key: 'V' },
  // Ours.
  { name: 'devices', arg: 'required', key: 'DEVICES', ours: true },
  { name: 'json', arg: 'none', key: 'JSON', ours: true },
  { name: 'yes', arg: 'none', key: 'YES', ours: true },
  // Ours: the userspace engine (@dmraid/engine).
  { name: 'extract', arg: 'required', key: 'EXTRACT', ours: true },
  { name: 'output', arg: 'required', key: 'o', ours: true },
  { name: 'resume', arg: 'none', key: 'RESUME', ours: true },
  { name: 'serve', arg: 'none', key: 'SERVE', ours: true },
  { name: 'writable', arg: 'none', key: 'WRITABLE', ours: true },
  { name: 'listen', arg: 'required', key: 'LISTEN', ours: true },
  { name: 'check-data', arg: 'required', key: 'CHECK_DATA', ours: true },
  { name: 'tables', arg: 'required', key: 'TABLES', ours: true },
];

/** Our long options, beyond dmraid's (the help must name each). */
export const OUR_LONG_OPTIONS: readonly string[] = LONG.filter((l) => l.ours).map((l) => l.name);

interface Occurrence {
  readonly key: string;
  readonly arg: string | undefined;
}

/** getopt_long with GNU permutation: options anywhere, `--` ends them. */
export function getopt(argv: readonly string[]): { options: Occurrence[]; operands: string[] } {
  const options: Occurrence[] = [];
  const operands: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      operands.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = a.slice(2, eq < 0 ? undefined : eq);
      const exact = LONG.find((l) => l.name === name);
      const matches = exact ? [exact] : LONG.filter((l) => l.name.startsWith(name));
      // Ours: a handler option `--<format>-<key>=<value>` (e.g. --isw-match=position); main checks the format.
      const handlerOption = /^([a-z][a-z0-9_]*)-([a-z][a-z0-9_-]*)$/.exec(name);
      if (matches.length === 0 && handlerOption && eq >= 0) {
        options.push({ key: 'HANDLER_OPTION', arg: `${handlerOption[1]}\0${handlerOption[2]}\0${a.slice(eq + 1)}` });
        continue;
      }
      if (matches.length === 0) throw new UsageError(`dmraid: unrecognized option '${a}'`, [], true);
      if (matches.length > 1) throw new UsageError(`dmraid: option '${a}' is ambiguous`, [], true);
      const opt = matches[0]!;
      let arg: string | undefined = eq < 0 ? undefined : a.slice(eq + 1);
      if (opt.arg === 'none' && arg !== undefined) {
        throw new UsageError(`dmraid: option '--${opt.name}' doesn't allow an argument`, [], true);
      }
      if (opt.arg === 'required' && arg === undefined) {
        if (i + 1 >= argv.length) throw new UsageError(`dmraid: option '--${opt.name}' requires an argument`, [], true);
        arg = argv[++i];
      }
      options.push({ key: opt.key, arg });
      // dmraid stops at -C NAME: the rest (--type, --size, --strip, --disk) is the create request's.
      if (opt.key === 'C') {
        operands.push(...argv.slice(i + 1));
        break;
      }
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const c = a[j]!;
        const kind = SHORT[c];
        if (!kind) throw new UsageError(`dmraid: invalid option -- '${c}'`, [], true);
        if (kind === 'none') {
          options.push({ key: c, arg: undefined });
          continue;
        }
        const rest = a.slice(j + 1);
        if (kind === 'optional') options.push({ key: c, arg: rest || undefined });
        else if (rest) options.push({ key: c, arg: rest });
        else {
          if (i + 1 >= argv.length) throw new UsageError(`dmraid: option requires an argument -- '${c}'`, [], true);
          options.push({ key: c, arg: argv[++i] });
        }
        break;
      }
      if (options.at(-1)?.key === 'C') {
        operands.push(...argv.slice(i + 1));
        break;
      }
      continue;
    }
    operands.push(a);
  }
  return { options, operands };
}

/** dmraid's action flags. */
const F = {
  ACTIVATE: 1 << 0, DEACTIVATE: 1 << 1, FORMAT: 1 << 2, BLOCK_DEVICES: 1 << 3, COLUMN: 1 << 4, DBG: 1 << 5,
  DUMP: 1 << 6, DMERASE: 1 << 7, GROUP: 1 << 8, HELP: 1 << 9, IGNORELOCKING: 1 << 10, LIST_FORMATS: 1 << 11,
  NATIVE_LOG: 1 << 12, NOPARTITIONS: 1 << 13, RAID_DEVICES: 1 << 14, RAID_SETS: 1 << 15, TEST: 1 << 16,
  VERBOSE: 1 << 17, ACTIVE: 1 << 18, INACTIVE: 1 << 19, SEPARATOR: 1 << 20, VERSION: 1 << 21, CREATE: 1 << 22,
  REBUILD: 1 << 23, SPARE: 1 << 24, MEDIA: 1 << 25, DEL_SETS: 1 << 26, RMPARTITIONS: 1 << 27, PARTCHAR: 1 << 28,
} as const;
const ALL = (1 << 29) - 1;
const COMMON = F.DBG | F.HELP | F.IGNORELOCKING | F.VERBOSE;

interface Action {
  readonly option: string;
  readonly action: number;
  readonly needed: number;
  readonly allowed: number;
  readonly noArgs?: boolean;
}

// The reference binary's table (2009 tools/commands.c), in its order.
const ACTIONS: Action[] = [
  { option: 'a', action: 0, needed: 0, allowed: F.ACTIVATE | F.DEACTIVATE | F.FORMAT | F.NOPARTITIONS | F.PARTCHAR | F.RMPARTITIONS | F.SEPARATOR | F.TEST | COMMON },
  { option: 'b', action: F.BLOCK_DEVICES, needed: 0, allowed: F.COLUMN | F.SEPARATOR | COMMON },
  { option: 'c', action: F.COLUMN, needed: F.BLOCK_DEVICES | F.RAID_DEVICES | F.RAID_SETS, allowed: F.ACTIVE | F.INACTIVE | F.DUMP | F.FORMAT | F.GROUP | F.SEPARATOR | COMMON },
  { option: 'C', action: F.CREATE, needed: 0, allowed: COMMON, noArgs: true },
  { option: 'd', action: F.DBG, needed: 0, allowed: ALL },
  { option: 'D', action: F.DUMP, needed: F.RAID_DEVICES, allowed: F.COLUMN | F.FORMAT | F.SEPARATOR | COMMON },
  { option: 'E', action: F.DMERASE, needed: F.RAID_DEVICES, allowed: F.COLUMN | F.FORMAT | F.SEPARATOR | COMMON },
  { option: 'f', action: F.FORMAT, needed: F.ACTIVATE | F.DEACTIVATE | F.NATIVE_LOG | F.RAID_DEVICES | F.RAID_SETS, allowed: F.ACTIVE | F.INACTIVE | F.COLUMN | F.DUMP | F.DMERASE | F.GROUP | F.NOPARTITIONS | F.SEPARATOR | F.TEST | F.RMPARTITIONS | COMMON },
  { option: 'g', action: F.GROUP, needed: F.RAID_SETS, allowed: F.ACTIVE | F.INACTIVE | F.COLUMN | F.FORMAT | F.SEPARATOR | COMMON },
  { option: 'h', action: F.HELP, needed: 0, allowed: ALL },
  { option: 'i', action: F.IGNORELOCKING, needed: 0, allowed: ALL },
  { option: 'l', action: F.LIST_FORMATS, needed: 0, allowed: COMMON, noArgs: true },
  { option: 'M', action: F.MEDIA, needed: 0, allowed: F.REBUILD | COMMON },
  { option: 'n', action: F.NATIVE_LOG, needed: 0, allowed: F.FORMAT | F.SEPARATOR | COMMON },
  { option: 'p', action: F.NOPARTITIONS, needed: F.ACTIVATE | F.DEACTIVATE, allowed: F.FORMAT | F.SEPARATOR | F.RMPARTITIONS | F.TEST | COMMON },
  { option: 'P', action: F.PARTCHAR, needed: F.ACTIVATE | F.DEACTIVATE, allowed: F.FORMAT | F.SEPARATOR | F.RMPARTITIONS | F.TEST | COMMON },
  { option: 'r', action: F.RAID_DEVICES, needed: 0, allowed: F.COLUMN | F.DUMP | F.DMERASE | F.FORMAT | F.SEPARATOR | COMMON },
  { option: 'R', action: F.REBUILD, needed: 0, allowed: COMMON },
  { option: 'S', action: F.SPARE, needed: 0, allowed: COMMON, noArgs: true },
  { option: 's', action: F.RAID_SETS, needed: 0, allowed: F.ACTIVE | F.INACTIVE | F.COLUMN | F.FORMAT | F.GROUP | F.DEL_SETS | F.SEPARATOR | COMMON },
  { option: '\0', action: F.SEPARATOR, needed: F.COLUMN | F.FORMAT, allowed: ALL },
  { option: 't', action: F.TEST, needed: F.ACTIVATE | F.DEACTIVATE, allowed: F.ACTIVATE | F.DEACTIVATE | F.FORMAT | F.NOPARTITIONS | COMMON },
  { option: 'v', action: F.VERBOSE, needed: 0, allowed: ALL },
  { option: 'V', action: F.VERSION, needed: 0, allowed: COMMON, noArgs: true },
  { option: 'x', action: F.DEL_SETS, needed: 0, allowed: F.RAID_SETS | F.INACTIVE | F.COLUMN | F.FORMAT | F.GROUP | F.SEPARATOR | COMMON },
  { option: 'Z', action: F.RMPARTITIONS, needed: F.ACTIVATE, allowed: F.FORMAT | F.NOPARTITIONS | F.SEPARATOR | COMMON },
];

export type Mode =
  | 'help' | 'version' | 'list' | 'block' | 'raid' | 'native' | 'sets' | 'activate' | 'create' | 'rebuild' | 'spare' | 'remove'
  // Ours: the userspace engine's commands.
  | 'extract' | 'serve' | 'check-data';

export interface Options {
  readonly mode: Mode;
  readonly operands: string[];
  /** -c count and the field list of an attached argument. */
  readonly columns: number;
  readonly columnFields: string | undefined;
  readonly separator: string;
  readonly formats: string[] | undefined;
  readonly formatText: string | undefined;
  readonly sets: number;
  readonly active: 'active' | 'inactive' | undefined;
  readonly group: boolean;
  readonly dump: boolean;
  readonly erase: boolean;
  readonly verbose: number;
  readonly debug: number;
  readonly ignoreLocking: boolean;
  readonly activate: 'yes' | 'no' | undefined;
  readonly test: boolean;
  readonly noPartitions: boolean;
  readonly partChar: string;
  readonly rmPartitions: boolean;
  readonly createName: string | undefined;
  readonly rebuildSet: string | undefined;
  readonly spareSet: string | undefined;
  readonly media: string | undefined;
  /** Ours: --devices PATH[:SERIAL] (repeatable, comma lists). */
  readonly devices: string[] | undefined;
  readonly json: boolean;
  readonly yes: boolean;
  /** Ours: handler options `--<format>-<key>=<value>`: format → key → value. */
  readonly handlerOptions: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** Ours, the userspace engine: --extract/--check-data SET, -o FILE, --resume, --writable, --listen, --tables FILE. */
  readonly engine: EngineOptions;
}

export interface EngineOptions {
  /** The set of --extract or --check-data (--serve takes its sets as operands). */
  readonly set: string | undefined;
  readonly output: string | undefined;
  readonly resume: boolean;
  readonly writable: boolean;
  /** A unix socket path (contains '/') or [HOST:]PORT; default 127.0.0.1:10809, NBD's port. */
  readonly listen: string;
  /** Tables as `dmraid -tay` prints them (`NAME: TABLE LINE`), instead of discovery and activation. */
  readonly tables: string | undefined;
}

const ENGINE_DEFAULTS: EngineOptions = { set: undefined, output: undefined, resume: false, writable: false, listen: '127.0.0.1:10809', tables: undefined };

/**
 * Whether `--listen` names something to listen on: [HOST:]PORT with a port of 0-65535 (0: any free one), or
 * else a socket path (the engine's isUnixSocketPath draws the same line; it is not imported here, since the
 * engine loads only with an engine command).
 */
function isListenAddress(where: string): boolean {
  const tcp = /^(?:.*:)?(\d+)$/.exec(where);
  // `-1` is a port mistyped or an option, not a socket name: such a file is named ./-1.
  return tcp ? Number(tcp[1]) <= 65535 : where.length > 0 && !where.startsWith('-');
}

/** dmraid's check_optarg: a case-insensitive prefix of one of the words. */
function optarg<T extends string>(option: string, value: string | undefined, words: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  const v = value.toLowerCase();
  const hit = words.find((w) => w.startsWith(v));
  if (!hit) throw new UsageError(`invalid option argument for -${option}`);
  return hit;
}

/** The `command` of each mode's JSON document: the modes that take --json (parseOptions refuses it elsewhere). */
export const JSON_COMMANDS: Partial<Record<Mode, string>> = {
  raid: 'raid_devices', sets: 'sets', block: 'block_devices', list: 'formats', version: 'formats', extract: 'extract', serve: 'serve', 'check-data': 'check_data',
};

export function parseOptions(argv: readonly string[]): Options {
  if (argv.length === 0) throw new UsageError('no arguments/options given (-h for help)', ['']);
  const { options, operands } = getopt(argv);
  let action = 0;
  const present = new Set<string>();
  let columns = 0;
  let columnFields: string | undefined;
  let separator = ',';
  let formatText: string | undefined;
  let sets = 0;
  let active: 'active' | 'inactive' | undefined;
  let verbose = 0;
  let debug = 0;
  let activate: 'yes' | 'no' | undefined;
  let partChar = 'p';
  let createName: string | undefined;
  let rebuildSet: string | undefined;
  let spareSet: string | undefined;
  let media: string | undefined;
  let devices: string[] | undefined;
  let json = false;
  let yes = false;
  const handlerOptions = new Map<string, Map<string, string>>();
  let engineMode: 'extract' | 'serve' | 'check-data' | undefined;
  const engine = { ...ENGINE_DEFAULTS };
  // A set name never starts with a dash: `--extract -o FILE` has lost its SET, not named one "-o".
  const setOf = (option: string, a: string | undefined) => {
    if (a === undefined || a === '' || a.startsWith('-')) throw new UsageError(`${option} needs a RAID set name (-h for help)`);
    return a;
  };
  const engineKeys: Record<string, (arg: string | undefined) => void> = {
    EXTRACT: (a) => ((engineMode = 'extract'), (engine.set = setOf('--extract', a))),
    CHECK_DATA: (a) => ((engineMode = 'check-data'), (engine.set = setOf('--check-data', a))),
    SERVE: () => (engineMode = 'serve'),
    o: (a) => (engine.output = a),
    RESUME: () => (engine.resume = true),
    WRITABLE: () => (engine.writable = true),
    LISTEN: (a) => (engine.listen = a!),
    TABLES: (a) => (engine.tables = a),
  };

  for (const { key, arg } of options) {
    const engineKey = engineKeys[key];
    if (engineKey) {
      if (key === 'EXTRACT' || key === 'CHECK_DATA' || key === 'SERVE') {
        if (engineMode !== undefined && engineMode !== { EXTRACT: 'extract', CHECK_DATA: 'check-data', SERVE: 'serve' }[key]) {
          throw new UsageError('invalid option combination (-h for help)');
        }
      }
      engineKey(arg);
      continue;
    }
    if (key === 'HANDLER_OPTION') {
      const [format, name, value] = arg!.split('\0') as [string, string, string];
      if (!handlerOptions.has(format)) handlerOptions.set(format, new Map());
      handlerOptions.get(format)!.set(name, value);
      continue;
    }
    if (key === 'DEVICES') {
      devices = [...(devices ?? []), ...splitDeviceList(arg!)];
      continue;
    }
    if (key === 'JSON') {
      json = true;
      continue;
    }
    if (key === 'YES') {
      yes = true;
      continue;
    }
    const optionChar = key === 'SEP' ? '\0' : key;
    const entry = ACTIONS.find((a) => a.option === optionChar)!;
    action |= entry.action;
    present.add(optionChar);
    switch (key) {
      case 'h':
        return { ...defaults(), mode: 'help', operands };
      case 'a':
        activate = optarg('a', arg, ['yes', 'no'] as const);
        action |= activate === 'yes' ? F.ACTIVATE : F.DEACTIVATE;
        break;
      case 's': {
        sets++;
        const which = optarg('s', arg, ['active', 'inactive'] as const);
        if (which) {
          active = which;
          action |= which === 'active' ? F.ACTIVE : F.INACTIVE;
        }
        break;
      }
      case 'c':
        columns++;
        // `-cc`, `-ccc` mean -c -c, -c -c -c as dmraid's man page promises (its getopt takes "c" as a field list
        // and prints *ERR* columns instead).
        if (arg !== undefined && /^c+$/.test(arg)) columns += arg.length;
        else if (arg !== undefined) columnFields = columnFields === undefined ? arg : `${columnFields}${separator}${arg}`;
        break;
      case 'f':
        formatText = formatText === undefined ? arg! : `${formatText}${separator}${arg!}`;
        break;
      case 'SEP':
        if ([...arg!].length !== 1) throw new UsageError(`invalid separator "${arg}"`);
        separator = arg!;
        break;
      case 'v':
        verbose++;
        break;
      case 'd':
        debug++;
        break;
      case 'P':
        partChar = arg!;
        break;
      case 'C':
        if (arg!.startsWith('-')) throw new UsageError('the raid set name is missing');
        createName = arg;
        break;
      case 'R':
        rebuildSet = arg;
        break;
      case 'S':
        spareSet = arg;
        break;
      case 'M':
        media = arg;
        break;
    }
  }

  // Ours: the engine's commands take -d, -v, -i and -f beside their own options, nothing of dmraid's else.
  if (engineMode !== undefined) {
    if (action & ~(F.DBG | F.VERBOSE | F.IGNORELOCKING | F.FORMAT)) throw new UsageError('invalid option combination (-h for help)');
    if (engineMode === 'extract' && engine.output === undefined) throw new UsageError('--extract needs -o/--output FILE');
    // Each command's own options; another command's would be silently ignored otherwise.
    const foreign = [
      engineMode !== 'extract' && engine.output !== undefined && '-o/--output',
      engineMode !== 'extract' && engine.resume && '--resume',
      engineMode !== 'serve' && engine.writable && '--writable',
      engineMode !== 'serve' && engine.listen !== ENGINE_DEFAULTS.listen && '--listen',
    ].filter((x): x is string => typeof x === 'string');
    if (foreign.length > 0) {
      const owner = (o: string) => (o === '-o/--output' || o === '--resume' ? '--extract' : '--serve');
      throw new UsageError(`${foreign.join(', ')} ${foreign.length > 1 ? 'go' : 'goes'} with ${[...new Set(foreign.map(owner))].join(' and ')}, not --${engineMode}`);
    }
    if (json && engine.output === '-') throw new UsageError('--json and -o - would both write to standard output');
    if (engineMode === 'serve' && !isListenAddress(engine.listen)) {
      const dash = engine.listen.startsWith('-') ? ` (a socket named so is written ./${engine.listen})` : '';
      throw new UsageError(`--listen ${engine.listen}: not a port (0-65535), HOST:PORT or a socket path${dash}`);
    }
    return {
      ...defaults(), mode: engineMode, operands, formats: formatText === undefined ? undefined : formatText.split(separator),
      formatText, verbose, debug, ignoreLocking: present.has('i'), devices, json, yes, handlerOptions, engine,
    };
  }
  if (engine.output !== undefined || engine.resume || engine.writable || engine.tables !== undefined || engine.listen !== ENGINE_DEFAULTS.listen) {
    throw new UsageError('-o/--output, --resume, --writable, --listen and --tables go with --extract, --serve or --check-data');
  }

  // dmraid returns from its option loop at -C, and at -M after -S, before checking combinations.
  const unchecked = present.has('C') || (present.has('S') && present.has('M'));
  for (const entry of ACTIONS) {
    if (!present.has(entry.option) || unchecked) continue;
    const allowed = entry.allowed | entry.action | entry.needed;
    if (entry.needed && !(entry.needed & action)) {
      throw new UsageError(`option missing/invalid option combination with -${entry.option}`);
    }
    if (~allowed & action) throw new UsageError('invalid option combination (-h for help)');
    if (entry.noArgs && operands.length > 0 && !(entry.option === 'S' || entry.option === 'C')) {
      throw new UsageError(`no arguments allowed with -${entry.option}`, ['']);
    }
  }
  // Our own options (--devices, --json, --yes) alone are no command: answer as dmraid does to none.
  if (action === 0) throw new UsageError('no arguments/options given (-h for help)', ['']);
  if (action !== 0 && (action & (F.DBG | F.VERBOSE)) === action) throw new UsageError('more options needed with -d/-v');

  const mode: Mode =
    action & F.VERSION ? 'version'
    : action & F.LIST_FORMATS ? 'list'
    : action & F.BLOCK_DEVICES ? 'block'
    : action & F.NATIVE_LOG ? 'native'
    : action & F.RAID_DEVICES ? 'raid'
    : action & F.CREATE ? 'create'
    : action & F.REBUILD ? 'rebuild'
    : action & F.SPARE ? 'spare'
    : action & F.DEL_SETS ? 'remove'
    : action & F.RAID_SETS ? 'sets'
    : action & (F.ACTIVATE | F.DEACTIVATE) ? 'activate'
    : (() => {
        throw new UsageError('options missing', ['']);
      })();

  // JSON documents exist for the listings (and the engine's commands, above); elsewhere --json would only
  // hide the messages.
  if (json && (JSON_COMMANDS[mode] === undefined || present.has('D') || present.has('E'))) {
    throw new UsageError('--json goes with -r, -s, -b, -l, -V, --extract, --serve and --check-data');
  }

  return {
    mode,
    operands,
    columns,
    columnFields,
    separator,
    formats: formatText === undefined ? undefined : formatText.split(separator),
    formatText,
    sets,
    active,
    group: present.has('g'),
    dump: present.has('D') || present.has('E'),
    erase: present.has('E'),
    verbose,
    debug,
    ignoreLocking: present.has('i'),
    activate,
    test: present.has('t'),
    noPartitions: present.has('p'),
    partChar,
    rmPartitions: present.has('Z'),
    createName,
    rebuildSet,
    spareSet,
    media,
    devices,
    json,
    yes,
    handlerOptions,
    engine,
  };
}

function defaults(): Omit<Options, 'mode' | 'operands'> {
  return {
    columns: 0, columnFields: undefined, separator: ',', formats: undefined, formatText: undefined, sets: 0,
    active: undefined, group: false, dump: false, erase: false, verbose: 0, debug: 0, ignoreLocking: false,
    activate: undefined, test: false, noPartitions: false, partChar: 'p', rmPartitions: false,
    createName: undefined, rebuildSet: undefined, spareSet: undefined, media: undefined, devices: undefined,
    json: false, yes: false, handlerOptions: new Map(), engine: ENGINE_DEFAULTS,
  };
}

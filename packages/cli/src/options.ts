/**
 * The command line, compatible with dmraid 1.0.0.rc16 (2009 tools/): one table of options (OPTIONS) from which
 * getopt_long's parsing (the short string "a:hipP:bc::dDEf:glxM:nrR:s::tvVC:S::Z", unique-prefix long options,
 * argument permutation), dmraid's action table (which options combine, and the messages when they do not),
 * the checks of our own options and -h's "Beyond dmraid" lines all come. A new option is one row.
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

export type Mode =
  | 'help' | 'version' | 'list' | 'block' | 'raid' | 'dump' | 'erase' | 'native' | 'sets' | 'activate'
  | 'create' | 'rebuild' | 'spare' | 'remove'
  // Ours: the userspace engine's commands.
  | 'extract' | 'serve' | 'check-data'
  // Ours: a lost set's geometry from its members' content.
  | 'infer'
  // Ours: a picture of a set's layout.
  | 'draw'
  // Ours: the event daemon.
  | 'monitor'
  // Ours: a metadata dump or backup put back.
  | 'restore'
  // Ours: a shell completion script made from OPTIONS.
  | 'completion';

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
  /** -D, and -E (which dumps first, as its backup). */
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
  /** Ours: --exclude DEV (left out as if absent) and --include DEV (used though a handler calls it stale). */
  readonly exclude: string[];
  readonly include: string[];
  readonly json: boolean;
  readonly yes: boolean;
  /** Ours: handler options `--<format>-<key>=<value>`: format → key → value. */
  readonly handlerOptions: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** Ours, the userspace engine: --extract/--check-data SET, -o FILE, --resume, --writable, --listen, --tables FILE. */
  readonly engine: EngineOptions;
  /** Ours, --monitor: --once, --program CMD. */
  readonly monitor: MonitorOptions;
  /** Ours, --restore DIR: the dump or backup folder to put back. */
  readonly restoreDir: string | undefined;
  /** Ours, --completion SHELL: the shell whose completion script to print. */
  readonly completionShell: 'bash' | 'zsh' | undefined;
}

export interface MonitorOptions {
  /** Handle what is pending and exit (0, or 1 after an error); no waiting for events or a resync's end. */
  readonly once: boolean;
  /** Run `CMD EVENT SET [DEVICE]` per event (mdadm --monitor's --program). */
  readonly program: string | undefined;
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
  /** A copy-on-write overlay (--serve/--extract), or the COW device of `-tay`'s snapshot table. */
  readonly overlay: string | undefined;
  /** --check-data's or --extract's --draw FILE: the set and its mismatches or lost sectors, drawn after the run. */
  readonly drawFile: string | undefined;
  /** --draw's --rows N: how many chunk rows of each member the picture shows. */
  readonly rows: number;
  /** `--rescue-map IMG=MAPFILE`: a member image's GNU ddrescue mapfile, in the order given. */
  readonly rescueMaps: readonly { readonly image: string; readonly map: string }[];
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** What the options say so far: the Options being built, and dmraid's action bits. */
export interface Draft extends Mutable<Omit<Options, 'mode' | 'operands' | 'formats' | 'handlerOptions' | 'engine' | 'monitor'>> {
  readonly handlerOptions: Map<string, Map<string, string>>;
  readonly engine: Mutable<EngineOptions>;
  readonly monitor: Mutable<MonitorOptions>;
  /** dmraid's action flags (F) of the options so far. */
  action: number;
  /** The mode one of our options selected (--extract, --serve, --check-data). */
  ourMode: Mode | undefined;
}

/** The Options of a command line without options. */
function draft(): Draft {
  return {
    columns: 0, columnFields: undefined, separator: ',', formatText: undefined, sets: 0, active: undefined, group: false,
    dump: false, erase: false, verbose: 0, debug: 0, ignoreLocking: false, activate: undefined, test: false,
    noPartitions: false, partChar: 'p', rmPartitions: false, createName: undefined, rebuildSet: undefined,
    spareSet: undefined, media: undefined, devices: undefined, exclude: [], include: [], json: false, yes: false, handlerOptions: new Map(),
    engine: { set: undefined, output: undefined, resume: false, writable: false, listen: '127.0.0.1:10809', tables: undefined, overlay: undefined, drawFile: undefined, rows: 8, rescueMaps: [] },
    monitor: { once: false, program: undefined }, restoreDir: undefined, completionShell: undefined,
    action: 0, ourMode: undefined,
  };
}

type ArgKind = 'none' | 'required' | 'optional';

export interface OptionRow {
  /** getopt's letter (`-r`). */
  readonly short?: string;
  /** getopt_long's name (`--raid_devices`), matched by unique prefix. */
  readonly long?: string;
  readonly arg: ArgKind;
  /**
   * dmraid's row of its action table (2009 tools/commands.c): the action flag it sets, the actions of which it
   * needs one, the others it allows; `noArgs`: operands are refused with it. Absent: the option is ours.
   */
  readonly dmraid?: { readonly action: number; readonly needed: number; readonly allowed: number; readonly noArgs?: true };
  /**
   * Which modes it goes with. Ours: absent means every mode. dmraid's: which of our modes (the engine's) take it
   * beside their own options; dmraid's modes follow the action table.
   */
  readonly modes?: readonly Mode[];
  /** The mode this option names (-r: raid): ours select it; dmraid's mode comes from the action flags (modeOf). */
  readonly mode?: Mode;
  /** How it applies; a UsageError here is reported at once, in the order the options were given. */
  readonly apply: (d: Draft, arg: string | undefined) => void;
  /** getopt stops at this option: the rest of the line is operands (dmraid's -C: the create request's). */
  readonly endsOptions?: true;
  /** Ours: the synopsis and text of its line under -h's "Beyond dmraid" (an option described in another's line has none). */
  readonly help?: readonly [synopsis: string, text: string];
  /**
   * Its entry in the man page (dmraid.8, made from this table at build time): the argument's name and the
   * text. A row with a help line may leave both to it; every other row needs a text.
   */
  readonly man?: { readonly arg?: string; readonly text: string };
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

/** Our engine's commands, which take dmraid's -d, -v, -i and -f beside their own options. */
const ENGINE: readonly Mode[] = ['extract', 'serve', 'check-data', 'draw'];
/** Our commands: the engine's, --monitor and --restore, which take dmraid's -d, -v, -i and -f too. */
const OURS: readonly Mode[] = [...ENGINE, 'monitor', 'restore'];

/** dmraid's check_optarg: a case-insensitive prefix of one of the words. */
function optarg<T extends string>(option: string, value: string | undefined, words: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  const v = value.toLowerCase();
  const hit = words.find((w) => w.startsWith(v));
  if (!hit) throw new UsageError(`invalid option argument for -${option}`);
  return hit;
}

/** A set name never starts with a dash: `--extract -o FILE` has lost its SET, not named one "-o". */
function setName(option: string, a: string | undefined): string {
  if (a === undefined || a === '' || a.startsWith('-')) throw new UsageError(`${option} needs a RAID set name (-h for help)`);
  return a;
}

/** Whether the options so far add up to one of our modes: two of them do not combine. */
function select(d: Draft, mode: Mode): void {
  if (d.ourMode !== undefined && d.ourMode !== mode) throw new UsageError('invalid option combination (-h for help)');
  d.ourMode = mode;
}

/**
 * Every option. dmraid's in the order of its action table, which is the order its combinations are checked in
 * (so the first message is the reference's); ours after them, in the order -h lists them.
 */
export const OPTIONS: readonly OptionRow[] = [
  {
    short: 'a', long: 'activate', arg: 'required', mode: 'activate',
    man: { arg: 'yes|no', text: 'Activate (yes) or deactivate (no) the RAID sets named, or every set found, through device-mapper; with -t print the tables instead of loading them.' },
    dmraid: { action: 0, needed: 0, allowed: F.ACTIVATE | F.DEACTIVATE | F.FORMAT | F.NOPARTITIONS | F.PARTCHAR | F.RMPARTITIONS | F.SEPARATOR | F.TEST | COMMON },
    apply: (d, a) => {
      d.activate = optarg('a', a, ['yes', 'no'] as const);
      d.action |= d.activate === 'yes' ? F.ACTIVATE : F.DEACTIVATE;
    },
  },
  { short: 'b', long: 'block_devices', arg: 'none', mode: 'block', man: { text: 'List the block devices found, with their sizes and serial numbers.' }, dmraid: { action: F.BLOCK_DEVICES, needed: 0, allowed: F.COLUMN | F.SEPARATOR | COMMON }, apply: () => {} },
  {
    short: 'c', long: 'display_columns', arg: 'optional',
    man: { arg: '[FIELD[,FIELD...]]', text: 'With -b, -r or -s: print the listing in columns, separated by --separator; -c terse, -cc and -ccc more; with a field list, those fields.' },
    dmraid: { action: F.COLUMN, needed: F.BLOCK_DEVICES | F.RAID_DEVICES | F.RAID_SETS, allowed: F.ACTIVE | F.INACTIVE | F.DUMP | F.FORMAT | F.GROUP | F.SEPARATOR | COMMON },
    apply: (d, a) => {
      d.columns++;
      // `-cc`, `-ccc` mean -c -c, -c -c -c as dmraid's man page promises (its getopt takes "c" as a field list
      // and prints *ERR* columns instead).
      if (a !== undefined && /^c+$/.test(a)) d.columns += a.length;
      else if (a !== undefined) d.columnFields = d.columnFields === undefined ? a : `${d.columnFields}${d.separator}${a}`;
    },
  },
  {
    short: 'C', long: 'create', arg: 'required', mode: 'create', endsOptions: true,
    man: { arg: 'RAID-set', text: 'With -f FORMAT: create the set, as --type LEVEL, [--size SIZE], [--str[ide] SIZE] and --disk "DEVICE,..." describe it (the rest of the line is the request); asks before it writes, keeps a backup.' },
    dmraid: { action: F.CREATE, needed: 0, allowed: COMMON },
    apply: (d, a) => {
      if (a!.startsWith('-')) throw new UsageError('the raid set name is missing');
      d.createName = a;
    },
  },
  { short: 'd', long: 'debug', arg: 'none',
    man: { text: 'Print debug messages; repeat for more.' }, modes: OURS, dmraid: { action: F.DBG, needed: 0, allowed: ALL }, apply: (d) => void d.debug++ },
  {
    short: 'D', long: 'dump_metadata', arg: 'none', mode: 'dump',
    man: { text: 'With -r: write each member\'s metadata into the folder dmraid.FORMAT (files DEVICE.dat, .offset and .size).' },
    dmraid: { action: F.DUMP, needed: F.RAID_DEVICES, allowed: F.COLUMN | F.FORMAT | F.SEPARATOR | COMMON },
    apply: (d) => void (d.dump = true),
  },
  {
    short: 'E', long: 'erase_metadata', arg: 'none', mode: 'erase',
    man: { text: 'With -r: erase the RAID metadata of the devices, after asking and after dumping it as -D does (the backup --restore puts back).' },
    dmraid: { action: F.DMERASE, needed: F.RAID_DEVICES, allowed: F.COLUMN | F.FORMAT | F.SEPARATOR | COMMON },
    apply: (d) => void (d.dump = d.erase = true),
  },
  {
    short: 'f', long: 'format', arg: 'required', modes: OURS,
    man: { arg: 'FORMAT[,FORMAT...]', text: 'Use only these format handlers (-l lists them).' },
    dmraid: {
      action: F.FORMAT,
      needed: F.ACTIVATE | F.DEACTIVATE | F.NATIVE_LOG | F.RAID_DEVICES | F.RAID_SETS,
      allowed: F.ACTIVE | F.INACTIVE | F.COLUMN | F.DUMP | F.DMERASE | F.GROUP | F.NOPARTITIONS | F.SEPARATOR | F.TEST | F.RMPARTITIONS | COMMON,
    },
    apply: (d, a) => void (d.formatText = d.formatText === undefined ? a! : `${d.formatText}${d.separator}${a!}`),
  },
  {
    short: 'g', long: 'display_group', arg: 'none',
    man: { text: 'With -s: show group sets (the containers of isw and ddf1) with their subsets.' },
    dmraid: { action: F.GROUP, needed: F.RAID_SETS, allowed: F.ACTIVE | F.INACTIVE | F.COLUMN | F.FORMAT | F.SEPARATOR | COMMON },
    apply: (d) => void (d.group = true),
  },
  // dmraid prints the help at -h, before it looks at the options after it.
  { short: 'h', long: 'help', arg: 'none', mode: 'help',
    man: { text: 'Print the help and exit.' }, dmraid: { action: F.HELP, needed: 0, allowed: ALL }, apply: () => {} },
  { short: 'i', long: 'ignorelocking', arg: 'none',
    man: { text: 'Do not take dmraid\'s lock (/var/lock/dmraid/.lock).' }, modes: OURS, dmraid: { action: F.IGNORELOCKING, needed: 0, allowed: ALL }, apply: (d) => void (d.ignoreLocking = true) },
  { short: 'l', long: 'list_formats', arg: 'none', mode: 'list',
    man: { text: 'List the installed format handlers, with the RAID levels each supports.' }, dmraid: { action: F.LIST_FORMATS, needed: 0, allowed: COMMON, noArgs: true }, apply: () => {} },
  { short: 'M', long: 'media', arg: 'required',
    man: { arg: 'DEVICE', text: 'With -S: the disk to add as a spare.' }, dmraid: { action: F.MEDIA, needed: 0, allowed: F.REBUILD | COMMON }, apply: (d, a) => void (d.media = a) },
  { short: 'n', long: 'native_log', arg: 'none', mode: 'native',
    man: { text: 'Print each device\'s metadata in its vendor\'s own field names.' }, dmraid: { action: F.NATIVE_LOG, needed: 0, allowed: F.FORMAT | F.SEPARATOR | COMMON }, apply: () => {} },
  {
    short: 'p', long: 'no_partitions', arg: 'none',
    man: { text: 'With -a: do not activate the partitions of the sets.' },
    dmraid: { action: F.NOPARTITIONS, needed: F.ACTIVATE | F.DEACTIVATE, allowed: F.FORMAT | F.SEPARATOR | F.RMPARTITIONS | F.TEST | COMMON },
    apply: (d) => void (d.noPartitions = true),
  },
  {
    short: 'P', long: 'partchar', arg: 'required',
    man: { arg: 'CHAR', text: 'With -a: the character between a set\'s name and its partition number (default p).' },
    dmraid: { action: F.PARTCHAR, needed: F.ACTIVATE | F.DEACTIVATE, allowed: F.FORMAT | F.SEPARATOR | F.RMPARTITIONS | F.TEST | COMMON },
    apply: (d, a) => void (d.partChar = a!),
  },
  {
    short: 'r', long: 'raid_devices', arg: 'none', mode: 'raid',
    man: { text: 'List the devices that carry RAID metadata.' },
    dmraid: { action: F.RAID_DEVICES, needed: 0, allowed: F.COLUMN | F.DUMP | F.DMERASE | F.FORMAT | F.SEPARATOR | COMMON },
    apply: () => {},
  },
  { short: 'R', long: 'rebuild', arg: 'required', mode: 'rebuild',
    man: { arg: 'RAID-set [DEVICE]', text: 'Rebuild the set onto DEVICE (a new disk or a spare): writes the rebuild\'s start, copies or reconstructs the data, then marks DEVICE in sync.' }, dmraid: { action: F.REBUILD, needed: 0, allowed: COMMON }, apply: (d, a) => void (d.rebuildSet = a) },
  // dmraid's table refuses operands with -S too, but its check never gets to say so.
  { short: 'S', long: 'spare', arg: 'optional', mode: 'spare',
    man: { arg: '[RAID-set]', text: 'With -M DEVICE: add DEVICE as a spare to the set, or as a global spare without one.' }, dmraid: { action: F.SPARE, needed: 0, allowed: COMMON }, apply: (d, a) => void (d.spareSet = a) },
  {
    short: 's', long: 'sets', arg: 'optional', mode: 'sets',
    man: { arg: '[active|inactive]', text: 'List the RAID sets found (only the active or inactive ones if asked); -ss adds their subsets and members; with -t the exit status is their health: 0 ok, 1 degraded, 2 unusable, 4 error.' },
    // Ours beside dmraid's: -t, the sets' health as the exit status (dmraid refuses -s -t).
    dmraid: { action: F.RAID_SETS, needed: 0, allowed: F.ACTIVE | F.INACTIVE | F.COLUMN | F.FORMAT | F.GROUP | F.DEL_SETS | F.SEPARATOR | F.TEST | COMMON },
    apply: (d, a) => {
      d.sets++;
      const which = optarg('s', a, ['active', 'inactive'] as const);
      if (which) {
        d.active = which;
        d.action |= which === 'active' ? F.ACTIVE : F.INACTIVE;
      }
    },
  },
  {
    long: 'separator', arg: 'required',
    man: { arg: 'CHAR', text: 'The separator of -c\'s fields and of -f\'s list (default ,).' },
    dmraid: { action: F.SEPARATOR, needed: F.COLUMN | F.FORMAT, allowed: ALL },
    apply: (d, a) => {
      if ([...a!].length !== 1) throw new UsageError(`invalid separator "${a}"`);
      d.separator = a!;
    },
  },
  {
    short: 't', long: 'test', arg: 'none',
    man: { text: 'With -a: print the device-mapper tables (or the sets\' state) instead of loading them; with -s: report the sets\' health as the exit status.' },
    // With -s ours: exit 0 ok, 1 degraded, 2 unusable, 4 error, as `mdadm --detail --test` (docs/deviations.md).
    dmraid: {
      action: F.TEST,
      needed: F.ACTIVATE | F.DEACTIVATE | F.RAID_SETS,
      allowed: F.ACTIVATE | F.DEACTIVATE | F.RAID_SETS | F.ACTIVE | F.INACTIVE | F.FORMAT | F.NOPARTITIONS | COMMON,
    },
    apply: (d) => void (d.test = true),
  },
  { short: 'v', long: 'verbose', arg: 'none',
    man: { text: 'Print more messages; repeat for more.' }, modes: OURS, dmraid: { action: F.VERBOSE, needed: 0, allowed: ALL }, apply: (d) => void d.verbose++ },
  { short: 'V', long: 'version', arg: 'none', mode: 'version',
    man: { text: 'Print the versions of dmraid, of the CLI and of each installed format handler.' }, dmraid: { action: F.VERSION, needed: 0, allowed: COMMON, noArgs: true }, apply: () => {} },
  {
    short: 'x', long: 'remove', arg: 'none', mode: 'remove',
    man: { arg: '[RAID-set...]', text: 'Remove the sets\' metadata from their disks (after asking, with a backup).' },
    dmraid: { action: F.DEL_SETS, needed: 0, allowed: F.RAID_SETS | F.INACTIVE | F.COLUMN | F.FORMAT | F.GROUP | F.SEPARATOR | COMMON },
    apply: () => {},
  },
  {
    short: 'Z', long: 'rm_partitions', arg: 'none',
    man: { text: 'With -ay: remove the kernel\'s partition devices of the member disks, so only the set\'s partitions are seen.' },
    dmraid: { action: F.RMPARTITIONS, needed: F.ACTIVATE, allowed: F.FORMAT | F.NOPARTITIONS | F.SEPARATOR | COMMON },
    apply: (d) => void (d.rmPartitions = true),
  },
  // Ours.
  {
    long: 'devices', arg: 'required',
    apply: (d, a) => void (d.devices = [...(d.devices ?? []), ...splitDeviceList(a!)]),
    help: ['--devices PATH[:SERIAL][,...]', 'work on these devices or image files instead of scanning'],
  },
  {
    long: 'exclude', arg: 'required',
    apply: (d, a) => void d.exclude.push(a!),
    help: ['--exclude DEVICE', 'leave a device out as if it were absent (a stale or failing member)'],
  },
  {
    long: 'include', arg: 'required',
    apply: (d, a) => void d.include.push(a!),
    help: ['--include DEVICE', 'use a member that newer metadata elsewhere calls stale, as current'],
  },
  {
    long: 'json', arg: 'none',
    // JSON documents exist for the listings and the engine's commands; elsewhere --json would only hide the messages.
    modes: ['raid', 'sets', 'block', 'list', 'version', 'extract', 'serve', 'check-data', 'infer', 'monitor', 'restore'],
    apply: (d) => void (d.json = true),
    help: ['--json', 'one JSON document from -r, -s, -b, -l, -V and the three below; with --monitor one per event'],
  },
  {
    long: 'yes', arg: 'none',
    apply: (d) => void (d.yes = true),
    help: ['--yes', 'answer yes to the prompts of -E, --restore and --extract onto a disk (scripts)'],
  },
  // Ours: the userspace engine (@dmraid/engine).
  {
    long: 'extract', arg: 'required', mode: 'extract',
    apply: (d, a) => {
      // `--draw FILE --extract SET`: the --draw before it named the picture, not a set to draw.
      if (d.ourMode === 'draw') {
        d.engine.drawFile = d.engine.set;
        d.ourMode = undefined;
      }
      select(d, 'extract');
      d.engine.set = setName('--extract', a);
    },
    help: ['--extract RAID-set {-o|--output} FILE [--resume]', 'copy the set\'s volume into FILE (- for standard output) without the kernel'],
  },
  { short: 'o', long: 'output', arg: 'required', modes: ['extract', 'infer', 'draw'],
    man: { arg: 'FILE', text: 'Where --extract writes the volume (- for standard output), --infer the best geometry as --tables, and --draw the picture.' }, apply: (d, a) => void (d.engine.output = a) },
  { long: 'resume', arg: 'none', modes: ['extract'],
    man: { text: 'With --extract: continue an interrupted copy into the same FILE.' }, apply: (d) => void (d.engine.resume = true) },
  {
    long: 'serve', arg: 'none', mode: 'serve',
    apply: (d) => select(d, 'serve'),
    help: ['--serve [RAID-set...] [--writable] [--listen [HOST:]PORT|SOCKET]', 'serve the sets over NBD (default 127.0.0.1:10809), read-only unless --writable'],
  },
  { long: 'writable', arg: 'none', modes: ['serve'],
    man: { text: 'With --serve: accept writes (onto the members, or into --overlay).' }, apply: (d) => void (d.engine.writable = true) },
  { long: 'listen', arg: 'required', modes: ['serve'],
    man: { arg: '[HOST:]PORT|SOCKET', text: 'With --serve: where to listen, a TCP port (0: any free one), HOST:PORT or a unix socket path (default 127.0.0.1:10809).' }, apply: (d, a) => void (d.engine.listen = a!) },
  {
    long: 'overlay', arg: 'required', modes: ['serve', 'extract', 'activate'],
    apply: (d, a) => void (d.engine.overlay = a),
    help: ['--overlay FILE', 'with --serve/--extract: writes go to FILE, reads see them, the members are only read; with -tay: a snapshot table over the set'],
  },
  {
    long: 'check-data', arg: 'required', mode: 'check-data',
    apply: (d, a) => {
      // `--draw FILE --check-data SET`: the --draw before it named the picture, not a set to draw.
      if (d.ourMode === 'draw') {
        d.engine.drawFile = d.engine.set;
        d.ourMode = undefined;
      }
      select(d, 'check-data');
      d.engine.set = setName('--check-data', a);
    },
    help: ['--check-data RAID-set', 'check that mirror legs agree and RAID4/5 parity matches the data'],
  },
  {
    long: 'draw', arg: 'required', mode: 'draw', modes: ['draw', 'check-data', 'extract'],
    apply: (d, a) => {
      // After --check-data or --extract it names the picture of the check or of the lost ranges; alone it
      // names the set to draw.
      if (d.ourMode === 'check-data' || d.ourMode === 'extract') {
        if (!a) throw new UsageError('--draw needs a file name');
        d.engine.drawFile = a;
        return;
      }
      select(d, 'draw');
      d.engine.set = setName('--draw', a);
    },
    help: ['--draw RAID-set {-o|--output} FILE [--rows N]', 'draw the set\'s layout (FILE .svg, .html, or - for SVG on standard output); with --check-data or --extract: --draw FILE, the map of mismatches or lost sectors'],
  },
  {
    long: 'rows', arg: 'required', modes: ['draw'],
    man: { arg: 'N', text: 'With --draw: how many chunk rows of each member the picture shows (1-256, default 8).' },
    apply: (d, a) => {
      if (!a || !/^\d+$/.test(a) || Number(a) < 1 || Number(a) > 256) throw new UsageError(`--rows ${a ?? ''}: not a number of rows (1-256)`);
      d.engine.rows = Number(a);
    },
  },
  {
    long: 'tables', arg: 'required', modes: ENGINE,
    apply: (d, a) => void (d.engine.tables = a),
    help: ['--tables FILE', 'with the three above: the sets\' tables as -tay prints them, no discovery'],
  },
  // Ours: a lost set's geometry (docs/infer.md).
  {
    long: 'infer', arg: 'none', mode: 'infer',
    apply: (d) => select(d, 'infer'),
    help: ['--infer --devices A --devices B ... [-o FILE]', 'find a set\'s geometry from members without metadata; -o writes the best as --tables'],
  },
  {
    long: 'rescue-map', arg: 'required', modes: ['extract', 'serve', 'check-data'],
    apply: (d, a) => {
      const eq = a!.indexOf('=');
      if (eq <= 0 || eq === a!.length - 1) throw new UsageError(`--rescue-map ${a}: give IMG=MAPFILE (a member image and its GNU ddrescue mapfile)`);
      d.engine.rescueMaps = [...d.engine.rescueMaps, { image: a!.slice(0, eq), map: a!.slice(eq + 1) }];
    },
    help: ['--rescue-map IMG=MAPFILE', 'with --extract, --serve or --check-data: what ddrescue did not rescue of member IMG is unreadable (rebuilt, or reported lost)'],
  },
  // Ours: the event daemon (docs/monitor.md).
  {
    long: 'monitor', arg: 'none', mode: 'monitor',
    apply: (d) => select(d, 'monitor'),
    help: ['--monitor [RAID-set...] [--once] [--program CMD]', 'watch the activated sets: record failures, reload, rebuild onto spares'],
  },
  { long: 'once', arg: 'none', modes: ['monitor'],
    man: { text: 'With --monitor: handle what is pending and exit (0, or 1 after an error).' }, apply: (d) => void (d.monitor.once = true) },
  {
    long: 'program', arg: 'required', modes: ['monitor'],
    man: { arg: 'CMD', text: 'With --monitor: run CMD EVENT SET [DEVICE] for each event, as mdadm --monitor does.' },
    apply: (d, a) => {
      if (!a) throw new UsageError('--program needs a command');
      d.monitor.program = a;
    },
  },
  // Ours: undo (docs/guide.md "Undoing an erase or a write").
  {
    long: 'restore', arg: 'required', mode: 'restore',
    apply: (d, a) => {
      select(d, 'restore');
      if (!a || a.startsWith('-')) throw new UsageError('--restore needs the folder of a dump or backup (dmraid.FORMAT or one of its backup-* folders)');
      d.restoreDir = a;
    },
    help: ['--restore DIR [DEVICE...]', 'put a dump (-D, -E) or a write\'s backup back on its disks, asking first'],
  },
  // Ours: the shell completion made from this table (the man page is too, at build time).
  {
    long: 'completion', arg: 'required', mode: 'completion', modes: ['completion'],
    apply: (d, a) => {
      select(d, 'completion');
      if (a !== 'bash' && a !== 'zsh') throw new UsageError(`--completion ${a ?? ''}: give bash or zsh`);
      d.completionShell = a;
    },
    help: ['--completion bash|zsh', 'print the shell\'s completion script for dmraid'],
  },
];

/** Ours: a handler option `--<format>-<key>=<value>` (e.g. --isw-match=position); main checks the format. */
const HANDLER_OPTION: OptionRow = {
  arg: 'required',
  apply: (d, a) => {
    const [format, name, value] = a!.split('\0') as [string, string, string];
    if (!d.handlerOptions.has(format)) d.handlerOptions.set(format, new Map());
    d.handlerOptions.get(format)!.set(name, value);
  },
};

/** Our long options, beyond dmraid's (the help must name each). */
export const OUR_LONG_OPTIONS: readonly string[] = OPTIONS.filter((r) => !r.dmraid && r.long).map((r) => r.long!);

/** The name of a row's argument (`FILE`, `yes|no`): its man entry's, or the word after the option in its help line. */
export function argumentName(row: OptionRow): string | undefined {
  if (row.arg === 'none') return undefined;
  return row.man?.arg ?? row.help?.[0].split(' ')[1];
}

/** How the help and the messages name an option: `-o/--output`, `--json`. */
const label = (r: OptionRow) => (r.short && r.long ? `-${r.short}/--${r.long}` : r.long ? `--${r.long}` : `-${r.short}`);

/** How the messages name a mode: by the option that selects it (`-r`, `--extract`). */
const modeLabel = (mode: Mode) => {
  const r = OPTIONS.find((o) => o.mode === mode)!;
  return r.short ? `-${r.short}` : `--${r.long}`;
};

/** `a, b and c` (or `or c`). */
const enumerate = (words: readonly string[], last = 'and') => (words.length > 1 ? `${words.slice(0, -1).join(', ')} ${last} ${words.at(-1)}` : (words[0] ?? ''));

/** The "Beyond dmraid" lines of -h: one per option of ours that has a help line, its text in one column. */
export function beyondDmraidHelp(): string {
  const column = 32;
  return OPTIONS.flatMap((r) => (r.help ? [r.help] : []))
    .map(([synopsis, text]) => (synopsis.length < column ? `\t${synopsis.padEnd(column)}${text}\n` : `\t${synopsis}\n\t${' '.repeat(column)}${text}\n`))
    .join('');
}

interface Occurrence {
  readonly row: OptionRow;
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
      const exact = OPTIONS.find((r) => r.long === name);
      const matches = exact ? [exact] : OPTIONS.filter((r) => r.long?.startsWith(name));
      const handlerOption = /^([a-z][a-z0-9_]*)-([a-z][a-z0-9_-]*)$/.exec(name);
      if (matches.length === 0 && handlerOption && eq >= 0) {
        options.push({ row: HANDLER_OPTION, arg: `${handlerOption[1]}\0${handlerOption[2]}\0${a.slice(eq + 1)}` });
        continue;
      }
      if (matches.length === 0) throw new UsageError(`dmraid: unrecognized option '${a}'`, [], true);
      if (matches.length > 1) throw new UsageError(`dmraid: option '${a}' is ambiguous`, [], true);
      const row = matches[0]!;
      let arg: string | undefined = eq < 0 ? undefined : a.slice(eq + 1);
      if (row.arg === 'none' && arg !== undefined) {
        throw new UsageError(`dmraid: option '--${row.long}' doesn't allow an argument`, [], true);
      }
      if (row.arg === 'required' && arg === undefined) {
        if (i + 1 >= argv.length) throw new UsageError(`dmraid: option '--${row.long}' requires an argument`, [], true);
        arg = argv[++i];
      }
      options.push({ row, arg });
      if (row.endsOptions) {
        operands.push(...argv.slice(i + 1));
        break;
      }
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const c = a[j]!;
        const row = OPTIONS.find((r) => r.short === c);
        if (!row) throw new UsageError(`dmraid: invalid option -- '${c}'`, [], true);
        if (row.arg === 'none') {
          options.push({ row, arg: undefined });
          continue;
        }
        const rest = a.slice(j + 1);
        if (row.arg === 'optional') options.push({ row, arg: rest || undefined });
        else if (rest) options.push({ row, arg: rest });
        else {
          if (i + 1 >= argv.length) throw new UsageError(`dmraid: option requires an argument -- '${c}'`, [], true);
          options.push({ row, arg: argv[++i] });
        }
        break;
      }
      if (options.at(-1)?.row.endsOptions) {
        operands.push(...argv.slice(i + 1));
        break;
      }
      continue;
    }
    operands.push(a);
  }
  return { options, operands };
}

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

/** dmraid's mode for its action flags, in its order of precedence. */
function modeOf(action: number): Mode | undefined {
  const has = (flags: number) => (action & flags) !== 0;
  if (has(F.VERSION)) return 'version';
  if (has(F.LIST_FORMATS)) return 'list';
  if (has(F.BLOCK_DEVICES)) return 'block';
  if (has(F.NATIVE_LOG)) return 'native';
  if (has(F.RAID_DEVICES)) return has(F.DMERASE) ? 'erase' : has(F.DUMP) ? 'dump' : 'raid';
  if (has(F.CREATE)) return 'create';
  if (has(F.REBUILD)) return 'rebuild';
  if (has(F.SPARE)) return 'spare';
  if (has(F.DEL_SETS)) return 'remove';
  if (has(F.RAID_SETS)) return 'sets';
  if (has(F.ACTIVATE | F.DEACTIVATE)) return 'activate';
  return undefined;
}

function options(d: Draft, mode: Mode, operands: string[]): Options {
  const { action, ourMode, ...o } = d;
  return { ...o, mode, operands, formats: d.formatText === undefined ? undefined : d.formatText.split(d.separator) };
}

export function parseOptions(argv: readonly string[]): Options {
  if (argv.length === 0) throw new UsageError('no arguments/options given (-h for help)', ['']);
  const { options: given, operands } = getopt(argv);
  const d = draft();
  const present = new Set<OptionRow>();
  for (const { row, arg } of given) {
    if (row.dmraid) d.action |= row.dmraid.action;
    present.add(row);
    if (row.mode === 'help') return options(draft(), 'help', operands);
    row.apply(d, arg);
  }
  // Our options that go with some modes only: the engine's are checked first, --json once dmraid's mode is known.
  const ours = OPTIONS.filter((r) => !r.dmraid && r.modes && present.has(r));
  const engineOnly = (r: OptionRow) => r.modes!.every((m) => ENGINE.includes(m));

  if (d.ourMode !== undefined) {
    const mode = d.ourMode;
    if (OPTIONS.some((r) => r.dmraid && present.has(r) && !r.modes?.includes(mode))) throw new UsageError('invalid option combination (-h for help)');
    if (mode === 'extract' && d.engine.output === undefined) throw new UsageError('--extract needs -o/--output FILE');
    if (mode === 'draw' && d.engine.output === undefined) throw new UsageError('--draw needs -o/--output FILE (.svg, .html, or - for standard output)');
    // Each command's own options; another command's would be silently ignored otherwise.
    const foreign = ours.filter((r) => !r.modes!.includes(mode));
    if (foreign.length > 0) {
      const owners = [...new Set(foreign.flatMap((r) => r.modes!.map(modeLabel)))];
      throw new UsageError(`${enumerate(foreign.map(label))} ${foreign.length > 1 ? 'go' : 'goes'} with ${enumerate(owners, 'or')}, not ${modeLabel(mode)}`);
    }
    if (d.json && d.engine.output === '-') throw new UsageError('--json and -o - would both write to standard output');
    if (d.engine.drawFile === '-') throw new UsageError(`--draw - would put the picture among ${modeLabel(mode)}'s own output: give a file`);
    if (mode === 'serve' && !isListenAddress(d.engine.listen)) {
      const dash = d.engine.listen.startsWith('-') ? ` (a socket named so is written ./${d.engine.listen})` : '';
      throw new UsageError(`--listen ${d.engine.listen}: not a port (0-65535), HOST:PORT or a socket path${dash}`);
    }
    return options(d, mode, operands);
  }
  if (ours.some(engineOnly)) {
    const names = OPTIONS.filter((r) => !r.dmraid && !r.mode && r.modes && engineOnly(r)).map(label);
    throw new UsageError(`${enumerate(names)} go with ${enumerate(ENGINE.map(modeLabel), 'or')}`);
  }

  // dmraid returns from its option loop at -C, and at -M after -S, before checking combinations.
  const byLetter = (c: string) => OPTIONS.find((r) => r.short === c)!;
  const unchecked = present.has(byLetter('C')) || (present.has(byLetter('S')) && present.has(byLetter('M')));
  for (const row of OPTIONS) {
    if (!row.dmraid || !present.has(row) || unchecked) continue;
    const { action, needed, allowed, noArgs } = row.dmraid;
    // --separator has no letter: dmraid prints its '\0'.
    const letter = row.short ?? '\0';
    if (needed && !(needed & d.action)) throw new UsageError(`option missing/invalid option combination with -${letter}`);
    if (~(allowed | action | needed) & d.action) throw new UsageError('invalid option combination (-h for help)');
    if (noArgs && operands.length > 0) throw new UsageError(`no arguments allowed with -${letter}`, ['']);
  }
  // Our own options (--devices, --json, --yes) alone are no command: answer as dmraid does to none.
  if (d.action === 0) throw new UsageError('no arguments/options given (-h for help)', ['']);
  if ((d.action & (F.DBG | F.VERBOSE)) === d.action) throw new UsageError('more options needed with -d/-v');
  const mode = modeOf(d.action);
  if (mode === undefined) throw new UsageError('options missing', ['']);

  const refused = ours.find((r) => !r.modes!.includes(mode));
  if (refused) throw new UsageError(`${label(refused)} goes with ${enumerate(refused.modes!.map(modeLabel))}`);
  return options(d, mode, operands);
}

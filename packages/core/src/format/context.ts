/**
 * The machinery handlers call: dmraid's generic read, group and check support, with its messages.
 * Every message a handler causes is prefixed with the handler's name as dmraid prints it.
 */
import { isIoError, type BlockDevice, type WritableDevice } from '../device/device.js';
import {
  countDevs,
  findSet,
  newRaidSet,
  totalSectors,
  type RaidDevice,
  type RaidSet,
} from '../model/raid.js';
import { isParity, type RaidStatus } from '../model/types.js';
import type { Log } from './log.js';

export interface ReadContext {
  readonly format: string;
  readonly log: Log;
  /** Handler options given on the command line (`--<format>-<key>=<value>`, e.g. isw's `match`). */
  readonly options: ReadonlyMap<string, string>;
  /** `ERROR: <format>: <text>` */
  error(text: string): void;
  /**
   * Read bytes; on failure prints dmraid's seek/read error for this handler and returns undefined. A bigint
   * offset is an on-disk 64-bit one (an LBA × 512), taken modulo 2^64 as dmraid's arithmetic does.
   */
  read(device: BlockDevice, byteOffset: number | bigint, length: number): Promise<Uint8Array | undefined>;
  /** `ERROR: <format>: setting up RAID device <path>` after a specific error. */
  setupFailed(device: BlockDevice): void;
}

/** No handler options: one map for every handler and device that has none. */
const NO_OPTIONS: ReadonlyMap<string, string> = new Map();

export function readContext(format: string, log: Log, options: ReadonlyMap<string, string> = NO_OPTIONS): ReadContext {
  const error = (text: string) => log('error', `${format}: ${text}`);
  return {
    format,
    log,
    options,
    error,
    async read(device, byteOffset, length) {
      // dmraid's lseek takes the offset as unsigned 64 bits and refuses one past the device's end.
      const at = BigInt.asUintN(64, BigInt(byteOffset));
      if (at > BigInt(device.sizeSectors) * 512n) {
        error(`seeking device "${device.path}" to ${at}`);
        return undefined;
      }
      const data = await device.read(Number(at), length);
      if (isIoError(data)) {
        error(`reading ${device.path}[${data.message}]`);
        return undefined;
      }
      return data;
    },
    setupFailed(device) {
      error(`setting up RAID device ${device.path}`);
    },
  };
}

/** Sort predicate of dmraid's list_add_sorted: true when `added` goes before `existing`. */
export type Before<T> = (added: T, existing: T) => boolean;

function insertSorted<T>(list: T[], item: T, before?: Before<T>): void {
  const at = before ? list.findIndex((existing) => before(item, existing)) : 0;
  list.splice(at < 0 ? list.length : at, 0, item);
}

export interface GroupContext {
  readonly format: string;
  readonly log: Log;
  error(text: string): void;
  /** Top-level sets so far. */
  readonly sets: readonly RaidSet[];
  findSet(name: string, anywhere?: boolean): RaidSet | undefined;
  /** Find a set anywhere by name, or make a new unlinked one with the device's type. */
  findOrCreateSet(name: string, rd: RaidDevice): RaidSet;
  /**
   * dmraid's init_raid_set: the first member fixes type and stride; a different type is reported, a
   * different stride rejects the member (false).
   */
  initSet(set: RaidSet, rd: RaidDevice, stride: number, rawType?: number): boolean;
  /** Insert a member in handler order. */
  addDevice(set: RaidSet, rd: RaidDevice, before?: Before<RaidDevice>): void;
  /** Append a plain set to the top level unless it is there already. */
  addTopLevel(set: RaidSet): void;
  /** Insert a set at the top level sorted by name (supersets and groups), unless it is there already. */
  addTopLevelSorted(set: RaidSet): RaidSet;
  /**
   * Find or create the top-level superset `name` (sorted in by name), run `init` on a new one, and link
   * `subset` into it in `before` order unless it is there already.
   */
  joinSuperset(name: string, subset: RaidSet, rd: RaidDevice, init: (superset: RaidSet) => void, before?: Before<RaidSet>): RaidSet;
  /** Link a subset into a parent set (sorted), unless it is there already. */
  linkSubset(parent: RaidSet, subset: RaidSet, before?: Before<RaidSet>): void;
}

export const byName: Before<RaidSet> = (a, b) => a.name < b.name;

export function groupContext(format: string, log: Log, top: RaidSet[]): GroupContext {
  const error = (text: string) => log('error', `${format}: ${text}`);
  const linkSubset = (parent: RaidSet, subset: RaidSet, before?: Before<RaidSet>) => {
    if (!parent.sets.some((s) => s.name === subset.name)) insertSorted(parent.sets, subset, before);
  };
  const addTopLevelSorted = (set: RaidSet) => {
    const existing = findSet(top, set.name, false);
    if (existing) return existing;
    insertSorted(top, set, byName);
    return set;
  };
  return {
    format,
    log,
    error,
    sets: top,
    findSet: (name, anywhere = true) => findSet(top, name, anywhere),
    findOrCreateSet(name, rd) {
      return findSet(top, name, true) ?? newRaidSet(name, rd.type);
    },
    initSet(set, rd, stride, rawType) {
      if (rd.type === 'undef') {
        error(`RAID type ${rawType ?? 0} not supported`);
        return false;
      }
      if (set.type === 'spare' || set.type === 'undef') set.type = rd.type;
      else if (rd.type !== 'spare' && set.type !== rd.type) error(`RAID type mismatch in "${set.name}" on  ${rd.device.path}`);
      if (set.stride) {
        if (set.stride !== stride) {
          error(`stride inconsistency detected on "${rd.device.path}"`);
          return false;
        }
      } else set.stride = stride;
      return true;
    },
    addDevice(set, rd, before) {
      insertSorted(set.devs, rd, before);
    },
    addTopLevel(set) {
      if (!findSet(top, set.name, false)) top.push(set);
    },
    addTopLevelSorted,
    joinSuperset(name, subset, rd, init, before) {
      let superset = findSet(top, name, false);
      if (!superset) {
        superset = newRaidSet(name, rd.type);
        insertSorted(top, superset, byName);
        init(superset);
      }
      linkSubset(superset, subset, before);
      return superset;
    },
    linkSubset,
  };
}

/** The generic group pattern of the ATARAID handlers (hpt37x, hpt45x, nvidia, pdc, via, sil). */
export interface MemberPlacement {
  readonly stride: number;
  /** The raw type number, for the "RAID type %u not supported" message. */
  readonly rawType?: number;
  /** Member order inside the leaf set. */
  readonly before?: Before<RaidDevice>;
  /** For a stacked level: the superset this leaf set is a half of. */
  readonly superset?: {
    readonly name: string;
    readonly init: (superset: RaidSet) => void;
    readonly before?: Before<RaidSet>;
  };
}

export function placeMember(ctx: GroupContext, rd: RaidDevice, placement: MemberPlacement): RaidSet | undefined {
  const set = ctx.findOrCreateSet(rd.name, rd);
  if (!ctx.initSet(set, rd, placement.stride, placement.rawType)) return undefined;
  ctx.addDevice(set, rd, placement.before);
  if (!placement.superset) {
    ctx.addTopLevel(set);
    return set;
  }
  return ctx.joinSuperset(placement.superset.name, set, rd, placement.superset.init, placement.superset.before);
}

export interface CheckContext {
  readonly format: string;
  readonly log: Log;
  error(text: string): void;
  /**
   * dmraid's check_raid_set: recursively check subsets, count members against what each member's metadata
   * expects (`devices`), set member statuses by the set's type, then the set statuses from their parts.
   * Returns false when the set ends broken.
   */
  checkRaidSet(set: RaidSet, rules: CheckRules): boolean;
}

export interface CheckRules {
  /** How many non-spare members the set should have, according to this member's metadata. */
  devices(rd: RaidDevice, set: RaidSet): number;
  /** Per-member check with the right count; passing makes the member ok. Without it statuses stay. */
  member?(set: RaidSet, rd: RaidDevice): boolean;
  /** Message wording: dmraid's generic "wrong # of devices", isw's "wrong number of devices". */
  readonly countWord?: string;
}

export function checkContext(format: string, log: Log): CheckContext {
  const error = (text: string) => log('error', `${format}: ${text}`);
  const checkDevices = (set: RaidSet, rules: CheckRules) => {
    if (set.devs.length === 0) return;
    const sectors = totalSectors(set);
    const present = countDevs(set, 'dev');
    set.totalDevs = present;
    for (const rd of set.devs) {
      const expected = rules.devices(rd, set);
      set.foundDevs = expected;
      const memberOk = () => (rules.member ? rules.member(set, rd) : false);
      if (present === expected) {
        if (rules.member && memberOk()) rd.status = 'ok';
        continue;
      }
      error(`${rules.countWord ?? 'wrong # of devices'} in RAID set "${set.name}" [${present}/${expected}] on ${rd.device.path}`);
      rd.status = statusForCount(set, rd, present, expected, sectors, memberOk, error);
    }
  };
  const check = (set: RaidSet, rules: CheckRules): boolean => {
    for (const s of set.sets) check(s, rules);
    if (set.type !== 'group' && set.devs.length > 0) checkDevices(set, rules);
    return setStatusFromParts(set);
  };
  return { format, log, error, checkRaidSet: check };
}

/**
 * A member's status when its set has `present` of `expected` members (dmraid's check_raid_set by set type):
 * a stripe is broken, a mirror with one member inconsistent, a parity set one short inconsistent when
 * `memberOk`. Exported for handlers that count their own way (isw's number_disks_status).
 */
export function statusForCount(
  set: RaidSet,
  rd: RaidDevice,
  present: number,
  expected: number,
  sectors: number,
  memberOk: () => boolean,
  error: (text: string) => void,
): RaidStatus {
  switch (set.type) {
    case 'linear':
    case 'raid0':
      return 'broken';
    case 'raid1':
      if (present >= 1) return 'inconsistent';
      if (rd.type === 'spare' && rd.sectors !== sectors) {
        error(`size mismatch in set "${set.name}", spare "${rd.device.path}"`);
        return 'inconsistent';
      }
      return 'broken';
    case 'raid6':
      return (present >= expected - 2 && memberOk()) || present > expected ? 'inconsistent' : 'broken';
    case 'spare':
      return 'broken';
    default:
      if (isParity(set.type)) {
        return (present === expected - 1 && present > 1 && memberOk()) || present > expected ? 'inconsistent' : 'broken';
      }
      return 'undef';
  }
}

/**
 * A set's status from its subsets and devices (dmraid's set_rs_status). Returns false when broken.
 */
export function setStatusFromParts(set: RaidSet): boolean {
  let parts = 0;
  let operational = 0;
  let stacked = 0;
  let inconsistent = 0;
  let nosync = 0;
  for (const s of set.sets) {
    if ((set.type === 'raid0' && s.type === 'raid1') || (set.type === 'raid1' && s.type === 'raid0')) stacked++;
    parts++;
    if (s.status === 'ok' || s.status === 'inconsistent') operational++;
  }
  for (const rd of set.devs) {
    parts++;
    if (rd.status === 'ok') operational++;
    else if (rd.status === 'inconsistent') inconsistent++;
    else if (rd.status === 'nosync') nosync++;
  }
  if (stacked) {
    // dmraid: one half → broken, two halves → ok whatever their state, more → unchanged.
    if (stacked === 1) set.status = 'broken';
    else if (stacked === 2) set.status = 'ok';
  } else if (operational === parts) set.status = 'ok';
  else if (operational || inconsistent) set.status = 'inconsistent';
  else if (nosync) set.status = 'nosync';
  else set.status = 'broken';
  return set.status !== 'broken';
}

export interface WriteContext {
  readonly format: string;
  readonly log: Log;
  error(text: string): void;
  /** Open a device for writing (the caller keeps backups and verifies); undefined once it has said why not. */
  openWritable(path: string): Promise<WritableDevice | undefined>;
  /**
   * Ask the user (dmraid's `[y/n]` prompts); true to go on. The CLI answers from stdin or --yes; without it
   * (library use) the answer is yes.
   */
  confirm?(question: string): Promise<boolean>;
}

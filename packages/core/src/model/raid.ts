/**
 * The abstract RAID model: RAID devices (one per member disk and volume) and RAID sets (leaf sets,
 * supersets of stacked levels, groups of volumes), as dmraid models them.
 */
import { isParity, RAID_STATUSES, RAID_TYPES, type RaidStatus, type RaidType } from './types.js';

/** A disk or image as discovery sees it. */
export interface DeviceInfo {
  /** The path the user knows the device by: `/dev/sda`, or an image path as given. */
  readonly path: string;
  /** Drive serial number, whitespace removed; undefined when unknown. */
  readonly serial: string | undefined;
  readonly sizeSectors: number;
}

/** Where a handler's metadata lives on a disk: what -D dumps and -E erases. */
export interface MetadataArea {
  /** Sector offset from the start of the device. */
  readonly offsetSectors: number;
  /** Bytes of metadata at that offset. */
  readonly size: number;
  /** The bytes read there (what a state write puts back). */
  readonly data: Uint8Array;
}

/** One member of a RAID set on one disk: a whole disk, or one volume's segment of it. */
export interface RaidDevice<M = unknown> {
  readonly device: DeviceInfo;
  /** Name of the format handler that read it. */
  readonly format: string;
  /** Name of the set this device belongs to (the leaf set). */
  name: string;
  type: RaidType;
  status: RaidStatus;
  /** Data start on the disk, in sectors. */
  offset: number;
  /** Data length on the disk, in sectors. */
  sectors: number;
  areas: MetadataArea[];
  /** The handler's decoded native metadata. */
  meta: M;
  /** For a further volume on a disk: the disk's own RAID device (the one -r, -n, -D and -E list). */
  volumeOf?: RaidDevice<M>;
  /**
   * The member's place (0-based) in its set's data layout, where the metadata records it (isw's disk order
   * table, ...). Activation needs it to map a parity set with a member missing.
   */
  position?: number;
  /**
   * Why this member is stale: newer metadata on another member of its set (a higher generation or sequence
   * number, or a record of it as failed, missing or not a member) supersedes what it holds. A stale member
   * is no member of its set: grouping sets it aside (RaidSet.stale), so it is never mapped nor read.
   */
  stale?: string;
  /**
   * The user declared this member current (`--include`): a handler's stale verdict does not set it aside.
   * Once a handler has called it stale, the verdict it overruled (shown, never applied).
   */
  current?: { overruled?: string };
  /**
   * Why this member's data is not yet its set's: the metadata records it as the target of a rebuild (isw's
   * IMSM_ORD_REBUILD mark or the rebuilding volume's failed disk, a DDF PD in state Rebuilding). It is a
   * member all the same, but never the source of a copy: activation puts an in-sync mirror leg first (the
   * kernel's `mirror ... sync` copies the first leg over the others) and the engine never reads it.
   */
  outOfSync?: string;
  /**
   * Another format's metadata on the same disk won the conflict (discovery/conflicts.ts): this RAID device
   * is shown (-r) but never joins a set. The winner's name and the evidence, in words.
   */
  supersededBy?: Supersession;
}

/** Why one format's RAID devices on a disk gave way to another's. */
export interface Supersession {
  readonly format: string;
  readonly reason: string;
}

export interface RaidSet {
  name: string;
  type: RaidType;
  status: RaidStatus;
  /** Stripe size in sectors (0 when not striped). */
  stride: number;
  /** Ordered subsets: halves of a stacked set, or the volumes of a group. */
  sets: RaidSet[];
  /** Ordered member devices (leaf sets; a group holds its per-disk devices here). */
  devs: RaidDevice[];
  /** Present / expected member counts, filled by the check. */
  totalDevs: number;
  foundDevs: number;
  /** Set by activation when the kernel (or engine) has a mapping of this set. */
  active?: boolean;
  /** Members set aside as stale (RaidDevice.stale): shown, never counted, mapped or read. */
  stale?: RaidDevice[];
  /**
   * A raid6 set's layout, as dm-raid names it; undefined where the metadata does not say which, and then the
   * set is neither mapped nor read (its bytes would be guessed).
   */
  raid6Layout?: Raid6Layout;
  /**
   * Why the set is neither mapped nor read, in the format's words naming the level and qualifier its metadata
   * describes (a layout no target here lays out); shown by -t, -ay and the engine's refusals, not by -s.
   */
  unsupported?: string;
}

/** dm-raid's raid6 layouts (Documentation/admin-guide/device-mapper/dm-raid.rst), md's algorithms 8-10 and 16-20. */
export const RAID6_LAYOUTS = ['raid6_zr', 'raid6_nr', 'raid6_nc', 'raid6_n_6', 'raid6_la_6', 'raid6_ra_6', 'raid6_ls_6', 'raid6_rs_6'] as const;
export type Raid6Layout = (typeof RAID6_LAYOUTS)[number];

export function newRaidSet(name: string, type: RaidType = 'undef'): RaidSet {
  return { name, type, status: 'setup', stride: 0, sets: [], devs: [], totalDevs: 0, foundDevs: 0 };
}

export const typeDisplay = (t: RaidType) => RAID_TYPES[t].display;
export const statusDisplay = (s: RaidStatus) => RAID_STATUSES[s].display;

/** dmraid's stacked type names, one row for sets over stripes and one for stripes over sets, read as one run. */
const STACKED = ['raid10', 'raid30', 'raid40', 'raid50', 'raid60', 'raid01', 'raid03', 'raid04', 'raid05', 'raid06'];
const TYPE_INDEX = Object.keys(RAID_TYPES) as RaidType[];

/**
 * How dmraid shows a set's type (its get_set_type): a non-group set with subsets gets a stacked name —
 * "raid10" when it mirrors stripes, "raid01" when it stripes mirrors (dmraid's naming, the reverse of
 * common usage). dmraid picks the name by the distance of a type from raid1 in its type table (the
 * stripe's first subset's type, else the set's own), and every type before raid1 counts as one step:
 * a stripe over stripes is "raid03", a linear set over anything "raid30". A stripe over raid5_ra or raid6
 * would read past dmraid's table; it is shown by its own type.
 */
export function setTypeDisplay(set: RaidSet): string {
  if (set.type === 'group' || set.sets.length === 0) return typeDisplay(set.type);
  const striped = set.type === 'raid0';
  const from = striped ? set.sets[0]!.type : set.type;
  const distance = TYPE_INDEX.indexOf(from) - TYPE_INDEX.indexOf('raid1');
  return STACKED[(striped ? 5 : 0) + (distance < 0 ? 1 : distance)] ?? typeDisplay(set.type);
}

export type CountKind = 'dev' | 'spare' | 'all';

function counts(rd: RaidDevice, kind: CountKind): boolean {
  return kind === 'all' || (kind === 'dev') === (rd.type !== 'spare');
}

/** Devices of a set, recursing into subsets (but not into a group's volumes). */
export function countDevs(set: RaidSet, kind: CountKind): number {
  let n = 0;
  if (set.type !== 'group') for (const s of set.sets) n += countDevs(s, kind);
  for (const rd of set.devs) if (counts(rd, kind)) n++;
  return n;
}

/** Every device of a set and its subsets, depth first. */
export function allDevices(set: RaidSet): RaidDevice[] {
  return [...set.sets.flatMap(allDevices), ...set.devs];
}

// dmraid's total_sectors() in its unsigned 64-bit arithmetic: a sum of members can pass 2^53 even when no
// member does, and -s prints it exactly.
const U64 = (x: bigint) => BigInt.asUintN(64, x);

function addSectors(set: RaidSet, sum: bigint, add: bigint): bigint {
  // dmraid rounds with a bit mask, which is only right for power-of-two strides.
  const rounded = set.stride ? add & ~BigInt(set.stride - 1) : add;
  if (set.type === 'raid1') return !sum || sum > rounded ? rounded : sum;
  return U64(sum + rounded);
}

/** `x & ~(stride-1)` on up to 53-bit values. */
export function roundDownMask(x: number, stride: number): number {
  return Number(BigInt(x) & ~BigInt(stride - 1) & 0xffffffffffffffffn);
}

/** The size dmraid reports for a set (`-s` size column), dmraid's total_sectors(), exact at any size. */
export function setSectors(set: RaidSet): bigint {
  let sectors = 0n;
  if (set.type !== 'group') for (const s of set.sets) sectors = addSectors(set, sectors, setSectors(s));
  if (set.devs.length > 0) {
    const smallest = BigInt(Math.min(...set.devs.map((d) => d.sectors)));
    for (const rd of set.devs) if (rd.type !== 'spare') sectors = addSectors(set, sectors, smallest);
  }
  if (set.type === 'spare') for (const rd of set.devs) if (rd.type === 'spare') sectors = addSectors(set, sectors, BigInt(rd.sectors));
  if (isParity(set.type)) {
    const parts = BigInt(set.sets.length || countDevs(set, 'dev'));
    const sub = parts ? sectors / parts : 0n;
    sectors -= sub;
    // A raid6 of one member wraps around below zero, as in dmraid.
    if (set.type === 'raid6') sectors = U64(sectors - sub);
  }
  return sectors;
}

/**
 * setSectors as a number, for tables and checks: exact below 2^53, the most any set of real disks holds
 * (members are exact numbers; only a sum of absurd members passes it, and the display uses setSectors).
 */
export function totalSectors(set: RaidSet): number {
  return Number(setSectors(set));
}

/** Find a set by exact name, at the top of `sets` only or anywhere below. */
export function findSet(sets: readonly RaidSet[], name: string, anywhere: boolean): RaidSet | undefined {
  const top = sets.find((s) => s.name === name);
  if (top || !anywhere) return top;
  for (const s of sets) {
    const found = findSet(s.sets, name, true);
    if (found) return found;
  }
  return undefined;
}

/** What `setsNamed` looks at: a set's name, whether it is a group, and its sets. */
export interface NamedSet<S> {
  readonly name: string;
  readonly type: string;
  readonly sets: readonly S[];
}

/**
 * The sets `wanted` names, and the names that name none: dmraid's rule for `-s NAME` (dmraid-behaviour.md
 * §4: exact, never a prefix), a top-level set by its name or a volume of a group (isw, ddf1: `-s -c` prints
 * the volumes' names), kept inside its group with the group's other volumes left out. A group's own name
 * takes the group whole. Any tree of named sets will do (a RaidSet; the top-level devices of tables).
 */
export function setsNamed<S extends NamedSet<S>>(sets: readonly S[], wanted: readonly string[]): { readonly sets: S[]; readonly unknown: string[] } {
  const out: S[] = [];
  const found = new Set<string>();
  for (const set of sets) {
    if (wanted.includes(set.name)) {
      out.push(set);
      found.add(set.name);
    } else if (set.type === 'group') {
      const volumes = set.sets.filter((v) => wanted.includes(v.name));
      for (const v of volumes) found.add(v.name);
      if (volumes.length > 0) out.push({ ...set, sets: volumes } as S);
    }
  }
  return { sets: out, unknown: wanted.filter((w) => !found.has(w)) };
}

/** The handler name of a set: that of its first leaf device. */
export function setFormat(set: RaidSet): string | undefined {
  let s = set;
  while (s.sets.length > 0) s = s.sets[0]!;
  return s.devs[0]?.format;
}

/** dmraid's mk_alpha: digits 0-9 become letters a-j, everything else stays. */
export function mkAlpha(text: string): string {
  return text.replace(/[0-9]/g, (d) => String.fromCharCode(0x61 + d.charCodeAt(0) - 0x30));
}

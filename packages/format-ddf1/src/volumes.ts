/**
 * From a disk's DDF tables to dmraid's model: the disk's place in the `.ddf1_disks` group and one volume
 * per config record that lists it. Unlike dmraid, the record of a volume is found by its index (dmraid mixes
 * up "index of the record" and "n-th record of this disk"), and secondary RAID levels (mdadm's RAID10 as
 * several basic VDs) and RAID6 are understood.
 */
import { cString, type Raid6Layout, type RaidStatus, type RaidType } from '@dmraid/core';
import {
  DDF1_2CONCAT,
  DDF1_2MIRRORED,
  DDF1_CONCAT,
  DDF1_JBOD,
  DDF1_RAID0,
  DDF1_RAID1,
  DDF1_RAID1E,
  DDF1_RAID1E_ADJACENT,
  DDF1_RAID1E_OFFSET,
  DDF1_RAID3,
  DDF1_RAID4,
  DDF1_RAID5,
  DDF1_RAID5E,
  DDF1_RAID5EE,
  DDF1_RAID5_LA,
  DDF1_RAID5_LS,
  DDF1_RAID5_RS,
  DDF1_RAID6,
  DDF1_RAID6_DMRAID,
  DDF1_RAID6_NC,
  DDF1_RAID6_NR,
  DDF1_RAID6_ZR,
  type Ddf1ConfigRecord,
  type Ddf1PhysDrive,
  type Ddf1VirtDrive,
} from './layout.js';
import { pdSize, type Ddf1, type VdConfig } from './metadata.js';

export const DDF1_DISKS = '.ddf1_disks';

/** PD state bits (SNIA DDF 2.0 §5.7.4): the disk failed, or is missing from the configuration. */
export const PD_STATE_FAILED = 0x02;
export const PD_STATE_MISSING = 0x40;
/** PD state bit: the disk is being rebuilt (§5.7.4), its data not yet its VDs'. */
export const PD_STATE_REBUILDING = 0x04;

/** Why this disk's members are out of sync (RaidDevice.outOfSync), or undefined. */
export function rebuildingReason(pd: Ddf1PhysDrive): string | undefined {
  return pd.state & PD_STATE_REBUILDING ? `its physical disk state (0x${pd.state.toString(16)}) says Rebuilding` : undefined;
}

/** PD state bits to a status, first match (dmraid's disk_status). */
export function diskStatus(pd: Ddf1PhysDrive | undefined): RaidStatus {
  if (!pd) return 'undef';
  if (pd.state & 0x72) return 'broken';
  if (pd.state & PD_STATE_REBUILDING) return 'nosync';
  if (pd.state & 0x08) return 'setup';
  if (pd.state & 0x01) return 'ok';
  return 'undef';
}

/**
 * 1 << stripe_size sectors, as dmraid computes it: a 64-bit shift (count taken mod 64) cut to 32 bits, so
 * that 32..63 give 0. mdadm writes stripe_size 0xFF for RAID1 (no chunk): dmraid prints stride 0.
 */
export function stride(cr: Ddf1ConfigRecord): number {
  const shift = cr.stripe_size & 63;
  return shift < 32 ? 2 ** shift : 0;
}

/**
 * RAID1E with an even number of elements, adjacent copies (RLQ 0, md's raid10 near=2): a stripe over mirrored
 * pairs. Offset copies (RLQ 1, md's raid10 offset=2) put a chunk's copy one stripe further on the next disk:
 * no pairs, and the model has no raid10 layout for it, so it stays unknown (not mapped) rather than guessed.
 */
const isRaid1eAsPairs = (cr: Ddf1ConfigRecord) =>
  cr.raid_level === DDF1_RAID1E && cr.raid_qualifier === DDF1_RAID1E_ADJACENT && cr.primary_element_count % 2 === 0 && cr.primary_element_count >= 2;

export function volumeType(d: Ddf1, cr: Ddf1ConfigRecord): RaidType {
  switch (cr.raid_level) {
    case DDF1_RAID0:
      return 'raid0';
    case DDF1_RAID1:
      return 'raid1';
    case DDF1_RAID4:
      return 'raid4';
    case DDF1_CONCAT:
    case DDF1_JBOD:
      return 'linear';
    case DDF1_RAID5:
      if (d.adaptec) return 'raid5_la';
      return cr.raid_qualifier === DDF1_RAID5_RS
        ? 'raid5_rs'
        : cr.raid_qualifier === DDF1_RAID5_LA
          ? 'raid5_la'
          : cr.raid_qualifier === DDF1_RAID5_LS
            ? 'raid5_ls'
            : 'undef';
    case DDF1_RAID6:
    case DDF1_RAID6_DMRAID:
      return 'raid6';
    case DDF1_RAID1E:
      return isRaid1eAsPairs(cr) ? 'raid1' : 'undef';
    default:
      return 'undef';
  }
}

/**
 * md's algorithm for a DDF RAID6 qualifier, as mdadm converts them (super-ddf.c layout_ddf2md: RLQ 1, 2, 3 are
 * ALGORITHM_ROTATING_ZERO_RESTART, _N_RESTART, _N_CONTINUE, dm-raid's raid6_zr, raid6_nr, raid6_nc). RLQ 0 and
 * dmraid's private level 0x16 name no layout md knows: undefined, and the set is not mapped.
 */
export function raid6Layout(cr: Ddf1ConfigRecord): Raid6Layout | undefined {
  if (cr.raid_level !== DDF1_RAID6) return undefined;
  switch (cr.raid_qualifier) {
    case DDF1_RAID6_ZR:
      return 'raid6_zr';
    case DDF1_RAID6_NR:
      return 'raid6_nr';
    case DDF1_RAID6_NC:
      return 'raid6_nc';
    default:
      return undefined;
  }
}

/** Levels the model has no type for, by their SNIA DDF names. */
const UNMAPPED_LEVELS: Readonly<Record<number, string>> = { [DDF1_RAID3]: 'RAID3', [DDF1_RAID5E]: 'RAID5E', [DDF1_RAID5EE]: 'RAID5EE' };

const hexByte = (x: number) => `0x${x.toString(16).padStart(2, '0')}`;

/**
 * Why a VD is neither mapped nor read, naming its level (PRL) and qualifier (RLQ); undefined when it is. Its
 * type stays what dmraid shows (`unknown`, or `raid6` without a layout): -s is the reference's, -t, -ay and
 * the engine say this instead of an "Undefined"/"Unsupported RAID type" line.
 */
export function unsupportedLevel(d: Ddf1, cr: Ddf1ConfigRecord): string | undefined {
  const rlq = `RLQ ${cr.raid_qualifier}`;
  switch (cr.raid_level) {
    case DDF1_RAID1E:
      if (isRaid1eAsPairs(cr)) return undefined;
      if (cr.raid_qualifier === DDF1_RAID1E_OFFSET) return `RAID1E with offset copies (${rlq}) is not supported`;
      if (cr.raid_qualifier === DDF1_RAID1E_ADJACENT) return `RAID1E over an odd number of disks (${cr.primary_element_count}) is not supported`;
      return `RAID1E with qualifier ${rlq} is not supported`;
    case DDF1_RAID6:
      return raid6Layout(cr) ? undefined : `RAID6 with qualifier ${rlq} is not supported (md lays out RLQ 1, 2 and 3)`;
    case DDF1_RAID6_DMRAID:
      return `RAID6 as dmraid's private level ${hexByte(cr.raid_level)} (${rlq}) is not supported: it names no layout`;
    default:
      if (volumeType(d, cr) !== 'undef') return undefined;
      if (cr.raid_level === DDF1_RAID5) return `RAID5 with qualifier ${rlq} is not supported`;
      return `${UNMAPPED_LEVELS[cr.raid_level] ?? 'RAID level'} (PRL ${hexByte(cr.raid_level)}, ${rlq}) is not supported`;
  }
}

/** How the parts of a VD made of several basic VDs (or RAID1E pairs) are joined. */
function supersetType(cr: Ddf1ConfigRecord): RaidType {
  if (cr.raid_level === DDF1_RAID1E) return 'raid0';
  if (cr.secondary_element_raid_level === DDF1_2MIRRORED) return 'raid1';
  if (cr.secondary_element_raid_level === DDF1_2CONCAT) return 'linear';
  return 'raid0';
}

const isGraph = (c: number) => c > 0x20 && c < 0x7f;

/** `ddf1_` + the VD name (trailing non-graphic bytes cut), or + its GUID in hex (LSI: timestamp neutralised). */
export function vdName(vd: Ddf1VirtDrive): string {
  const prefix = 'ddf1_';
  if (vd.name[0]) {
    let end = vd.name.length;
    while (end > 0 && !isGraph(vd.name[end - 1]!)) end--;
    return prefix + cString(vd.name.subarray(0, end));
  }
  let hex = [...vd.guid].map((b) => b.toString(16).padStart(2, '0')).join('');
  if (vd.guid[0] === 0x4c && vd.guid[1] === 0x53 && vd.guid[2] === 0x49) hex = `${hex.slice(0, 32)}47114711${hex.slice(40)}`;
  return prefix + hex;
}

const sameGuid = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

export function findVd(d: Ddf1, cr: Ddf1ConfigRecord): Ddf1VirtDrive | undefined {
  for (let i = d.vds.length - 1; i >= 0; i--) if (sameGuid(d.vds[i]!.guid, cr.guid)) return d.vds[i];
  return undefined;
}

/** A volume of this disk: the record and the disk's position in it, with its place in a stacked VD. */
export interface Volume {
  readonly record: VdConfig;
  /** The disk's position in the record's member arrays. */
  readonly position: number;
  /** The disk's place (0-based) in its leaf set: its position, or within a RAID1E pair its place in the pair. */
  readonly setPosition: number;
  readonly type: RaidType;
  /** For a RAID6 volume whose qualifier md knows: its dm-raid layout. */
  readonly raid6Layout?: Raid6Layout;
  /** Why the volume is neither mapped nor read (unsupportedLevel). */
  readonly unsupported?: string;
  readonly stride: number;
  /** Data length and start on this disk as recorded (64-bit; the handler makes them numbers or refuses them). */
  readonly sectors: bigint;
  readonly offset: bigint;
  /** Set name, undefined when the VD record is missing (dmraid skips the volume then). */
  readonly name: string | undefined;
  /** Members the leaf set should have. */
  readonly expected: number;
  /** For a part of a stacked VD: the superset, its type and this part's index. */
  readonly stack?: { readonly name: string; readonly type: RaidType; readonly index: number };
}

export function volumesOf(d: Ddf1): Volume[] {
  const pd = d.pds[d.pdIndex]!;
  const out: Volume[] = [];
  for (const record of d.records) {
    if (record.kind !== 'vd') continue;
    const cr = record.cr;
    record.ids.forEach((id, position) => {
      if (id !== pd.reference) return;
      const type = volumeType(d, cr);
      const s = stride(cr);
      // RAID0 is cut to whole stripes; a stride of 0 (dmraid would divide by zero) leaves it as it is.
      const sectors = cr.sectors ? (type === 'raid0' && s ? cr.sectors - (cr.sectors % BigInt(s)) : cr.sectors) : pdSize(pd);
      const vd = findVd(d, cr);
      const base = vd ? vdName(vd) : undefined;
      let name = base;
      let expected = cr.primary_element_count;
      let stack: Volume['stack'];
      let setPosition = position;
      if (base && isRaid1eAsPairs(cr)) {
        const index = Math.floor(position / 2);
        name = `${base}-${index}`;
        expected = 2;
        setPosition = position % 2;
        stack = { name: base, type: supersetType(cr), index };
      } else if (base && cr.secondary_element_count > 1) {
        name = `${base}-${cr.secondary_element_number}`;
        stack = { name: base, type: supersetType(cr), index: cr.secondary_element_number };
      }
      const unsupported = unsupportedLevel(d, cr);
      out.push({
        record,
        position,
        setPosition,
        type,
        raid6Layout: raid6Layout(cr),
        ...(unsupported !== undefined ? { unsupported } : {}),
        stride: s,
        sectors,
        offset: record.offsets[position] ?? pdSize(pd),
        name,
        expected,
        stack,
      });
    });
  }
  return out;
}

/** A GUID as a map key. */
export const guidKey = (g: Uint8Array) => [...g].map((b) => b.toString(16).padStart(2, '0')).join('');

/** What one disk's tables say of another disk (by its PD reference): nothing wrong, or why it is stale. */
function verdict(d: Ddf1, reference: number): string | undefined {
  const pd = d.pds.find((p) => p.reference === reference);
  if (!pd) return 'does not list it';
  if (pd.state & PD_STATE_FAILED) return 'records it failed';
  if (pd.state & PD_STATE_MISSING) return 'records it missing';
  return undefined;
}

/** A member as the stale check sees it: the disk's tables and, per volume, its RAID device. */
export interface StaleCandidate<T> {
  readonly ddf: Ddf1;
  readonly disk: T;
  readonly volumes: readonly { readonly rd: T; readonly volume: Volume }[];
}

/**
 * Newest metadata wins: among the disks of one container (header GUID), the tables with the highest header
 * sequence number are the record (mdadm bumps it on every update and stops writing to a disk it failed). A
 * disk is stale when its own tables are older, or the newest ones list it failed, missing or not at all;
 * a volume's member is stale when the newest tables have no config record for that VD or leave the disk out
 * of it.
 */
export function staleMembers<T>(disks: readonly StaleCandidate<T>[], path: (c: StaleCandidate<T>) => string): { rd: T; reason: string }[] {
  const containers = new Map<string, StaleCandidate<T>[]>();
  for (const c of disks) {
    const key = guidKey(c.ddf.header.value.guid);
    containers.set(key, [...(containers.get(key) ?? []), c]);
  }
  const out: { rd: T; reason: string }[] = [];
  for (const members of containers.values()) {
    const newest = members.reduce((a, b) => (b.ddf.header.value.seqnum > a.ddf.header.value.seqnum ? b : a));
    const top = newest.ddf;
    const seq = top.header.value.seqnum;
    const newer = `the metadata on ${path(newest)} (sequence number ${seq})`;
    for (const c of members) {
      const own = c.ddf.header.value.seqnum;
      const reference = c.ddf.diskData.value.reference;
      const said = verdict(top, reference);
      if (own < seq) {
        out.push({ rd: c.disk, reason: `its metadata (sequence number ${own}) is older than ${newer}${said ? `, which ${said}` : ''}` });
        continue;
      }
      if (said) {
        out.push({ rd: c.disk, reason: `${newer} ${said}` });
        continue;
      }
      if (c === newest) continue;
      for (const { rd, volume } of c.volumes) {
        const cr = volume.record.cr;
        // A disk carries the records of its own VDs only, one per basic VD of a stacked one: a record of the
        // same basic VD in the newest tables that leaves this disk out supersedes it; no record says nothing.
        const record = top.records.find(
          (r): r is VdConfig => r.kind === 'vd' && guidKey(r.cr.guid) === guidKey(cr.guid) && r.cr.secondary_element_number === cr.secondary_element_number,
        );
        if (record && !record.ids.includes(reference)) out.push({ rd, reason: `${newer} does not list it in ${volume.name ? `"${volume.name}"` : 'its virtual disk'}` });
      }
    }
  }
  return out;
}

/**
 * A member's failure and its rebuild in the DDF tables, recorded as mdadm's mdmon records them
 * (super-ddf.c: ddf_set_disk, get_svd_state, ddf_activate_spare, ddf_update_vlist; SNIA DDF 1.2 §5.7, §5.9):
 * the PD entry's state bits, the VD entry's state, the config records' member references, each changed
 * record's sequence number and the header's, and the CRCs in the style the tables carry.
 *
 * The pure functions change one disk's decoded tables; the handler entries below them read the members
 * of a set, apply the same change to every present member's own tables and write them back (both copies).
 */
import { allDevices, readContext, writeAreas, type BlockDevice, type MetadataArea, type RaidDevice, type RaidSet, type WriteContext } from '@dmraid/core';
import {
  DDF1_CONCAT,
  DDF1_INVALID,
  DDF1_JBOD,
  DDF1_RAID0,
  DDF1_RAID1,
  DDF1_RAID1E,
  DDF1_RAID4,
  DDF1_RAID5,
  DDF1_RAID6,
  DDF1_RAID6_DMRAID,
  DDF1_2MIRRORED,
  ddfTimestamp,
  type Ddf1PhysDrive,
} from './layout.js';
import { crcStyleOf, isUnusedRow, metadataAreas, readDdf1, updateCrcs, type Ddf1, type Table, type VdConfig } from './metadata.js';
import { PD_STATE_FAILED, PD_STATE_MISSING, PD_STATE_REBUILDING, findVd, guidKey, vdName } from './volumes.js';

/** PD state bit Online (§5.7.4); Failed overrides it, mdadm leaves it set beside Failed. */
export const PD_STATE_ONLINE = 0x01;
const PD_STATE_TRANSITION = 0x08;
/** PD type bits (§5.7.3): member of a VD, global spare, dedicated spare. */
const PD_TYPE_ACTIVE = 0x02;
const PD_TYPE_GLOBAL_SPARE = 0x04;
const PD_TYPE_SPARE = 0x08;
/** VD state, low three bits (§5.9.3). */
export const VD_OPTIMAL = 0;
export const VD_DEGRADED = 1;
export const VD_FAILED = 4;
export const VD_PARTIALLY_OPTIMAL = 5;
const VD_STATE_MASK = 0x07;
/** VD init_state, low two bits: fully initialised. */
const INIT_MASK = 0x03;
const INIT_FULL = 0x02;

const vdRecords = (d: Ddf1) => d.records.filter((r): r is VdConfig => r.kind === 'vd');
const vdOf = (d: Ddf1, guid: Uint8Array) => d.vds.find((vd) => guidKey(vd.guid) === guidKey(guid));
const pdOf = (d: Ddf1, reference: number) => d.pds.find((p) => p.reference === reference && !isUnusedRow(p));
/** A member that holds its VD's data: online, neither failed nor being rebuilt (mdadm's get_bvd_state). */
const working = (pd: Ddf1PhysDrive | undefined) => !!pd && (pd.state & (PD_STATE_ONLINE | PD_STATE_FAILED | PD_STATE_REBUILDING)) === PD_STATE_ONLINE;

/** Levels that keep no redundancy: a missing member loses data, there is nothing to rebuild from. */
export const isPlainLevel = (r: VdConfig) => r.cr.raid_level === DDF1_RAID0 || r.cr.raid_level === DDF1_CONCAT || r.cr.raid_level === DDF1_JBOD;

/** The state of one basic VD from its members' PD states (mdadm's get_bvd_state). */
function basicVdState(d: Ddf1, r: VdConfig): number {
  const n = r.cr.primary_element_count;
  const up = r.ids.map((id) => working(pdOf(d, id)));
  const count = up.filter(Boolean).length;
  if (count === n) return VD_OPTIMAL;
  switch (r.cr.raid_level) {
    case DDF1_RAID0:
    case DDF1_CONCAT:
    case DDF1_JBOD:
      return VD_FAILED;
    case DDF1_RAID1:
      return count === 0 ? VD_FAILED : count >= 2 ? VD_PARTIALLY_OPTIMAL : VD_DEGRADED;
    case DDF1_RAID1E:
      // Adjacent copies: data is lost when both copies of one stripe unit are gone.
      return up.some((u, i) => !u && !up[(i + 1) % n]) ? VD_FAILED : VD_DEGRADED;
    case DDF1_RAID4:
    case DDF1_RAID5:
      return count < n - 1 ? VD_FAILED : VD_DEGRADED;
    case DDF1_RAID6:
    case DDF1_RAID6_DMRAID:
      return count < n - 2 ? VD_FAILED : count === n - 1 ? VD_PARTIALLY_OPTIMAL : VD_DEGRADED;
    default:
      return VD_DEGRADED;
  }
}

/** Two basic VDs' states joined by the secondary level (mdadm's secondary_state). */
function joinStates(a: number, b: number, mirrored: boolean): number {
  if (a === VD_OPTIMAL && b === VD_OPTIMAL) return VD_OPTIMAL;
  if (mirrored) {
    if (a === VD_OPTIMAL || b === VD_OPTIMAL) return VD_PARTIALLY_OPTIMAL;
    return a === VD_FAILED && b === VD_FAILED ? VD_FAILED : VD_DEGRADED;
  }
  if (a === VD_FAILED || b === VD_FAILED) return VD_FAILED;
  return a === VD_DEGRADED || b === VD_DEGRADED ? VD_DEGRADED : VD_PARTIALLY_OPTIMAL;
}

/** The state of the VD of `guid` from the basic VDs this disk's tables hold (mdadm's get_svd_state). */
export function vdState(d: Ddf1, guid: Uint8Array): number {
  const parts = vdRecords(d).filter((r) => guidKey(r.cr.guid) === guidKey(guid));
  const mirrored = parts[0]?.cr.secondary_element_raid_level === DDF1_2MIRRORED;
  return parts.map((r) => basicVdState(d, r)).reduce((a, b) => joinStates(a, b, mirrored), VD_OPTIMAL);
}

/** What one change did to a disk's tables: the records whose members changed, for their sequence numbers. */
type Touched = Set<VdConfig>;

/** Every VD of the records touched gets its state anew; the records' sequence numbers and times go up. */
function settle(d: Ddf1, touched: Touched, now: number): void {
  const guids = new Map([...touched].map((r) => [guidKey(r.cr.guid), r.cr.guid]));
  for (const guid of guids.values()) {
    const vd = vdOf(d, guid);
    if (vd) vd.state = (vd.state & ~VD_STATE_MASK) | vdState(d, guid);
  }
  for (const r of touched) {
    r.cr.seqnum = (r.cr.seqnum + 1) >>> 0;
    r.cr.timestamp = ddfTimestamp(now);
  }
}

/** The header's sequence number, primary and secondary alike (the anchor carries none that counts). */
export function setSequence(d: Ddf1, seqnum: number, now = Math.floor(Date.now() / 1000)): void {
  for (const h of [d.header, d.secondary, d.usingSecondary ? undefined : d.primaryAt]) if (h) h.value.seqnum = seqnum >>> 0;
  // mdadm stamps every header it writes, the anchor too (whose seqnum stays all ones).
  for (const h of [d.anchor, d.header, d.secondary, d.usingSecondary ? undefined : d.primaryAt]) if (h) h.value.timestamp = ddfTimestamp(now);
}

const recordsOf = (d: Ddf1, reference: number) => vdRecords(d).filter((r) => r.ids.includes(reference));

/**
 * Record that the disk of `reference` failed (mdadm's ddf_set_disk with DS_FAULTY: "Online -> failed, just
 * set failed flag"): its PD entry Failed, each VD it served Degraded, or Failed where that loses data.
 * False when the tables already say so (nothing to write).
 */
export function recordFailure(d: Ddf1, reference: number, now = Math.floor(Date.now() / 1000)): boolean {
  const pd = pdOf(d, reference);
  if (!pd || pd.state & PD_STATE_FAILED) return false;
  pd.state |= PD_STATE_FAILED;
  settle(d, new Set(recordsOf(d, reference)), now);
  return true;
}

/** The disk that takes a missing member's place: its PD identity and where its tables sit. */
export interface Replacement {
  readonly reference: number;
  readonly guid: Uint8Array;
  /** The PD entry's size field: the sectors before the disk's first table. */
  readonly sizeSectors: bigint;
  /** A global spare of this container: its PD entry is there already. */
  readonly spare: boolean;
}

/**
 * Start a rebuild: every config record slot of `missing` takes `by` (mdadm's ddf_activate_spare), its PD
 * entry Active in a VD, Online and Rebuilding (ddf_update_vlist); the VDs stay Degraded until `finishRebuild`.
 * The missing disk's PD entry goes (mdadm's ddf_remove_failed): a blank disk takes its slot, a spare keeps
 * its own and the slot is cleared.
 */
export function startRebuild(d: Ddf1, missing: number, by: Replacement, now = Math.floor(Date.now() / 1000)): void {
  const touched: Touched = new Set();
  for (const r of vdRecords(d)) {
    r.ids.forEach((id, i) => {
      if (id !== missing) return;
      r.ids[i] = by.reference;
      touched.add(r);
    });
  }
  const slot = d.pds.findIndex((p) => p.reference === missing);
  const spareAt = by.spare ? d.pds.findIndex((p) => p.reference === by.reference) : -1;
  if (spareAt < 0) {
    const at = slot >= 0 ? slot : d.pds.findIndex((p) => p.reference === DDF1_INVALID);
    if (at < 0) throw new RangeError('no free physical drive entry');
    if (slot < 0) d.pdHeader.value.num_drives += 1;
    newRow(d.pds[at]!, by, PD_TYPE_ACTIVE, PD_STATE_ONLINE | PD_STATE_REBUILDING);
  } else {
    const pd = d.pds[spareAt]!;
    pd.type = (pd.type & ~(PD_TYPE_GLOBAL_SPARE | PD_TYPE_SPARE)) | PD_TYPE_ACTIVE;
    pd.state = (pd.state & ~(PD_STATE_FAILED | PD_STATE_MISSING | PD_STATE_TRANSITION)) | PD_STATE_ONLINE | PD_STATE_REBUILDING;
    if (slot >= 0) removePd(d, slot);
  }
  settle(d, touched, now);
}

/** A PD row for a disk new to the container (its path unknown: zeros). */
function newRow(pd: Ddf1PhysDrive, by: Omit<Replacement, 'spare'>, type: number, state: number): void {
  pd.guid = new Uint8Array(by.guid);
  pd.reference = by.reference;
  pd.size = by.sizeSectors;
  pd.path_info = new Uint8Array(pd.path_info.length);
  pd.type = type;
  pd.state = state;
}

/** Drop a PD entry: the later ones move up, the last becomes unused (all ones), as mdadm compacts them. */
function removePd(d: Ddf1, at: number): void {
  const unused = (pd: Ddf1PhysDrive): Ddf1PhysDrive => ({
    ...pd,
    guid: new Uint8Array(pd.guid.length).fill(0xff),
    reference: DDF1_INVALID,
    type: 0xffff,
    state: 0xffff,
    size: 0xffffffffffffffffn,
    path_info: new Uint8Array(pd.path_info.length).fill(0xff),
  });
  const last = d.pds.length - 1;
  d.pds.splice(at, 1);
  d.pds.push(unused(d.pds[last - 1] ?? d.pds[0]!));
  d.pdHeader.value.num_drives = Math.max(0, d.pdHeader.value.num_drives - 1);
  d.pdIndex = d.pds.findIndex((p) => p.reference === d.diskData.value.reference);
}

/**
 * End a rebuild onto the disk of `reference` (mdadm's ddf_set_disk with DS_INSYNC): its PD entry Online
 * without Rebuilding, each VD it serves optimal again (or whatever its other members leave it). A VD with
 * a single redundancy had every stripe of the rebuilt member written from the others, so it is consistent
 * as a whole: fully initialised (mdadm would otherwise resync it on every assembly).
 * False when the disk is not rebuilding.
 */
export function finishRebuild(d: Ddf1, reference: number, now = Math.floor(Date.now() / 1000)): boolean {
  const pd = pdOf(d, reference);
  if (!pd || !(pd.state & PD_STATE_REBUILDING)) return false;
  pd.state = (pd.state & ~PD_STATE_REBUILDING) | PD_STATE_ONLINE;
  const touched = new Set(recordsOf(d, reference));
  settle(d, touched, now);
  for (const r of touched) {
    const single =
      r.cr.raid_level === DDF1_RAID4 ||
      r.cr.raid_level === DDF1_RAID5 ||
      r.cr.raid_level === DDF1_RAID1E ||
      (r.cr.raid_level === DDF1_RAID1 && r.cr.primary_element_count === 2);
    const vd = findVd(d, r.cr);
    if (single && vd && (vd.state & VD_STATE_MASK) === VD_OPTIMAL) vd.init_state = (vd.init_state & ~INIT_MASK) | INIT_FULL;
  }
  return true;
}

/**
 * A deep copy of a disk's tables. Not structuredClone: it drops the decoded structs' hidden source bytes
 * (core struct.ts keeps them under a symbol), and a struct encoded without them writes zeros over every
 * byte it does not declare: mdadm's 0xFF-filled reserved fields and unused PD rows. Shared objects and
 * buffers stay shared in the copy, as structuredClone keeps them.
 */
export function copyTables<T>(x: T, seen = new Map<unknown, unknown>()): T {
  if (x === null || typeof x !== 'object') return x;
  if (seen.has(x)) return seen.get(x) as T;
  if (x instanceof ArrayBuffer) {
    const out = x.slice(0);
    seen.set(x, out);
    return out as T;
  }
  if (ArrayBuffer.isView(x)) {
    const view = x as unknown as Uint8Array;
    const out = new (view.constructor as Uint8ArrayConstructor)(copyTables(view.buffer as ArrayBuffer, seen), view.byteOffset, view.length);
    seen.set(x, out);
    return out as T;
  }
  const out = (Array.isArray(x) ? [] : Object.create(Object.getPrototypeOf(x))) as Record<PropertyKey, unknown>;
  seen.set(x, out);
  for (const key of Reflect.ownKeys(x)) {
    const desc = Object.getOwnPropertyDescriptor(x, key)!;
    if ('value' in desc) desc.value = copyTables(desc.value, seen);
    Object.defineProperty(out, key, desc);
  }
  return out as T;
}

/**
 * A copy of a member's tables for another disk of `sizeSectors`: its own disk data, every table moved with
 * the disk's end (tables sit at the end, data from sector 0).
 */
export function tablesFor(d: Ddf1, sourceSectors: number, sizeSectors: number, disk: { reference: number; guid: Uint8Array }): Ddf1 {
  const t = copyTables(d);
  const delta = sizeSectors - sourceSectors;
  const shift = (table: { lba: number } | undefined) => {
    if (table) table.lba += delta;
  };
  const seen = new Set<unknown>();
  for (const h of [t.anchor, t.primaryAt, t.header, t.secondary]) {
    if (!h || seen.has(h)) continue;
    seen.add(h);
    shift(h);
    const v = h.value;
    const move = (lba: bigint) => (lba === 0xffffffffffffffffn || lba === 0n ? lba : lba + BigInt(delta));
    v.primary_table_lba = move(v.primary_table_lba);
    v.secondary_table_lba = move(v.secondary_table_lba);
    v.workspace_lba = move(v.workspace_lba);
  }
  for (const table of [t.adapter, t.diskData, t.pdHeader, t.vdHeader]) shift(table);
  t.cfg.lba += delta;
  t.chunk = undefined;
  t.diskData.value.reference = disk.reference;
  t.diskData.value.guid = new Uint8Array(disk.guid);
  t.pdIndex = t.pds.findIndex((p) => p.reference === disk.reference);
  return t;
}

/**
 * Every area a state change writes: the tables as metadataAreas lists them, and the sections again behind
 * the secondary header (its copy of the tables; a reader that prefers the secondary must find the same).
 */
export function stateAreas(d: Ddf1): MetadataArea[] {
  const areas = metadataAreas(d);
  const second = d.secondary?.value;
  if (!second || d.usingSecondary) return areas;
  const h = d.header.value;
  const base = d.secondary!.lba;
  const copies: [Table<unknown> | undefined, number, number, number][] = [
    [d.adapter, second.adapter_data_offset, h.adapter_data_len, second.adapter_data_len],
    [d.diskData, second.disk_data_offset, h.disk_data_len, second.disk_data_len],
    [d.pdHeader, second.phys_drive_offset, h.phys_drive_len, second.phys_drive_len],
    [d.vdHeader, second.virt_drive_offset, h.virt_drive_len, second.virt_drive_len],
    [{ raw: d.cfg.raw, lba: d.cfg.lba, value: undefined }, second.config_record_offset, h.config_record_len, second.config_record_len],
  ];
  for (const [t, offset, len, len2] of copies)
    if (t && len === len2)
      areas.push({
        offsetSectors: base + offset,
        size: t.raw.length,
        data: t.raw,
      });
  return areas;
}

// ---- the handler entries: a set's members read, changed alike, written back ----

interface Member {
  readonly device: BlockDevice;
  readonly ddf: Ddf1;
}

export const containerKey = (d: Ddf1) => guidKey(d.header.value.guid);
const referenceOf = (d: Ddf1) => d.diskData.value.reference;

/** The disks of a set (each once, its own tables), whatever level of the set hierarchy it is. */
export function membersOf(set: RaidSet, stale = false): Member[] {
  const out = new Map<string, Member>();
  const setAside = (s: RaidSet): RaidDevice[] => [...(s.stale ?? []), ...s.sets.flatMap(setAside)];
  for (const rd of (stale ? setAside(set) : allDevices(set)) as RaidDevice<{
    ddf?: Ddf1;
  }>[]) {
    const disk = rd.volumeOf ?? rd;
    const ddf = disk.meta?.ddf;
    if (rd.format !== 'ddf1' || !ddf || out.has(disk.device.path)) continue;
    out.set(disk.device.path, { device: disk.device as BlockDevice, ddf });
  }
  return [...out.values()];
}

/**
 * The members still in the container's record: among the disks of `container`, those the newest tables
 * (highest header sequence number) list neither failed nor missing, at that sequence number.
 */
export function presentMembers(members: readonly Member[], container: string): { present: Member[]; newest: Ddf1 } | undefined {
  const same = members.filter((m) => containerKey(m.ddf) === container);
  if (same.length === 0) return undefined;
  const newest = same.reduce((a, b) => (b.ddf.header.value.seqnum > a.ddf.header.value.seqnum ? b : a)).ddf;
  const present = same.filter((m) => {
    const pd = pdOf(newest, referenceOf(m.ddf));
    return m.ddf.header.value.seqnum === newest.header.value.seqnum && pd && !(pd.state & (PD_STATE_FAILED | PD_STATE_MISSING));
  });
  return { present, newest };
}

async function writeTables(ctx: WriteContext, device: BlockDevice, d: Ddf1): Promise<boolean> {
  updateCrcs(d, crcStyleOf(d));
  const target = await ctx.openWritable(device.path);
  if (!target) {
    ctx.error(`cannot open ${device.path} for writing`);
    return false;
  }
  return writeAreas(target, stateAreas(d), ctx, false);
}

/** Apply `change` to a copy of every member's tables, one sequence number above all of them, and write. */
export async function rewrite(ctx: WriteContext, members: readonly Member[], change: (d: Ddf1) => void, extra?: { device: BlockDevice; ddf: Ddf1 }): Promise<boolean> {
  const all = [...members.map((m) => m.ddf), ...(extra ? [extra.ddf] : [])];
  const seqnum = Math.max(...all.map((d) => d.header.value.seqnum)) + 1;
  const now = Math.floor(Date.now() / 1000);
  const copies = members.map((m) => ({
    device: m.device,
    ddf: copyTables(m.ddf),
  }));
  for (const c of copies) {
    change(c.ddf);
    setSequence(c.ddf, seqnum, now);
  }
  if (extra) setSequence(extra.ddf, seqnum, now);
  // The new disk first: until the members name it, its tables are nobody's record.
  for (const c of [...(extra ? [extra] : []), ...copies]) if (!(await writeTables(ctx, c.device, c.ddf))) return false;
  return true;
}

/** The handler's `failed`: the failed disk's PD and its VDs' states in every present member's tables. */
export async function failedDdf1(set: RaidSet, device: BlockDevice, ctx: WriteContext): Promise<boolean> {
  const members = membersOf(set);
  // Read again after the failure was recorded, the disk is a stale member: a second report finds it there.
  const gone = [...members, ...membersOf(set, true)].find((m) => m.device.path === device.path);
  if (!gone) {
    ctx.error(`${device.path} is no member of RAID set "${set.name}"`);
    return false;
  }
  const found = presentMembers(members, containerKey(gone.ddf));
  const reference = referenceOf(gone.ddf);
  const survivors = (found?.present ?? []).filter((m) => m.device.path !== device.path);
  if (!found || survivors.length === 0) {
    ctx.error(`RAID set "${set.name}" has no member left besides ${device.path} to record its failure in`);
    return false;
  }
  // Already recorded (a second event for the same disk): nothing to write.
  if (
    !survivors.some((m) => {
      const pd = pdOf(m.ddf, reference);
      return pd && !(pd.state & PD_STATE_FAILED);
    })
  )
    return true;
  return rewrite(ctx, survivors, (d) => void recordFailure(d, reference));
}

const randomU32 = () => crypto.getRandomValues(new Uint32Array(1))[0]!;

/** A PD reference and GUID no disk of the container uses. */
function newIdentity(d: Ddf1): { reference: number; guid: Uint8Array } {
  const used = new Set(d.pds.map((p) => p.reference));
  let reference = randomU32();
  while (used.has(reference) || reference === 0 || reference === DDF1_INVALID) reference = randomU32();
  const text = `DMRAID-PD ${reference.toString(16).padStart(8, '0')}`;
  const guid = new Uint8Array(24).fill(0x20);
  for (let i = 0; i < text.length; i++) guid[i] = text.charCodeAt(i);
  return { reference, guid };
}

/** The handler's `rebuild`: DEV takes the missing member's place in every VD it served, Rebuilding. */
export async function rebuildDdf1(set: RaidSet, device: BlockDevice | undefined, ctx: WriteContext): Promise<boolean> {
  const members = membersOf(set);
  if (!device) {
    ctx.error('no drive to rebuild');
    return false;
  }
  const first = members[0];
  const found = first && presentMembers(members, containerKey(first.ddf));
  if (!found || found.present.length === 0) {
    ctx.error(`RAID set "${set.name}" has no member to rebuild from`);
    return false;
  }
  const { newest } = found;
  // DEV may be in the set's group already (a global spare): it is written as the new disk, not as a member.
  const present = found.present.filter((m) => m.device.path !== device.path);
  if (present.length === 0) {
    ctx.error(`RAID set "${set.name}" has no member to rebuild from`);
    return false;
  }
  const presentRefs = new Set(present.map((m) => referenceOf(m.ddf)));
  const setVds = new Set(members.flatMap((m) => vdRecords(m.ddf)).map((r) => guidKey(r.cr.guid)));
  // The set's VDs as the newest tables hold them: their members that are not here.
  const records = vdRecords(newest).filter((r) => setVds.has(guidKey(r.cr.guid)));
  const devMember = found.present.find((m) => m.device.path === device.path);
  if (devMember && records.some((r) => r.ids.includes(referenceOf(devMember.ddf)))) {
    ctx.error(`${device.path} is a member of RAID set "${set.name}" already: nothing to rebuild onto it`);
    return false;
  }
  const missing = [...new Set(records.flatMap((r) => r.ids.filter((id) => !presentRefs.has(id))))];
  if (missing.length === 0) {
    ctx.error(`no member of RAID set "${set.name}" is missing or failed: nothing to rebuild`);
    return false;
  }
  // A RAID6 VD stands two members short: DEV takes the first one's place, the other stays missing. Any
  // other level two short has lost data, or (RAID1 of three, RAID10) is left to one failed disk at a time.
  const withMissing = records.filter((r) => r.ids.some((id) => missing.includes(id)));
  const raid6Only = withMissing.every((r) => r.cr.raid_level === DDF1_RAID6 && r.ids.filter((id) => missing.includes(id)).length <= 2);
  if (missing.length > 2 || (missing.length > 1 && !raid6Only)) {
    ctx.error(`RAID set "${set.name}" misses ${missing.length} members: only one failed disk supported${missing.length > 2 ? '' : ' (two in a RAID6)'}`);
    return false;
  }
  const gone = missing[0]!;
  // Every VD of the missing disk is rebuilt with it: one without redundancy has lost its data.
  const served = vdRecords(newest).filter((r) => r.ids.includes(gone));
  const lost = served.filter(isPlainLevel);
  if (lost.length) {
    const names = [...new Set(lost.map((r) => findVd(newest, r.cr)).map((vd) => (vd ? `"${vdName(vd)}"` : 'an unnamed VD')))].join(', ');
    ctx.error(`cannot rebuild onto ${device.path}: ${names} has no redundancy, its data was on the missing disk`);
    return false;
  }

  // DEV as it is: blank (or another format's), or a disk of this container (a global spare) or another one.
  const own = await readDdf1(
    device,
    readContext('ddf1', () => undefined)
  );
  let spare = false;
  if (own) {
    const pd = pdOf(newest, referenceOf(own));
    spare = containerKey(own) === containerKey(newest) && !!pd && !!(pd.type & PD_TYPE_GLOBAL_SPARE) && !(pd.state & PD_STATE_FAILED);
    if (!spare) {
      ctx.error(`${device.path} holds DDF metadata that is not a global spare of RAID set "${set.name}" (erase it with -E first)`);
      return false;
    }
  }
  // DEV's tables are a copy of a member's that holds a record of every VD DEV joins (mdadm keeps on each
  // disk the records of its own VDs only).
  const holds = (m: Member) =>
    served.filter((r) =>
      vdRecords(m.ddf).some((o) => guidKey(o.cr.guid) === guidKey(r.cr.guid) && o.cr.secondary_element_number === r.cr.secondary_element_number)
    ).length;
  const source = present.reduce((a, b) => (holds(b) > holds(a) ? b : a));
  const identity = own ? { reference: referenceOf(own), guid: own.diskData.value.guid } : newIdentity(newest);
  const onDevice = tablesFor(source.ddf, source.device.sizeSectors, device.sizeSectors, identity);
  const firstTable = Number(
    onDevice.header.value.primary_table_lba < onDevice.header.value.secondary_table_lba
      ? onDevice.header.value.primary_table_lba
      : onDevice.header.value.secondary_table_lba
  );
  const by: Replacement = {
    ...identity,
    sizeSectors: BigInt(firstTable),
    spare,
  };
  // A second missing member of a RAID6 stays out: its PD recorded Failed (if the tables do not say so
  // yet), so that the VD reads Partially Optimal once DEV is rebuilt, not Optimal.
  const change = (d: Ddf1) => {
    for (const other of missing.slice(1)) recordFailure(d, other);
    startRebuild(d, gone, by);
  };
  change(onDevice);
  onDevice.pdIndex = onDevice.pds.findIndex((p) => p.reference === identity.reference);
  ctx.log('print', `ddf1: drive to rebuild: ${device.path}\n`);
  return rewrite(ctx, present, change, { device, ddf: onDevice });
}

/** The handler's `rebuilt`: DEV Online, its VDs optimal, in every member's tables. */
export async function rebuiltDdf1(set: RaidSet, device: BlockDevice, ctx: WriteContext): Promise<boolean> {
  const members = membersOf(set);
  const target = members.find((m) => m.device.path === device.path);
  const found = target && presentMembers(members, containerKey(target.ddf));
  const pd = found && pdOf(found.newest, referenceOf(target.ddf));
  if (!target || !found || !pd || !(pd.state & PD_STATE_REBUILDING)) {
    ctx.error(`${device.path} is not rebuilding in RAID set "${set.name}"`);
    return false;
  }
  const reference = referenceOf(target.ddf);
  return rewrite(ctx, found.present, (d) => void finishRebuild(d, reference));
}

/**
 * A global spare joins the container (mdadm's add of a spare to a DDF container): a PD entry of type Global
 * Spare, Online, in the first unused row. False when the PD table is full.
 */
export function addGlobalSpare(d: Ddf1, by: Omit<Replacement, 'spare'>): boolean {
  const at = d.pds.findIndex((p) => p.reference === DDF1_INVALID || isUnusedRow(p));
  if (at < 0) return false;
  newRow(d.pds[at]!, by, PD_TYPE_GLOBAL_SPARE, PD_STATE_ONLINE);
  d.pdHeader.value.num_drives = Math.max(d.pdHeader.value.num_drives, at + 1);
  return true;
}

/** Without a prompt (library use) the answer is yes, as for create. */
const confirm = (ctx: WriteContext, question: string) => ctx.confirm?.(question) ?? Promise.resolve(true);

/**
 * The handler's `spare` (-S SET -M DEV): DEV a global spare of SET's container, its own tables a copy of a
 * member's without config records (it serves no VD until a rebuild takes it). A DDF spare belongs to a
 * container: without a set there is none to join.
 */
export async function spareDdf1(device: BlockDevice, set: RaidSet | undefined, ctx: WriteContext): Promise<boolean> {
  if (!set) {
    ctx.error(`a DDF global spare belongs to a container: name a RAID set of it (-S SET -M ${device.path})`);
    return false;
  }
  const members = membersOf(set);
  const first = members[0];
  const found = first && presentMembers(members, containerKey(first.ddf));
  if (!found || found.present.length === 0) {
    ctx.error(`RAID set "${set.name}" has no DDF member to add a spare to`);
    return false;
  }
  const { present, newest } = found;
  if (present.some((m) => m.device.path === device.path)) {
    ctx.error(`${device.path} is a disk of RAID set "${set.name}" already`);
    return false;
  }
  if (
    await readDdf1(
      device,
      readContext('ddf1', () => undefined)
    )
  ) {
    ctx.error(`${device.path} holds DDF metadata already (erase it with -E first)`);
    return false;
  }
  const source = present[0]!;
  // Room for the data of every VD (a rebuild puts a member's there) and the tables behind it.
  const dataEnd = Math.max(0, ...vdRecords(newest).flatMap((r) => r.offsets.map((o) => Number(o + r.cr.sectors))));
  const tables = source.device.sizeSectors - Math.min(source.ddf.anchor.lba, source.ddf.header.lba, source.ddf.secondary?.lba ?? Infinity);
  if (device.sizeSectors < dataEnd + tables) {
    ctx.error(
      `device "${device.path}" is too small to be a spare of RAID set "${set.name}": it has ${device.sizeSectors} sectors, a member needs ${dataEnd + tables}`
    );
    return false;
  }
  const identity = newIdentity(newest);
  const onDevice = tablesFor(source.ddf, source.device.sizeSectors, device.sizeSectors, identity);
  onDevice.cfg.raw.fill(0xff);
  onDevice.records = [];
  const firstTable = Number(
    onDevice.header.value.primary_table_lba < onDevice.header.value.secondary_table_lba
      ? onDevice.header.value.primary_table_lba
      : onDevice.header.value.secondary_table_lba
  );
  const by = { ...identity, sizeSectors: BigInt(firstTable) };
  if (!addGlobalSpare(onDevice, by)) {
    ctx.error(`the physical drive table of RAID set "${set.name}" is full: no room for ${device.path}`);
    return false;
  }
  onDevice.pdIndex = onDevice.pds.findIndex((p) => p.reference === identity.reference);
  for (const l of ['', '', '     Create a SPARE DISK with DDF1 metadata format     ', '', `DISK:     ${device.path} `, `SET:      ${set.name}`, '', ''])
    ctx.log('print', l);
  if (!(await confirm(ctx, 'About to create a RAID set with the above settings. Continue ? [y/n] :'))) return true;
  return rewrite(ctx, present, (d) => void addGlobalSpare(d, by), { device, ddf: onDevice });
}

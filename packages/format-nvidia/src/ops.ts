/**
 * Spare (-S), rebuild (-R, then `rebuilt`) and delete (-x) for MediaShield, in the fields FreeBSD's
 * md_nvidia.c writes for them (g_raid_md_write_nvidia):
 *
 * - a rebuild: array.raidJobCode NVIDIA_S_REBUILD (3) on every member, the new disk's unitFlags 0x100
 *   ("disk_status": this disk is the one rebuilt) and array.raidJobMark (rebuild_lba) 0; the disk takes the
 *   missing member's unitNumber;
 * - rebuilt: raidJobCode idle, unitFlags 0, raidJobMark 0, and array.flags without the degraded bit the
 *   survivors got at the failure (FreeBSD writes status 0 on an optimal array);
 * - a spare: a copy of the array's block whose unitNumber is past the data members (dmraid's nv.c and the
 *   vendor's spare recordings: totalVolumes counts it on every member); a spare belongs to one array, the
 *   format has no global spare;
 * - delete: the block zeroed on every member and spare (FreeBSD's nvidia_meta_erase).
 *
 * Every member's block is decoded from what was read; only the fields named change, chksum recomputed.
 */
import { allDevices, eraseMembers, isIoError, latin1, writeAreasTo, type BlockDevice, type RaidDevice, type RaidSet, type WriteContext } from '@dmraid/core';
import { isRedundant } from './failed.js';
import { NV_ARRAY_FLAG_ERROR, NV_END_OFFSET, NV_ID_STRING, NV_IDLE, NV_LEVEL_1, NV_LEVEL_1_0, NV_LEVEL_5_SYM, NV_SCDB_REBUILD_RAID, nvChecksum, nvChecksumOk, nvLayout, type Nv } from './layout.js';

/** unitFlags bit of the disk a rebuild writes to (FreeBSD's disk_status 0x100). */
export const NV_UNIT_REBUILDING = 0x100;

const block = (rd: RaidDevice) => rd.meta as Nv;

const sameArray = (a: Nv, b: Nv) => a.array.signature.every((x, i) => x === b.array.signature[i]);

/** Members of an array: data members below this unit number, spares at and above it. */
export function dataMembers(nv: Nv): number {
  const { raidLevel, stripeWidth } = nv.array;
  // stripeWidth counts one half of a mirror and leaves out RAID5's parity disk.
  if (raidLevel === NV_LEVEL_1 || raidLevel === NV_LEVEL_1_0) return stripeWidth * 2;
  return raidLevel === NV_LEVEL_5_SYM ? stripeWidth + 1 : stripeWidth;
}

/** The disk `rd` holds is the one a rebuild writes to. */
export const isRebuilding = (nv: Nv) => nv.array.raidJobCode === NV_SCDB_REBUILD_RAID && (nv.unitFlags & NV_UNIT_REBUILDING) !== 0;

function encode(nv: Nv): Uint8Array {
  nv.chksum = nvChecksum(nv);
  return nvLayout.encodeToBytes(nv);
}

const copy = (nv: Nv): Nv => nvLayout.decodeFrom(nvLayout.encodeToBytes(nv));

/** Where the block of a device goes (N-2), as the reader finds it. */
const blockArea = (device: BlockDevice, data: Uint8Array) => ({ offsetSectors: device.sizeSectors - NV_END_OFFSET, size: nvLayout.size, data });

/** Write each device's new block; stops at the first that fails (the CLI's backup restores). */
async function writeBlocks(ctx: WriteContext, blocks: readonly (readonly [BlockDevice, Uint8Array])[]): Promise<boolean> {
  for (const [device, data] of blocks) if (!(await writeAreasTo(ctx, device.path, [blockArea(device, data)]))) return false;
  return true;
}

/** The valid nvidia block on a device, undefined when there is none. */
async function nvidiaBlockOn(device: BlockDevice): Promise<Nv | undefined> {
  const raw = await device.read((device.sizeSectors - NV_END_OFFSET) * 512, nvLayout.size);
  if (isIoError(raw)) return undefined;
  const nv = nvLayout.decodeFrom(raw);
  return nvChecksumOk(nv, raw) && latin1(nv.vendor.subarray(0, NV_ID_STRING.length)) === NV_ID_STRING ? nv : undefined;
}

const members = (set: RaidSet) => allDevices(set);

/**
 * -S SET -M DEV: DEV becomes the array's next spare; every member and spare counts it in totalVolumes.
 * Without a set there is nothing to write: a MediaShield spare is tied to one array by its signature.
 */
export async function makeSpare(device: BlockDevice, set: RaidSet | undefined, ctx: WriteContext): Promise<boolean> {
  if (!set) {
    ctx.error(`cannot make ${device.path} a spare: an nvidia spare belongs to one array (its signature); name the set (-S SET -M ${device.path})`);
    return false;
  }
  const rds = members(set);
  const first = rds[0];
  if (!first) {
    ctx.error(`RAID set "${set.name}" has no member to take the array's block from`);
    return false;
  }
  if (rds.some((rd) => rd.device.path === device.path)) {
    ctx.error(`${device.path} is already in RAID set "${set.name}"`);
    return false;
  }
  const other = await nvidiaBlockOn(device);
  if (other) {
    ctx.error(`${device.path} carries the metadata of another nvidia array: erase it first (-E)`);
    return false;
  }
  const total = block(first).array.totalVolumes + 1;
  if (total > 0xff) {
    ctx.error(`RAID set "${set.name}" has no room for another disk`);
    return false;
  }
  const units = new Set(rds.map((rd) => block(rd).unitNumber));
  let unit = dataMembers(block(first));
  while (units.has(unit)) unit++;
  const out: [BlockDevice, Uint8Array][] = rds.map((rd) => {
    const nv = copy(block(rd));
    nv.array.totalVolumes = total;
    return [rd.device as BlockDevice, encode(nv)];
  });
  const spare = copy(block(first));
  spare.array.totalVolumes = total;
  spare.unitNumber = unit;
  spare.unitFlags = 0;
  spare.array.raidJobMark = 0;
  out.push([device, encode(spare)]);
  ctx.log('print', `nvidia: ${device.path} becomes hot spare ${unit} of RAID set "${set.name}"`);
  return writeBlocks(ctx, out);
}

/** The data unit numbers of the array no present member holds. */
function missingUnits(set: RaidSet, nv: Nv): number[] {
  const present = new Set(members(set).filter((rd) => rd.type !== 'spare').map((rd) => block(rd).unitNumber));
  return Array.from({ length: dataMembers(nv) }, (_, i) => i).filter((u) => !present.has(u));
}

/**
 * -R SET DEV: DEV takes the one missing data member's unit, recorded rebuilding; a spare of the array may
 * be DEV (it leaves the spares). The survivors keep their degraded bit until `rebuilt`.
 */
export async function rebuildSet(set: RaidSet, device: BlockDevice | undefined, ctx: WriteContext): Promise<boolean> {
  const rds = members(set);
  const first = rds.find((rd) => rd.type !== 'spare') ?? rds[0];
  if (!first) {
    ctx.error(`RAID set "${set.name}" has no member present`);
    return false;
  }
  const nv = block(first);
  if (!device) {
    ctx.error(`no drive to rebuild RAID set "${set.name}" onto`);
    return false;
  }
  if (!isRedundant(nv)) {
    ctx.error(`cannot rebuild onto ${device.path}: "${set.name}" has no redundancy, its data was on the missing disk`);
    return false;
  }
  const missing = missingUnits(set, nv);
  if (missing.length !== 1) {
    ctx.error(missing.length === 0 ? `RAID set "${set.name}" has no missing member to rebuild` : `only one missing disk can be rebuilt, RAID set "${set.name}" misses ${missing.length}`);
    return false;
  }
  const own = rds.find((rd) => rd.device.path === device.path);
  if (own && own.type !== 'spare') {
    ctx.error(`${device.path} is already a member of RAID set "${set.name}"`);
    return false;
  }
  if (!own) {
    const other = await nvidiaBlockOn(device);
    if (other) {
      ctx.error(`${device.path} carries the metadata of ${sameArray(other, nv) ? 'this array (a disk it no longer counts)' : 'another nvidia array'}: erase it first (-E)`);
      return false;
    }
  }
  // A spare of the array taking the place is a spare no more: totalVolumes counted it (-S added it), and a
  // count that still did would make the reference expect one member more than the array has.
  const total = nv.array.totalVolumes - (own ? 1 : 0);
  const out: [BlockDevice, Uint8Array][] = [];
  for (const rd of rds) {
    if (rd === own) continue;
    const m = copy(block(rd));
    m.array.raidJobCode = NV_SCDB_REBUILD_RAID;
    m.array.totalVolumes = total;
    out.push([rd.device as BlockDevice, encode(m)]);
  }
  const target = copy(nv);
  target.array.totalVolumes = total;
  target.unitNumber = missing[0]!;
  target.unitFlags = NV_UNIT_REBUILDING;
  target.array.raidJobCode = NV_SCDB_REBUILD_RAID;
  target.array.raidJobMark = 0;
  out.push([device, encode(target)]);
  ctx.log('print', `nvidia: drive to rebuild: ${device.path}\n`);
  return writeBlocks(ctx, out);
}

/** After the engine wrote DEV's data: the array idle and whole again on every member. */
export async function rebuiltSet(set: RaidSet, device: BlockDevice, ctx: WriteContext): Promise<boolean> {
  const rds = members(set);
  const target = rds.find((rd) => rd.device.path === device.path);
  if (!target || !isRebuilding(block(target))) {
    ctx.error(`RAID set "${set.name}" is not rebuilding onto ${device.path}`);
    return false;
  }
  const out = rds.map((rd): [BlockDevice, Uint8Array] => {
    const m = copy(block(rd));
    m.array.raidJobCode = NV_IDLE;
    m.array.raidJobMark = 0;
    m.array.flags = (m.array.flags & ~NV_ARRAY_FLAG_ERROR) >>> 0;
    m.unitFlags = (m.unitFlags & ~NV_UNIT_REBUILDING) >>> 0;
    return [rd.device as BlockDevice, encode(m)];
  });
  return writeBlocks(ctx, out);
}

/** -x SET: the block zeroed on every member and spare of the array. */
export async function removeSet(set: RaidSet, ctx: WriteContext): Promise<boolean> {
  const rds = members(set);
  if (rds.length === 0) {
    ctx.error(`failed to find a raid device in RS ${set.name}`);
    return false;
  }
  return eraseMembers(rds, ctx);
}

/** The rebuilding disk's reason, for the reader's outOfSync. */
export const rebuildingReason = (nv: Nv) => (isRebuilding(nv) ? 'rebuilding (array.raidJobCode 3, unitFlags 0x100)' : undefined);

/**
 * The writing commands, handler side: create (-C), spare (-S), rebuild (-R), delete (-x), and the monitor's
 * record of a failed member. Each builds the new MPB with the pure functions of writer.ts and writes it to
 * every disk of the group.
 */
import {
  allDevices,
  confirmCreate,
  confirmWrite,
  cString,
  eraseMembers,
  isIoError,
  readContext,
  type BlockDevice,
  type CreateRequest,
  type CreateSummary,
  type RaidDevice,
  type RaidSet,
  type WriteContext,
} from '@dmraid/core';
import { decodeMpb, rescaleMpb, volumeSize, type Mpb } from './mpb.js';
import { ISW_T_MIGR_TYPE_REBUILDING, ORD_INDEX } from './layout.js';
import { NAME, diskIndexBySerial, failedOutBySerial, isRaid10, serialToIsw, volumeName } from './names.js';
import { blockSize, readDisk, type IswMeta } from './probe.js';
import { createMpb, failedSerial, finishRebuild, markFailed, mpbArea, removeVolume, startRebuild, unrebuildable, type IswLevel } from './writer.js';

const meta = (rd: RaidDevice) => rd.meta as IswMeta;

/** dmraid's display_new_volume: the summary printed before the create prompt. */
function summary(mpb: Mpb, volume: number, disks: readonly BlockDevice[]): CreateSummary {
  const v = mpb.volumes[volume]!;
  const map = v.maps[0]!.map;
  const raid1 = isRaid10(v) || map.raid_level === 1;
  return {
    format: NAME,
    name: volumeName(mpb, v),
    type: isRaid10(v) ? 'RAID01 (isw RAID10)' : map.raid_level === 0 ? 'RAID0' : raid1 ? 'RAID1' : 'RAID5',
    sizeSectors: volumeSize(v.dev),
    // dmraid's GB_DIV: whole GiB.
    sizeUnit: 'G',
    stripSectors: raid1 ? undefined : map.blocks_per_strip,
    disks,
  };
}

/** Write an MPB at the end of a device; `counted512` MPBs are first rescaled to the device's block size. */
async function writeMpb(ctx: WriteContext, device: BlockDevice, mpb: Uint8Array, counted512 = false): Promise<boolean> {
  const dev = await ctx.openWritable(device.path);
  if (!dev) return false;
  const unit = blockSize(device);
  const area = mpbArea(counted512 ? rescaleMpb(mpb, 512, unit) : mpb, device.sizeSectors, unit);
  const result = await dev.write(area.offsetBytes, area.data);
  if (isIoError(result)) {
    ctx.error(`writing metadata to ${device.path}: ${result.message}`);
    return false;
  }
  return true;
}

/** The isw disks already on the devices (their own RAID devices), read without a word. */
async function existingDisks(devices: readonly BlockDevice[]): Promise<(RaidDevice | undefined)[]> {
  const out: (RaidDevice | undefined)[] = [];
  for (const d of devices) out.push(await readDisk(d, readContext(NAME, () => undefined)));
  return out;
}

export async function createSet(request: CreateRequest, ctx: WriteContext, time = Math.floor(Date.now() / 1000)): Promise<boolean> {
  const level = request.level as IswLevel;
  if (!['0', '1', '5', '01'].includes(level)) {
    ctx.error('unsupported raid level');
    return false;
  }
  const found = await existingDisks(request.devices);
  let existing: Mpb | undefined;
  if (found.some(Boolean)) {
    const first = found[0];
    const fam = first && meta(first).mpb.header.family_num;
    const same = found.every((rd) => rd && meta(rd).mpb.header.family_num === fam);
    if (!first || !same || meta(first).mpb.header.num_disks !== request.devices.length) {
      ctx.error('second volume must use all drives on the existing array');
      return false;
    }
    existing = meta(first).mpb;
    if (meta(first).unit !== 512) existing = decodeMpb(rescaleMpb(existing.bytes.subarray(0, existing.header.mpb_size), meta(first).unit, 512));
    const taken = existing.volumes.map((v) => volumeName(existing!, v));
    if (taken.includes(request.name)) {
      ctx.error(`the name ${request.name} is already in use, please try another name`);
      return false;
    }
  }
  // A second volume uses the group's disk order, the first one the order given.
  const devices = existing
    ? [...request.devices].sort((a, b) => diskIndexBySerial(existing!, a.serial) - diskIndexBySerial(existing!, b.serial))
    : request.devices;
  const built = createMpb({
    name: request.name,
    level,
    sizeSectors: request.sizeSectors,
    stripSectors: request.stripSectors,
    disks: devices.map((d) => ({ serial: d.serial ?? '', sizeSectors: d.sizeSectors })),
    time,
    existing,
  });
  if (built.error !== undefined) {
    ctx.error(built.error);
    return false;
  }
  const created = decodeMpb(built.bytes);
  if (!(await confirmCreate(ctx, summary(created, created.volumes.length - 1, request.devices)))) return true;
  for (const d of devices) if (!(await writeMpb(ctx, d, built.bytes, true))) return false;
  return true;
}

/**
 * Spare (-S [SET] -M DEV): a spare-only group of its own on the disk. IMSM has no spare tied to one volume:
 * a spare serves every set (the option ROM and mdadm take it for whichever set degrades), so a SET given
 * is named in a note and nothing else changes.
 */
export async function makeSpare(device: BlockDevice, set: RaidSet | undefined, ctx: WriteContext, time = Math.floor(Date.now() / 1000)): Promise<boolean> {
  const built = createMpb({ name: '', level: 'spare', disks: [{ serial: device.serial ?? '', sizeSectors: device.sizeSectors }], time });
  if (built.error !== undefined) {
    ctx.error(built.error);
    return false;
  }
  for (const l of ['', '', '     Create a SPARE DISK with ISW metadata format     ', '', `DISK:     ${device.path} `, '', '']) ctx.log('print', l);
  if (set) ctx.log('print', `A spare serves every RAID set with ISW metadata, "${set.name}" among them.`);
  if (!(await confirmWrite(ctx))) return true;
  return writeMpb(ctx, device, built.bytes, true);
}

/** The group a set belongs to is not reachable from a volume set: its disks are the volume's disks. */
const diskDevicesOf = (set: RaidSet): RaidDevice[] => {
  const disks = new Map<string, RaidDevice>();
  for (const rd of allDevices(set)) {
    const disk = rd.volumeOf ?? rd;
    disks.set(disk.device.path, disk);
  }
  return [...disks.values()];
};

/**
 * Delete (-x): a group with all its volumes (or a spare-only group) is erased from every disk; one volume
 * of two leaves an MPB with the other one on every disk.
 */
export async function removeSet(set: RaidSet, ctx: WriteContext): Promise<boolean> {
  const disks = diskDevicesOf(set);
  const first = disks[0];
  if (!first) {
    ctx.error(`failed to find a raid device in RS ${set.name}`);
    return false;
  }
  const { mpb } = meta(first);
  const volumes = set.type === 'group' ? set.sets : [set];
  const prefix = `isw_${set.name.split('_')[1] ?? ''}_`;
  const named = volumes.map((s) => mpb.volumes.findIndex((v) => prefix + volumeName(mpb, v) === s.name.replace(/-\d+$/, '')));
  if (mpb.header.num_raid_devs < 2 || volumes.length > 1) {
    if (mpb.header.num_raid_devs >= 1 && named.some((i) => i < 0)) {
      ctx.error('failed to find all of the RAID sets to be deleted');
      return false;
    }
    return eraseMembers(disks, ctx);
  }
  const gone = named[0]!;
  if (gone < 0) {
    ctx.error(`failed to find the volume ${set.name}`);
    return false;
  }
  const bytes = removeVolume(mpb, gone === 0 ? 1 : 0);
  for (const d of disks) if (!(await writeMpb(ctx, d.device as BlockDevice, bytes))) return false;
  return true;
}

/**
 * Rebuild (-R SET DEV): the one disk of the table that is missing from the set is replaced by DEV and the
 * volumes start rebuilding; the new MPB goes to every present member and to DEV.
 */
export async function rebuildSet(set: RaidSet, device: BlockDevice | undefined, ctx: WriteContext): Promise<boolean> {
  const disks = diskDevicesOf(set);
  const first = disks[0];
  if (!first) return false;
  const { mpb } = meta(first);
  const present = new Set(disks.map((d) => serialToIsw(d.device.serial ?? '')));
  const missing = mpb.disks.flatMap((d, i) => (present.has(cString(d.disk.serial)) ? [] : [i]));
  if (missing.length !== 1) {
    ctx.error('only one failed disk supported');
    return false;
  }
  if (!device) {
    ctx.error('no drive to rebuild');
    return false;
  }
  // A RAID0 volume has nothing to rebuild from; marking it rebuilding would claim data the new disk never gets.
  const lost = unrebuildable(mpb, missing[0]!);
  if (lost.length) {
    const names = lost.map((i) => `"${volumeName(mpb, mpb.volumes[i]!)}"`).join(', ');
    ctx.error(`cannot rebuild onto ${device.path}: RAID0 volume ${names} has no redundancy, its data was on the missing disk${lost.length < mpb.volumes.length ? ' (delete that volume with -x first)' : ''}`);
    return false;
  }
  ctx.log('print', `isw: drive to rebuild: ${device.path}\n`);
  const bytes = startRebuild(mpb, missing[0]!, { serial: device.serial ?? '', sizeSectors: device.sizeSectors / (meta(first).unit / 512) });
  for (const d of [...disks.map((r) => r.device as BlockDevice), device]) if (!(await writeMpb(ctx, d, bytes))) return false;
  return true;
}


/**
 * Rebuild done (after the engine wrote DEV's data): every volume rebuilding onto DEV's slot ends its
 * migration (finishRebuild), so DEV reads in sync and the volume normal; the MPB goes to every member.
 * Refused when DEV is no member the metadata has rebuilding: nothing is claimed that was not copied.
 */
export async function rebuiltSet(set: RaidSet, device: BlockDevice, ctx: WriteContext): Promise<boolean> {
  const disks = diskDevicesOf(set);
  const first = disks[0];
  if (!first) return false;
  let { mpb } = meta(first);
  const slot = diskIndexBySerial(mpb, device.serial);
  const rebuilding = mpb.volumes.flatMap((v, i) => {
    const onDisk = v.maps[0]!.ord.some((o) => (o & ORD_INDEX) === slot);
    return slot >= 0 && onDisk && v.dev.vol.migr_type === ISW_T_MIGR_TYPE_REBUILDING ? [i] : [];
  });
  if (rebuilding.length === 0) {
    ctx.error(`no volume of ${set.name} is rebuilding onto ${device.path}`);
    return false;
  }
  let bytes: Uint8Array = new Uint8Array();
  for (const i of rebuilding) {
    bytes = finishRebuild(mpb, i);
    mpb = decodeMpb(bytes);
  }
  const members = disks.map((r) => r.device as BlockDevice);
  if (!members.some((d) => d.path === device.path)) members.push(device);
  for (const d of members) if (!(await writeMpb(ctx, d, bytes))) return false;
  return true;
}

/**
 * A member failed (the monitor): the failure recorded as mdmon records it (markFailed) in the MPB of every
 * other disk of the group, read again from those disks so that a second report of the same failure finds
 * it recorded and writes nothing. The failed disk is not written. A set read after the failure no longer
 * holds the disk: its serial in the disk table (or the table's failed-out rename of it) still names it.
 */
export async function failedMember(set: RaidSet, device: BlockDevice, ctx: WriteContext): Promise<boolean> {
  const disks = diskDevicesOf(set);
  const member = disks.find((d) => d.device.path === device.path);
  const first = member ?? disks[0];
  const known = first && meta(first).mpb;
  const index = member ? meta(member).diskIndex : known ? diskIndexBySerial(known, device.serial) : -1;
  if (!known || index < 0) {
    if (known && failedOutBySerial(known, device.serial)) return true;
    ctx.error(`${device.path} is not a member of RAID set "${set.name}"`);
    return false;
  }
  let newest: Mpb | undefined;
  const survivors: BlockDevice[] = [];
  for (const rd of disks) {
    if (rd === member) continue;
    const dev = await ctx.openWritable(rd.device.path);
    if (!dev) return false;
    const now = await readDisk(dev, readContext(NAME, () => undefined));
    if (!now) continue;
    const mpb = meta(now).mpb;
    if (mpb.header.family_num !== known.header.family_num) continue;
    survivors.push(dev);
    if (!newest || mpb.header.generation_num > newest.header.generation_num) newest = mpb;
  }
  if (!newest) {
    ctx.error(`no other member of RAID set "${set.name}" answers: the failure of ${device.path} is recorded nowhere`);
    return false;
  }
  const entry = newest.disks[index]?.disk;
  if (!entry || ![cString(known.disks[index]!.disk.serial), cString(failedSerial(known.disks[index]!.disk.serial))].includes(cString(entry.serial))) {
    ctx.error(`the disk table of RAID set "${set.name}" changed since it was read: ${device.path} is not where it was`);
    return false;
  }
  const bytes = markFailed(newest, index);
  if (!bytes) return true;
  for (const d of survivors) if (!(await writeMpb(ctx, d, bytes))) return false;
  return true;
}

/**
 * SNIA DDF 1.x (ddf1): every DDF disk joins the group `.ddf1_disks`; each virtual disk it is part of is a
 * set `ddf1_<VD name>` inside that group (dmraid's ddf1.c model). Facts: formats.md §9.
 */
import {
  byName,
  defineFormat,
  exactNumber,
  newRaidSet,
  tooLarge,
  writeAreas,
  type BlockDevice,
  type DumpFile,
  type GroupContext,
  type RaidDevice,
  type RaidSet,
} from '@dmraid/core';
import { BLOCK, DDF_EPOCH_SECONDS } from './layout.js';
import { ddf1Log } from './log.js';
import { encodeTables, metadataAreas, pdSize, readDdf1, thisDisk, type Ddf1 } from './metadata.js';
import { DDF1_DISKS, diskStatus, rebuildingReason, staleMembers, volumesOf, type Volume } from './volumes.js';
import { createDdf1 } from './create.js';
import { failedDdf1, rebuildDdf1, rebuiltDdf1, spareDdf1 } from './redundancy.js';
import { removeDdf1 } from './remove.js';

const NAME = 'ddf1';

export interface Ddf1Meta {
  readonly ddf: Ddf1;
  /** Set on a volume's RAID device: which record and position it stands for. */
  readonly volume?: Volume;
}

const meta = (rd: RaidDevice) => rd.meta as Ddf1Meta;

/** A volume's first 64-bit count that no number holds exactly, with what to call it. */
function beyondExact(v: Volume): [string, bigint] | undefined {
  if (exactNumber(v.sectors) === undefined) return ['member length (config record sectors)', v.sectors];
  if (exactNumber(v.offset) === undefined) return ['member data offset (config record LBA)', v.offset];
  return undefined;
}

/** Position of a volume's member in its record: the order of members in a set. */
const position = (rd: RaidDevice) => meta(rd).volume?.position ?? -1;

/** A volume's member joins its VD's set in the group its disk joined just before (dmraid's group_rd). */
function groupVolume(rd: RaidDevice<Ddf1Meta>, group: RaidSet, ctx: GroupContext): RaidSet {
  const v = rd.meta.volume!;
  if (!rd.sectors) {
    ctx.log('error', `${NAME}: zero sectors on ${rd.device.path}`);
    return group;
  }
  if (!v.name) {
    ctx.error(`cannot find virtual drive record on ${rd.device.path}`);
    return group;
  }
  const set = ctx.findOrCreateSet(v.name, rd);
  set.stride = v.stride;
  set.type = v.type;
  if (v.raid6Layout) set.raid6Layout = v.raid6Layout;
  if (v.unsupported !== undefined) set.unsupported = v.unsupported;
  set.status = 'ok';
  ctx.addDevice(set, rd, (a, b) => position(a) < position(b));
  if (!v.stack) {
    ctx.linkSubset(group, set, byName);
    return group;
  }
  let top = ctx.findSet(v.stack.name);
  if (!top) {
    top = newRaidSet(v.stack.name, v.stack.type);
    top.stride = v.stride;
    top.status = 'ok';
    ctx.linkSubset(group, top, byName);
  }
  const index = (s: RaidSet) => (s.devs[0] ? meta(s.devs[0]).volume?.stack?.index ?? 0 : 0);
  ctx.linkSubset(top, set, (a, b) => index(a) < index(b));
  return group;
}

export const ddf1 = defineFormat<Ddf1Meta>({
  apiVersion: 1,
  name: NAME,
  description: 'SNIA DDF1',
  levels: '0,1,4,5,linear',

  async read(device, ctx) {
    const ddf = await readDdf1(device, ctx);
    if (!ddf) return [];
    const pd = thisDisk(ddf);
    const size = pdSize(pd);
    // dmraid takes any 64-bit length or offset; from 2^53 sectors on it describes no disk and no number
    // holds it exactly: such a disk is left out, such a volume too (its disk stays, -n shows its records).
    const sectors = exactNumber(size);
    if (!size || sectors === undefined) {
      ctx.error(size ? tooLarge('physical drive size', size, device.path) : `zero sectors on ${device.path}`);
      ctx.setupFailed(device);
      return [];
    }
    const found = volumesOf(ddf).filter((v) => {
      const beyond = beyondExact(v);
      if (beyond) ctx.error(tooLarge(...beyond, device.path));
      return !beyond;
    });
    const disk: RaidDevice<Ddf1Meta> = {
      device,
      format: NAME,
      name: DDF1_DISKS,
      type: 'group',
      status: diskStatus(pd),
      offset: 0,
      sectors,
      areas: metadataAreas(ddf),
      meta: { ddf },
    };
    const outOfSync = rebuildingReason(pd);
    const volumes: RaidDevice<Ddf1Meta>[] = found.map((volume) => ({
      device,
      format: NAME,
      name: volume.name ?? DDF1_DISKS,
      type: volume.type,
      status: 'setup',
      offset: Number(volume.offset),
      sectors: Number(volume.sectors),
      areas: [],
      meta: { ddf, volume },
      volumeOf: disk,
      // Per volume: the member's entry in this VD's config record (a disk holds one entry per VD).
      position: volume.setPosition,
      ...(outOfSync !== undefined ? { outOfSync } : {}),
    }));
    return [disk, ...volumes];
  },

  group(rd, ctx) {
    // Core groups the volumes a disk carries right after the disk, into the group the disk joined.
    let group = ctx.findSet(DDF1_DISKS, false);
    if (rd.meta.volume) return group && groupVolume(rd, group, ctx);
    if (!group) {
      group = newRaidSet(DDF1_DISKS, 'group');
      ctx.addTopLevelSorted(group);
    }
    group.type = 'group';
    ctx.addDevice(group, rd, () => false);
    return group;
  },

  check(set, ctx) {
    return ctx.checkRaidSet(set, {
      devices: (rd) => meta(rd).volume?.expected ?? 0,
      member: () => true,
    });
  },

  stale(rds) {
    const disks = rds.filter((rd) => !rd.volumeOf);
    const candidates = disks.map((disk) => ({
      ddf: disk.meta.ddf,
      disk,
      volumes: rds.filter((rd) => rd.volumeOf === disk).map((rd) => ({ rd, volume: rd.meta.volume! })),
    }));
    return staleMembers(candidates, (c) => c.disk.device.path);
  },

  log(rd) {
    return ddf1Log(rd.device.path, rd.meta.ddf);
  },

  // The header's timestamp: seconds since 1980-01-01 UTC (the DDF epoch, mdadm's DECADE); 0 records none.
  writtenAt(rd) {
    const t = rd.meta.ddf.header.value.timestamp;
    return t === 0 ? undefined : new Date((DDF_EPOCH_SECONDS + t) * 1000);
  },

  async dump(rd): Promise<DumpFile[]> {
    const { chunk } = rd.meta.ddf;
    const data = chunk && (await (rd.device as BlockDevice).read(chunk.lba * BLOCK, chunk.bytes));
    if (chunk && data instanceof Uint8Array) return [{ suffix: '', data, offsetBytes: chunk.lba * BLOCK }];
    return rd.areas.map((a, k) => ({ suffix: `_${k}`, data: a.data, offsetBytes: a.offsetSectors * BLOCK }));
  },

  async write(rd, device, ctx, erase) {
    const ddf = rd.meta.ddf;
    if (!erase) encodeTables(ddf);
    return writeAreas(device, metadataAreas(ddf), ctx, erase);
  },

  create: createDdf1,
  rebuild: rebuildDdf1,
  rebuilt: rebuiltDdf1,
  failed: failedDdf1,
  spare: spareDdf1,

  remove: removeDdf1,
});

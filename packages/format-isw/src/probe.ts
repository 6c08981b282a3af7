/**
 * Finding a disk's MPB: probes at N-2, the $GAFR HPA pointer and N-2115 (formats.md §8), the extended blocks
 * before the header block, the checksum over all of mpb_size, and the disk's own RAID device.
 */
import { latin1, type BlockDevice, type MetadataArea, type RaidDevice, type ReadContext } from '@dmraid/core';
import { ISW10_SIGNATURE, ISW_FALLBACK_END_OFFSET, MPB_VERSION_LAST, SPARE_DISK, isw10Layout } from './layout.js';
import { cStringAt, decodeMpb, hasSignature, mpbBlocks, mpbChecksum, mpbSizeOf, toDiskOrder, versionNewer, type Mpb } from './mpb.js';
import { NAME, diskIndexBySerial, diskUsable, groupName, positionCandidates, serialToIsw } from './names.js';

/**
 * How much of an MPB is kept in memory: more than decoding can reach (header, 255 disk entries, 255 volumes
 * of two maps of 255 members: about 572 KiB). The reference allocates and reads all of mpb_size (up to
 * 4 GiB, from the disk's own metadata); a longer MPB is read in pieces of this size for its checksum only.
 */
const MPB_KEPT_BYTES = 1 << 20;

export interface IswMeta {
  readonly mpb: Mpb;
  /** Logical block size the MPB was located with (the device's sector size). */
  readonly unit: number;
  /** Byte offset of the probe that found the header block (N-2, HPA or N-2115). */
  readonly probeOffset: number;
  /** Index of this disk in the disk table; reassigned at grouping when matched by position. */
  diskIndex: number;
  /** Matched by the disk table's order and size, not by serial (match=position). */
  readonly byPosition: boolean;
  /** For a volume's RAID device: which volume. */
  readonly volume?: number;
  /** A volume dmraid cannot set up: the message printed when the disk is grouped ('' = none). */
  failure?: string;
}

/** The block size an MPB counts in: the device's logical sector size (mdadm's 4 KiB disks), else 512. */
export const blockSize = (device: BlockDevice) => (device.sectorSize > 512 && device.sectorSize % 512 === 0 ? device.sectorSize : 512);

interface Probe {
  readonly mpb: Mpb;
  /** The MPB's blocks on the disk (mpb.bytes may hold only the first MPB_KEPT_BYTES of them). */
  readonly blocks: number;
  /** The checksum computed over all of mpb_size (dmraid's _checksum). */
  readonly checksum: number;
  readonly offset: number;
  readonly diskIndex: number;
  readonly byPosition: boolean;
}

async function probeAt(device: BlockDevice, ctx: ReadContext, offset: number, unit: number): Promise<Probe | undefined> {
  const first = await ctx.read(device, offset, unit);
  if (!first || !hasSignature(first)) return undefined;
  if (versionNewer(first, MPB_VERSION_LAST)) {
    ctx.log('print', `${NAME}: untested metadata version ${cStringAt(first, 24)} found on ${device.path}`);
  }
  const mpbSize = mpbSizeOf(first);
  const blocks = mpbBlocks(mpbSize, unit);
  let bytes = first;
  let checksum: number | undefined;
  if (blocks > 1) {
    const extOffset = offset - (blocks - 1) * unit;
    const kept = Math.min(blocks * unit, MPB_KEPT_BYTES);
    const ext = await ctx.read(device, extOffset, kept - unit);
    if (!ext) {
      ctx.log('error', `isw metadata, but extended read failed at ${offset}`);
      return undefined;
    }
    bytes = new Uint8Array(kept);
    bytes.set(first);
    bytes.set(ext, unit);
    if (kept < blocks * unit) {
      checksum = await longChecksum(device, ctx, bytes, extOffset + kept - unit, mpbSize);
      if (checksum === undefined) {
        ctx.log('error', `isw metadata, but extended read failed at ${offset}`);
        return undefined;
      }
    }
  }
  const mpb = decodeMpb(bytes);
  let diskIndex = diskIndexBySerial(mpb, device.serial);
  let byPosition = false;
  if (diskIndex < 0 && ctx.options.get('match') === 'position') {
    diskIndex = positionCandidates(mpb, device.sizeSectors, unit)[0] ?? -1;
    byPosition = diskIndex >= 0;
  }
  if (diskIndex < 0) {
    ctx.error(`Could not find disk ${device.path} in the metadata`);
    return undefined;
  }
  if (!diskUsable(mpb.disks[diskIndex]!.disk.status)) return undefined;
  return { mpb, blocks, checksum: checksum ?? mpbChecksum(bytes, mpbSize), offset, diskIndex, byPosition };
}

/**
 * The whole MPB in on-disk order, where it really starts (dmraid keeps the probe sector here). Of one longer
 * than what is kept: the kept part of the extended blocks where they start, and the header block.
 */
function mpbAreas(mpb: Mpb, unit: number, blocks: number, first: number, probeOffset: number): MetadataArea[] {
  if (mpb.bytes.length === blocks * unit || blocks === 1) {
    return [{ offsetSectors: first / 512, size: mpb.bytes.length, data: toDiskOrder(mpb.bytes, unit) }];
  }
  const ext = mpb.bytes.slice(unit);
  return [
    { offsetSectors: first / 512, size: ext.length, data: ext },
    { offsetSectors: probeOffset / 512, size: unit, data: mpb.bytes.slice(0, unit) },
  ];
}

/**
 * dmraid's _checksum of an MPB longer than what is kept: the kept bytes (memory order), then the rest of the
 * extended blocks from `restOffset` on, read a piece at a time, up to mpb_size. Undefined after a read error.
 */
async function longChecksum(device: BlockDevice, ctx: ReadContext, kept: Uint8Array, restOffset: number, mpbSize: number): Promise<number | undefined> {
  // mpbChecksum subtracts check_sum once; the pieces after the kept bytes only add.
  let sum = mpbChecksum(kept, kept.length);
  const end = Math.floor(mpbSize / 4) * 4;
  for (let at = kept.length; at < end; at += MPB_KEPT_BYTES) {
    const length = Math.min(MPB_KEPT_BYTES, end - at);
    const piece = await ctx.read(device, restOffset + (at - kept.length), length);
    if (!piece) return undefined;
    const view = new DataView(piece.buffer, piece.byteOffset, piece.byteLength);
    for (let i = 0; i + 4 <= length; i += 4) sum = (sum + view.getUint32(i, true)) >>> 0;
  }
  return sum;
}

async function findMpb(device: BlockDevice, ctx: ReadContext, unit: number): Promise<Probe | undefined> {
  const size = device.sizeSectors * 512;
  const lastBlocks = Math.floor(size / unit);
  const found = await probeAt(device, ctx, (lastBlocks - 2) * unit, unit);
  if (found) return found;
  const tail = await ctx.read(device, (lastBlocks - 1) * unit, isw10Layout.size);
  if (tail) {
    const isw10 = isw10Layout.decodeFrom(tail);
    if (latin1(isw10.sig) === ISW10_SIGNATURE && isw10.offset + 2 <= lastBlocks) {
      const hpa = await probeAt(device, ctx, (lastBlocks - (isw10.offset + 2)) * unit, unit);
      if (hpa) return hpa;
    }
  }
  return probeAt(device, ctx, (lastBlocks - ISW_FALLBACK_END_OFFSET) * unit, unit);
}

/** The disk's own RAID device (a member of its family's group, or a spare), or undefined with the reason logged. */
export async function readDisk(device: BlockDevice, ctx: ReadContext): Promise<RaidDevice<IswMeta> | undefined> {
  const unit = blockSize(device);
  const probe = await findMpb(device, ctx, unit);
  if (!probe) return undefined;
  const { mpb } = probe;
  if (probe.byPosition) {
    // Core has no warning level shown by default (warn is -vvv); a plain line the user sees, worded as one.
    const serial = device.serial === undefined ? 'no serial' : `serial "${serialToIsw(device.serial)}"`;
    ctx.log('warning', `${NAME}: ${device.path} (${serial}) is not in the disk table of ${groupName(mpb)}: matched by position and size (--isw-match=position)`);
  }
  if (mpb.header.check_sum !== probe.checksum) {
    ctx.error(`extended superblock for ${device.path} has wrong checksum`);
    ctx.setupFailed(device);
    return undefined;
  }
  const sectors = probe.offset / 512;
  if (!sectors) {
    ctx.error(`zero sectors on ${device.path}`);
    ctx.setupFailed(device);
    return undefined;
  }
  const { blocks } = probe;
  const first = probe.offset - (blocks - 1) * unit;
  return {
    device,
    format: NAME,
    name: groupName(mpb),
    type: mpb.disks[probe.diskIndex]!.disk.status & SPARE_DISK ? 'spare' : 'group',
    status: 'ok',
    offset: 0,
    sectors,
    areas: mpbAreas(mpb, unit, blocks, first, probe.offset),
    meta: { mpb, unit, probeOffset: probe.offset, diskIndex: probe.diskIndex, byPosition: probe.byPosition },
  };
}

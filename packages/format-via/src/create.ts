/**
 * `-f via -C`: a new set written as the VIA V-RAID BIOS writes it (writer.ts, the testbed's sets). The
 * metadata stores no name: the set is named by the sum of its members' serial checksums, and NAME only
 * appears in the summary. Members always span the whole disk up to the metadata (dmraid maps N-1 sectors of
 * every member whatever `capacity` says), so there is no --size.
 */
import { confirmCreate, mkAlpha, writeMembers, type CreateRequest, type WriteContext } from '@dmraid/core';
import { VIA_END_OFFSET, viaLayout } from './layout.js';
import { setName } from './names.js';
import { buildViaSet, type ViaLevel } from './writer.js';

type Level = Exclude<ViaLevel, 'span'>;

/** Span has no number for `--type` (the command takes digits only); 01 is the same mirror of stripes. */
const LEVELS: Record<string, Level> = { '0': 'raid0', '1': 'raid1', '10': 'raid01', '01': 'raid01' };
const LEVEL_NAMES: Record<Level, string> = { raid0: 'RAID0', raid1: 'RAID1', raid01: 'RAID0+1 (mirror of two stripe sets)' };

/** disk_array_ex keeps the disk count in 3 bits; serial_checksum[] has 8 slots. */
const MAX_WIDTH = 7;
const MAX_DISKS = 8;
/** Stripe codes 0-7: 8 << code sectors, 4 KiB to 512 KiB; 64 KiB (code 4) unless asked. */
const MAX_CODE = 7;
const DEFAULT_CODE = 4;

export interface ViaCreatePlan {
  readonly level: Level;
  readonly strideCode: number;
  /** What dmraid will map: the smallest member up to its metadata, in whole stripes, times the data disks. */
  readonly sectors: number;
}

/** Check a request and work out the layout; an error text when it cannot be done. */
export function planViaCreate(request: CreateRequest): ViaCreatePlan | string {
  const level = LEVELS[request.level];
  if (!level) return `unsupported RAID level "${request.level}" (via creates 0, 1 and 10)`;
  const n = request.devices.length;
  if (level === 'raid0' && (n < 2 || n > MAX_WIDTH)) return `wrong number of disks (${n}) for RAID0: 2 to ${MAX_WIDTH}`;
  if (level === 'raid1' && n !== 2) return `wrong number of disks (${n}) for RAID1: 2`;
  if (level === 'raid01' && (n < 4 || n % 2 || n > MAX_DISKS)) return `wrong number of disks (${n}) for RAID${request.level}: 4, 6 or 8`;
  if (request.sizeSectors) return 'a via set spans its whole disks (dmraid maps every member up to its metadata): no --size';
  let strideCode = level === 'raid1' ? 0 : DEFAULT_CODE;
  if (level !== 'raid1' && request.stripSectors) {
    strideCode = Math.log2(request.stripSectors / 8);
    if (!Number.isInteger(strideCode) || strideCode < 0 || strideCode > MAX_CODE) return `stripe size ${request.stripSectors / 2}k is not a power of two from 4k to ${(8 << MAX_CODE) / 2}k`;
  }
  const stride = 8 << strideCode;
  const room = Math.floor((Math.min(...request.devices.map((d) => d.sizeSectors)) - VIA_END_OFFSET) / stride) * stride;
  if (room <= 0) return 'disks too small';
  const width = level === 'raid1' ? 1 : level === 'raid01' ? n / 2 : n;
  return { level, strideCode, sectors: room * width };
}

export async function createVia(request: CreateRequest, ctx: WriteContext): Promise<boolean> {
  const plan = planViaCreate(request);
  if (typeof plan === 'string') {
    ctx.error(plan);
    return false;
  }
  // The BIOS derives each serial_checksum from its drive's serial by a rule nobody documented; a random seed
  // gives every set its own checksums, hence its own name.
  const seed = crypto.getRandomValues(new Uint32Array(1))[0]!;
  const smallest = Math.min(...request.devices.map((d) => d.sizeSectors));
  const images = buildViaSet({ level: plan.level, id: seed, disks: request.devices.length, diskSectors: smallest, strideCode: plan.strideCode });
  const striped = plan.level !== 'raid1';
  const name = `${setName(viaLayout.decodeFrom(images[0]!.data), false)} (via stores no name: "${request.name}" is not written)`;
  const summary = { format: 'via', name, type: LEVEL_NAMES[plan.level], sizeSectors: plan.sectors, stripSectors: striped ? 8 << plan.strideCode : undefined, disks: request.devices };
  if (!(await confirmCreate(ctx, summary))) return true;
  // Each member's block at its own disk's last sector.
  const members = request.devices.map((device, i) => ({
    path: device.path,
    areas: [{ offsetBytes: (device.sizeSectors - VIA_END_OFFSET) * 512, data: images[i]!.data }],
  }));
  return writeMembers(ctx, members);
}

/**
 * `-f hpt45x -C`: a new set written as the Highpoint BIOS writes it (writer.ts, the testbed's sets). The
 * metadata stores no name: the set is named by its random id (magic_0), and NAME only appears in the summary.
 */
import { confirmCreate, mkAlpha, writeMembers, type CreateRequest, type WriteContext } from '@dmraid/core';
import { HPT45X_END_OFFSET } from './layout.js';
import { buildHpt45xSet, type Hpt45xLevel } from './writer.js';

/** Span has no number for `--type` (the command takes digits only); 01 is the same mirror of stripes. */
const LEVELS: Record<string, Exclude<Hpt45xLevel, 'span'>> = { '0': 'raid0', '1': 'raid1', '10': 'raid10', '01': 'raid10' };
const LEVEL_NAMES = { raid0: 'RAID0', raid1: 'RAID1', raid10: 'RAID10 (mirror of two stripe sets)' } as const;

/** disk_number and raid_disks fit below 8 (the reader refuses disk_number >= 8). */
const MAX_WIDTH = 8;
/** Stripe sizes (sectors) the set may have: 16 KiB to 512 KiB, powers of two; 64 KiB unless asked. */
const MIN_STRIP = 32;
const MAX_STRIP = 1024;
const DEFAULT_STRIP = 128;

export interface Hpt45xCreatePlan {
  readonly level: Exclude<Hpt45xLevel, 'span'>;
  readonly shift: number;
  /** Data sectors on every member. */
  readonly memberSectors: number;
  /** The set's size. */
  readonly sectors: number;
}

/** Check a request and work out the layout; an error text when it cannot be done. */
export function planHpt45xCreate(request: CreateRequest): Hpt45xCreatePlan | string {
  const level = LEVELS[request.level];
  if (!level) return `unsupported RAID level "${request.level}" (hpt45x creates 0, 1 and 10)`;
  const n = request.devices.length;
  if (level === 'raid0' && (n < 2 || n > MAX_WIDTH)) return `wrong number of disks (${n}) for RAID0: 2 to ${MAX_WIDTH}`;
  if (level === 'raid1' && n !== 2) return `wrong number of disks (${n}) for RAID1: 2`;
  if (level === 'raid10' && (n < 4 || n % 2 || n > 2 * MAX_WIDTH)) return `wrong number of disks (${n}) for RAID10: an even number from 4 to ${2 * MAX_WIDTH}`;
  const strip = level === 'raid1' ? DEFAULT_STRIP : (request.stripSectors ?? DEFAULT_STRIP);
  if (strip < MIN_STRIP || strip > MAX_STRIP || (strip & (strip - 1)) !== 0) return `stripe size ${strip / 2}k is not a power of two from ${MIN_STRIP / 2}k to ${MAX_STRIP / 2}k`;
  // The BIOS rounds a mirror to whole 64 KiB stripes too (raid0_shift stays 0).
  const stripe = strip;
  const room = Math.min(...request.devices.map((d) => d.sizeSectors)) - HPT45X_END_OFFSET;
  const width = level === 'raid10' ? n / 2 : level === 'raid1' ? 1 : n;
  const fits = Math.floor(room / stripe) * stripe;
  // As the BIOS: whole stripes on every member.
  const memberSectors = request.sizeSectors ? Math.floor(Math.ceil(request.sizeSectors / width) / stripe) * stripe : fits;
  if (memberSectors > fits) return `size ${request.sizeSectors} does not fit on the disks`;
  if (memberSectors <= 0) return 'size too small';
  return { level, shift: Math.log2(strip), memberSectors, sectors: memberSectors * width };
}

export async function createHpt45x(request: CreateRequest, ctx: WriteContext): Promise<boolean> {
  const plan = planHpt45xCreate(request);
  if (typeof plan === 'string') {
    ctx.error(plan);
    return false;
  }
  // magic_0: the set's identity and name; random so that two sets never share it. Below 2^31 keeps
  // magic_1 (id ^ 0x01000110) and the decimal name in the range the BIOS's ids have.
  const id = (crypto.getRandomValues(new Uint32Array(1))[0]! % 0x7fffffff) + 1;
  const striped = plan.level !== 'raid1';
  const name = `hpt45x_${mkAlpha(String(id))} (hpt45x stores no name: "${request.name}" is not written)`;
  const summary = { format: 'hpt45x', name: name, type: LEVEL_NAMES[plan.level], sizeSectors: plan.sectors, stripSectors: striped ? 1 << plan.shift : undefined, disks: request.devices };
  if (!(await confirmCreate(ctx, summary))) return true;
  // The writer sizes members from the disk size: give it the disk that holds exactly the planned data, then
  // put each member's block at its own disk's N-11.
  const images = buildHpt45xSet({ level: plan.level, id, disks: request.devices.length, diskSectors: plan.memberSectors + HPT45X_END_OFFSET, shift: plan.shift });
  const members = request.devices.map((device, i) => ({
    path: device.path,
    areas: [{ offsetBytes: (device.sizeSectors - HPT45X_END_OFFSET) * 512, data: images[i]!.data }],
  }));
  return writeMembers(ctx, members);
}

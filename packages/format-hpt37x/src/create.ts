/**
 * `-f hpt37x -C`: a new set written as the Highpoint BIOS writes it (writer.ts, the testbed's sets). The
 * metadata stores no name: the set is named by its random id (magic_0, for RAID0+1 magic_1), and NAME only
 * appears in the summary.
 */
import { confirmCreate, mkAlpha, writeMembers, type CreateRequest, type WriteContext } from '@dmraid/core';
import { HPT37X_CONFIG_SECTOR, HPT37X_DATA_OFFSET, HPT37X_MAX_DISKS } from './layout.js';
import { buildHpt37xSet, type Hpt37xLevel } from './writer.js';

type Level = Exclude<Hpt37xLevel, 'span' | 'single'>;

/** Span and single disk have no number for `--type` (the command takes digits only). */
const LEVELS: Record<string, Level> = { '0': 'raid0', '1': 'raid1', '10': 'raid10', '01': 'raid01' };
const LEVEL_NAMES: Record<Level, string> = {
  raid0: 'RAID0',
  raid1: 'RAID1',
  raid10: 'RAID10 (mirror of two stripe sets, type 2)',
  raid01: 'RAID01 (stripe over two mirror sets, type 7)',
};

/** Stripe sizes (sectors) the set may have: 16 KiB to 512 KiB, powers of two; 64 KiB unless asked. */
const MIN_STRIP = 32;
const MAX_STRIP = 1024;
const DEFAULT_STRIP = 128;

export interface Hpt37xCreatePlan {
  readonly level: Level;
  readonly shift: number;
  /** Data sectors on every member (from sector 10 on all but disk 0). */
  readonly memberSectors: number;
  /** The set's size as dmraid maps it. */
  readonly sectors: number;
}

/** Check a request and work out the layout; an error text when it cannot be done. */
export function planHpt37xCreate(request: CreateRequest): Hpt37xCreatePlan | string {
  const level = LEVELS[request.level];
  if (!level) return `unsupported RAID level "${request.level}" (hpt37x creates 0, 1, 10 and 01)`;
  const n = request.devices.length;
  const stacked = level === 'raid10' || level === 'raid01';
  if (level === 'raid0' && (n < 2 || n > HPT37X_MAX_DISKS)) return `wrong number of disks (${n}) for RAID0: 2 to ${HPT37X_MAX_DISKS}`;
  if (level === 'raid1' && n !== 2) return `wrong number of disks (${n}) for RAID1: 2`;
  if (stacked && (n < 4 || n % 2 || n > 2 * HPT37X_MAX_DISKS)) return `wrong number of disks (${n}) for RAID${request.level}: an even number from 4 to ${2 * HPT37X_MAX_DISKS}`;
  const striped = level !== 'raid1';
  const strip = striped ? (request.stripSectors ?? DEFAULT_STRIP) : 1;
  if (striped && (strip < MIN_STRIP || strip > MAX_STRIP || (strip & (strip - 1)) !== 0)) return `stripe size ${strip / 2}k is not a power of two from ${MIN_STRIP / 2}k to ${MAX_STRIP / 2}k`;
  // Every member but disk 0 starts 10 sectors in: that is what each can hold.
  const room = Math.min(...request.devices.map((d) => d.sizeSectors)) - HPT37X_DATA_OFFSET;
  const width = stacked ? n / 2 : n;
  // A RAID01 stripes its two mirror halves; a RAID10 mirrors two stripe sets of `width` disks.
  const dataWidth = level === 'raid1' ? 1 : level === 'raid01' ? 2 : width;
  const fits = Math.floor(room / strip) * strip;
  // As the BIOS: whole stripes on every member of a striped set.
  const memberSectors = request.sizeSectors ? Math.floor(Math.ceil(request.sizeSectors / dataWidth) / strip) * strip : fits;
  if (memberSectors > fits) return `size ${request.sizeSectors} does not fit on the disks`;
  if (memberSectors <= 0) return 'size too small';
  // What dmraid maps: every member but disk 0 loses its 10-sector offset from total_secs, and a striped
  // set rounds its smallest member down to whole stripes (a mirror is not rounded).
  const mapped = striped ? Math.floor((memberSectors - HPT37X_DATA_OFFSET) / strip) * strip : memberSectors - HPT37X_DATA_OFFSET;
  if (mapped <= 0) return 'size too small';
  return { level, shift: striped ? Math.log2(strip) : 7, memberSectors, sectors: mapped * dataWidth };
}

export async function createHpt37x(request: CreateRequest, ctx: WriteContext): Promise<boolean> {
  const plan = planHpt37xCreate(request);
  if (typeof plan === 'string') {
    ctx.error(plan);
    return false;
  }
  // The set's identity and name; random so that two sets never share it. A RAID0+1's halves take id+1 and
  // id+2 as their magic_0: the id stays below 2^31 - 2, in the range the BIOS's ids have.
  const id = (crypto.getRandomValues(new Uint32Array(1))[0]! % 0x7ffffffc) + 1;
  const striped = plan.level !== 'raid1';
  const name = `hpt37x_${mkAlpha(String(id))} (hpt37x stores no name: "${request.name}" is not written)`;
  const summary = { format: 'hpt37x', name: name, type: LEVEL_NAMES[plan.level], sizeSectors: plan.sectors, stripSectors: striped ? 1 << plan.shift : undefined, disks: request.devices };
  if (!(await confirmCreate(ctx, summary))) return true;
  // The writer sizes members from the disk size: give it the disk that holds exactly the planned data.
  const images = buildHpt37xSet({ level: plan.level, id, disks: request.devices.length, diskSectors: plan.memberSectors + HPT37X_DATA_OFFSET, shift: plan.shift });
  const members = request.devices.map((device, i) => ({ path: device.path, areas: [{ offsetBytes: HPT37X_CONFIG_SECTOR * 512, data: images[i]!.data }] }));
  return writeMembers(ctx, members);
}

/**
 * `-f nvidia -C NAME --type L --disk "..."`: a new MediaShield array over whole disks, its blocks made by
 * writer.ts exactly as the testbed's vendor-shaped sets are. The array has no name of its own (dmraid names
 * it nvidia_<signature sum>); NAME goes where MediaShield keeps the array's label, productID (16 bytes,
 * space padded; FreeBSD's graid writes its volume name there too).
 */
import { confirmCreate, refuseMembers, writeMembers, type BlockDevice, type CreateRequest, type RaidDevice, type WriteContext } from '@dmraid/core';
import { NV_END_OFFSET, NV_SCDB_INIT_RAID, nvLayout, type Nv } from './layout.js';
import { buildNvidiaSet, type NvidiaLevel } from './writer.js';

const LEVELS: Record<string, NvidiaLevel> = { '0': 'raid0', '1': 'raid1', '10': 'raid10', '01': 'raid10', '5': 'raid5' };

const LEVEL_NAMES: Record<NvidiaLevel, string> = {
  jbod: 'JBOD',
  raid0: 'RAID0',
  raid1: 'RAID1',
  raid10: 'RAID1+0',
  raid5: 'RAID5 (left symmetric)',
};

/** The member counts MediaShield accepts: a mirror is two disks, 1+0 mirrors two equal stripe sets. */
function wrongCount(level: NvidiaLevel, n: number): boolean {
  switch (level) {
    case 'raid1':
      return n !== 2;
    case 'raid10':
      return n < 4 || n % 2 !== 0;
    case 'raid5':
      return n < 3;
    default:
      return n < 2;
  }
}

/** Strip sizes MediaShield offers: 4 KiB to 128 KiB, powers of two (sectors: 8 to 256). */
const MIN_STRIP = 8;
const MAX_STRIP = 256;
const DEFAULT_POWER = 7;

export interface NvidiaPlan {
  readonly level: NvidiaLevel;
  readonly power: number;
  /** The smallest disk: every member's capacity is reckoned from it. */
  readonly diskSectors: number;
}

export function planNvidia(request: CreateRequest): NvidiaPlan | string {
  const level = LEVELS[request.level];
  if (!level) return `unsupported RAID level "${request.level}" (nvidia creates 0, 1, 10 and 5)`;
  const n = request.devices.length;
  if (wrongCount(level, n)) return `wrong number of disks (${n}) for RAID level ${request.level}`;
  // Members are mapped from sector 0 to N-2 whatever array.capacity says (dmraid's nv.c): a smaller set
  // would be read as the whole disks.
  if (request.sizeSectors !== undefined) return 'an nvidia set spans whole disks; --size is not supported';
  const strip = request.stripSectors ?? 1 << DEFAULT_POWER;
  if (strip < MIN_STRIP || strip > MAX_STRIP || (strip & (strip - 1)) !== 0) return `stripe size ${strip} blocks is not one of 4k, 8k, 16k, 32k, 64k, 128k`;
  if (level === 'raid1' && request.stripSectors !== undefined) return 'a mirror has no stripe size';
  const diskSectors = Math.min(...request.devices.map((d) => d.sizeSectors));
  if (diskSectors - NV_END_OFFSET < 2 * strip) return 'disks too small';
  return { level, power: Math.log2(strip), diskSectors };
}

/** The signature: four random dwords, as FreeBSD's graid makes its volume id (the BIOS's own is opaque). */
function randomId(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}

export async function createNvidia(
  request: CreateRequest,
  ctx: WriteContext,
  handler: { read(device: BlockDevice): Promise<readonly RaidDevice[]>; setName(nv: Nv): string },
): Promise<boolean> {
  const plan = planNvidia(request);
  if (typeof plan === 'string') {
    ctx.error(plan);
    return false;
  }
  if (!(await refuseMembers(ctx, 'nvidia', request.devices, (d) => handler.read(d)))) return false;
  const n = request.devices.length;
  const redundant = plan.level !== 'raid0';
  const blocks = buildNvidiaSet({
    level: plan.level,
    id: randomId(),
    disks: n,
    diskSectors: plan.diskSectors,
    power: plan.power,
    // Nothing has put the copies or the parity in step yet: "initialising" until a rebuild or resync does.
    raidJobCode: redundant ? NV_SCDB_INIT_RAID : 0,
    productName: request.name,
  });
  const nv = nvLayout.decodeFrom(blocks[0]!.data);
  const size = nv.capacity;
  const name = `${handler.setName(nv)} (label ${request.name})`;
  const summary = { format: 'nvidia', name, type: LEVEL_NAMES[plan.level], sizeSectors: size, stripSectors: plan.level === 'raid1' ? undefined : 1 << plan.power, disks: request.devices };
  if (!(await confirmCreate(ctx, summary))) return true;
  // The block sits at each disk's own N-2; its content is the same whatever the disk's size.
  const members = request.devices.map((device, i) => ({
    path: device.path,
    areas: [{ offsetBytes: (device.sizeSectors - NV_END_OFFSET) * 512, data: blocks[i]!.data }],
  }));
  return writeMembers(ctx, members);
}

/**
 * `-f pdc -C NAME --type L [--size S] [--strip S] --disk "..."`: a new FastTrak array, one block per disk at
 * N-63 (where the BIOS and FreeBSD's graid put the first block), built by writer.ts as the testbed's sets
 * are. NAME goes into the block's label (0x294, 32 bytes space padded, FreeBSD's `name`); the set's name is
 * still dmraid's pdc_<id>.
 */
import { confirmCreate, refuseMembers, writeMembers, type BlockDevice, type CreateRequest, type RaidDevice, type WriteContext } from '@dmraid/core';
import { PDC_BLOCK_SIZE, PDC_F_ASSIGNED, PDC_F_ONLINE, PDC_F_VALID, PDC_MAXDISKS, PDC_MAX_META_AREAS, PDC_META_OFFSET } from './layout.js';
import { buildPdcBlock, type PdcArraySpec, type PdcLevel } from './writer.js';

/** Where the BIOS writes the first block: 63 sectors from the end (first of dmraid's end offsets). */
const END_OFFSET = 63;

const LEVELS: Record<string, PdcLevel> = { '0': 'raid0', '1': 'raid1', '10': 'raid10', '01': 'raid10' };
const LEVEL_NAMES: Record<PdcLevel, string> = { span: 'SPAN', raid0: 'RAID0', raid1: 'RAID1', raid10: 'RAID10 (RAID1 over two stripe sets)' };

/** total_disks below PDC_MAXDISKS (what dmraid accepts); a mirror is two disks, RAID10 an even count ≥ 4. */
function wrongCount(level: PdcLevel, n: number): boolean {
  if (n >= PDC_MAXDISKS) return true;
  if (level === 'raid1') return n !== 2;
  if (level === 'raid10') return n < 4 || n % 2 !== 0;
  return n < 2;
}

/** Data disks' worth of --size on each member. */
const dataDisks = (level: PdcLevel, n: number) => (level === 'raid1' ? 1 : level === 'raid10' ? n / 2 : n);

/** 4 KiB (the smallest chunk the kernel's stripe target takes) to 1 MiB, powers of two; default 64 KiB. */
const MIN_STRIP = 8;
const MAX_STRIP = 2048;
const DEFAULT_SHIFT = 7;

export interface PdcPlan {
  readonly spec: PdcArraySpec;
  readonly totalSectors: number;
}

export function planPdc(request: CreateRequest, id: number): PdcPlan | string {
  const level = LEVELS[request.level];
  if (!level) return `unsupported RAID level "${request.level}" (pdc creates 0, 1 and 10)`;
  const n = request.devices.length;
  if (wrongCount(level, n)) return `wrong number of disks (${n}) for RAID level ${request.level}`;
  const strip = request.stripSectors ?? 1 << DEFAULT_SHIFT;
  if (strip < MIN_STRIP || strip > MAX_STRIP || (strip & (strip - 1)) !== 0) return `stripe size ${strip} blocks is not a power of two from 4k to 1024k`;
  if (level === 'raid1' && request.stripSectors !== undefined) return 'a mirror has no stripe size';
  const room = Math.min(...request.devices.map((d) => d.sizeSectors)) - END_OFFSET;
  let perMember = request.sizeSectors ? Math.ceil(request.sizeSectors / dataDisks(level, n)) : room;
  perMember -= perMember % strip;
  if (perMember > room) return `size ${request.sizeSectors} does not fit on the disks`;
  if (perMember <= 0) return request.sizeSectors ? 'size too small' : 'disks too small';
  const spec: PdcArraySpec = { level, id, disks: n, shift: Math.log2(strip), sectorsPerMember: perMember, name: request.name };
  return { spec, totalSectors: perMember * dataDisks(level, n) };
}

export async function createPdc(
  request: CreateRequest,
  ctx: WriteContext,
  handler: { read(device: BlockDevice): Promise<readonly RaidDevice[]>; setName(block: Uint8Array): string },
): Promise<boolean> {
  // raid.magic_1, the set id (dmraid names the set by its decimal digits); random as FreeBSD's volume_id.
  const id = crypto.getRandomValues(new Uint32Array(1))[0]!;
  const plan = planPdc(request, id);
  if (typeof plan === 'string') {
    ctx.error(plan);
    return false;
  }
  if (!(await refuseMembers(ctx, 'pdc', request.devices, (d) => handler.read(d)))) return false;
  const { spec } = plan;
  const strip = 1 << spec.shift!;
  const flags = PDC_F_VALID | PDC_F_ONLINE | PDC_F_ASSIGNED;
  const first = buildPdcBlock(spec, 0, 0, request.devices[0]!.sizeSectors - END_OFFSET, flags);
  const name = `${handler.setName(first)} (label ${request.name})`;
  const summary = { format: 'pdc', name, type: LEVEL_NAMES[spec.level], sizeSectors: plan.totalSectors, stripSectors: spec.level === 'raid1' ? undefined : strip, disks: request.devices };
  if (!(await confirmCreate(ctx, summary))) return true;
  const members = request.devices.map((device, i) => {
    const metaSector = device.sizeSectors - END_OFFSET;
    // The block slots after the first are zeroed: a block left there by an older array would be read as a
    // second array on the disk (the reader goes on while the slots carry the signature).
    const area = new Uint8Array(((PDC_MAX_META_AREAS - 1) * PDC_META_OFFSET) * 512 + PDC_BLOCK_SIZE);
    area.set(buildPdcBlock(spec, 0, i, metaSector, flags), 0);
    return { path: device.path, areas: [{ offsetBytes: metaSector * 512, data: area }] };
  });
  return writeMembers(ctx, members);
}

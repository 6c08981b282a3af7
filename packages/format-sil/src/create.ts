/**
 * `-f sil -C NAME --type L [--size S] [--strip S] --disk "..."`: a new Medley set, its block built by writer.ts
 * as the testbed's sets are and written at all four places, as the BIOS writes it. A Medley block has no
 * array name: the set is named by its creation time (sil_yymmddhhmmss), so NAME is not stored.
 */
import { confirmCreate, refuseMembers, writeMembers, type BlockDevice, type CreateRequest, type RaidDevice, type WriteContext } from '@dmraid/core';
import { SIL_AREAS, SIL_AREA_STEP, SIL_BLOCK_SIZE, type Sil } from './layout.js';
import { buildSilBlock, sealSil, usableSectors, type SilLevel, type SilSetSpec } from './writer.js';

const LEVELS: Record<string, SilLevel> = { '0': 'raid0', '1': 'raid1', '10': 'raid10', '01': 'raid10' };
const LEVEL_NAMES: Record<SilLevel, string> = { raid0: 'RAID0', raid1: 'RAID1', raid10: 'RAID10 (mirror of two stripe sets)', jbod: 'JBOD', raid5: 'RAID5' };

/** disk_number is below 8 in every block dmraid accepts; a mirror is two disks, RAID10 four (two pairs). */
function wrongCount(level: SilLevel, n: number): boolean {
  if (n > 8) return true;
  if (level === 'raid1') return n !== 2;
  if (level === 'raid10') return n !== 4;
  return n < 2;
}

const dataDisks = (level: SilLevel, n: number) => (level === 'raid1' ? 1 : level === 'raid10' ? n / 2 : n);

/** 4 KiB (the smallest chunk the kernel's stripe target takes) to 1 MiB, powers of two; default 64 KiB. */
const MIN_STRIP = 8;
const MAX_STRIP = 2048;
const DEFAULT_STRIP = 128;

export interface SilPlan {
  readonly spec: SilSetSpec;
  readonly arraySectors: number;
}

/** The creation time as the BIOS stamps it from the RTC (local time, two-digit year). */
export type Created = SilSetSpec['created'];

export function createdAt(now: Date): Created {
  return [now.getFullYear() % 100, now.getMonth() + 1, now.getDate(), now.getHours(), now.getMinutes(), now.getSeconds()];
}

export function planSil(request: CreateRequest, created: Created): SilPlan | string {
  const level = LEVELS[request.level];
  if (!level) return `unsupported RAID level "${request.level}" (sil creates 0, 1 and 10)`;
  const n = request.devices.length;
  if (wrongCount(level, n)) return `wrong number of disks (${n}) for RAID level ${request.level}`;
  const striped = level !== 'raid1';
  if (!striped && request.stripSectors !== undefined) return 'a mirror has no stripe size';
  const strip = request.stripSectors ?? DEFAULT_STRIP;
  if (strip < MIN_STRIP || strip > MAX_STRIP || (strip & (strip - 1)) !== 0) return `stripe size ${strip} blocks is not a power of two from 4k to 1024k`;
  const room = Math.min(...request.devices.map((d) => usableSectors(d.sizeSectors)));
  let perMember = request.sizeSectors ? Math.ceil(request.sizeSectors / dataDisks(level, n)) : room;
  // Striped members are whole stripes; a mirror's member is all of the room (the testbed's recordings).
  if (striped) perMember -= perMember % strip;
  if (perMember > room) return `size ${request.sizeSectors} does not fit on the disks`;
  if (perMember <= 0) return request.sizeSectors ? 'size too small' : 'disks too small';
  const spec: SilSetSpec = { level, created, disks: n, diskSectors: 0, stride: striped ? strip : 0, memberSectors: perMember, diskName: '' };
  return { spec, arraySectors: perMember * dataDisks(level, n) };
}

export async function createSil(
  request: CreateRequest,
  ctx: WriteContext,
  handler: { read(device: BlockDevice): Promise<readonly RaidDevice[]>; setName(sil: Sil): string },
  now = new Date(),
): Promise<boolean> {
  const plan = planSil(request, createdAt(now));
  if (typeof plan === 'string') {
    ctx.error(plan);
    return false;
  }
  if (!(await refuseMembers(ctx, 'sil', request.devices, (d) => handler.read(d)))) return false;
  const blocks = request.devices.map((d, i) => buildSilBlock({ ...plan.spec, diskSectors: d.sizeSectors }, i));
  const stride = plan.spec.stride ?? 0;
  const name = `${handler.setName(blocks[0]!)} (sil stores no name: "${request.name}" is not kept)`;
  const summary = { format: 'sil', name, type: LEVEL_NAMES[plan.spec.level], sizeSectors: plan.arraySectors, stripSectors: stride || undefined, disks: request.devices };
  if (!(await confirmCreate(ctx, summary))) return true;
  // The same sealed block at all four places of each member.
  const members = request.devices.map((device, i) => {
    const block = sealSil(blocks[i]!);
    const areas = Array.from({ length: SIL_AREAS }, (_, k) => ({ offsetBytes: (device.sizeSectors - 1 - SIL_AREA_STEP * k) * SIL_BLOCK_SIZE, data: block }));
    return { path: device.path, areas };
  });
  return writeMembers(ctx, members);
}

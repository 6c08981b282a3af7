/**
 * A member's failure as the surviving members' blocks record it (the monitor), and the reading of that record
 * back (a failed member that returns is stale).
 *
 * Facts from FreeBSD's geom_raid md_promise.c (g_raid_md_fail_disk_promise, g_raid_md_write_promise): every
 * block of an array carries a table of all its members (raid.disk[]); on a failure the others' tables mark the
 * failed member's entry DOWN|REDIR (no longer ONLINE), the array status gains DEGRADED, and the generation
 * (raid.unknown_4) goes up by one, so the newest blocks win over the failed disk's own when it comes back.
 * dmraid's own (never enabled) event_io set a bit in the failed disk's own block instead, which cannot be
 * written once the disk is gone.
 */
import { allDevices, changedSinceRead, recordOnSurvivors, type BlockDevice, type RaidDevice, type RaidSet, type StaleMember, type WriteContext } from '@dmraid/core';
import {
  PDC_BLOCK_SIZE,
  PDC_DISK_FLAGS,
  PDC_F_DOWN,
  PDC_F_ONLINE,
  PDC_F_REDIR,
  PDC_MAXDISKS,
  PDC_S_DEGRADED,
  hasPdcSignature,
  pdcChecksum,
  pdcLayout,
  type Pdc,
} from './layout.js';

/** Entry of the member whose own raid.magic_0 is `diskId` in this block's table, or -1. */
export function slotOf(pdc: Pdc, diskId: number): number {
  const n = Math.min(pdc.raid.total_disks, PDC_MAXDISKS);
  for (let i = 0; i < n; i++) if (pdc.raid.disk[i]!.magic_0 === diskId) return i;
  return -1;
}

/** Whether this block already records member `slot` as failed (nothing left to write). */
export const recordsFailure = (pdc: Pdc, slot: number) =>
  (pdc.raid.disk[slot]!.unknown_0 & PDC_F_DOWN) !== 0 && (pdc.raid.status & PDC_S_DEGRADED) !== 0;

/**
 * The block `bytes` with member `slot` recorded failed: its entry DOWN|REDIR and no longer ONLINE, the array
 * DEGRADED, the generation one higher, the checksum recomputed. Every other byte stays.
 */
export function recordFailure(bytes: Uint8Array, slot: number): Uint8Array {
  const pdc = pdcLayout.decodeFrom(bytes);
  const entry = pdc.raid.disk[slot]!;
  const flags = ((entry.unknown_0 & PDC_DISK_FLAGS & ~PDC_F_ONLINE) | PDC_F_DOWN | PDC_F_REDIR) & PDC_DISK_FLAGS;
  entry.unknown_0 = (entry.unknown_0 & ~PDC_DISK_FLAGS & 0xffff) | flags;
  pdc.raid.status |= PDC_S_DEGRADED;
  pdc.raid.unknown_4 = (pdc.raid.unknown_4 + 1) & 0xffff;
  pdc.checksum = pdcChecksum(pdcLayout.encodeToBytes(pdc));
  return pdcLayout.encodeToBytes(pdc);
}

/** FreeBSD's freshness test: generations are compared as 16-bit serial numbers. */
export const newerGeneration = (a: number, b: number) => ((((a - b) & 0xffff) << 16) >> 16) > 0;

const block = (rd: RaidDevice<unknown>) => pdcLayout.decodeFrom(rd.areas[0]!.data);

/**
 * Record that `device` failed in the blocks of this set's array on every other member. All blocks are read
 * again and checked first; nothing is written unless every survivor can take the record.
 */
export function recordFailed(set: RaidSet, device: BlockDevice, ctx: WriteContext): Promise<boolean> {
  const gone = allDevices(set).find((rd) => rd.device.path === device.path);
  const was = gone && block(gone);
  return recordOnSurvivors(set, device, ctx, {
    reread: (dev, rd) => dev.read(rd.areas[0]!.offsetSectors * 512, PDC_BLOCK_SIZE),
    plan(now, rd) {
      const pdc = pdcLayout.decodeFrom(now!);
      if (!hasPdcSignature(now!) || pdcChecksum(now!) !== pdc.checksum || pdc.raid.magic_1 !== was!.raid.magic_1) return changedSinceRead(set, rd);
      const slot = slotOf(pdc, was!.raid.magic_0);
      if (slot < 0) return { refused: `${device.path} is not in the member table of RAID set "${set.name}" on ${rd.device.path}` };
      if (recordsFailure(pdc, slot)) return 'recorded';
      return [{ offsetSectors: rd.areas[0]!.offsetSectors, size: PDC_BLOCK_SIZE, data: recordFailure(now!, slot) }];
    },
  });
}

/**
 * Members a newer block of their array records as failed: a disk that failed and came back still holds its
 * own older block, which says it is fine.
 */
export function staleMembers<M>(rds: readonly RaidDevice<M>[]): StaleMember<M>[] {
  // Each block decoded once: every member is compared with every other.
  const blocks = new Map(rds.map((rd) => [rd, block(rd)] as const));
  const blockOf = (rd: RaidDevice<M>) => blocks.get(rd)!;
  const out: StaleMember<M>[] = [];
  for (const rd of rds) {
    const own = blockOf(rd);
    const judge = rds.find((other) => {
      if (other.device.path === rd.device.path) return false;
      const theirs = blockOf(other);
      if (theirs.raid.magic_1 !== own.raid.magic_1 || !newerGeneration(theirs.raid.unknown_4, own.raid.unknown_4)) return false;
      const slot = slotOf(theirs, own.raid.magic_0);
      return slot >= 0 && (theirs.raid.disk[slot]!.unknown_0 & PDC_F_DOWN) !== 0;
    });
    if (judge) {
      const gen = blockOf(judge).raid.unknown_4;
      out.push({ rd, reason: `${judge.device.path} records it failed (generation ${gen}, its own ${own.raid.unknown_4})` });
    }
  }
  return out;
}

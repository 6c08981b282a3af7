/**
 * A member's failure as the surviving members record it (the monitor), and the reading of that record back.
 *
 * An nvidia block describes its own disk and the array; it has no table of the other members and no generation.
 * The one fact about the array's health it carries is `array.flags` bit 0x2 (dmraid's nv.h: NV_ARRAY_FLAG_ERROR,
 * "Degraded or offlining"; FreeBSD's md_nvidia.c: NVIDIA_S_DEGRADED). The survivors get that bit. dmraid's
 * (never enabled) event_io set it in the failed disk's own block, which cannot be written once the disk is gone
 * (and noted "signature recalculation missing": the checksum, recomputed here). FreeBSD's writer records nothing
 * on a failure: it erases the failed disk's block and writes the others with the bit clear.
 */
import { changedSinceRead, recordOnSurvivors, type BlockDevice, type RaidDevice, type RaidSet, type StaleMember, type WriteContext } from '@dmraid/core';
import { NV_ARRAY_FLAG_ERROR, NV_LEVEL_1, NV_LEVEL_1_0, NV_LEVEL_5_SYM, nvChecksum, nvChecksumOk, nvLayout, type Nv } from './layout.js';

/** Levels whose array still reads with a member gone: on these the bit means degraded, not offline. */
export const isRedundant = (nv: Nv) => [NV_LEVEL_1, NV_LEVEL_1_0, NV_LEVEL_5_SYM].includes(nv.array.raidLevel);

export const recordsFailure = (nv: Nv) => (nv.array.flags & NV_ARRAY_FLAG_ERROR) !== 0;

/** The block with the array flagged degraded and chksum recomputed; every other byte stays. */
export function recordFailure(bytes: Uint8Array): Uint8Array {
  const nv = nvLayout.decodeFrom(bytes);
  nv.array.flags = (nv.array.flags | NV_ARRAY_FLAG_ERROR) >>> 0;
  nv.chksum = nvChecksum(nv);
  return nvLayout.encodeToBytes(nv);
}

const sameArray = (a: Nv, b: Nv) => a.array.signature.every((x, i) => x === b.array.signature[i]);

const block = (rd: RaidDevice<unknown>) => nvLayout.decodeFrom(rd.areas[0]!.data);

/**
 * Record that `device` failed: every other member of the set (spares included: they carry the array's block
 * too) gets the array's degraded bit. Every survivor's block is read again first; one that changed writes
 * nothing anywhere; one that has the bit already is left alone.
 */
export const recordFailed = (set: RaidSet, device: BlockDevice, ctx: WriteContext): Promise<boolean> =>
  recordOnSurvivors(set, device, ctx, {
    reread: (dev, rd) => dev.read(rd.areas[0]!.offsetSectors * 512, nvLayout.size),
    plan(now, rd) {
      const area = rd.areas[0]!;
      const nowNv = nvLayout.decodeFrom(now!);
      if (nvChecksumOk(nowNv, now!) && sameArray(nowNv, block(rd)) && recordsFailure(nowNv)) return 'recorded';
      if (!now!.every((b, i) => b === area.data[i])) return changedSinceRead(set, rd);
      return [{ offsetSectors: area.offsetSectors, size: nvLayout.size, data: recordFailure(now!) }];
    },
  });

/**
 * Members of a redundant array without the degraded bit while another member has it: the bit is written to the
 * members present at a failure, so the one without it was gone then (the failed disk, come back). A spare holds
 * no data of the array, so a spare without the bit (one added later) stays usable.
 */
export function staleMembers<M>(rds: readonly RaidDevice<M>[]): StaleMember<M>[] {
  // Each block decoded once: every member is compared with every other.
  const blocks = new Map(rds.map((rd) => [rd, block(rd)] as const));
  const blockOf = (rd: RaidDevice<M>) => blocks.get(rd)!;
  const out: StaleMember<M>[] = [];
  for (const rd of rds) {
    const own = blockOf(rd);
    if (rd.type === 'spare' || !isRedundant(own) || recordsFailure(own)) continue;
    const judge = rds.find((other) => other.device.path !== rd.device.path && sameArray(blockOf(other), own) && recordsFailure(blockOf(other)));
    if (judge) out.push({ rd, reason: `the metadata on ${judge.device.path} records the array degraded (array.flags 0x2) and its own does not` });
  }
  return out;
}

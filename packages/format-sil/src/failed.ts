/**
 * A member's failure as the surviving members record it (the monitor), and the reading of that record back.
 *
 * Facts from FreeBSD's geom_raid md_sii.c: a member block describes its own disk only (no table of the others);
 * every metadata update raises the generation (dmraid's `incarnation_no`, 0x124) on every member still
 * active (g_raid_md_write_sii), and on assembly a member whose generation is not the newest is stale: its data
 * needs a resync (g_raid_md_sii_start_disk). FreeBSD also sets the failed disk's own `disk_status` (0x128)
 * to REMOVED, and dmraid's (never enabled) event_io cleared it: both on the failed disk itself, which cannot
 * be written once it is gone. So the survivors record a failure by the one thing they can: a newer generation.
 * checksum2 (0x1FE) keeps its bytes: its rule is unknown, and neither dmraid nor FreeBSD checks or rewrites it.
 */
import {
  changedSinceRead,
  isIoError,
  recordOnSurvivors,
  type BlockDevice,
  type IoError,
  type RaidDevice,
  type RaidSet,
  type StaleMember,
  type WritableDevice,
  type WriteContext,
} from '@dmraid/core';
import { SIL_BLOCK_SIZE, SIL_T_SPARE, isSilMagic, silChecksum1, silLayout, type Sil } from './layout.js';

/** FreeBSD's freshness test: generations compared as 32-bit serial numbers. */
export const newerIncarnation = (a: number, b: number) => ((a - b) | 0) > 0;

/** The block with its generation one higher and checksum1 recomputed; every other byte stays. */
export function recordFailure(bytes: Uint8Array): Uint8Array {
  const sil = silLayout.decodeFrom(bytes);
  sil.incarnation_no = (sil.incarnation_no + 1) >>> 0;
  sil.checksum1 = silChecksum1(silLayout.encodeToBytes(sil));
  return silLayout.encodeToBytes(sil);
}

/** The creation time every member of one array carries (the set name comes from it). */
const created = (s: Sil) => [s.year, s.month, s.day, s.hour, s.minutes, s.seconds].join('.');
const sameArray = (a: Sil, b: Sil) => created(a) === created(b) && a.type !== SIL_T_SPARE && b.type !== SIL_T_SPARE;

const block = (rd: RaidDevice<unknown>) => silLayout.decodeFrom(rd.areas[0]!.data);

/** The first copy (in area order) with the signature and a good checksum1, as the reader takes it. */
async function copyInUse(dev: WritableDevice, rd: RaidDevice): Promise<Uint8Array | IoError | undefined> {
  for (const area of rd.areas) {
    const data = await dev.read(area.offsetSectors * 512, SIL_BLOCK_SIZE);
    if (isIoError(data)) return data;
    const sil = silLayout.decodeFrom(data);
    if (isSilMagic(sil) && silChecksum1(data) === sil.checksum1) return data;
  }
  return undefined;
}

/**
 * Record that `device` failed: every other member's block (the copy in use, at all four places) gets the next
 * generation. Every survivor is read again first; one whose block changed in any other way writes nothing
 * anywhere. A survivor already past the generation it was read with has the record (a second report).
 */
export const recordFailed = (set: RaidSet, device: BlockDevice, ctx: WriteContext): Promise<boolean> =>
  recordOnSurvivors(set, device, ctx, {
    reread: copyInUse,
    plan(now, rd) {
      const nowSil = now && silLayout.decodeFrom(now);
      if (nowSil && sameArray(nowSil, block(rd)) && newerIncarnation(nowSil.incarnation_no, block(rd).incarnation_no)) return 'recorded';
      if (!now || !now.every((b, i) => b === rd.areas[0]!.data[i])) return changedSinceRead(set, rd);
      const data = recordFailure(now);
      return rd.areas.map((a) => ({ offsetSectors: a.offsetSectors, size: SIL_BLOCK_SIZE, data }));
    },
  });

/** Members of an array whose generation is older than another member's: a failed disk that came back. */
export function staleMembers<M>(rds: readonly RaidDevice<M>[]): StaleMember<M>[] {
  // Each block decoded once: every member is compared with every other.
  const blocks = new Map(rds.map((rd) => [rd, block(rd)] as const));
  const blockOf = (rd: RaidDevice<M>) => blocks.get(rd)!;
  const out: StaleMember<M>[] = [];
  for (const rd of rds) {
    const own = blockOf(rd);
    let newest: RaidDevice<M> | undefined;
    for (const other of rds) {
      const theirs = blockOf(other);
      if (other.device.path === rd.device.path || !sameArray(theirs, own) || !newerIncarnation(theirs.incarnation_no, own.incarnation_no)) continue;
      if (!newest || newerIncarnation(theirs.incarnation_no, blockOf(newest).incarnation_no)) newest = other;
    }
    if (newest) {
      out.push({
        rd,
        reason: `its metadata (generation ${own.incarnation_no}) is older than the metadata on ${newest.device.path} (generation ${blockOf(newest).incarnation_no})`,
      });
    }
  }
  return out;
}

/**
 * Two formats' metadata on one disk (an old set's left behind under a new one): which one the disk belongs
 * to, decided once every device is probed, because the evidence spans disks. In this order (docs/conflicts.md):
 *
 * 1. Sets: a format whose set is whole (every member its metadata expects present and none stale, as its own
 *    group and check see it) wins over one whose set is not: the old set lost a member to the new one.
 * 2. Time: where every claiming format records a wall-clock time (FormatHandler.writtenAt), the newest, when
 *    it is newer by more than a day and two hours (CLOCK_SLACK_MS).
 * 3. Nothing decides: the first in registration order, as dmraid decides every conflict.
 *
 * Where the metadata lies is no evidence here: a set's create writes its metadata and lays its data range
 * out without writing data, so one format's metadata inside the other's data range is what both orders of
 * creation leave behind (docs/conflicts.md works the cases through).
 */
import type { FormatHandler } from '../format/handler.js';
import { setHealth } from '../model/health.js';
import type { RaidDevice, RaidSet, Supersession } from '../model/raid.js';

/** One handler's RAID devices on one disk: the disk's own first, then its further volumes. */
export interface Claim {
  readonly handler: FormatHandler;
  readonly rds: readonly RaidDevice[];
}

export interface Verdict {
  readonly winner: Claim;
  /** Each losing claim with why it lost. */
  readonly losers: readonly { readonly claim: Claim; readonly supersededBy: Supersession }[];
}

/**
 * Times closer than this decide nothing: a BIOS stamps its clock's local time in no stated zone (sil), a DDF
 * header UTC, and the zones of the world lie within 26 hours of each other.
 */
const CLOCK_SLACK_MS = 26 * 3600 * 1000;

/** How a disk's RAID device fares in its own format's sets, built from every device that format claims. */
interface Standing {
  readonly whole: boolean;
  /** In words: `set "nv_x" (1 of 2 members)`. */
  readonly what: string;
}

/**
 * Decides the conflicts of many disks against the same evidence: `everyRd` is every RAID device every
 * handler read on any device, the conflicting claims included (a disk's old set counts it as a member too).
 */
export class ConflictJudge {
  private readonly standings = new Map<string, Map<RaidDevice, Standing>>();

  constructor(
    private readonly everyRd: readonly RaidDevice[],
    /** Discovery's grouping (buildSets), silent and keeping failed sets. */
    private readonly group: (rds: RaidDevice[]) => RaidSet[],
  ) {}

  /** The claims in registration order (dmraid's probing order); at least two. */
  decide(claims: readonly Claim[]): Verdict {
    let left = [...claims];
    const reasons = new Map<Claim, string>();
    const drop = (keep: Claim[], why: (loser: Claim, winner: Claim) => string) => {
      if (keep.length === 0 || keep.length === left.length) return;
      for (const c of left) if (!keep.includes(c)) reasons.set(c, why(c, keep[0]!));
      left = keep;
    };

    const standing = new Map(left.map((c) => [c, this.standing(c)]));
    drop(
      left.filter((c) => standing.get(c)!.whole),
      (loser, winner) => `its ${standing.get(loser)!.what} is not whole, the ${winner.handler.name} ${standing.get(winner)!.what} is`,
    );

    const times = left.map((c) => writtenAt(c));
    if (left.length > 1 && times.every((t) => t !== undefined)) {
      const newest = Math.max(...times.map((t) => t!.getTime()));
      const keep = left.filter((_, i) => times[i]!.getTime() >= newest - CLOCK_SLACK_MS);
      const at = new Map(left.map((c, i) => [c, times[i]!]));
      drop(keep, (loser, winner) => `its metadata was written ${iso(at.get(loser)!)}, the ${winner.handler.name} metadata ${iso(at.get(winner)!)}`);
    }

    drop(left.slice(0, 1), () => 'nothing tells which metadata is newer: dmraid\'s format order decides');
    const winner = left[0]!;
    return {
      winner,
      losers: claims.filter((c) => c !== winner).map((claim) => ({ claim, supersededBy: { format: winner.handler.name, reason: reasons.get(claim)! } })),
    };
  }

  private standing(claim: Claim): Standing {
    const format = claim.handler.name;
    let byRd = this.standings.get(format);
    if (!byRd) {
      byRd = standingsOf(this.everyRd.filter((rd) => rd.format === format), this.group);
      this.standings.set(format, byRd);
    }
    return byRd.get(claim.rds[0]!) ?? { whole: false, what: 'metadata (in no set)' };
  }
}

/**
 * Group a format's RAID devices as discovery would, on copies (grouping and checking write statuses and
 * names), silently; each original per-disk device's standing in the top-level set it lands in.
 */
function standingsOf(rds: readonly RaidDevice[], group: (rds: RaidDevice[]) => RaidSet[]): Map<RaidDevice, Standing> {
  const copyOf = new Map<RaidDevice, RaidDevice>();
  for (const rd of rds) copyOf.set(rd, { ...rd, areas: [...rd.areas] });
  for (const copy of copyOf.values()) if (copy.volumeOf) copy.volumeOf = copyOf.get(copy.volumeOf) ?? copy.volumeOf;
  const sets = group([...copyOf.values()]);
  const out = new Map<RaidDevice, Standing>();
  for (const [rd, copy] of copyOf) {
    if (rd.volumeOf) continue;
    const set = sets.find((s) => holds(s, copy));
    if (!set) continue;
    const stale = copy.stale !== undefined;
    const health = setHealth(set);
    // Whole is every member the metadata expects present and current; a set still initialising (nosync) or
    // with a member recorded failed is whole all the same: its disks agree on it.
    const whole = !stale && health.expected > 0 && health.found >= health.expected;
    out.set(rd, { whole, what: `set "${set.name}" (${stale ? 'stale member, ' : ''}${health.found} of ${health.expected} members)` });
  }
  return out;
}

function holds(set: RaidSet, rd: RaidDevice): boolean {
  return set.devs.includes(rd) || (set.stale ?? []).includes(rd) || set.sets.some((s) => holds(s, rd));
}

function writtenAt(claim: Claim): Date | undefined {
  if (!claim.handler.writtenAt) return undefined;
  try {
    const t = claim.handler.writtenAt(claim.rds[0]!);
    return t instanceof Date && !Number.isNaN(t.getTime()) ? t : undefined;
  } catch {
    // A broken accessor is no evidence.
    return undefined;
  }
}

const iso = (t: Date) => t.toISOString().replace('.000Z', 'Z');

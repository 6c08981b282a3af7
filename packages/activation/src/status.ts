/**
 * What `dmsetup status NAME` says of a device's targets, read into data: which legs or members the kernel
 * holds dead, and how far a resync is. The lines are the kernel's (drivers/md/dm-raid1.c mirror_status,
 * dm-raid.c raid_status, dm-stripe.c stripe_status); docs/monitor.md has examples captured in a real kernel.
 */

/**
 * One device a target maps onto, and its health character:
 * mirror  A alive, D write failure, S sync failure, R read failure, U unknown (dm-raid1);
 * raid    A alive and in sync, a alive not in sync, D dead (dm-raid);
 * striped A alive, D dead (dm-stripe).
 */
export interface MemberHealth {
  /** `major:minor` where the status names it (mirror, striped); the position in the table otherwise. */
  readonly device: string | undefined;
  readonly index: number;
  readonly health: string;
}

export interface TargetStatus {
  readonly start: number;
  readonly length: number;
  readonly type: string;
  /** The words after the type, as the kernel printed them. */
  readonly args: readonly string[];
  /** Per member, in table order; empty for a target that reports none (linear). */
  readonly members: readonly MemberHealth[];
  /** Regions (mirror) or sectors (raid) in sync, of `total`; undefined for targets that do not resync. */
  readonly inSync?: number;
  readonly total?: number;
  /** dm-raid's sync action (idle, resync, recover, check, repair, frozen, reshape). */
  readonly action?: string;
}

/** A member's health character says the kernel stopped using it. */
export const isDead = (m: MemberHealth) => m.health === 'D' || m.health === 'S' || m.health === 'R';

const int = (w: string | undefined) => (w !== undefined && /^\d+$/.test(w) ? Number(w) : undefined);
const ratio = (w: string | undefined) => {
  const m = /^(\d+)\/(\d+)$/.exec(w ?? '');
  return m ? { inSync: Number(m[1]), total: Number(m[2]) } : undefined;
};

function parseTarget(start: number, length: number, type: string, args: string[]): TargetStatus {
  const base = { start, length, type, args };
  if (type === 'mirror') {
    // <#legs> <dev>... <in-sync>/<regions> <#health chars> <health chars> <log status...>
    const n = int(args[0]) ?? 0;
    const devices = args.slice(1, 1 + n);
    const r = ratio(args[1 + n]);
    const health = args[3 + n] ?? '';
    const members = devices.map((device, index) => ({ device, index, health: health[index] ?? 'U' }));
    return { ...base, members, ...(r ?? {}) };
  }
  if (type === 'raid') {
    // <raid type> <#devices> <health chars> <in-sync>/<total sectors> <sync action> <mismatch count> ...
    const n = int(args[1]) ?? 0;
    const health = args[2] ?? '';
    const r = ratio(args[3]);
    const members = Array.from({ length: n }, (_, index) => ({ device: undefined, index, health: health[index] ?? 'U' }));
    return { ...base, members, ...(r ?? {}), ...(args[4] !== undefined ? { action: args[4] } : {}) };
  }
  if (type === 'striped') {
    // <#stripes> <dev>... <#health chars> <health chars>
    const n = int(args[0]) ?? 0;
    const devices = args.slice(1, 1 + n);
    const health = args[2 + n] ?? '';
    return { ...base, members: devices.map((device, index) => ({ device, index, health: health[index] ?? 'A' })) };
  }
  return { ...base, members: [] };
}

/** `dmsetup status NAME`'s lines (`<start> <length> <type> <args...>`), one TargetStatus each. */
export function parseStatus(text: string): TargetStatus[] {
  const out: TargetStatus[] = [];
  for (const line of text.split('\n')) {
    const [start, length, type, ...args] = line.trim().split(/\s+/);
    const s = int(start);
    const l = int(length);
    if (s === undefined || l === undefined || !type) continue;
    out.push(parseTarget(s, l, type, args));
  }
  return out;
}

/** What the status says of the device as a whole. */
export interface Health {
  /** Members the kernel holds dead (device `major:minor` where the status names it). */
  readonly dead: readonly MemberHealth[];
  /** A resync or recovery runs or is due: not every region or sector is in sync yet. */
  readonly syncing: boolean;
  /**
   * In sync as far as the kernel can say: every member alive and in sync, and no resync left (mirror: in-sync
   * equals regions; raid: every member `A`, the action idle, the ratio complete).
   */
  readonly complete: boolean;
  readonly inSync?: number;
  readonly total?: number;
}

export function health(targets: readonly TargetStatus[]): Health {
  const dead = targets.flatMap((t) => t.members.filter(isDead));
  let syncing = false;
  // Nothing to go by (no target that resyncs) is no proof of sync.
  let complete = dead.length === 0 && targets.some((t) => t.type === 'mirror' || t.type === 'raid');
  let inSync: number | undefined;
  let total: number | undefined;
  for (const t of targets) {
    if (t.type === 'mirror' || t.type === 'raid') {
      const behind = t.inSync === undefined || t.total === undefined || t.inSync < t.total;
      const idle = t.type === 'mirror' || t.action === 'idle';
      const allInSync = t.members.every((m) => m.health === 'A');
      if (behind || !idle || !allInSync) complete = false;
      // A dead member keeps a mirror's ratio short for good: that is no resync running.
      if ((behind || !idle || t.members.some((m) => m.health === 'a')) && !t.members.some(isDead)) syncing = true;
      inSync = (inSync ?? 0) + (t.inSync ?? 0);
      total = (total ?? 0) + (t.total ?? 0);
    }
  }
  return { dead, syncing, complete, ...(inSync !== undefined ? { inSync, total } : {}) };
}

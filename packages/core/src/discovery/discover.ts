/**
 * Discovery: every wanted handler probes every device (concurrently), then the RAID devices are grouped
 * into sets, checked and named. Messages come out in dmraid's order whatever order the I/O finished in.
 */
import { takesSectorSize } from '../format/handler.js';
import type { BlockDevice } from '../device/device.js';
import { readContext, groupContext, checkContext } from '../format/context.js';
import type { FormatHandler } from '../format/handler.js';
import { bufferLog, replay, type Log, type LogLine } from '../format/log.js';
import { ConflictJudge } from './conflicts.js';
import { findSet, setFormat, type DeviceInfo, type RaidDevice, type RaidSet } from '../model/raid.js';

/** Devices smaller than this are never probed (Debian's dmraid). */
export const MIN_DEVICE_SECTORS = 8;

/** Handlers whose name starts with `prefix` (dmraid's -f matching), in registration order. */
export function handlersMatching(handlers: readonly FormatHandler[], prefix: string | undefined): FormatHandler[] {
  return handlers.filter((h) => prefix === undefined || h.name.startsWith(prefix));
}

export interface DiscoverOptions {
  readonly handlers: readonly FormatHandler[];
  readonly devices: readonly BlockDevice[];
  /** -f list: each entry a name prefix; the probing loop runs once per entry. */
  readonly formats?: readonly string[];
  /** Only probe devices whose path is one of these (dmraid's device arguments of -r, -n, -E). */
  readonly paths?: readonly string[];
  readonly log: Log;
  /** How many devices are read at once. */
  readonly concurrency?: number;
  /** Per-format handler options (format name → key → value). */
  readonly handlerOptions?: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** Devices the user declared current (--include): their members are never set aside as stale. */
  readonly current?: ReadonlySet<DeviceInfo>;
}

async function readWithHandler(
  handler: FormatHandler,
  device: BlockDevice,
  options: ReadonlyMap<string, string> | undefined,
): Promise<{ rds: RaidDevice[]; lines: LogLine[] }> {
  const { log, lines } = bufferLog();
  log('notice', `${device.path}: ${handler.name.padEnd(7)} discovering`);
  let rds: RaidDevice[] = [];
  try {
    const found = await handler.read(device, readContext(handler.name, log, options));
    if (!Array.isArray(found)) throw new Error('read did not return an array');
    rds = found;
  } catch (e) {
    // A handler that throws is a bug in the handler, not a crash of the tool: report it and go on.
    log('error', `${handler.name}: reading ${device.path} failed: ${(e as Error)?.message ?? String(e)}`);
    rds = [];
  }
  if (rds.length > 0) log('notice', `${device.path}: ${handler.name} metadata discovered`);
  return { rds, lines };
}

/** What one handler read on one device, its messages held until the conflicts are decided. */
interface Reading {
  readonly handler: FormatHandler;
  readonly rds: RaidDevice[];
  readonly lines: LogLine[];
}

/** Every pass's readings of one device, in registration order. */
async function probeDevice(
  device: BlockDevice,
  passes: FormatHandler[][],
  handlerOptions: DiscoverOptions['handlerOptions'],
): Promise<Reading[][]> {
  const out: Reading[][] = [];
  for (const all of passes) {
    const pass = all.filter((h) => takesSectorSize(h, device.sectorSize));
    const results = await Promise.all(pass.map((h) => readWithHandler(h, device, handlerOptions?.get(h.name))));
    out.push(pass.map((handler, i) => ({ handler, ...results[i]! })));
  }
  return out;
}

export interface Discovery {
  /** Every RAID device that counts, per-disk devices and further volumes, in device order. */
  readonly raidDevices: RaidDevice[];
  /** The RAID devices of the formats that lost a conflict on their disk (RaidDevice.supersededBy), same order. */
  readonly superseded: RaidDevice[];
}

/**
 * Probe the devices, then decide each disk two formats claim (ConflictJudge). The caller's log receives the
 * messages in dmraid's order, a conflict's line where dmraid prints it: `"<loser>" and "<winner>" formats
 * discovered (using <winner>)!`, which is dmraid's line whenever the winner is the first format found.
 */
export async function discover(options: DiscoverOptions): Promise<Discovery> {
  const passes = (options.formats && options.formats.length > 0 ? options.formats : [undefined]).map((f) =>
    handlersMatching(options.handlers, f),
  );
  const probed = options.devices.filter((d) => d.sizeSectors >= MIN_DEVICE_SECTORS);
  const wanted = probed.filter((d) => !options.paths || options.paths.length === 0 || options.paths.includes(d.path));
  const limit = Math.max(1, options.concurrency ?? 64);
  const results: Reading[][][] = new Array(wanted.length);
  let next = 0;
  const worker = async () => {
    while (next < wanted.length) {
      const i = next++;
      results[i] = await probeDevice(wanted[i]!, passes, options.handlerOptions);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, wanted.length) }, worker));

  const everyRd = results.flat(2).flatMap((r) => r.rds);
  everyRd.push(...(await evidenceElsewhere(results, probed.filter((d) => !wanted.includes(d)), options.handlerOptions)));
  const judge = new ConflictJudge(everyRd, (rds) => buildSets(rds, { handlers: options.handlers, log: bufferLog().log, keepFailed: true }));
  const raidDevices: RaidDevice[] = [];
  const superseded: RaidDevice[] = [];
  results.forEach((readings, i) => {
    const path = wanted[i]!.path;
    for (const pass of readings) {
      const claims = pass.filter((r) => r.rds.length > 0);
      const verdict = claims.length > 1 ? judge.decide(claims) : undefined;
      const winner = verdict?.winner ?? claims[0];
      const first = claims[0];
      for (const r of pass) {
        replay(r.lines, options.log);
        if (r.rds.length === 0) continue;
        if (r === winner) raidDevices.push(...r.rds);
        if (r === first) continue;
        const loser = r === winner ? first! : r;
        options.log('print', `${path}: "${loser.handler.name}" and "${winner!.handler.name}" formats discovered (using ${winner!.handler.name})!`);
      }
      for (const { claim, supersededBy } of verdict?.losers ?? []) {
        for (const rd of claim.rds) rd.supersededBy = supersededBy;
        superseded.push(...claim.rds);
      }
    }
  });
  for (const rd of raidDevices) if (options.current?.has(rd.device)) rd.current = {};
  return { raidDevices, superseded };
}

/**
 * The RAID devices of the formats in conflict on the devices not asked about (device arguments): the evidence
 * spans disks, and `-r -E DISK` must erase what `-r` alone calls DISK's format. Read silently, used as
 * evidence only; nothing is read when nothing conflicts.
 */
async function evidenceElsewhere(
  results: readonly Reading[][][],
  others: readonly BlockDevice[],
  handlerOptions: DiscoverOptions['handlerOptions'],
): Promise<RaidDevice[]> {
  const contested = new Set<FormatHandler>();
  for (const pass of results.flat()) {
    const claims = pass.filter((r) => r.rds.length > 0);
    if (claims.length > 1) for (const r of claims) contested.add(r.handler);
  }
  if (contested.size === 0 || others.length === 0) return [];
  const found: RaidDevice[] = [];
  for (const device of others) {
    const pass = [...contested].filter((h) => takesSectorSize(h, device.sectorSize));
    for (const r of await Promise.all(pass.map((h) => readWithHandler(h, device, handlerOptions?.get(h.name))))) found.push(...r.rds);
  }
  return found;
}

/**
 * Probe the devices (discover): every RAID device that counts, per-disk devices and further volumes, in
 * device order.
 */
export async function discoverRaidDevices(options: DiscoverOptions): Promise<RaidDevice[]> {
  return (await discover(options)).raidDevices;
}

/**
 * Mark the members that newer metadata on other members supersedes (each handler's `stale`): status broken,
 * `stale` the reason; a stale disk's further volumes with it. Each newly marked disk is reported once, as a
 * warning: dmraid has no such check and would map it. A member the user declared current (RaidDevice.current)
 * keeps its place: the verdict is recorded there and reported once. Idempotent.
 */
export function markStale(rds: readonly RaidDevice[], handlers: readonly FormatHandler[], log: Log): void {
  for (const handler of handlers) {
    if (!handler.stale) continue;
    const mine = rds.filter((rd) => rd.format === handler.name);
    if (mine.length < 1) continue;
    let found: readonly { rd: RaidDevice; reason: string }[];
    try {
      found = handler.stale(mine);
    } catch (e) {
      log('error', `${handler.name}: comparing the metadata of the members failed: ${(e as Error)?.message ?? String(e)}`);
      continue;
    }
    // 'marked' the first time, 'overruled' the first time for a member the user declared current.
    const mark = (rd: RaidDevice, reason: string): 'marked' | 'overruled' | undefined => {
      if (rd.current) {
        if (rd.current.overruled !== undefined) return undefined;
        rd.current.overruled = reason;
        return 'overruled';
      }
      if (rd.stale !== undefined) return undefined;
      rd.stale = reason;
      rd.status = 'broken';
      return 'marked';
    };
    for (const { rd, reason } of found) {
      const fresh = mark(rd, reason);
      if (!rd.volumeOf) for (const v of mine) if (v.volumeOf === rd) mark(v, reason);
      const which = `${rd.device.path}${rd.volumeOf ? ` (RAID set "${rd.name}")` : ''}`;
      if (fresh === 'marked') log('warning', `${handler.name}: ${which} is stale, not used: ${reason}`);
      if (fresh === 'overruled') log('warning', `${handler.name}: ${which} would be stale (${reason}): used as current (--include)`);
    }
  }
}

/** Move stale members out of every set's members into its `stale` list (depth first). */
function setAsideStale(set: RaidSet): void {
  for (const sub of set.sets) setAsideStale(sub);
  const stale = set.devs.filter((rd) => rd.stale !== undefined);
  if (stale.length === 0) return;
  set.devs = set.devs.filter((rd) => rd.stale === undefined);
  set.stale = [...(set.stale ?? []), ...stale];
}

/** The RAID devices -r, -n, -D and -E list: one per disk and format, not the extra volumes. */
export const diskDevices = (rds: readonly RaidDevice[]) => rds.filter((rd) => !rd.volumeOf);

function removeSet(sets: RaidSet[], target: RaidSet): boolean {
  const i = sets.indexOf(target);
  if (i >= 0) {
    sets.splice(i, 1);
    return true;
  }
  return sets.some((s) => removeSet(s.sets, target));
}

export interface BuildOptions {
  readonly handlers: readonly FormatHandler[];
  readonly log: Log;
  /** Build only the set of this exact name (dmraid's first set-name argument). */
  readonly name?: string;
  /**
   * Keep a top-level set that fails its check instead of removing it: recovery reads what dmraid drops (a
   * RAID5 short of a member). The check still runs for the statuses and messages.
   */
  readonly keepFailed?: boolean;
}

/**
 * Group RAID devices into sets in list order, each disk with the volumes it carries (RaidDevice.volumeOf)
 * right after it, drop unwanted sets as they appear, set stale members aside (markStale), then check every
 * top-level set and drop the broken ones (mirrors are kept; all with keepFailed). Returns the top-level sets.
 * A disk's group (a container such as isw's or ddf1's) stays though empty until its volumes are grouped.
 */
export function buildSets(rds: readonly RaidDevice[], options: BuildOptions): RaidSet[] {
  const { log } = options;
  const top: RaidSet[] = [];
  markStale(rds, options.handlers, log);
  const byName = new Map(options.handlers.map((h) => [h.name, h]));
  const check = (set: RaidSet): boolean => {
    const format = setFormat(set);
    const handler = format ? byName.get(format) : undefined;
    if (!handler) return true;
    try {
      return handler.check(set, checkContext(handler.name, log));
    } catch (e) {
      log('error', `${handler.name}: checking RAID set "${set.name}" failed: ${(e as Error)?.message ?? String(e)}`);
      return false;
    }
  };
  const wantSet = (set: RaidSet, container: RaidSet[]) => {
    if (set.type === 'group') {
      for (const sub of [...set.sets]) wantSet(sub, set.sets);
      if (set.sets.length === 0) removeSet(top, set);
    } else if (options.name !== undefined && set.name !== options.name) {
      log('notice', `dropping unwanted RAID set "${set.name}"`);
      check(set);
      if (!removeSet(container, set)) removeSet(top, set);
    }
  };

  /** Group one RAID device: its set, or undefined after saying why. */
  const groupOne = (rd: RaidDevice, handler: FormatHandler): RaidSet | undefined => {
    let set: RaidSet | undefined;
    try {
      set = handler.group(rd, groupContext(handler.name, log, top));
    } catch (e) {
      log('error', `${handler.name}: grouping ${rd.device.path} failed: ${(e as Error)?.message ?? String(e)}`);
      set = undefined;
    }
    if (set) return set;
    if (rd.type !== 'spare') log('error', `adding ${rd.device.path} to RAID set "${rd.name}"`);
    const stale = findSet(top, rd.name, true);
    if (stale) {
      log('error', `removing RAID set "${stale.name}"`);
      removeSet(top, stale);
    }
    return undefined;
  };

  // A disk and the volumes it carries are grouped as dmraid groups a container in one call: one "added" line
  // for the disk, and its group set wanted (unwanted volumes dropped, an empty group removed) only once
  // the volumes are in it.
  const listed = new Set(rds);
  for (const disk of rds) {
    if (disk.volumeOf && listed.has(disk.volumeOf)) continue;
    const unit = [disk, ...rds.filter((v) => v.volumeOf === disk)];
    const later: RaidSet[] = [];
    let last: RaidSet | undefined;
    for (const rd of unit) {
      const handler = byName.get(rd.format);
      const set = handler && groupOne(rd, handler);
      if (!set) continue;
      if (set !== last) log('notice', `added ${rd.device.path} to RAID set "${set.name}"`);
      last = set;
      if (set.type === 'group' && unit.length > 1) {
        if (!later.includes(set)) later.push(set);
      } else wantSet(set, top);
    }
    for (const set of later) wantSet(set, top);
  }

  for (const set of top) setAsideStale(set);
  for (const set of [...top]) {
    if (check(set)) continue;
    if (options.keepFailed) {
      if (set.type !== 'raid1') log('info', `keeping inconsistent RAID set "${set.name}"`);
    } else if (set.type === 'raid1') log('error', `keeping degraded mirror set "${set.name}"`);
    else {
      log('error', `removing inconsistent RAID set "${set.name}"`);
      removeSet(top, set);
    }
  }
  return top;
}

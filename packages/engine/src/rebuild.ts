/**
 * Offline rebuild (md's `recover` sync action, without the kernel): the data of one member is written anew
 * from the redundancy of every set of a run that holds it — a mirror leg copied from an in-sync leg, a
 * RAID4/5 member recomputed as the XOR of the others (parity and data alike: any member of a row is the XOR
 * of the rest, whatever the layout), a RAID6 member recomputed from the volume's rows as the raid6 target
 * reads them without it (its data chunks are the volume's bytes, its P and Q chunks those of the row's data),
 * also with a second member missing. The member is found in the run's tables as data: through the linear
 * and striped devices above it (an offset helper, a RAID01 half) up to the mirror or raid target that holds
 * it. It writes through the run's Sources, and so through a RAID01 half's striped target to its disks.
 */
import { isDeviceRef, type DeviceRef, type TableTarget } from '@dmraid/core';
import type { Run } from './run.js';
import { flushOf, isIoError, SECTOR, xorInto, type IoError, type Source } from './source.js';
import { encodePQ, isRaid6Type, raid6Stripe, raid6Target, type Raid6Type, type Stripe } from './targets/raid6.js';

export interface RebuildOptions {
  /** Sectors already rebuilt by an earlier run (its last checkpoint): the copy continues there. */
  readonly from?: number;
  /** Sectors done of the total, after each step. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Stops the copy after the step under way; what was copied is flushed and checkpointed first. */
  readonly signal?: AbortSignal;
  /**
   * Called with the sectors done once they are durable on the member (flushed): where a rerun may start.
   * Every `checkpointSectors` and when the copy stops or ends.
   */
  readonly onCheckpoint?: (done: number) => Promise<void> | void;
  readonly checkpointSectors?: number;
  /** Sectors per step (default 2048: 1 MiB). */
  readonly stepSectors?: number;
}

export interface RebuildResult {
  /** Sectors rebuilt, counting those of earlier runs. */
  readonly done: number;
  readonly total: number;
  /** The signal stopped the copy before the end. */
  readonly stopped: boolean;
  /** The mapped devices whose redundancy rebuilt the member, in the order they were done. */
  readonly devices: readonly string[];
}

/** Why a member cannot be rebuilt from a run: not held by any redundant target, or held by one we cannot. */
export interface RebuildProblem {
  readonly problem: string;
}

export const isRebuildProblem = (x: unknown): x is RebuildProblem => typeof x === 'object' && x !== null && 'problem' in x;

/** One piece of work: `length` sectors of the member, each step's sectors made by `produce`, written to `to`. */
interface Unit {
  readonly device: string;
  /** The member's sectors [at, at + n) of this unit as they should be. */
  readonly produce: (at: number, n: number) => Promise<Uint8Array | IoError>;
  readonly to: { source: Source; offset: number };
  readonly length: number;
}

/** The XOR of the same sectors of `from` (one source: a copy). */
const xorOf =
  (from: readonly { source: Source; offset: number }[]) =>
  async (at: number, n: number): Promise<Uint8Array | IoError> => {
    let data: Uint8Array | undefined;
    for (const f of from) {
      const r = await f.source.read(f.offset + at, n);
      if (isIoError(r)) return r;
      if (!data) data = from.length === 1 ? r : new Uint8Array(r);
      else xorInto(data, r);
    }
    return data!;
  };

/**
 * Member `k` of a raid6 target anew: the rows a step touches read through a second raid6 target over the
 * same devices with `k` (and any member already missing) left out, which rebuilds what `k` held from P and
 * Q; then per row, `k`'s chunk as the target's own placement (raid6Stripe) says: a data chunk is the
 * volume's, P or Q is encoded from the row's data.
 */
function raid6Member(type: Raid6Type, length: number, chunk: number, devs: readonly (Source | undefined)[], k: number): Unit['produce'] | string {
  const degraded = raid6Target({ type, length, chunk, devs: devs.map((source, i) => ({ source: i === k ? undefined : source, offset: 0 })), report: () => undefined });
  if (typeof degraded === 'string') return degraded;
  const disks = devs.length;
  const dataDisks = disks - 2;
  const rowSectors = chunk * dataDisks;
  const chunkBytes = chunk * SECTOR;
  // The layout repeats every disks * (disks - 1) rows (raid6.ts's own period).
  const period = disks * (disks - 1);
  const stripes = new Map<number, Stripe>();
  const stripe = (row: number) => {
    let s = stripes.get(row % period);
    if (!s) stripes.set(row % period, (s = raid6Stripe(type, disks, row % period)));
    return s;
  };
  const p = new Uint8Array(chunkBytes);
  const q = new Uint8Array(chunkBytes);
  return async (at, n) => {
    const r0 = Math.floor(at / chunk);
    const r1 = Math.floor((at + n - 1) / chunk);
    const volume = await degraded.read(r0 * rowSectors, (r1 - r0 + 1) * rowSectors);
    if (isIoError(volume)) return volume;
    const out = new Uint8Array((r1 - r0 + 1) * chunkBytes);
    for (let row = r0; row <= r1; row++) {
      const s = stripe(row);
      const base = (row - r0) * rowSectors * SECTOR;
      const data = Array.from({ length: dataDisks }, (_, dd) => volume.subarray(base + dd * chunkBytes, base + (dd + 1) * chunkBytes));
      const dd = s.data.indexOf(k);
      let mine: Uint8Array;
      if (dd >= 0) mine = data[dd]!;
      else {
        encodePQ(s, data, p, q);
        mine = k === s.p ? p : q;
      }
      out.set(mine, (row - r0) * chunkBytes);
    }
    const from = (at - r0 * chunk) * SECTOR;
    return out.subarray(from, from + n * SECTOR);
  };
}

const num = (word: unknown) => (typeof word === 'string' && /^\d+$/.test(word) ? Number(word) : undefined);

/** The legs of a mirror target: `log #logargs logargs... #legs (dev offset)...`. */
function mirrorLegs(t: TableTarget): { ref: DeviceRef; offset: number }[] | undefined {
  const logArgs = num(t.args[1]);
  if (logArgs === undefined) return undefined;
  const at = 2 + logArgs;
  const count = num(t.args[at]);
  if (count === undefined) return undefined;
  const legs: { ref: DeviceRef; offset: number }[] = [];
  for (let i = 0; i < count; i++) {
    const ref = t.args[at + 1 + 2 * i];
    const offset = num(t.args[at + 2 + 2 * i]);
    if (ref === undefined || !isDeviceRef(ref) || offset === undefined) return undefined;
    legs.push({ ref, offset });
  }
  return legs;
}

/** The data devices of a raid target: `type #params params... #devs (meta data)...` (undefined: missing). */
function raidMembers(t: TableTarget): (DeviceRef | undefined)[] | undefined {
  const params = num(t.args[1]);
  if (params === undefined) return undefined;
  const at = 2 + params;
  const count = num(t.args[at]);
  if (count === undefined) return undefined;
  const out: (DeviceRef | undefined)[] = [];
  for (let i = 0; i < count; i++) {
    const data = t.args[at + 2 + 2 * i];
    if (data === undefined) return undefined;
    out.push(isDeviceRef(data) ? data : undefined);
  }
  return out;
}

/** The units that rebuild `member`, in table order, or why there are none. */
function plan(run: Run, member: string): Unit[] | RebuildProblem {
  const target = run.member(member);
  if (!target) return { problem: `${member} is not a member of the run` };
  const sourceOf = (ref: DeviceRef): Source | undefined =>
    ref.kind === 'member' ? run.member(ref.path) : ref.kind === 'mapped' ? run.engine.get(ref.name) : undefined;
  // The devices that hold the member's data without redundancy of their own (linear, striped): rebuilding
  // them through a mirror rebuilds the member.
  const holders = new Set<Source>([target]);
  const holds = (ref: DeviceRef | undefined) => {
    const s = ref && sourceOf(ref);
    return s !== undefined && holders.has(s);
  };
  const units: Unit[] = [];
  for (const table of run.tables) {
    const device = run.engine.get(table.name);
    if (!device) continue;
    for (const t of table.targets) {
      if (t.type === 'linear' || t.type === 'striped') {
        if (t.args.some((a) => isDeviceRef(a) && holds(a))) holders.add(device);
        continue;
      }
      if (t.type === 'mirror') {
        const legs = mirrorLegs(t);
        if (!legs) return { problem: `${table.name}: a mirror table we cannot read` };
        const to = legs.find((l) => holds(l.ref));
        if (!to) continue;
        // The plan puts an in-sync leg first (the kernel's default mirror, which `sync` copies from).
        const from = legs.find((l) => !holds(l.ref));
        if (!from) return { problem: `${table.name}: no other mirror leg to copy from` };
        const fromSource = sourceOf(from.ref);
        const toSource = sourceOf(to.ref)!;
        if (!fromSource) return { problem: `${table.name}: its first mirror leg is missing` };
        units.push({ device: table.name, produce: xorOf([{ source: fromSource, offset: from.offset }]), to: { source: toSource, offset: to.offset }, length: t.length });
        continue;
      }
      if (t.type === 'raid') {
        const level = String(t.args[0]);
        const members = raidMembers(t);
        if (!members) return { problem: `${table.name}: a raid table we cannot read` };
        const k = members.findIndex((m) => holds(m));
        if (k < 0) continue;
        const to = { source: sourceOf(members[k]!)!, offset: 0 };
        if (isRaid6Type(level)) {
          const devs = members.map((m) => (m ? sourceOf(m) : undefined));
          const gone = devs.filter((d, i) => i !== k && d === undefined).length;
          if (gone > 1) return { problem: `${table.name}: ${gone} other members are missing, nothing to rebuild from` };
          const chunk = num(t.args[2]);
          if (!chunk) return { problem: `${table.name}: a raid table we cannot read` };
          const produce = raid6Member(level, t.length, chunk, devs, k);
          if (typeof produce === 'string') return { problem: `${table.name}: ${produce}` };
          units.push({ device: table.name, produce, to, length: t.length / (members.length - 2) });
          continue;
        }
        if (!/^raid[45]/.test(level)) return { problem: `${table.name}: rebuilding a ${level} member is not supported` };
        const others = members.filter((_, i) => i !== k).map((m) => (m ? sourceOf(m) : undefined));
        if (others.some((s) => s === undefined)) return { problem: `${table.name}: a second member is missing, nothing to rebuild from` };
        const length = t.length / (members.length - 1);
        units.push({ device: table.name, produce: xorOf(others.map((s) => ({ source: s!, offset: 0 }))), to, length });
        continue;
      }
    }
  }
  if (units.length === 0) return { problem: `no mirror, RAID4/5 or RAID6 of the run holds ${member}` };
  return units;
}

/**
 * Rebuild `member` (a member path as the run's tables name it) from the redundancy of every set of `run`
 * that holds it (the run opened writable). Resumable: `from` skips what an earlier run checkpointed.
 */
export async function rebuildMember(run: Run, member: string, options: RebuildOptions = {}): Promise<RebuildResult | RebuildProblem | IoError> {
  const units = plan(run, member);
  if (isRebuildProblem(units)) return units;
  const total = units.reduce((n, u) => n + u.length, 0);
  const step = options.stepSectors ?? 2048;
  const every = options.checkpointSectors ?? 131072;
  let done = Math.min(Math.max(0, options.from ?? 0), total);
  let checkpointed = done;
  const checkpoint = async (to: Source): Promise<true | IoError> => {
    if (done === checkpointed) return true;
    const flushed = await flushOf(to);
    if (isIoError(flushed)) return flushed;
    checkpointed = done;
    await options.onCheckpoint?.(done);
    return true;
  };
  let base = 0;
  for (const unit of units) {
    const end = base + unit.length;
    while (done < end) {
      if (options.signal?.aborted) {
        const c = await checkpoint(unit.to.source);
        return isIoError(c) ? c : { done, total, stopped: true, devices: units.map((u) => u.device) };
      }
      const at = done - base;
      const n = Math.min(step, unit.length - at);
      const data = await unit.produce(at, n);
      if (isIoError(data)) return data;
      const w = await unit.to.source.write(unit.to.offset + at, data);
      if (isIoError(w)) return w;
      done += n;
      options.onProgress?.(done, total);
      if (done - checkpointed >= every) {
        const c = await checkpoint(unit.to.source);
        if (isIoError(c)) return c;
      }
    }
    const c = await checkpoint(unit.to.source);
    if (isIoError(c)) return c;
    base = end;
  }
  return { done, total, stopped: false, devices: units.map((u) => u.device) };
}

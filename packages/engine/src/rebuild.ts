/**
 * Offline rebuild (md's `recover` sync action, without the kernel): the data of one member is written anew
 * from the redundancy of every set of a run that holds it — a mirror leg copied from an in-sync leg, a
 * RAID4/5 member recomputed as the XOR of the others (parity and data alike: any member of a row is the XOR
 * of the rest, whatever the layout). The member is found in the run's tables as data: through the linear
 * and striped devices above it (an offset helper, a RAID01 half) up to the mirror or raid target that holds
 * it. It writes through the run's Sources, and so through a RAID01 half's striped target to its disks.
 */
import { isDeviceRef, type DeviceRef, type TableTarget } from '@dmraid/core';
import type { Run } from './run.js';
import { flushOf, isIoError, xorInto, type IoError, type Source } from './source.js';

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

/** One piece of work: `length` sectors of `from` (several sources: their XOR) written to `to`. */
interface Unit {
  readonly device: string;
  readonly from: readonly { source: Source; offset: number }[];
  readonly to: { source: Source; offset: number };
  readonly length: number;
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
        units.push({ device: table.name, from: [{ source: fromSource, offset: from.offset }], to: { source: toSource, offset: to.offset }, length: t.length });
        continue;
      }
      if (t.type === 'raid') {
        const level = String(t.args[0]);
        const members = raidMembers(t);
        if (!members) return { problem: `${table.name}: a raid table we cannot read` };
        const k = members.findIndex((m) => holds(m));
        if (k < 0) continue;
        if (!/^raid[45]/.test(level)) return { problem: `${table.name}: rebuilding a ${level} member is not supported` };
        const others = members.filter((_, i) => i !== k).map((m) => (m ? sourceOf(m) : undefined));
        if (others.some((s) => s === undefined)) return { problem: `${table.name}: a second member is missing, nothing to rebuild from` };
        const length = t.length / (members.length - 1);
        units.push({ device: table.name, from: others.map((s) => ({ source: s!, offset: 0 })), to: { source: sourceOf(members[k]!)!, offset: 0 }, length });
        continue;
      }
    }
  }
  if (units.length === 0) return { problem: `no mirror or RAID4/5 of the run holds ${member}` };
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
      let data: Uint8Array | undefined;
      for (const f of unit.from) {
        const r = await f.source.read(f.offset + at, n);
        if (isIoError(r)) return r;
        if (!data) data = unit.from.length === 1 ? r : new Uint8Array(r);
        else xorInto(data, r);
      }
      const w = await unit.to.source.write(unit.to.offset + at, data!);
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

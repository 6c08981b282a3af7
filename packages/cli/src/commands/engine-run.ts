/**
 * Ours: the set's volume without the kernel. `--extract`, `--serve` and `--check-data` take the sets'
 * device-mapper tables (the activation plan of the sets discovery finds, or `--tables FILE` as `dmraid
 * -tay` prints them) and open them in @dmraid/engine's `openRun`; this module maps the options onto that
 * and the run's refusals onto dmraid's `ERROR:` lines, for the three commands alike.
 */
import { promises as fs } from 'node:fs';
import { resolve } from 'node:path';
import { isIoError, overlapping, setsNamed, type BlockDevice } from '@dmraid/core';
import type { DmDevice } from '@dmraid/activation';
import { isOverlayError, isRescueMapError, isRunError, openOverlay, openRun, overlayFile, parseRescueMap, readableSets, type Overlay, type Run, type RunError, type SectorRange } from '@dmraid/engine';
import type { CommandContext } from '../context.js';
import { claimRefusal } from '../claim.js';

/** The `ERROR:` text of a run openRun refused: a member held by another writer, unopenable, or a bad table. */
export function runRefusal(run: RunError): string {
  if (run.kind === 'claim') return claimRefusal(run.error);
  if (run.kind === 'open') return `cannot open device "${run.path}": ${run.error.message}`;
  return `table of "${run.device}": ${run.message}`;
}

export interface SetsRun extends Run {
  /** Devices a client sees: the sets named (a group's volumes), by name, in creation order. */
  readonly exports: readonly string[];
}

/** The sets `wanted` names (every set when none) in the engine, or undefined after the error was printed. */
export async function openSetsRun(ctx: CommandContext, wanted: readonly string[]): Promise<SetsRun | undefined> {
  const planned = ctx.o.engine.tables !== undefined ? await tablesFromFile(ctx, ctx.o.engine.tables) : await tablesFromDiscovery(ctx, wanted);
  if (!planned) return undefined;
  const unreadable = await rescueMaps(ctx, planned.members);
  if (!unreadable) {
    await Promise.all(planned.members.map((m) => (typeof m === 'string' ? undefined : m.close())));
    return undefined;
  }
  const run = await openRun({
    tables: planned.devices,
    members: planned.members,
    unreadable,
    // With an overlay every write goes to it: the members are only read.
    writable: ctx.o.engine.writable && ctx.o.engine.overlay === undefined,
    cwd: ctx.io.cwd,
    onEvent: (m) => ctx.io.stderr(`NOTICE: ${m}\n`),
  });
  if (isRunError(run)) {
    ctx.out.log('error', runRefusal(run));
    return undefined;
  }
  // Discovery has picked the sets already; over --tables the names pick among the tables' top-level devices.
  const byName = ctx.o.engine.tables !== undefined && wanted.length > 0 ? setsNamed(run.sets.map((name) => ({ name, type: 'set', sets: [] })), wanted) : undefined;
  const exports = byName ? byName.sets.map((s) => s.name) : run.sets;
  const unknown = byName?.unknown ?? [];
  if (exports.length === 0 || unknown.length > 0) {
    ctx.out.log('error', `no RAID set ${(unknown.length ? unknown : wanted).map((n) => `"${n}"`).join(', ')} in the tables (${run.sets.join(', ')})`);
    await run.close();
    return undefined;
  }
  return { ...run, exports };
}

/**
 * `--overlay FILE` over the volume `name` of the run: writes (when `writable`) go to FILE, made when
 * missing; the members stay read-only. Undefined after the error was printed: a file that shares storage
 * with a member, one that is no overlay, or one made for another volume.
 */
export async function openVolumeOverlay(ctx: CommandContext, run: SetsRun, name: string, writable: boolean): Promise<{ volume: Overlay; close(): void } | undefined> {
  const file = ctx.o.engine.overlay!;
  const path = resolve(ctx.io.cwd, file);
  const member = await overlapping(path, [...run.members], ctx.sysfs);
  if (member !== undefined) {
    ctx.out.log('error', `overlay "${file}" shares storage with member ${member} of the set: the members are never written`);
    return undefined;
  }
  const origin = run.engine.get(name)!;
  const store = overlayFile(path, { create: writable, writable, volumeSectors: origin.sizeSectors });
  if (isIoError(store)) {
    ctx.out.log('error', `cannot open overlay "${file}": ${store.message}`);
    return undefined;
  }
  const volume = await openOverlay(origin, store, { identity: { name, sizeSectors: origin.sizeSectors }, create: writable, writable });
  if (isOverlayError(volume)) {
    store.close();
    ctx.out.log('error', `overlay "${file}" ${volume.message}`);
    return undefined;
  }
  return { volume, close: () => store.close() };
}

/**
 * `--rescue-map IMG=MAPFILE`: each member image's unreadable sectors, by its path; undefined after the
 * error was printed (a mapfile that cannot be read or is malformed, an image that is no member of the run).
 */
async function rescueMaps(ctx: CommandContext, members: readonly (BlockDevice | string)[]): Promise<Map<string, readonly SectorRange[]> | undefined> {
  const out = new Map<string, readonly SectorRange[]>();
  for (const { image, map } of ctx.o.engine.rescueMaps) {
    const full = resolve(ctx.io.cwd, image);
    const member = members.find((m) => resolve(ctx.io.cwd, typeof m === 'string' ? m : m.path) === full);
    if (member === undefined) {
      const names = members.map((m) => (typeof m === 'string' ? m : m.path)).join(', ');
      ctx.out.log('error', `rescue map for "${image}": not a member of the set${names ? ` (members: ${names})` : ''}`);
      return undefined;
    }
    if (out.has(full)) {
      ctx.out.log('error', `rescue map for "${image}" given twice`);
      return undefined;
    }
    const text = await fs.readFile(resolve(ctx.io.cwd, map), 'utf8').catch((e: Error) => e);
    if (text instanceof Error) {
      ctx.out.log('error', `cannot read rescue map "${map}": ${text.message}`);
      return undefined;
    }
    const size = typeof member === 'string' ? await fs.stat(full).then((st) => (st.isFile() ? st.size : undefined), () => undefined) : member.sizeSectors * 512;
    if (size === undefined) {
      ctx.out.log('error', `rescue map for "${image}": not an image file (give the image ddrescue wrote)`);
      return undefined;
    }
    const bad = parseRescueMap(text, map, size);
    if (isRescueMapError(bad)) {
      ctx.out.log('error', `rescue map "${map}" line ${bad.line}: ${bad.message}`);
      return undefined;
    }
    out.set(full, bad);
  }
  return out;
}

interface Planned {
  readonly devices: readonly DmDevice[];
  /** The member devices the tables map onto: opened (discovery's) or by path. */
  readonly members: readonly (BlockDevice | string)[];
}

/** `--tables FILE`: the user's `dmraid -tay` text, read through activation's parser. */
async function tablesFromFile(ctx: CommandContext, file: string): Promise<Planned | undefined> {
  const text = await fs.readFile(resolve(ctx.io.cwd, file), 'utf8').catch((e: Error) => e);
  if (text instanceof Error) {
    ctx.out.log('error', `cannot read tables "${file}": ${text.message}`);
    return undefined;
  }
  const { parseTestTables } = await import('@dmraid/activation');
  const parsed = parseTestTables(text);
  if (typeof parsed === 'string') {
    ctx.out.log('error', parsed);
    return undefined;
  }
  return { devices: parsed, members: [...new Set(parsed.flatMap((d) => d.members))] };
}

async function tablesFromDiscovery(ctx: CommandContext, wanted: readonly string[]): Promise<Planned | undefined> {
  // Discovery only reads: the members the tables use are opened for writing by the run.
  const devices = await ctx.openDevices(false);
  if (!devices) return undefined;
  // The devices the run is given are its to close; the others are closed here.
  const handOver = async (members: readonly BlockDevice[]) => {
    await Promise.all(devices.filter((d) => !members.includes(d)).map((d) => d.close()));
    return members;
  };
  // Recovery wants the sets dmraid drops as inconsistent (a RAID5 with a member missing): the handlers'
  // checks still run (status, messages), but no set is removed for failing one.
  const { sets } = await ctx.discover(devices, { keepFailed: true });
  const named = wanted.length === 0 ? { sets, unknown: [] } : setsNamed(sets, wanted);
  // Every name asked for must be there: a mistyped one is an error, not a set left out without a word.
  if (named.sets.length === 0 || named.unknown.length > 0) {
    // The names as `-s -c` prints them: a group's volumes.
    const names = sets.flatMap((s) => (s.type === 'group' ? s.sets.map((v) => v.name) : [s.name]));
    const there = names.length ? ` (RAID sets found: ${names.join(', ')})` : '';
    ctx.out.log('error', wanted.length === 0 ? 'no RAID set found' : `no RAID set ${named.unknown.map((n) => `"${n}"`).join(', ')} found${there}`);
    await handOver([]);
    return undefined;
  }
  const chosen = readableSets(named.sets, (set, why) => ctx.out.log('error', `cannot read RAID set "${set}": ${why}`));
  if (chosen.length === 0) {
    await handOver([]);
    return undefined;
  }
  // Loaded here: a run over --tables needs no activation plan (start-up counts for --extract).
  const { planActivation } = await import('@dmraid/activation');
  // A mirror with one leg left is that leg (not the reference's concatenation with zeros).
  const planned = planActivation(chosen, { partitions: false });
  for (const p of planned.problems) ctx.out.log('error', p.text);
  if (planned.plan.devices.length === 0) {
    // The planner's problems said why; a set it gave no reason for gets this one.
    if (planned.problems.length === 0) ctx.out.log('error', `cannot map ${chosen.map((s) => `"${s.name}"`).join(', ')} (give the tables with --tables FILE)`);
    await handOver([]);
    return undefined;
  }
  // Only what the tables name is opened again (and claimed, when written): discovery may have opened
  // every disk of the machine.
  const used = new Set(planned.plan.devices.flatMap((d) => d.members).map((p) => resolve(ctx.io.cwd, p)));
  return { devices: planned.plan.devices, members: await handOver(devices.filter((d) => used.has(resolve(ctx.io.cwd, d.path)))) };
}

/** Aborts on the first SIGINT or SIGTERM, or when the caller's signal does; dispose() detaches it all. */
export function stopSignal(caller?: AbortSignal): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  if (caller?.aborted) stop();
  caller?.addEventListener('abort', stop, { once: true });
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      caller?.removeEventListener('abort', stop);
    },
  };
}

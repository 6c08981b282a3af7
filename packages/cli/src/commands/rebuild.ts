/**
 * `-R SET [DEVICE]`: the set's rebuild written (onto DEVICE), through the handler's rebuild; then, for a
 * handler that can end one (`rebuilt`), the data: @dmraid/engine's rebuildMember copies or reconstructs
 * every volume DEVICE holds from the set's redundancy, with progress and a checkpoint file, and only then
 * the handler writes the member in sync and the set normal. Stopped (SIGINT, SIGTERM) or failed, the
 * metadata still says rebuilding; the same -R again continues from the checkpoint. A set active in the
 * kernel is rebuilt by the kernel instead: its tables are reloaded with DEVICE and --monitor ends it.
 */
import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import { allDevices, findSet, isIoError, setFormat, type BlockDevice, type FormatHandler, type RaidDevice, type RaidSet } from '@dmraid/core';
import { isRebuildProblem, isRunError, openRun, rebuildMember } from '@dmraid/engine';
import type { DeviceClaims } from '../claim.js';
import type { CommandContext } from '../context.js';
import { mib, progress } from '../progress.js';
import { runRefusal, stopSignal } from './engine-run.js';
import { byName, claim, memberPaths, perform, Refused, writeCommand } from './write.js';
import type { KernelActivator } from '@dmraid/activation';
import { monitorClaims } from '../monitor/claims.js';
import { volumesOf } from '../monitor/model.js';
import { isSetDevice, ownDevices, planNames, reloadVolume, stepFailure } from '../monitor/reload-set.js';
import { realSystem } from '../monitor/system.js';

export default async function command(ctx: CommandContext): Promise<number> {
  return writeCommand(ctx, rebuild);
}

async function rebuild(ctx: CommandContext, devices: BlockDevice[], claims: DeviceClaims): Promise<number> {
  const setName = ctx.o.rebuildSet!;
  const path = ctx.o.operands[0] ?? ctx.o.media;
  const { sets, raidDevices } = await ctx.discover(devices, { name: setName });
  const set = findSet(sets, setName, true);
  if (!set) throw new Refused(`no RAID set found with name "${setName}"`);
  const handler = byName(ctx, setFormat(set));
  const rebuildFn = handler?.rebuild;
  if (!handler || !rebuildFn) throw new Refused(`rebuild is not supported in "${handler?.name ?? setFormat(set)}" format`);
  let device: BlockDevice | undefined;
  if (path !== undefined) {
    device = devices.find((d) => d.path === path);
    if (!device) throw new Refused(`failed to find disk ${path}`);
    // The reference writes the metadata onto any disk, leaving a member whose data runs past its end.
    const needs = memberNeeds(set, raidDevices, device.path);
    if (needs !== undefined && device.sizeSectors < needs) {
      throw new Refused(`device "${device.path}" is too small to rebuild RAID set "${set.name}" onto: it has ${device.sizeSectors} sectors, a member needs ${needs} (its data and metadata)`);
    }
  }
  if (device !== undefined) {
    const live = await liveVolumes(set);
    if (live) return kernelRebuild(ctx, handler, devices, set, device, live);
  }
  await claim(claims, [...memberPaths(set), ...(device ? [device.path] : [])]);
  // A rerun after a stop: the metadata has DEVICE rebuilding in this set already, the copy goes on.
  const resuming = device !== undefined && handler.rebuilt !== undefined && rebuildingOnto([set], device.path).length > 0;
  if (!resuming) {
    const status = await perform(ctx, handler, devices, claims, false, (w) => rebuildFn.call(handler, set, device, w));
    if (status !== 0 || !device || !handler.rebuilt) return status;
    // A fresh rebuild: what an earlier one onto this disk checkpointed is not its data.
    await fs.rm(checkpointPath(ctx, handler, setName), { force: true });
  }
  return copyAndFinish(ctx, handler, devices, claims, setName, device!);
}

interface LiveVolumes {
  readonly kernel: KernelActivator;
  /** The set's volumes that are active in the kernel. */
  readonly names: readonly string[];
  /** The device-mapper devices of the set (those volumes, their subsets and helpers). */
  readonly own: ReadonlySet<string>;
}

/** The set's volumes active in the kernel (dm uuid DMRAID-<name>), or undefined when none is. */
async function liveVolumes(set: RaidSet): Promise<LiveVolumes | undefined> {
  const act = await import('@dmraid/activation');
  const kernel = new act.KernelActivator(act.execDmsetup(process.env.DMRAID_DMSETUP || 'dmsetup'));
  const info = (await kernel.info()) ?? [];
  const live = new Set(info.filter(isSetDevice).map((i) => i.name));
  const names = volumesOf([set]).map((v) => v.volume.name).filter((n) => live.has(n));
  if (names.length === 0) return undefined;
  return { kernel, names, own: await ownDevices(set, info) };
}

/**
 * -R of a set active in the kernel: the handler's rebuild written (the members are held by the set's own
 * device-mapper devices, which the monitor's claim accepts), then the tables reloaded in place so the new
 * member joins and the kernel resyncs onto it. The end of the rebuild is the monitor's: it writes `rebuilt`
 * once the kernel reports the member in sync. No engine copy: the kernel writes the volume.
 */
async function kernelRebuild(ctx: CommandContext, handler: FormatHandler, devices: BlockDevice[], set: RaidSet, device: BlockDevice, live: LiveVolumes): Promise<number> {
  const claims = monitorClaims(ctx.io.cwd, realSystem(live.kernel, ctx.sysfs), live.own);
  await claim(claims, [...memberPaths(set), device.path]);
  const previous = new Map<string, string[]>();
  for (const v of volumesOf([set])) previous.set(v.volume.name, await planNames(v.volume));
  const resuming = rebuildingOnto([set], device.path).length > 0;
  if (!resuming) {
    const status = await perform(ctx, handler, devices, claims, false, (w) => handler.rebuild!.call(handler, set, device, w));
    if (status !== 0) return status;
  }
  const { sets } = await ctx.discover(devices, { name: set.name });
  const now = findSet(sets, set.name, true);
  if (!now) {
    ctx.out.log('error', `no RAID set found with name "${set.name}" after the rebuild was written: its tables stay as they are`);
    return 1;
  }
  let ok = true;
  for (const v of volumesOf([now]).filter((x) => live.names.includes(x.volume.name))) {
    const r = await reloadVolume(live.kernel, v.volume, previous.get(v.volume.name) ?? []);
    for (const p of r.problems) ctx.out.log('error', `${p}: the table of "${v.volume.name}" stays as it is`);
    for (const step of r.steps) {
      if (step.error !== undefined) ctx.out.log('error', stepFailure(step));
    }
    if (r.problems.length > 0 || r.steps.some((x) => x.error !== undefined)) {
      ok = false;
      continue;
    }
    ctx.out.line(`${handler.name}: RAID set "${v.volume.name}" is active: its table ${r.steps.length > 0 ? 'was reloaded with' : 'already maps'} ${device.path}, and the kernel resyncs onto it; \`dmraid --monitor\` (or \`dmraid --monitor --once\` after the resync) ends the rebuild`);
  }
  return ok ? 0 : 1;
}

/** The volumes (non-group sets) of `sets` whose metadata has `path` as the member a rebuild writes to. */
function rebuildingOnto(sets: readonly RaidSet[], path: string): RaidSet[] {
  const out: RaidSet[] = [];
  const walk = (s: RaidSet) => {
    if (s.type === 'group') return s.sets.forEach(walk);
    if (allDevices(s).some((rd) => rd.device.path === path && rd.outOfSync !== undefined)) out.push(s);
  };
  sets.forEach(walk);
  return out;
}

/** Where a rebuild's progress is kept between runs: beside the backups, one file per set. */
const checkpointPath = (ctx: CommandContext, handler: FormatHandler, setName: string) =>
  join(ctx.io.cwd, `dmraid.${handler.name}`, `rebuild-${setName.replace(/[^\w.-]/g, '_')}.json`);

interface Checkpoint {
  readonly device: string;
  readonly serial: string;
  readonly total: number;
  readonly done: number;
}

async function readCheckpoint(file: string, device: BlockDevice, cwd: string): Promise<Checkpoint | undefined> {
  const text = await fs.readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const c = JSON.parse(text) as Checkpoint;
    const sameDisk = c.device === resolve(cwd, device.path) && c.serial === (device.serial ?? '');
    return sameDisk && Number.isSafeInteger(c.done) && Number.isSafeInteger(c.total) ? c : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The data onto `device` for every volume whose metadata has it rebuilding, then the handler's `rebuilt`.
 * The metadata claims the member in sync only after every byte was written and flushed.
 */
async function copyAndFinish(ctx: CommandContext, handler: FormatHandler, devices: BlockDevice[], claims: DeviceClaims, setName: string, device: BlockDevice): Promise<number> {
  const { sets } = await ctx.discover(devices);
  const volumes = rebuildingOnto(sets, device.path);
  if (volumes.length === 0) {
    ctx.out.log('error', `the metadata of RAID set "${setName}" does not show ${device.path} rebuilding: no data copied`);
    return 1;
  }
  const { planActivation } = await import('@dmraid/activation');
  const planned = planActivation(volumes, { partitions: false });
  for (const p of planned.problems) ctx.out.log('error', p.text);
  if (planned.problems.length > 0 || planned.plan.devices.length === 0) return 1;
  const members = [...new Set(planned.plan.devices.flatMap((d) => d.members))];
  // The run claims the members itself (a block device's exclusive open is per open, so ours would refuse
  // it); they are claimed again before the metadata's last write.
  await claims.release();
  const run = await openRun({ tables: planned.plan.devices, members, writable: true, cwd: ctx.io.cwd });
  if (isRunError(run)) {
    ctx.out.log('error', runRefusal(run));
    return 1;
  }
  const file = checkpointPath(ctx, handler, setName);
  const earlier = await readCheckpoint(file, device, ctx.io.cwd);
  const stop = stopSignal(ctx.signal);
  const shown = progress(ctx.io, `rebuild ${device.path}`, { json: ctx.o.json, everyMs: ctx.progressEveryMs });
  let total = 0;
  const result = await rebuildMember(run, device.path, {
    ...(earlier ? { from: earlier.done } : {}),
    signal: stop.signal,
    onProgress: (done, all) => shown.update(done, (total = all)),
    onCheckpoint: async (done) => {
      await fs.mkdir(join(ctx.io.cwd, `dmraid.${handler.name}`), { recursive: true });
      const c: Checkpoint = { device: resolve(ctx.io.cwd, device.path), serial: device.serial ?? '', total, done };
      await fs.writeFile(file, `${JSON.stringify(c)}\n`);
    },
  }).finally(async () => {
    shown.end();
    stop.dispose();
    await run.close();
  });
  if (isIoError(result)) {
    ctx.out.log('error', `rebuild of "${setName}" onto ${device.path} failed: ${result.path}: ${result.message} (the metadata still says rebuilding; -R again continues)`);
    return 1;
  }
  if (isRebuildProblem(result)) {
    ctx.out.log('error', `cannot rebuild ${device.path} in RAID set "${setName}": ${result.problem}`);
    return 1;
  }
  if (result.stopped) {
    ctx.out.log('error', `rebuild of "${setName}" onto ${device.path} stopped at ${mib(result.done)} of ${mib(result.total)} (the metadata still says rebuilding; -R ${setName} ${device.path} again continues)`);
    return 1;
  }
  // Read anew: what the handler ends is the metadata as the rebuild's start wrote it.
  const { sets: after } = await ctx.discover(devices, { name: setName });
  const set = findSet(after, setName, true);
  if (!set) {
    ctx.out.log('error', `no RAID set found with name "${setName}"`);
    return 1;
  }
  await claim(claims, [...memberPaths(set), device.path]);
  const status = await perform(ctx, handler, devices, claims, true, (w) => handler.rebuilt!.call(handler, set, device, w));
  if (status === 0) {
    await fs.rm(file, { force: true });
    ctx.out.line(`${handler.name}: ${device.path} rebuilt (${mib(result.total)} of ${result.devices.join(', ')})`);
  }
  return status;
}

/**
 * The sectors a member of `set` takes on its disk, measured on the members present (undefined when there is
 * none): the end of the data of every volume the disk holds (a rebuild rewrites them all), and the metadata
 * the format keeps behind it up to the disk's end. A group's per-disk device spans the disk: not data.
 */
function memberNeeds(set: RaidSet, raidDevices: readonly RaidDevice[], target: string): number | undefined {
  const format = setFormat(set);
  let needs: number | undefined;
  for (const path of new Set(memberPaths(set))) {
    if (path === target) continue;
    const onDisk = raidDevices.filter((rd) => rd.device.path === path && rd.format === format);
    const data = onDisk.filter((rd) => rd.type !== 'group' && rd.type !== 'spare');
    if (data.length === 0) continue;
    const dataEnd = Math.max(...data.map((rd) => rd.offset + rd.sectors));
    const behind = onDisk.flatMap((rd) => rd.areas.map((a) => a.offsetSectors)).filter((at) => at >= dataEnd);
    const metadata = behind.length > 0 ? onDisk[0]!.device.sizeSectors - Math.min(...behind) : 0;
    needs = Math.max(needs ?? 0, dataEnd + metadata);
  }
  return needs;
}

/**
 * `-a y|n [SET]` (with `-t`: print the tables / the sets' state instead): dmraid's activation, through
 * @dmraid/activation's tables and dmsetup. `DMRAID_DMSETUP` names another dmsetup (tests),
 * `DMRAID_LOCKFILE` another lock file and `DMRAID_LOCK_WAIT_MS` how long to wait for it (default 10 s).
 */
import { promises as fs } from 'node:fs';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { checkContext, deviceNumberText, type RaidSet } from '@dmraid/core';
import type { CommandContext } from '../context.js';
import { withDevices } from '../devices.js';
import { formatError } from '../display.js';

export default async function command(ctx: CommandContext): Promise<number> {
  const { o, out } = ctx;
  const act = await import('@dmraid/activation');
  let lock: { release(): Promise<void> } | undefined;
  if (!o.test && !o.ignoreLocking) {
    const l = await act.acquireLock(process.env.DMRAID_LOCKFILE || act.LOCK_FILE, Number(process.env.DMRAID_LOCK_WAIT_MS) || undefined);
    if (typeof l === 'string') {
      out.log('error', l);
      return 1;
    }
    lock = l;
  }
  try {
    return await perform(ctx, act);
  } finally {
    await lock?.release();
  }
}

type Activation = typeof import('@dmraid/activation');

async function perform(ctx: CommandContext, act: Activation): Promise<number> {
  const { o, out } = ctx;
  let sets: RaidSet[] = [];
  const status = await withDevices(ctx, {}, async (devices) => {
    const found = await ctx.discover(devices, { name: o.operands[0] });
    if (found.disks.length === 0) {
      out.log('print', formatError(o, 'disks'));
      return 1;
    }
    sets = found.sets;
    return 0;
  });
  if (status !== 0) return status;
  if (sets.length === 0) {
    out.log('error', o.operands.length > 0 ? 'either the required RAID set not found or more options required' : 'no RAID set found');
    out.log('print', formatError(o, 'sets'));
    return 1;
  }
  const kernel = new act.KernelActivator(act.execDmsetup(process.env.DMRAID_DMSETUP || 'dmsetup'));
  const byName = new Map(ctx.handlers.map((h) => [h.name, h]));
  const canActivate = (set: RaidSet) => {
    const format = set.devs[0]?.format;
    const h = format ? byName.get(format) : undefined;
    if (!h?.canActivate) return true;
    return h.canActivate(set, checkContext(h.name, out.log));
  };
  return o.activate === 'no' ? deactivate(ctx, act, kernel, sets) : activate(ctx, act, kernel, sets, canActivate);
}

/**
 * The snapshot table over the one set shown, its chunk size the COW file's own where it is an overlay
 * already (the kernel takes the store's chunk size over the table's), else the engine's default.
 */
async function printOverlay(ctx: CommandContext, act: Activation, plan: ReturnType<Activation['planActivation']>['plan']): Promise<number> {
  const cow = ctx.o.engine.overlay!;
  const shown = plan.shown.filter((s) => s.table !== undefined);
  const set = shown.length === 1 ? plan.devices.find((d) => d.name === shown[0]!.name) : undefined;
  if (!set) {
    ctx.out.log('error', `--overlay ${cow} takes one RAID set: name one of ${plan.shown.map((s) => `"${s.name}"`).join(', ') || '(none)'}`);
    return 1;
  }
  const { DEFAULT_OVERLAY_CHUNK, SNAP_MAGIC, SNAPSHOT_HEADER } = await import('@dmraid/engine');
  const first = await readStart(resolve(ctx.io.cwd, cow), SNAPSHOT_HEADER.size);
  const header = first ? SNAPSHOT_HEADER.decodeFrom(first) : undefined;
  const chunk = header?.magic === SNAP_MAGIC ? header.chunk_size : DEFAULT_OVERLAY_CHUNK;
  for (const l of act.tableLines({ devices: [], shown: [act.overlayDevice(set, cow, chunk)] })) ctx.out.line(l);
  return 0;
}

/** The first bytes of a file or device, or undefined when it cannot be read (a COW device yet to be made). */
async function readStart(path: string, length: number): Promise<Uint8Array | undefined> {
  const f = await fs.open(path, 'r').catch(() => undefined);
  if (!f) return undefined;
  try {
    const b = new Uint8Array(length);
    const { bytesRead } = await f.read(b, 0, length, 0);
    return bytesRead === length ? b : undefined;
  } finally {
    await f.close();
  }
}

async function activate(ctx: CommandContext, act: Activation, kernel: InstanceType<Activation['KernelActivator']>, sets: RaidSet[], canActivate: (s: RaidSet) => boolean): Promise<number> {
  const { o, out } = ctx;
  if (o.test) {
    const { plan, problems } = act.planActivation(sets, { canActivate });
    for (const p of problems) out.log('error', p.text);
    for (const l of act.tableLines(plan)) out.line(l);
    return o.engine.overlay === undefined ? 0 : printOverlay(ctx, act, plan);
  }
  if (o.engine.overlay !== undefined) {
    out.log('error', '--overlay with -ay prints the snapshot table with -t (-tay --overlay DEVICE); dmraid does not load it');
    return 1;
  }
  const present = (await kernel.list()) ?? new Set<string>();
  const { plan, problems, alreadyActive } = act.planActivation(sets, { canActivate, active: (n) => present.has(n) });
  for (const n of alreadyActive) out.log('print', `RAID set "${n}" already active`);
  for (const p of problems) out.log('error', p.text);
  const run = await kernel.activate(plan, present);
  for (const r of run.reports) out.log(r.level, r.text);
  if (!run.ok) return 1;
  if (!o.noPartitions) {
    const now = (await kernel.list()) ?? new Set<string>();
    const tops = sets.flatMap((s) => (s.type === 'group' ? s.sets : [s])).filter((s) => now.has(s.name));
    const parts = [];
    for (const s of tops) {
      const found = await partitionsOf(act, s.name);
      parts.push(...act.partitionDevices(s.name, found, o.partChar));
    }
    const pr = await kernel.activate({ devices: parts }, now);
    for (const r of pr.reports) out.log(r.level, r.text);
    if (!pr.ok) return 1;
  }
  if (o.rmPartitions) await removeMemberPartitions(sets);
  return 0;
}

/** The partitions on /dev/mapper/<name>, read through the kernel as dmraid does. */
async function partitionsOf(act: Activation, name: string) {
  const path = act.mapperPath(name);
  const h = await fs.open(path, 'r').catch(() => undefined);
  if (!h) return [];
  try {
    const size = await sizeOf(h);
    return await act.readPartitions(async (sector, count) => {
      const buf = new Uint8Array(count * 512);
      const r = await h.read(buf, 0, buf.length, sector * 512).catch(() => undefined);
      return r && r.bytesRead === buf.length ? buf : undefined;
    }, size);
  } finally {
    await h.close();
  }
}

async function sizeOf(h: fs.FileHandle): Promise<number> {
  const st = await h.stat();
  if (st.size > 0) return Math.floor(st.size / 512);
  // A block device's stat size is 0: sysfs has it.
  const size = await fs.readFile(`/sys/dev/block/${deviceNumberText(st.rdev)}/size`, 'utf8').catch(() => '0');
  return Number(size.trim()) || 0;
}

/** `-Z`: drop the kernel's partitions of the member disks (dmraid uses BLKPG; partx does the same). */
async function removeMemberPartitions(sets: RaidSet[]) {
  const disks = new Set<string>();
  const walk = (s: RaidSet) => {
    s.sets.forEach(walk);
    for (const rd of s.devs) disks.add(rd.device.path);
  };
  sets.forEach(walk);
  for (const d of disks) {
    await new Promise<void>((resolve) => {
      const c = spawn('partx', ['-d', d], { stdio: 'ignore' });
      c.on('error', () => resolve());
      c.on('close', () => resolve());
    });
  }
}

async function deactivate(ctx: CommandContext, act: Activation, kernel: InstanceType<Activation['KernelActivator']>, sets: RaidSet[]): Promise<number> {
  const { o, out } = ctx;
  const present = (await kernel.list()) ?? new Set<string>();
  const escape = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const helpersOf = (name: string) => [...present].filter((n) => new RegExp(`^${escape(name)}-d[0-9]+$`).test(n));
  // dmraid first finds the partitions of every active set and deactivates those partition sets, then the sets.
  const tops = sets.flatMap((s) => (s.type === 'group' ? s.sets : [s]));
  for (const s of tops) {
    if (!present.has(s.name)) continue;
    for (const p of act.partitionDevices(s.name, await partitionsOf(act, s.name), o.partChar)) {
      if (o.test) out.log('print', `${p.name} [${present.has(p.name) ? '' : 'in'}active]`);
      else if (!present.has(p.name)) out.log('print', `RAID set "${p.name}" is not active`);
      else {
        const r = await kernel.deactivate([p.name]);
        for (const rep of r.reports) out.log(rep.level, rep.text);
        if (!r.ok) return 1;
      }
    }
  }
  const walk = async (rs: RaidSet): Promise<boolean> => {
    if (rs.type !== 'group') {
      const active = present.has(rs.name);
      if (o.test) out.log('print', `${rs.name} [${active ? '' : 'in'}active]`);
      else if (active) {
        const r = await kernel.deactivate([rs.name, ...helpersOf(rs.name)]);
        for (const rep of r.reports) out.log(rep.level, rep.text);
        if (!r.ok) return false;
      } else out.log('print', `RAID set "${rs.name}" is not active`);
    }
    for (const r of rs.sets) if (!(await walk(r))) return false;
    return true;
  };
  for (const s of sets) if (!(await walk(s))) return 1;
  return 0;
}

/**
 * Ours: the set's volume without the kernel. `--extract SET -o FILE`, `--serve [SET...]` (NBD) and
 * `--check-data SET` build the sets' device-mapper tables (the activation plan, or `--tables FILE` as
 * `dmraid -tay` prints them) and run them in @dmraid/engine over the member devices or image files.
 */
import { constants, promises as fs } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, resolve } from 'node:path';
import { isatty } from 'node:tty';
import { buildSets, diskDevices, discoverRaidDevices, fromNodeError, isIoError, openDevice, overlapping, overlappingFd, renderTable, splitTableWords, typeDisplay, type BlockDevice, type IoError, type RaidSet, type TableTarget } from '@dmraid/core';
import type { DmDevice } from '@dmraid/activation';
import {
  checkData,
  createEngine,
  deviceSource,
  claimError,
  extract,
  fileSource,
  isTableError,
  isZero,
  isUnixSocketPath,
  memberLookup,
  NbdServer,
  NbdWorkers,
  SECTOR,
  typedArgs,
  uint,
  type Engine,
  type Source,
  type TableLine,
  type WorkerSpec,
} from '@dmraid/engine';
import type { CommandContext } from '../main.js';
import { confirm } from '../metadata-io.js';
import { mib, progress } from '../progress.js';
import { claimRefusal, openForWritingError, otherWriters } from '../claim.js';

interface Run {
  readonly engine: Engine;
  /** Devices a client sees: the sets (and their partitions), by name. */
  readonly exports: string[];
  /** What serving processes need to build the same engine; undefined when a member is not a file by path. */
  readonly spec: WorkerSpec | undefined;
  /** The member devices and image files the run reads, as absolute paths. */
  readonly members: string[];
  close(): Promise<void>;
}

/**
 * `NAME: START LENGTH TARGET ARGS...` lines, as `dmraid -tay` prints them, in creation order. Arguments are
 * split as the kernel splits them (a backslash makes the next character literal: `sp\ ace.img`), and the
 * device arguments found by each target's syntax, so a member path is never guessed from a word.
 */
export function parseTestTables(text: string): DmDevice[] | string {
  const order: string[] = [];
  const lines = new Map<string, TableLine[]>();
  for (const raw of text.split('\n')) {
    if (!raw.trim()) continue;
    const m = /^\s*(\S+?):\s+(\d[^]*)$/.exec(raw);
    const [start, length, type, ...args] = m ? splitTableWords(m[2]!) : [];
    const s = uint(start);
    const l = uint(length);
    if (!m || s === undefined || l === undefined || type === undefined) return `not a table line: "${raw.trim()}"`;
    if (!lines.has(m[1]!)) {
      order.push(m[1]!);
      lines.set(m[1]!, []);
    }
    lines.get(m[1]!)!.push({ start: s, length: l, type, args });
  }
  const names = new Set(order);
  return order.map((name) => {
    const targets = lines.get(name)!.map((t) => ({ ...t, args: typedArgs(t.type, t.args, (n) => names.has(n)) }));
    return { name, targets, table: renderTable(targets), dependsOn: [...new Set(mappedNames(targets))], set: name, role: 'set' as const };
  });
}

const mappedNames = (targets: readonly TableTarget[]) => targets.flatMap((t) => t.args.flatMap((a) => (typeof a !== 'string' && a.kind === 'mapped' ? [a.name] : [])));

/** The member paths the tables map onto (not numbers, keywords, other devices of the run or /dev/zero). */
function memberPaths(devices: readonly DmDevice[]): string[] {
  return [...new Set(devices.flatMap((d) => d.targets.flatMap((t) => t.args.flatMap((a) => (typeof a !== 'string' && a.kind === 'member' ? [a.path] : [])))))];
}

/** Devices no other device of the run stacks on: what `dmraid -tay` activates as the sets. */
function topLevel(devices: readonly DmDevice[]): string[] {
  const used = new Set(devices.flatMap((d) => d.dependsOn));
  return devices.filter((d) => !used.has(d.name)).map((d) => d.name);
}

async function planFromDiscovery(ctx: CommandContext, wanted: readonly string[]): Promise<{ devices: readonly DmDevice[]; members: BlockDevice[] } | undefined> {
  // Discovery only reads: the members the tables use are opened for writing below (startRun).
  const members = await ctx.openDevices(false);
  if (!members) return undefined;
  // Recovery wants the sets dmraid drops as inconsistent (a RAID5 with a member missing): the handlers'
  // checks still run (status, messages), but no set is removed for failing one.
  const keeping = ctx.handlers.map((h) => ({
    ...h,
    check: (set: RaidSet, c: Parameters<typeof h.check>[1]) => {
      if (!h.check(set, c) && set.type !== 'raid1') ctx.out.log('info', `keeping inconsistent RAID set "${set.name}" for the userspace engine`);
      return true;
    },
  }));
  const rds = await discoverRaidDevices({ handlers: keeping, devices: members, formats: ctx.o.formats, log: ctx.out.log, handlerOptions: ctx.o.handlerOptions });
  const sets = diskDevices(rds).length === 0 ? [] : buildSets(rds, { handlers: keeping, log: ctx.out.log });
  const found = wanted.length === 0 ? sets : named(sets, wanted);
  const close = () => Promise.all(members.map((d) => d.close()));
  // Every name asked for must be there: a mistyped one is an error, not a set left out without a word.
  const unknown = wanted.filter((w) => named(sets, [w]).length === 0);
  if (found.length === 0 || unknown.length > 0) {
    // The names as `-s -c` prints them: a group's volumes.
    const names = sets.flatMap((s) => (s.type === 'group' ? s.sets.map((v) => v.name) : [s.name]));
    const there = names.length ? ` (RAID sets found: ${names.join(', ')})` : '';
    ctx.out.log('error', wanted.length === 0 ? 'no RAID set found' : `no RAID set ${unknown.map((n) => `"${n}"`).join(', ')} found${there}`);
    await close();
    return undefined;
  }
  // Kept though inconsistent, but not where the members present cannot give the volume (a stripe short of
  // a member, a RAID5 short of two): mapped from what is there, it would be another, wrong volume.
  const chosen = readable(found, (set, why) => ctx.out.log('error', `cannot read RAID set "${set}": ${why}`));
  if (chosen.length === 0) {
    await close();
    return undefined;
  }
  // Loaded here: a run over --tables needs no activation plan (start-up counts for --extract).
  const { planActivation } = await import('@dmraid/activation');
  // A mirror with one leg left is that leg (not the reference's concatenation with zeros).
  const planned = planActivation(chosen, { partitions: false });
  for (const p of planned.problems) ctx.out.log('error', p.text);
  if (planned.plan.devices.length === 0) {
    ctx.out.log('error', `cannot map ${chosen.map((s) => `"${s.name}"`).join(', ')} (give the tables with --tables FILE)`);
    await close();
    return undefined;
  }
  return { devices: planned.plan.devices, members };
}

/**
 * Why the members present cannot give a set's volume, or undefined when they can: a stripe or a span needs
 * every member, a mirror one leg (or one readable half), RAID4/5 all but one, RAID6 all but two.
 */
function whyUnreadable(set: RaidSet): string | undefined {
  const expected = set.foundDevs;
  const missing = Math.max(0, expected - set.totalDevs);
  const halves = set.sets.map(whyUnreadable);
  const broken = halves.filter((h) => h !== undefined).length;
  const members = (n: number) => `${n} of its ${expected} members ${n === 1 ? 'is' : 'are'} missing`;
  switch (set.type) {
    case 'raid1':
      if (set.sets.length > 0 && broken === set.sets.length) return `no half of the mirror can be read (${halves[0]})`;
      return undefined;
    case 'raid0':
    case 'linear':
      if (broken > 0) return `a half of the ${typeDisplay(set.type)} cannot be read (${halves.find((h) => h !== undefined)})`;
      return missing > 0 ? `${members(missing)}, and a ${typeDisplay(set.type)} has no redundancy` : undefined;
    case 'raid4':
    case 'raid5_ls':
    case 'raid5_rs':
    case 'raid5_la':
    case 'raid5_ra':
      return missing > 1 ? `${members(missing)}; ${typeDisplay(set.type)} rebuilds one` : undefined;
    case 'raid6':
      return missing > 2 ? `${members(missing)}; raid6 rebuilds two` : undefined;
    default:
      return undefined;
  }
}

/**
 * The sets named in `wanted`: a top-level set, or a volume of a group (isw, ddf1: `-s -c` prints the
 * volumes' names), kept inside its group with the group's other volumes left out (the group's gate still
 * applies).
 */
function named(sets: readonly RaidSet[], wanted: readonly string[]): RaidSet[] {
  const out: RaidSet[] = [];
  for (const set of sets) {
    if (wanted.includes(set.name)) out.push(set);
    else if (set.type === 'group') {
      const volumes = set.sets.filter((v) => wanted.includes(v.name));
      if (volumes.length > 0) out.push({ ...set, sets: volumes });
    }
  }
  return out;
}

/** The sets (a group's volumes one by one) whose volume the members present give; `refuse` hears of the others. */
function readable(sets: readonly RaidSet[], refuse: (set: string, why: string) => void): RaidSet[] {
  const out: RaidSet[] = [];
  for (const set of sets) {
    if (set.type === 'group') {
      const volumes = readable(set.sets, refuse);
      if (volumes.length > 0) out.push({ ...set, sets: volumes });
      continue;
    }
    const why = whyUnreadable(set);
    if (why === undefined) out.push(set);
    else refuse(set.name, why);
  }
  return out;
}

/** The run's tables in the engine, over member Sources found by path. */
async function startRun(ctx: CommandContext, wanted: readonly string[]): Promise<Run | undefined> {
  const writable = ctx.o.engine.writable;
  let devices: readonly DmDevice[];
  let members: BlockDevice[];
  if (ctx.o.engine.tables !== undefined) {
    const text = await fs.readFile(resolve(ctx.io.cwd, ctx.o.engine.tables), 'utf8').catch((e: Error) => e);
    if (text instanceof Error) {
      ctx.out.log('error', `cannot read tables "${ctx.o.engine.tables}": ${text.message}`);
      return undefined;
    }
    const parsed = parseTestTables(text);
    if (typeof parsed === 'string') {
      ctx.out.log('error', parsed);
      return undefined;
    }
    devices = parsed;
    members = [];
    // A member that is not there, or is no file or disk, is left out: the engine's lookup failure then says why.
    const paths: string[] = [];
    for (const p of memberPaths(parsed)) {
      const st = await fs.stat(resolve(ctx.io.cwd, p)).catch(() => undefined);
      if (st && (st.isFile() || st.isBlockDevice())) paths.push(p);
    }
    for (const path of paths) {
      const d = await openDevice(path, { cwd: ctx.io.cwd });
      if (isIoError(d)) {
        ctx.out.log('error', `cannot open device "${path}": ${d.message}`);
        await Promise.all(members.map((m) => m.close()));
        return undefined;
      }
      members.push(d);
    }
  } else {
    const planned = await planFromDiscovery(ctx, wanted);
    if (!planned) return undefined;
    ({ devices, members } = planned);
  }
  // Members are read by path with pread into the engine's buffers (fileSource); a device that cannot be
  // reopened that way is read through its BlockDevice. Only what the tables name is written (discovery may
  // have opened every disk of the machine): a member disk is then claimed exclusively (fileSource).
  const used = new Set(memberPaths(devices).map((p) => resolve(ctx.io.cwd, p)));
  const byPath = memberLookup(ctx.io.cwd);
  const reopened: { close(): void }[] = [];
  const close = async () => {
    for (const f of reopened) f.close();
    await Promise.all(members.map((m) => m.close()));
  };
  let byFile = true;
  const written: BlockDevice[] = [];
  for (const m of members) {
    const path = resolve(ctx.io.cwd, m.path);
    const write = writable && used.has(path);
    if (write) written.push(m);
    let source: Source;
    try {
      const f = fileSource(path, m.sizeSectors, write);
      reopened.push(f);
      source = f;
    } catch (e) {
      if (write) {
        ctx.out.log('error', claimRefusal(openForWritingError(m.path, e)));
        await close();
        return undefined;
      }
      source = deviceSource(m);
      byFile = false;
    }
    byPath.add(m.path, source);
  }
  // Two writers of one member (another server, a virtual machine on the image) would corrupt the set. Looked
  // at after our own opens, so two servers started together both see the other.
  const writing = await otherWriters(written.map((m) => m.path), ctx.io.cwd);
  if (writing !== true) {
    ctx.out.log('error', claimRefusal(writing));
    await close();
    return undefined;
  }
  // A member path a table names and the run has no device for: the table error then says why.
  let missed: string | undefined;
  const lookup = (path: string) => {
    const source = byPath.get(path);
    if (!source) missed = path;
    return source;
  };
  const engine = createEngine(devices, lookup, (m) => ctx.io.stderr(`NOTICE: ${m}\n`));
  if (isTableError(engine)) {
    // The kernel's words for a failed lookup do not say why: a missing file, or one that is no file or disk.
    const why = missed === undefined
      ? ''
      : await fs.stat(resolve(ctx.io.cwd, missed)).then(
          (st) => (st.isFile() || st.isBlockDevice() ? '' : ' (not a file or block device)'),
          (e: unknown) => ` (${fromNodeError(missed!, e).message})`,
        );
    ctx.out.log('error', `table of "${engine.device}": ${engine.message}${why}`);
    await close();
    return undefined;
  }
  const named = devices.some((d) => d.role !== 'set') ? devices.filter((d) => d.role === 'set' || d.role === 'partition').map((d) => d.name) : topLevel(devices);
  // Over --tables a name may be a prefix (dmraid's set-name rule); discovery has already picked the sets.
  const picks = (n: string, w: string) => n === w || n.startsWith(w);
  const exports = wanted.length === 0 || ctx.o.engine.tables === undefined ? named : named.filter((n) => wanted.some((w) => picks(n, w)));
  const unknown = ctx.o.engine.tables === undefined ? [] : wanted.filter((w) => !named.some((n) => picks(n, w)));
  if (exports.length === 0 || unknown.length > 0) {
    ctx.out.log('error', `no RAID set ${(unknown.length ? unknown : wanted).map((n) => `"${n}"`).join(', ')} in the tables (${named.join(', ')})`);
    engine.destroy();
    await close();
    return undefined;
  }
  const spec: WorkerSpec | undefined = byFile
    ? { tables: devices.map((d) => ({ name: d.name, targets: d.targets })), members: members.map((m) => ({ path: m.path, sizeSectors: m.sizeSectors })), cwd: ctx.io.cwd, exports }
    : undefined;
  return {
    engine,
    exports,
    spec,
    members: members.map((m) => resolve(ctx.io.cwd, m.path)).filter((p) => used.has(p)),
    close: async () => {
      engine.destroy();
      await close();
    },
  };
}

/**
 * Whether a disk holds anything but zeros in its first or last MiB; EBUSY (the extract's own error) when
 * another claims it (asked first: no question about a disk that will not be written anyway), or the error
 * that kept it from being read.
 */
async function holdsData(path: string): Promise<boolean | IoError> {
  try {
    await (await fs.open(path, constants.O_RDONLY | constants.O_EXCL)).close();
  } catch (e) {
    return claimError(path, e);
  }
  const disk = await openDevice(path);
  if (isIoError(disk)) return disk;
  try {
    const size = disk.sizeSectors * SECTOR;
    const span = Math.min(1 << 20, size);
    for (const at of new Set([0, size - span])) {
      const bytes = await disk.read(at, span);
      if (isIoError(bytes)) return bytes;
      if (!isZero(bytes)) return true;
    }
    return false;
  } finally {
    await disk.close();
  }
}

/** Serving processes at most, whatever the cores (each is a Node process of ~40 MiB). */
const MAX_SERVING_PROCESSES = 4;

/** Aborts on the first SIGINT or SIGTERM, or when the caller's signal does; dispose() detaches it all. */
function stopSignal(caller?: AbortSignal): { signal: AbortSignal; dispose(): void } {
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

async function extractCommand(ctx: CommandContext, set: string): Promise<number> {
  const run = await startRun(ctx, [set]);
  if (!run) return 1;
  const stop = stopSignal(ctx.signal);
  try {
    const name = run.exports.find((n) => n === set) ?? run.exports[0]!;
    const volume = run.engine.get(name)!;
    const failed = (e: IoError) => {
      ctx.out.log('error', `extract of "${name}" failed: ${e.path}: ${e.message}`);
      return 1;
    };
    // `-o -` is standard output (a pipe, in order, no holes); the summary then goes to standard error.
    const toStdout = ctx.o.engine.output === '-';
    // A volume is no text for a terminal (as zstd or gzip refuse): `-o -` wants a pipe or a file.
    if (toStdout && isatty(1)) {
      ctx.out.log('error', 'standard output is a terminal: give -o FILE, or send -o - into a pipe or a file');
      return 1;
    }
    const output = toStdout ? 1 : resolve(ctx.io.cwd, ctx.o.engine.output!);
    // Never the volume onto what it is read from (core `overlapping`): a member file or a link to it, the
    // member disk or a partition of it, a device stacked on a member, a loop device over a member image, the
    // disk that holds a member image's filesystem, or a file on a member. Standard output is looked at as
    // the descriptor it is (`1<>member.img`, `>> member.img`), not by a name.
    const member = typeof output === 'string' ? await overlapping(output, run.members, ctx.sysfs) : await overlappingFd(output, run.members, ctx.sysfs);
    if (member !== undefined) {
      ctx.out.log('error', `cannot write the volume of "${name}" to ${toStdout ? 'standard output' : `"${ctx.o.engine.output}"`}: it shares storage with member ${member} of the set`);
      return 1;
    }
    const device = typeof output === 'string' ? await fs.stat(output).catch(() => undefined) : undefined;
    // A disk as the output keeps its --resume state in the current folder (not beside it in /dev).
    const stateFile = device?.isBlockDevice() ? resolve(ctx.io.cwd, `${basename(output as string)}.dmraid-extract`) : undefined;
    // A disk that holds data (a partition table, a filesystem, metadata at its end) is overwritten only when
    // the user says so, as mkfs asks: at the prompt, or with --yes. A resume of a copy onto it does not ask.
    const resuming = ctx.o.engine.resume && stateFile !== undefined && (await fs.stat(stateFile).then(() => true, () => false));
    if (device?.isBlockDevice() && !resuming && !ctx.o.yes) {
      const held = await holdsData(output as string);
      if (typeof held !== 'boolean') {
        if (held.code === 'EBUSY') return failed(held);
        ctx.out.log('error', `cannot read "${ctx.o.engine.output}": ${held.message}`);
        return 1;
      }
      if (held) {
        const asked = !ctx.o.json && (await confirm(ctx.io, `Do you really want to write the volume of "${name}" over the data on ${ctx.o.engine.output} ? [y/n] :`));
        if (!asked) {
          ctx.out.log('error', `"${ctx.o.engine.output}" holds data and was not written${ctx.o.json ? ' (--yes writes over it)' : ''}`);
          return 1;
        }
      }
    }
    const shown = progress(ctx.io, name, { json: ctx.o.json, everyMs: ctx.progressEveryMs });
    const r = await extract(volume, output, {
      resume: ctx.o.engine.resume,
      stateFile,
      outputName: 'standard output',
      signal: stop.signal,
      progress: (done, total) => shown.update(done, total),
    });
    shown.end();
    if (isIoError(r)) return toStdout && ctx.io.stdoutClosed?.(r) ? 1 : failed(r);
    if (!r.complete) {
      ctx.out.log('error', r.state ? `extract of "${name}" interrupted; run again with --resume to continue (state in ${r.state})` : `extract of "${name}" interrupted`);
    }
    if (ctx.o.json) {
      const output = toStdout ? '-' : ctx.o.engine.output!;
      ctx.out.emitJson({ extract: { set: name, output, sectors: r.sectors, holeSectors: r.holes, startedAt: r.startedAt, complete: r.complete, ...(r.state ? { state: r.state } : {}) } });
    }
    if (!r.complete) return 1;
    const from = r.startedAt > 0 ? ` (resumed at sector ${r.startedAt})` : '';
    const summary = `${name}: ${r.sectors} sectors (${mib(r.sectors)}) written to ${toStdout ? 'standard output' : ctx.o.engine.output}${from}, ${mib(r.holes)} left as holes`;
    if (toStdout) ctx.io.stderr(`${summary}\n`);
    else ctx.out.line(summary);
    return 0;
  } finally {
    stop.dispose();
    await run.close();
  }
}

async function serveCommand(ctx: CommandContext): Promise<number> {
  const run = await startRun(ctx, ctx.o.operands);
  if (!run) return 1;
  const stop = stopSignal(ctx.signal);
  const onEvent = (m: string) => ctx.out.log('info', m);
  // Read-only exports are served from one process per core, this one included (writes stay in one engine,
  // which orders them).
  const extra = Math.min(availableParallelism(), MAX_SERVING_PROCESSES) - 1;
  const workers = !ctx.o.engine.writable && run.spec && extra > 0 ? await NbdWorkers.start(run.spec, extra, onEvent) : undefined;
  if (typeof workers === 'string') ctx.out.log('info', `serving from this process only: ${workers}`);
  const server = new NbdServer({
    exports: run.exports.map((name) => ({ name, source: run.engine.get(name)! })),
    writable: ctx.o.engine.writable,
    onEvent,
    handOff: workers instanceof NbdWorkers ? (socket) => workers.handOff(socket) : undefined,
  });
  const unix = isUnixSocketPath(ctx.o.engine.listen);
  const where = unix ? resolve(ctx.io.cwd, ctx.o.engine.listen) : ctx.o.engine.listen;
  let listening = false;
  try {
    let address: string;
    try {
      address = await server.listen(where);
      listening = true;
    } catch (e) {
      // A system error by its strerror text; the server's own refusals (a live server's socket...) as they are.
      const why = (e as NodeJS.ErrnoException).code ? fromNodeError(where, e).message : (e as Error).message;
      ctx.out.log('error', `cannot listen on ${where}: ${why}`);
      return 1;
    }
    const mode = ctx.o.engine.writable ? 'read-write' : 'read-only';
    // A URI (RFC 3986, as libnbd parses it): the export name and the socket path percent-encoded, so a
    // folder with a space or a name with `?` or `#` still connects.
    const part = (text: string) => encodeURIComponent(text).replace(/%2F/g, '/');
    const uri = (name: string) => (unix ? `nbd+unix:///${part(name)}?socket=${part(address)}` : `nbd://${address}/${part(name)}`);
    for (const name of run.exports) ctx.out.line(`serving ${uri(name)} (${run.engine.get(name)!.sizeSectors * SECTOR} bytes, ${mode})`);
    if (ctx.o.json) {
      const exports = run.exports.map((name) => ({ name, uri: uri(name), bytes: run.engine.get(name)!.sizeSectors * SECTOR, writable: ctx.o.engine.writable }));
      ctx.out.emitJson({ exports });
    }
    if (!stop.signal.aborted) await new Promise<void>((r) => stop.signal.addEventListener('abort', () => r(), { once: true }));
    return 0;
  } finally {
    // Also when it could not listen: the serving processes started before are stopped, not left behind; the
    // socket file is removed only if it is ours (one it could not listen on may be another server's).
    await server.close();
    if (workers instanceof NbdWorkers) await workers.stop();
    if (unix && listening) await fs.rm(where, { force: true });
    stop.dispose();
    await run.close();
  }
}

async function checkCommand(ctx: CommandContext, set: string): Promise<number> {
  const run = await startRun(ctx, [set]);
  if (!run) return 1;
  try {
    const names = [...run.engine.devices.keys()];
    const shown = progress(ctx.io, `check ${set}`, { json: ctx.o.json, everyMs: ctx.progressEveryMs });
    const report = await checkData(run.engine, names, (done, total) => shown.update(done, total));
    shown.end();
    if (isIoError(report)) {
      ctx.out.log('error', `check of "${set}" failed: ${report.path}: ${report.message}`);
      return 1;
    }
    if (report.checked.length === 0) {
      ctx.out.log('error', `"${set}" has no redundancy to check (or a member is missing)`);
      return 1;
    }
    if (ctx.o.json) {
      ctx.out.emitJson({ check: { set, mismatches: report.mismatches, checked: report.checked, sectors: report.sectors, ranges: report.ranges } });
    }
    for (const r of report.ranges) {
      ctx.out.line(`${r.device}: ${r.kind} mismatch at sectors ${r.start}-${r.start + r.length - 1} (${r.length} sectors)`);
    }
    ctx.out.line(`${set}: mismatch_cnt ${report.mismatches} (${report.checked.join(', ')} checked, ${mib(report.sectors)})`);
    // cmp's convention beside dmraid's 1 for errors: 2 when the data itself disagrees.
    return report.mismatches === 0 ? 0 : 2;
  } finally {
    await run.close();
  }
}

export default async function command(ctx: CommandContext): Promise<number> {
  switch (ctx.o.mode) {
    case 'extract':
      return extractCommand(ctx, ctx.o.engine.set!);
    case 'serve':
      return serveCommand(ctx);
    case 'check-data':
      return checkCommand(ctx, ctx.o.engine.set!);
    default:
      ctx.out.log('error', `${ctx.o.mode} is not a userspace engine command`);
      return 1;
  }
}

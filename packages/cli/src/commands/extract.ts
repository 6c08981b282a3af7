/** Ours: `--extract SET -o FILE [--resume]`, the set's volume copied into a file, a disk or a pipe. */
import { promises as fs } from 'node:fs';
import { basename, resolve } from 'node:path';
import { isatty } from 'node:tty';
import { isIoError, overlapping, overlappingFd, type IoError } from '@dmraid/core';
import { extract, holdsData, salvaging, type SectorRange, type Source } from '@dmraid/engine';
import { confirm, type CommandContext } from '../context.js';
import { mib, progress } from '../progress.js';
import { openSetsRun, openVolumeOverlay, stopSignal } from './engine-run.js';
import { drawLost } from '../draw/check.js';

/** The exit status of an extract that wrote zeros for lost sectors (as --check-data's for mismatches). */
const LOST_STATUS = 2;

interface PartitionHit {
  /** The partition's number (MBR 1-4 primaries, 5.. logicals; GPT entry), or undefined: outside every one. */
  readonly partition: number | undefined;
  readonly start: number;
  readonly sectors: number;
  readonly lost: number;
}

/** Which partitions (MBR or GPT on the volume) the lost ranges hit, and how many sectors each; then the rest. */
async function partitionsHit(volume: Source, lost: readonly SectorRange[]): Promise<PartitionHit[]> {
  const { readPartitions } = await import('@dmraid/activation');
  const served = salvaging(volume);
  const parts = await readPartitions(async (sector, count) => {
    const b = await served.read(sector, count);
    return isIoError(b) ? undefined : b;
  }, volume.sizeSectors);
  const overlap = (start: number, sectors: number) => lost.reduce((n, l) => n + Math.max(0, Math.min(l.start + l.count, start + sectors) - Math.max(l.start, start)), 0);
  const hits: PartitionHit[] = parts.flatMap((p) => {
    const n = overlap(p.start, p.sectors);
    return n > 0 ? [{ partition: p.number, start: p.start, sectors: p.sectors, lost: n }] : [];
  });
  const inside = parts.reduce((n, p) => n + overlap(p.start, p.sectors), 0);
  const outside = lost.reduce((n, l) => n + l.count, 0) - inside;
  return outside > 0 ? [...hits, { partition: undefined, start: 0, sectors: volume.sizeSectors, lost: outside }] : hits;
}

export default async function command(ctx: CommandContext): Promise<number> {
  const run = await openSetsRun(ctx, [ctx.o.engine.set!]);
  if (!run) return 1;
  // The set, or a group's first volume by the group's name; with --overlay, as the overlay has it (the
  // overlay is only read: a missing file is an error, not an empty overlay).
  const name = run.exports[0]!;
  const overlay = ctx.o.engine.overlay !== undefined ? await openVolumeOverlay(ctx, run, name, false) : undefined;
  if (ctx.o.engine.overlay !== undefined && !overlay) {
    await run.close();
    return 1;
  }
  const stop = stopSignal(ctx.signal);
  try {
    const volume = overlay?.volume ?? run.engine.get(name)!;
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
    // The overlay is read from too: the volume never goes onto it either.
    const sources = [...run.members, ...(ctx.o.engine.overlay !== undefined ? [resolve(ctx.io.cwd, ctx.o.engine.overlay)] : [])];
    const member = typeof output === 'string' ? await overlapping(output, sources, ctx.sysfs) : await overlappingFd(output, sources, ctx.sysfs);
    if (member !== undefined) {
      ctx.out.log('error', `cannot write the volume of "${name}" to ${toStdout ? 'standard output' : `"${ctx.o.engine.output}"`}: it shares storage with ${sources.indexOf(member) >= run.members.length ? 'the overlay' : `member ${member} of the set`}`);
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
    const hit = r.lost.length > 0 ? await partitionsHit(volume, r.lost) : [];
    if (ctx.o.json) {
      const output = toStdout ? '-' : ctx.o.engine.output!;
      const lost = r.lost.map((l) => ({ start: l.start, count: l.count }));
      ctx.out.emitJson({ extract: { set: name, output, sectors: r.sectors, holeSectors: r.holes, startedAt: r.startedAt, complete: r.complete, ...(r.state ? { state: r.state } : {}), lost, ...(r.lost.length ? { lostByPartition: hit.map((p) => ({ ...p, partition: p.partition ?? null })) } : {}) } });
    }
    const say = (line: string) => (toStdout ? ctx.io.stderr(`${line}\n`) : ctx.out.line(line));
    // Lost sectors are reported even when the copy was interrupted: they are zeros in what was written.
    for (const l of r.lost) say(`${name}: lost sectors ${l.start}-${l.start + l.count - 1} (${l.count} sectors): no member could give them; written as zeros`);
    for (const p of hit) say(`${name}: ${p.partition === undefined ? 'outside every partition' : `partition ${p.partition} (sectors ${p.start}-${p.start + p.sectors - 1})`}: ${p.lost} sectors lost`);
    if (ctx.o.engine.drawFile !== undefined && !(await drawLost(ctx, run, name, r.lost, ctx.o.engine.drawFile))) return 1;
    if (!r.complete) return 1;
    const from = r.startedAt > 0 ? ` (resumed at sector ${r.startedAt})` : '';
    say(`${name}: ${r.sectors} sectors (${mib(r.sectors)}) written to ${toStdout ? 'standard output' : ctx.o.engine.output}${from}, ${mib(r.holes)} left as holes`);
    if (r.lost.length > 0) {
      const total = r.lost.reduce((n, l) => n + l.count, 0);
      ctx.out.log('error', `"${name}": ${total} sectors (${mib(total)}) in ${r.lost.length} range${r.lost.length === 1 ? '' : 's'} could not be read from any member and were written as zeros`);
      return LOST_STATUS;
    }
    return 0;
  } finally {
    stop.dispose();
    overlay?.close();
    await run.close();
  }
}

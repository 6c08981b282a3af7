/** Ours: `--check-data SET`, the offline "check" of a set's redundancy (mirror legs, RAID4/5 parity, RAID6 P and Q). */
import { isIoError } from '@dmraid/core';
import { checkData } from '@dmraid/engine';
import type { CommandContext } from '../context.js';
import { mib, progress } from '../progress.js';
import { openSetsRun } from './engine-run.js';
import { drawCheck } from '../draw/check.js';

export default async function command(ctx: CommandContext): Promise<number> {
  const set = ctx.o.engine.set!;
  const run = await openSetsRun(ctx, [set]);
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
    const q = report.syndromeMismatches;
    if (ctx.o.json) {
      ctx.out.emitJson({ check: { set, mismatches: report.mismatches, ...(q === undefined ? {} : { syndromeMismatches: q }), checked: report.checked, sectors: report.sectors, ranges: report.ranges, ...(report.unreadable.length ? { unreadable: report.unreadable } : {}) } });
    }
    for (const r of report.ranges) {
      ctx.out.line(`${r.device}: ${r.kind} mismatch at sectors ${r.start}-${r.start + r.length - 1} (${r.length} sectors)`);
    }
    for (const r of report.unreadable) {
      ctx.out.line(`${r.device}: not checked at sectors ${r.start}-${r.start + r.length - 1} (${r.length} sectors): a member sector there cannot be read`);
    }
    // RAID6: P's count as mismatch_cnt, Q's beside it.
    ctx.out.line(`${set}: mismatch_cnt ${report.mismatches}${q === undefined ? '' : `, Q mismatch_cnt ${q}`} (${report.checked.join(', ')} checked, ${mib(report.sectors)})`);
    if (ctx.o.engine.drawFile !== undefined && !(await drawCheck(ctx, run, report, ctx.o.engine.drawFile))) return 1;
    // cmp's convention beside dmraid's 1 for errors: 2 when the data itself disagrees.
    // Parts left unchecked are no clean bill either.
    return report.mismatches === 0 && !q && report.unreadable.length === 0 ? 0 : 2;
  } finally {
    await run.close();
  }
}

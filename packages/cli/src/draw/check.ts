/**
 * `--check-data SET --draw FILE` and `--extract SET --draw FILE`: the set's layout, and below it where the check
 * found mismatches or the extract lost sectors.
 */
import type { CheckReport } from '@dmraid/engine';
import type { CommandContext } from '../context.js';
import type { SetsRun } from '../commands/engine-run.js';
import { traceLayout, type LayoutGrid } from './layout.js';
import type { RangeBar } from './svg.js';
import { writePicture } from './write.js';

/**
 * One bar per checked device: the set's volume, or the sub-device whose redundancy was checked (a RAID01's
 * mirrors), in that device's own sectors, as the check reports them.
 */
export function checkBars(report: CheckReport, sizeOf: (device: string) => number | undefined): RangeBar[] {
  return report.checked.map((name) => ({
    name,
    sectors: sizeOf(name) ?? 0,
    ranges: report.ranges.filter((r) => r.device === name).map((r) => ({ start: r.start, count: r.length, kind: 'mismatch' as const })),
  }));
}

/** The layouts of the run's sets, or undefined after the error was printed. */
async function layoutsOf(ctx: CommandContext, run: SetsRun): Promise<LayoutGrid[] | undefined> {
  const layouts: LayoutGrid[] = [];
  for (const name of run.exports) {
    const grid = await traceLayout(run.tables, name, 8);
    if (typeof grid === 'string') {
      ctx.out.log('error', `cannot draw "${name}": ${grid}`);
      return undefined;
    }
    layouts.push(grid);
  }
  return layouts;
}

export async function drawCheck(ctx: CommandContext, run: SetsRun, report: CheckReport, file: string): Promise<boolean> {
  const layouts = await layoutsOf(ctx, run);
  if (!layouts) return false;
  // Over --tables the check reads every table given; the picture shows those of the set drawn.
  const drawn = new Set<string>();
  const reach = (name: string): void => {
    if (drawn.has(name)) return;
    drawn.add(name);
    for (const t of run.tables.find((d) => d.name === name)?.targets ?? []) for (const a of t.args) if (typeof a !== 'string' && a.kind === 'mapped') reach(a.name);
  };
  run.exports.forEach(reach);
  const bars = checkBars({ ...report, checked: report.checked.filter((n) => drawn.has(n)) }, (name) => run.engine.get(name)?.sizeSectors);
  return writePicture(ctx, file, { layouts, bars }, `Check of ${run.exports.join(', ')}`);
}

/** `--extract SET -o OUT --draw FILE`: the set's layout, and below it the volume's lost sectors. */
export async function drawLost(ctx: CommandContext, run: SetsRun, name: string, lost: readonly { start: number; count: number }[], file: string): Promise<boolean> {
  const layouts = await layoutsOf(ctx, run);
  if (!layouts) return false;
  const bars: RangeBar[] = [{ name, sectors: run.engine.get(name)?.sizeSectors ?? 0, ranges: lost.map((l) => ({ start: l.start, count: l.count, kind: 'lost' as const })) }];
  return writePicture(ctx, file, { layouts, bars }, `Lost sectors of ${name}`);
}

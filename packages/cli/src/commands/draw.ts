/** Ours: `--draw SET -o FILE`, a picture of which member holds which chunk (docs/guide.md "Pictures"). */
import type { CommandContext } from '../context.js';
import { traceLayout, type LayoutGrid } from '../draw/layout.js';
import { writePicture } from '../draw/write.js';
import { openSetsRun } from './engine-run.js';

export default async function command(ctx: CommandContext): Promise<number> {
  const set = ctx.o.engine.set!;
  const run = await openSetsRun(ctx, [set]);
  if (!run) return 1;
  try {
    const layouts: LayoutGrid[] = [];
    // A group (isw, ddf1) draws each of its volumes.
    for (const name of run.exports) {
      const grid = await traceLayout(run.tables, name, ctx.o.engine.rows);
      if (typeof grid === 'string') {
        ctx.out.log('error', `cannot draw "${name}": ${grid}`);
        return 1;
      }
      layouts.push(grid);
    }
    return (await writePicture(ctx, ctx.o.engine.output!, { layouts }, `RAID set ${set}`)) ? 0 : 1;
  } finally {
    await run.close();
  }
}

/** `striped <#stripes> <chunk> (<dev> <offset>)...`: dm-stripe (RAID0). */
import { chunkPieces, gatherInto, scatter, type Piece } from '../gather.js';
import { extentsOf, SECTOR, type Source } from '../source.js';
import { pushExtents, type Extent } from '../extents.js';
import { uint, type TargetType } from '../target.js';
import { skewed } from '../pool.js';

/** Pieces of [sector, sector+count) over `stripes` devices with `chunk`-sector chunks (dm-stripe's map). */
export function stripePieces(stripes: number, chunk: number, sector: number, count: number): Piece[] {
  return chunkPieces(chunk, sector, count, (k) => ({ dev: k % stripes, devChunk: Math.floor(k / stripes) }));
}

export const striped: TargetType = {
  name: 'striped',
  construct(ctx, length, args) {
    const stripes = uint(args[0]);
    const chunk = uint(args[1]);
    if (stripes === undefined || stripes < 1) return 'Invalid stripe count';
    if (chunk === undefined || chunk < 1) return 'Invalid chunk_size';
    if (args.length !== 2 + 2 * stripes) return 'Not enough destinations specified';
    if (length % stripes !== 0) return 'Target length not divisible by number of stripes';
    const devs: { source: Source; offset: number }[] = [];
    for (let i = 0; i < stripes; i++) {
      const source = ctx.lookup(args[2 + 2 * i]!);
      const offset = uint(args[3 + 2 * i]);
      if (!source) return `Couldn't parse stripe destination: ${args[2 + 2 * i]}`;
      if (offset === undefined) return 'Invalid device sector';
      // dm-table's device_area_is_invalid: every stripe must lie inside its device.
      if (offset + length / stripes > source.sizeSectors) return `Device ${args[2 + 2 * i]} too small for the target`;
      devs.push({ source, offset });
    }
    return {
      length,
      async read(sector, count) {
        const out = skewed(count * SECTOR);
        const r = await gatherInto(devs, stripePieces(stripes, chunk, sector, count), out);
        return r === true ? out : r;
      },
      readInto: (sector, out) => gatherInto(devs, stripePieces(stripes, chunk, sector, out.length / SECTOR), out),
      extents(sector, count) {
        const out: Extent[] = [];
        for (const p of stripePieces(stripes, chunk, sector, count)) pushExtents(out, extentsOf(devs[p.dev]!.source, devs[p.dev]!.offset + p.devSector, p.count));
        return out;
      },
      write: (sector, data) => scatter(devs, stripePieces(stripes, chunk, sector, data.length / SECTOR), data),
      status: () => `${stripes} ${chunk} ${devs.map((d) => d.source.name).join(' ')}`,
    };
  },
};

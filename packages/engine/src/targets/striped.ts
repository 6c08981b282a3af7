/** `striped <#stripes> <chunk> (<dev> <offset>)...`: dm-stripe (RAID0). */
import { chunkPieces, gatherInto, scatter, type Piece } from '../gather.js';
import { extentsOf, SECTOR, type Source } from '../source.js';
import { pushExtent, type Extent } from '../extents.js';
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
        if (count <= 0) return [];
        // Each member's runs over the rows touched, asked once and walked with a cursor: a member's sectors
        // come in order as the chunks do.
        const rowSectors = chunk * stripes;
        const firstRow = Math.floor(sector / rowSectors);
        const rows = Math.ceil((sector + count) / rowSectors) - firstRow;
        const members = devs.map((d) => extentsOf(d.source, d.offset + firstRow * chunk, rows * chunk));
        // Every member one kind over the rows (dense, or all hole): so is the volume.
        if (members.every((m) => m.length === 1 && m[0]!.zero === members[0]![0]!.zero)) return [{ sectors: count, zero: members[0]![0]!.zero }];
        const cursor = members.map(() => ({ i: 0, end: 0 }));
        for (const [d, c] of cursor.entries()) c.end = members[d]![0]?.sectors ?? 0;
        const out: Extent[] = [];
        for (let at = 0; at < count; ) {
          const s = sector + at;
          // At a row's start, rows over which every member stays in one run of one kind are that kind in the
          // volume: one step for them all (a mostly sparse volume is walked by its runs, not by its chunks).
          if (s % rowSectors === 0) {
            const ds = (s / rowSectors - firstRow) * chunk;
            let until = Infinity;
            let zero: boolean | undefined;
            for (const [d, c] of cursor.entries()) {
              const runs = members[d]!;
              while (c.end <= ds) c.end += runs[++c.i]!.sectors;
              if (zero === undefined) zero = runs[c.i]!.zero;
              else if (zero !== runs[c.i]!.zero) until = 0;
              until = Math.min(until, c.end);
            }
            const n = Math.min(Math.floor((until - ds) / chunk) * rowSectors, count - at);
            if (n > 0) {
              pushExtent(out, n, zero!);
              at += n;
              continue;
            }
          }
          const k = Math.floor(s / chunk);
          const dev = k % stripes;
          // The member's sector, relative to the first row asked.
          let ds = (Math.floor(k / stripes) - firstRow) * chunk + (s - k * chunk);
          const pieceEnd = ds + Math.min(chunk - (s - k * chunk), count - at);
          const runs = members[dev]!;
          const c = cursor[dev]!;
          while (ds < pieceEnd) {
            while (c.end <= ds) c.end += runs[++c.i]!.sectors;
            const n = Math.min(c.end, pieceEnd) - ds;
            pushExtent(out, n, runs[c.i]!.zero);
            ds += n;
            at += n;
          }
        }
        return out;
      },
      write: (sector, data) => scatter(devs, stripePieces(stripes, chunk, sector, data.length / SECTOR), data),
      status: () => `${stripes} ${chunk} ${devs.map((d) => d.source.name).join(' ')}`,
    };
  },
};

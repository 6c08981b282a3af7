/** `linear <dev> <offset>`: the kernel's dm-linear. */
import { extentsOf, readInto } from '../source.js';
import { uint, type TargetType } from '../target.js';

export const linear: TargetType = {
  name: 'linear',
  construct(ctx, length, args) {
    if (args.length !== 2) return 'Invalid argument count';
    const source = ctx.lookup(args[0]!);
    if (!source) return `Device lookup failed: ${args[0]}`;
    const offset = uint(args[1]);
    if (offset === undefined) return 'Invalid device sector';
    if (offset + length > source.sizeSectors) return `Device ${args[0]} too small for the target`;
    return {
      length,
      read: (sector, count) => source.read(offset + sector, count),
      write: (sector, data) => source.write(offset + sector, data),
      readInto: (sector, out) => readInto(source, offset + sector, out),
      extents: (sector, count) => extentsOf(source, offset + sector, count),
      status: () => `${source.name} ${offset}`,
    };
  },
};

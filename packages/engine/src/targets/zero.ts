/** `zero`: reads zeros, writes vanish (dm-zero). */
import type { TargetType } from '../target.js';
import { SECTOR } from '../source.js';

export const zero: TargetType = {
  name: 'zero',
  construct(_ctx, length, args) {
    if (args.length !== 0) return 'No arguments required';
    return {
      length,
      read: async (_s, count) => new Uint8Array(count * SECTOR),
      write: async () => true,
      extents: (_s, count) => [{ sectors: count, zero: true }],
    };
  },
};

/** `error`: every I/O fails (dm-error), as dmraid maps a missing piece. */
import type { TargetType } from '../target.js';
import { ioError } from '../source.js';

export const error: TargetType = {
  name: 'error',
  construct(_ctx, length) {
    return {
      length,
      read: async () => ioError('error target', 'EIO'),
      write: async () => ioError('error target', 'EIO'),
      // Reads fail: never a hole (a hole promises zeros), so an NBD client reads it and sees the error.
      extents: (_s, count) => [{ sectors: count, zero: false }],
    };
  },
};

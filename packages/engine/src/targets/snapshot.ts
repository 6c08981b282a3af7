/**
 * `snapshot <origin> <COW device> <P|PO> <chunk>`: dm-snap, a copy-on-write view of the origin whose
 * writes go to the COW device in the kernel's persistent exception store (overlay.ts), so the same COW
 * device works under this target and the kernel's. The origin is only read. `N` (transient: the exceptions
 * kept in memory only) is refused: a view that forgets its writes on restart is no overlay of evidence.
 */
import { ioError, type IoError, type Source } from '../source.js';
import { uint, type TargetType } from '../target.js';
import { isOverlayError, openOverlay, type Overlay } from '../overlay.js';

export const snapshot: TargetType = {
  name: 'snapshot',
  construct(ctx, length, args) {
    if (args.length !== 4) return 'requires exactly 4 arguments';
    const origin = ctx.lookup(args[0]!);
    if (!origin) return `Cannot get origin device: ${args[0]}`;
    const cow = ctx.lookup(args[1]!);
    if (!cow) return `Cannot get COW device: ${args[1]}`;
    const mode = args[2]!.toUpperCase();
    if (mode === 'N') return 'Transient (N) snapshots are not supported by the engine: use P';
    if (mode !== 'P' && mode !== 'PO') return 'Invalid persistent flag';
    const chunk = uint(args[3]);
    if (chunk === undefined || chunk < 8 || chunk > 1024 || (chunk & (chunk - 1)) !== 0) return 'Invalid chunk size';
    if (length > origin.sizeSectors) return `Device ${args[0]} too small for the target`;
    // The origin as long as the target: the overlay's chunks and its identity follow the table's length.
    const view: Source = length === origin.sizeSectors ? origin : { ...origin, sizeSectors: length };
    // Construction cannot wait for the store's header and map: the first I/O does, and a store that is
    // refused fails every I/O with its reason (reported once).
    let failed: IoError | undefined;
    const ready: Promise<Overlay | undefined> = openOverlay(view, cow, { chunk, create: true, writable: true }).then((o) => {
      if (!isOverlayError(o)) return o;
      ctx.report(`snapshot store ${o.path} ${o.message}`);
      failed = ioError(o.path, 'EIO', o.message);
      return undefined;
    });
    const use = async <T>(f: (o: Overlay) => Promise<T>): Promise<T | IoError> => {
      const o = await ready;
      return o ? f(o) : failed!;
    };
    let held: Overlay | undefined;
    void ready.then((o) => (held = o));
    return {
      length,
      read: (sector, count) => use((o) => o.read(sector, count)),
      readInto: (sector, out) => use((o) => o.readInto!(sector, out)),
      write: (sector, data) => use((o) => o.write(sector, data)),
      // dm-snap's status: sectors of the COW device in use / its size, here the chunks held.
      status: () => (held ? `${held.exceptions * held.chunk}/${cow.sizeSectors} ${held.chunk}` : failed ? 'Invalid' : 'Unknown'),
    };
  },
};

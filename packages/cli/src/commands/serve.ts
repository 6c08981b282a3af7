/** Ours: `--serve [SET...] [--writable] [--listen ADDR]`, the sets' volumes as NBD exports. */
import { promises as fs } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { fromNodeError } from '@dmraid/core';
import { isUnixSocketPath, learnAllocation, NbdServer, NbdWorkers, SECTOR } from '@dmraid/engine';
import type { CommandContext } from '../context.js';
import { openSetsRun, openVolumeOverlay, stopSignal } from './engine-run.js';

/** Serving processes at most, whatever the cores (each is a Node process of ~40 MiB). */
const MAX_SERVING_PROCESSES = 4;

export default async function command(ctx: CommandContext): Promise<number> {
  const run = await openSetsRun(ctx, ctx.o.operands);
  if (!run) return 1;
  let overlay: Awaited<ReturnType<typeof openVolumeOverlay>>;
  if (ctx.o.engine.overlay !== undefined) {
    // One overlay file holds one volume's writes.
    if (run.exports.length !== 1) {
      ctx.out.log('error', `--overlay takes one RAID set: name one of ${run.exports.map((n) => `"${n}"`).join(', ')}`);
      await run.close();
      return 1;
    }
    overlay = await openVolumeOverlay(ctx, run, run.exports[0]!, ctx.o.engine.writable);
    if (!overlay) {
      await run.close();
      return 1;
    }
  }
  const source = (name: string) => overlay?.volume ?? run.engine.get(name)!;
  const stop = stopSignal(ctx.signal);
  const onEvent = (m: string) => ctx.out.log('info', m);
  // Read-only exports are served from one process per core, this one included (writes stay in one engine,
  // which orders them; an overlay is read in this one too).
  const extra = Math.min(availableParallelism(), MAX_SERVING_PROCESSES) - 1;
  const spec = run.workerSpec(run.exports);
  const starting = !ctx.o.engine.writable && !overlay && spec && extra > 0 ? NbdWorkers.start(spec, extra, onEvent) : undefined;
  let workers: NbdWorkers | string | undefined;
  const server = new NbdServer({
    exports: run.exports.map((name) => ({ name, source: source(name) })),
    writable: ctx.o.engine.writable,
    onEvent,
    handOff: (socket) => workers instanceof NbdWorkers && workers.handOff(socket),
  });
  // While the serving processes start, and before the address is printed: a client that connects at once
  // finds the members' maps learnt (each serving process learns its own before it says it is ready). An
  // overlay is read as all data: no map to learn.
  if (!overlay) {
    for (const path of run.members) {
      const source = run.member(path);
      if (source) learnAllocation(source);
    }
  }
  workers = await starting;
  if (typeof workers === 'string') ctx.out.log('info', `serving from this process only: ${workers}`);
  const unix = isUnixSocketPath(ctx.o.engine.listen);
  const where = unix ? resolve(ctx.io.cwd, ctx.o.engine.listen) : ctx.o.engine.listen;
  let listening = false;
  try {
    let address: string;
    try {
      address = await server.listen(where);
      listening = true;
    } catch (e) {
      // A system error by its strerror text; the server's own refusals (a live server's socket...) as they are.
      const why = (e as NodeJS.ErrnoException).code ? fromNodeError(where, e).message : (e as Error).message;
      ctx.out.log('error', `cannot listen on ${where}: ${why}`);
      return 1;
    }
    const mode = `${ctx.o.engine.writable ? 'read-write' : 'read-only'}${overlay ? `, overlay ${ctx.o.engine.overlay}` : ''}`;
    // A URI (RFC 3986, as libnbd parses it): the export name and the socket path percent-encoded, so a
    // folder with a space or a name with `?` or `#` still connects.
    const part = (text: string) => encodeURIComponent(text).replace(/%2F/g, '/');
    const uri = (name: string) => (unix ? `nbd+unix:///${part(name)}?socket=${part(address)}` : `nbd://${address}/${part(name)}`);
    for (const name of run.exports) ctx.out.line(`serving ${uri(name)} (${run.engine.get(name)!.sizeSectors * SECTOR} bytes, ${mode})`);
    if (ctx.o.json) {
      const exports = run.exports.map((name) => ({ name, uri: uri(name), bytes: run.engine.get(name)!.sizeSectors * SECTOR, writable: ctx.o.engine.writable }));
      ctx.out.emitJson({ exports });
    }
    if (!stop.signal.aborted) await new Promise<void>((r) => stop.signal.addEventListener('abort', () => r(), { once: true }));
    return 0;
  } finally {
    // Also when it could not listen: the serving processes started before are stopped, not left behind; the
    // socket file is removed only if it is ours (one it could not listen on may be another server's).
    await server.close();
    if (workers instanceof NbdWorkers) await workers.stop();
    if (unix && listening) await fs.rm(where, { force: true });
    stop.dispose();
    if (overlay) {
      // What the clients wrote and did not flush is made durable before the file is closed.
      const flushed = await overlay.volume.flush?.();
      if (flushed !== undefined && flushed !== true) ctx.out.log('error', `overlay "${ctx.o.engine.overlay}": ${flushed.message}`);
      overlay.close();
    }
    await run.close();
  }
}

/**
 * A serving process (see nbd-workers.ts): builds the engine from the spec it is sent, then runs the NBD
 * protocol on each socket handed to it, until told to stop or its parent goes away.
 */
import type { Socket } from 'node:net';
import { resolve } from 'node:path';
import { createEngine, memberLookup } from './engine.js';
import { NbdServer } from './nbd.js';
import type { FromWorker, ToWorker } from './nbd-workers.js';
import { unreadable } from './rescue.js';
import { fileSource, learnAllocation } from './source.js';
import { isTableError } from './table.js';

const say = (m: FromWorker) => process.send?.(m);
let server: NbdServer | undefined;
const opened: { close(): void }[] = [];

/** End every connection, close the members and the channel: nothing is left to keep the process up. */
function stop(): void {
  const done = () => {
    for (const f of opened.splice(0)) f.close();
    if (process.connected) process.disconnect();
  };
  if (server) void server.close().then(done);
  else done();
}

process.on('message', (m: ToWorker, handle?: Socket) => {
  if (m.kind === 'stop') return stop();
  if (m.kind === 'socket') {
    if (handle && server) server.serve(handle);
    else handle?.destroy();
    return;
  }
  const { spec } = m;
  const members = memberLookup(spec.cwd);
  try {
    for (const member of spec.members) {
      const f = fileSource(resolve(spec.cwd, member.path), member.sizeSectors);
      opened.push(f);
      // Before this process says it is ready: the first client waits for no filefrag.
      learnAllocation(f);
      members.add(member.path, member.unreadable ? unreadable(f, member.unreadable) : f);
    }
  } catch (e) {
    return say({ kind: 'failed', message: (e as Error).message });
  }
  // Member events (a missing member) were reported once by the listening process.
  const engine = createEngine(spec.tables, members.get);
  if (isTableError(engine)) return say({ kind: 'failed', message: `table of "${engine.device}": ${engine.message}` });
  server = new NbdServer({
    exports: spec.exports.map((name) => ({ name, source: engine.get(name)! })),
    onEvent: (message) => say({ kind: 'event', message }),
  });
  say({ kind: 'ready' });
});
// The parent is gone: nothing will hand over sockets or say stop.
process.on('disconnect', stop);
// Ctrl-C reaches the whole process group: end cleanly, as the listening process does.
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

// A serving process as `dmraid --serve` runs one (this process plus worker processes, built code), over one
// member file: for tests that measure the memory of the processes that serve. Prints their pids once listening.
// With a write delay (ms) it serves writable, in one process as `--serve --writable` does, and each write
// to the member waits that long first: storage slower than the clients, so written data piles up if anything does.
import { createEngine, fileSource, NbdServer, NbdWorkers } from '../dist/index.js';

const [sock, file, sectors, workerCount, writeDelayMs] = process.argv.slice(2);
const sizeSectors = Number(sectors);
const writable = writeDelayMs !== undefined;
const tables = [{ name: 'v', table: `0 ${sizeSectors} linear ${file} 0` }];
const opened = fileSource(file, sizeSectors, writable);
const member = writable
  ? { ...opened, write: (sector, data) => new Promise((r) => setTimeout(r, Number(writeDelayMs))).then(() => opened.write(sector, data)) }
  : opened;
const engine = createEngine(tables, (p) => (p === file ? member : undefined));
const say = (m) => process.stderr.write(`${m}\n`);
const workers = Number(workerCount) > 0 ? await NbdWorkers.start({ tables, members: [{ path: file, sizeSectors }], cwd: process.cwd(), exports: ['v'] }, Number(workerCount), say) : undefined;
if (typeof workers === 'string') throw new Error(workers);
const server = new NbdServer({ exports: [{ name: 'v', source: engine.get('v') }], writable, onEvent: say, handOff: workers && ((s) => workers.handOff(s)) });
await server.listen(sock);
process.stdout.write(`${JSON.stringify({ pids: [process.pid, ...(workers?.pids ?? [])] })}\n`);
process.on('SIGTERM', async () => {
  await server.close();
  await workers?.stop();
  opened.close();
});

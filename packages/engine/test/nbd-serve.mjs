// A serving process as `dmraid --serve` runs one (this process plus worker processes, built code), over one
// member file: for tests that measure the memory of the processes that serve. Prints their pids once listening.
import { createEngine, fileSource, NbdServer, NbdWorkers } from '../dist/index.js';

const [sock, file, sectors, workerCount] = process.argv.slice(2);
const sizeSectors = Number(sectors);
const tables = [{ name: 'v', table: `0 ${sizeSectors} linear ${file} 0` }];
const member = fileSource(file, sizeSectors);
const engine = createEngine(tables, (p) => (p === file ? member : undefined));
const say = (m) => process.stderr.write(`${m}\n`);
const workers = Number(workerCount) > 0 ? await NbdWorkers.start({ tables, members: [{ path: file, sizeSectors }], cwd: process.cwd(), exports: ['v'] }, Number(workerCount), say) : undefined;
if (typeof workers === 'string') throw new Error(workers);
const server = new NbdServer({ exports: [{ name: 'v', source: engine.get('v') }], onEvent: say, handOff: workers && ((s) => workers.handOff(s)) });
await server.listen(sock);
process.stdout.write(`${JSON.stringify({ pids: [process.pid, ...(workers?.pids ?? [])] })}\n`);
process.on('SIGTERM', async () => {
  await server.close();
  await workers?.stop();
  member.close();
});

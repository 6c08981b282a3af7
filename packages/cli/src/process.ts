/** Running the CLI as a process: real stdio, exit status. */
import { createInterface } from 'node:readline';
import { run, type Io } from './main.js';

export function processIo(): Io {
  let lines: AsyncIterator<string> | undefined;
  return {
    // Output strings carry one character per byte (metadata strings are raw bytes, as C prints them).
    stdout: (t) => process.stdout.write(Buffer.from(t, 'latin1')),
    stderr: (t) => process.stderr.write(Buffer.from(t, 'latin1')),
    readLine: async () => {
      lines ??= createInterface({ input: process.stdin, terminal: false })[Symbol.asyncIterator]();
      const next = await lines.next();
      return next.done ? null : next.value;
    },
    cwd: process.cwd(),
    terminal: !!process.stderr.isTTY,
  };
}

export async function main(argv = process.argv.slice(2)): Promise<void> {
  const status = await run(argv, processIo());
  process.exitCode = status;
  // Let buffered output drain, then leave even if stdin is still open.
  process.stdout.write('', () => process.exit(status));
}

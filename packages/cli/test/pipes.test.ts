// Standard output or standard error closed or full under the built CLI, in real shell pipelines: a reader that
// went away ends the run quietly with status 141 (as a shell reports a C tool SIGPIPE ended); any other
// failure of standard output is one ERROR line and status 1; never a stack trace.
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, constants, existsSync, openSync, promises as fs, readSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { hashFiles } from '@dmraid/testkit';
import { imagesOf, tmp } from './helpers.js';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

/**
 * `sh -c SCRIPT ARGS...` in `dir`, where the shell function `dmraid` runs the built CLI and keeps its status
 * in the file `status` (a pipeline's own status is its reader's). The shell's output, and that status.
 */
async function sh(dir: string, script: string, args: readonly string[] = []) {
  await fs.rm(join(dir, 'status'), { force: true });
  const child = spawn('sh', ['-c', `dmraid() { node "$BIN" "$@"; echo $? >status; }\n${script}`, 'sh', ...args], {
    cwd: dir,
    env: { ...process.env, BIN: bin },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString('latin1')));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString('latin1')));
  await new Promise((closed) => child.on('close', closed));
  const status = Number((await fs.readFile(join(dir, 'status'), 'utf8')).trim());
  return { stdout, stderr, status };
}

/** What the run prints to a file: the truth a pipeline's reader sees the start of. */
async function printed(dir: string, args: readonly string[]) {
  const r = await sh(dir, 'dmraid "$@" >all.out', args);
  expect([r.status, r.stderr]).toEqual([0, '']);
  return fs.readFile(join(dir, 'all.out'), 'latin1');
}

/**
 * `dmraid ARGS | head -c N`, the reader gone before dmraid writes: it first takes N bytes of `printf`
 * (dmraid's own output is smaller than a pipe, so without that it could all fit before head exits, and
 * whether a write ever fails would be a race). What head printed comes back as stdout.
 */
const afterReaderLeft = (n: number) => `{ printf %${n}s x; dmraid "$@"; } | head -c ${n}`;

const noTrace = (stderr: string) => expect(stderr).not.toMatch(/Unhandled|\n\s+at |EPIPE|ENOSPC|internal error/);

const ENOSPC_LINE = 'ERROR: cannot write to standard output: No space left on device\n';

describe('standard output closed or full', () => {
  it('-r | head -c 10, -s -c -c -c | head -c 1: quiet, status 141', async () => {
    const dir = tmp('pipes');
    const devices = (await imagesOf(dir, 'hpt45x/raid0-2')).flatMap((d) => ['--devices', d]);
    for (const [args, n] of [[['-r'], 10], [['-s', '-c', '-c', '-c'], 1]] as const) {
      const r = await sh(dir, afterReaderLeft(n), [...devices, ...args]);
      noTrace(r.stderr);
      expect([r.status, r.stderr, r.stdout.length]).toEqual([141, '', n]);
    }
  });

  it('-n | head -1: quiet, status 141, head has the first line (the output is larger than a pipe holds)', async () => {
    const dir = tmp('pipes');
    const sets = ['ddf1/raid10-4', 'ddf1/two-vds-disjoint', 'ddf1/mdadm-raid6-4', 'ddf1/raid1e-4'];
    const devices = (await imagesOf(dir, ...sets)).flatMap((d) => ['--devices', d]);
    const all = await printed(dir, [...devices, '-n']);
    // 64 KiB fill a pipe, head reads at most 8 KiB before it exits: some writes must find no reader.
    expect(all.length).toBeGreaterThan(96 * 1024);
    const r = await sh(dir, 'dmraid "$@" | head -1', [...devices, '-n']);
    noTrace(r.stderr);
    expect([r.status, r.stderr, r.stdout]).toEqual([141, '', `${all.split('\n')[0]}\n`]);
  });

  it('a non-blocking pipe whose reader is behind: the whole output, in order, status 0', async () => {
    // The CLI writes with write(2); a descriptor opened O_NONBLOCK (a FIFO here; Node's own pipes can be so)
    // answers EAGAIN when full, and the rest must still arrive, after what was written before it.
    const dir = tmp('pipes');
    const sets = ['ddf1/raid10-4', 'ddf1/two-vds-disjoint', 'ddf1/mdadm-raid6-4', 'ddf1/raid1e-4'];
    const devices = (await imagesOf(dir, ...sets)).flatMap((d) => ['--devices', d]);
    const all = await printed(dir, [...devices, '-n']);
    expect(all.length).toBeGreaterThan(96 * 1024);
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const writer = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    // Node's spawn makes a child's descriptors 0-2 blocking (the flag is the open file's, shared): the FIFO goes
    // in as descriptor 3 and the shell makes it the CLI's standard output.
    const child = spawn('sh', ['-c', 'exec "$0" "$@" >&3 3>&-', process.execPath, bin, ...devices, '-n'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe', writer] });
    closeSync(writer);
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString('latin1')));
    const status = new Promise((closed) => child.on('close', closed));
    const pause = (ms: number) => new Promise((later) => setTimeout(later, ms));
    await pause(1000); // nothing read meanwhile: the pipe fills and the CLI's writes find it full
    const chunks: Buffer[] = [];
    const buf = Buffer.alloc(4096); // a slow reader: a little at a time
    for (;;) {
      let n: number;
      try {
        n = readSync(reader, buf);
      } catch (e) {
        if ((e as { code?: string }).code !== 'EAGAIN') throw e;
        await pause(5);
        continue;
      }
      if (n === 0) break; // the writer closed: the CLI exited
      chunks.push(Buffer.from(buf.subarray(0, n)));
    }
    closeSync(reader);
    const stdout = Buffer.concat(chunks).toString('latin1');
    expect([await status, stderr, stdout.length]).toEqual([0, '', all.length]);
    expect(stdout === all).toBe(true);
  });

  it('-n and --json -r > /dev/full: one ERROR line naming the problem, status 1', async () => {
    const dir = tmp('pipes');
    const devices = (await imagesOf(dir, 'hpt45x/raid0-2')).flatMap((d) => ['--devices', d]);
    for (const args of [['-n'], ['--json', '-r']]) {
      const r = await sh(dir, 'dmraid "$@" >/dev/full', [...devices, ...args]);
      expect([r.status, r.stderr]).toEqual([1, ENOSPC_LINE]);
    }
  });

  it('--help, -V, -l: quiet into a reader that left, one ERROR line into /dev/full', async () => {
    const dir = tmp('pipes');
    for (const args of [['--help'], ['-V'], ['-l']]) {
      const gone = await sh(dir, afterReaderLeft(1), args);
      expect([gone.status, gone.stderr]).toEqual([141, '']);
      const full = await sh(dir, 'dmraid "$@" >/dev/full', args);
      expect([full.status, full.stderr]).toEqual([1, ENOSPC_LINE]);
    }
  });

  it('-r with standard output closed (Node opens /dev/null there: status 0, as dmraid) or open read-only (one ERROR line, status 1)', async () => {
    const dir = tmp('pipes');
    const devices = (await imagesOf(dir, 'hpt45x/raid0-2')).flatMap((d) => ['--devices', d]);
    const closed = await sh(dir, 'dmraid "$@" >&-', [...devices, '-r']);
    expect([closed.status, closed.stderr]).toEqual([0, '']);
    const readOnly = await sh(dir, 'dmraid "$@" 1</dev/null', [...devices, '-r']);
    expect([readOnly.status, readOnly.stderr]).toEqual([1, 'ERROR: cannot write to standard output: Bad file descriptor\n']);
  });

  it('--extract SET -o - | head -c 100: quiet, status 141, the copy stops (a testbed set; a 16 TiB volume)', async () => {
    const dir = tmp('pipes');
    const devices = (await imagesOf(dir, 'hpt45x/raid0-2')).flatMap((d) => ['--devices', d]);
    const name = (await printed(dir, [...devices, '-s', '-c'])).trim();
    const r = await sh(dir, 'dmraid "$@" | head -c 100', [...devices, '--extract', name, '-o', '-']);
    expect([r.status, r.stderr, r.stdout.length]).toEqual([141, '', 100]);
    // Two sparse members of 8 TiB striped: no time is measured, but a copy that went on after head left
    // would outlast the test's timeout by hours.
    for (const m of ['big0.img', 'big1.img']) {
      const h = await fs.open(join(dir, m), 'w');
      await h.truncate(8 * 2 ** 40);
      await h.close();
    }
    await fs.writeFile(join(dir, 't.txt'), `big: 0 ${2 * 8 * 2 ** 31} striped 2 128 big0.img 0 big1.img 0\n`);
    const big = await sh(dir, 'dmraid "$@" | head -c 100', ['--extract', 'big', '-o', '-', '--tables', 't.txt']);
    expect([big.status, big.stderr, big.stdout]).toEqual([141, '', '\0'.repeat(100)]);
  });

  it('--serve whose URIs cannot be printed stops serving (socket removed): quiet into a reader that left, one ERROR line into /dev/full', async () => {
    const dir = tmp('pipes');
    await fs.writeFile(join(dir, 'm0.img'), Buffer.alloc(1 << 20, 7));
    await fs.writeFile(join(dir, 'm1.img'), Buffer.alloc(1 << 20, 9));
    await fs.writeFile(join(dir, 't.txt'), 'r0: 0 4096 striped 2 128 m0.img 0 m1.img 0\n');
    const args = ['--serve', '--tables', 't.txt', '--listen', 's.sock'];
    const gone = await sh(dir, afterReaderLeft(1), args);
    expect([gone.status, gone.stderr]).toEqual([141, '']);
    const full = await sh(dir, 'dmraid "$@" >/dev/full', args);
    expect([full.status, full.stderr]).toEqual([1, ENOSPC_LINE]);
    expect(existsSync(join(dir, 's.sock'))).toBe(false);
  });

  it('a prompt that cannot be shown gets no answer: yes | dmraid -E -r into a reader that left erases nothing', async () => {
    const dir = tmp('pipes');
    const devices = (await imagesOf(dir, 'hpt45x/raid0-2')).flatMap((d) => ['--devices', d]);
    // The images only: -E keeps a backup of the metadata (dmraid.hpt45x/) before it asks.
    const images = join(dir, 'hpt45x-raid0-2');
    const before = await hashFiles(images);
    const r = await sh(dir, '{ printf x; yes | dmraid "$@"; } | head -c 1', [...devices, '-E', '-r']);
    expect([r.status, r.stderr]).toEqual([141, '']);
    expect(await hashFiles(images)).toBe(before);
  });
});

describe('standard error closed or full', () => {
  it('an error to report into /dev/full or a closed stderr: the run goes on (stdout complete), its status kept', async () => {
    const dir = tmp('pipes');
    const devices = (await imagesOf(dir, 'nvidia/jbod-2-badsum')).flatMap((d) => ['--devices', d]);
    const ok = await sh(dir, 'dmraid "$@"', [...devices, '-r']);
    expect(ok.stderr).toMatch(/^ERROR: nvidia: bad checksum on /);
    expect(ok.status).toBe(0);
    for (const redirect of ['2>/dev/full', '2>&-']) {
      const r = await sh(dir, `dmraid "$@" ${redirect}`, [...devices, '-r']);
      expect([r.status, r.stdout]).toEqual([0, ok.stdout]);
    }
  });

  it('an error to report into a reader that left: quiet, status 141', async () => {
    const dir = tmp('pipes');
    const r = await sh(dir, '{ printf x; dmraid "$@" 2>&1 >/dev/null; } | head -c 1', ['--devices', 'nothere.img', '-r']);
    expect([r.status, r.stdout, r.stderr]).toEqual([141, 'x', '']);
  });
});

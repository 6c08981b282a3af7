#!/usr/bin/env node
// `npm run demo`: build the member images of the bundled hpt45x sample set (testbed/hpt45x/raid10-4) in a
// temporary folder and show what dmraid discovers on them (-r and -s), as a newcomer would run it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '@dmraid/cli';
import { buildTestbedImages, listTestbedSets, testbedDir } from '@dmraid/testkit';

const sample = 'raid10-4';
const set = (await listTestbedSets(testbedDir, 'hpt45x')).find((s) => s.config === sample);
if (!set) {
  console.error(`demo: the sample set testbed/hpt45x/${sample} is missing`);
  process.exit(1);
}
const dir = mkdtempSync(join(tmpdir(), 'dmraid-demo-'));
try {
  const images = await buildTestbedImages(set, dir);
  console.log(`Sample set: ${set.description}`);
  console.log(`Member images (sparse) in ${dir}: ${images.map((i) => i.split(':')[0]).join(' ')}\n`);
  const io = {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    readLine: async () => null,
    cwd: dir,
  };
  const devices = images.flatMap((i) => ['--devices', i]);
  let status = 0;
  for (const args of [['-r'], ['-s']]) {
    console.log(`$ dmraid ${devices.join(' ')} ${args.join(' ')}`);
    status ||= await run([...devices, ...args], io);
    console.log('');
  }
  process.exitCode = status;
} finally {
  rmSync(dir, { recursive: true, force: true });
}

// Part two, the userspace engine: a RAID5 set with one member missing, served over NBD without root and
// without the kernel, and a file read from the ext4 filesystem on it (nbdcopy + debugfs from e2fsprogs).
await engineDemo();

async function engineDemo() {
  const { execFile, execFileSync } = await import('node:child_process');
  const { promisify } = await import('node:util');
  // The server runs in this process: clients must not block its event loop.
  const exec = promisify(execFile);
  const { rmSync: rm, writeFileSync, mkdirSync } = await import('node:fs');
  const have = (cmd) => {
    try {
      execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  const missingTools = ['nbdcopy', 'mke2fs', 'debugfs'].filter((c) => !have(c));
  if (missingTools.length) {
    console.log(`(skipping the userspace engine demo: ${missingTools.join(', ')} missing; apt-get install -y libnbd-bin e2fsprogs)`);
    return;
  }
  const raid5 = (await listTestbedSets(testbedDir, 'isw')).find((s) => s.config === 'raid5-3');
  if (!raid5) {
    console.error('demo: the sample set testbed/isw/raid5-3 is missing');
    process.exitCode = 1;
    return;
  }
  const work = mkdtempSync(join(tmpdir(), 'dmraid-demo-engine-'));
  const out = [];
  const io = {
    stdout: (t) => (out.push(t), process.stdout.write(t)),
    stderr: (t) => process.stderr.write(t),
    readLine: async () => null,
    cwd: work,
  };
  const sock = join(work, 'nbd.sock');
  /** `dmraid --serve` in the background while `client` runs; SIGINT ends it, as a user's Ctrl-C would. */
  const serving = async (devices, extra, client) => {
    out.length = 0;
    const args = [...devices, '--serve', '--listen', sock, ...extra];
    const show = () => console.log(`$ dmraid ${args.join(' ').replaceAll(work + '/', '')} &`);
    show();
    const server = run(args, { ...io, stderr: (t) => out.push(t) });
    let ended = false;
    void server.then(() => (ended = true));
    const until = Date.now() + 10_000;
    while (!out.join('').includes('serving') && Date.now() < until) {
      if (ended) {
        process.stdout.write(out.join(''));
        throw new Error('dmraid --serve ended before serving');
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    try {
      return await client();
    } finally {
      process.emit('SIGINT');
      await server;
    }
  };
  try {
    const specs = await buildTestbedImages(raid5, work);
    const devices = specs.flatMap((s) => ['--devices', s]);
    console.log(`\nSample set for the userspace engine: ${raid5.description} (${specs.map((s) => s.split(':')[0]).join(' ')})`);
    // A small ext4 filesystem, made without root.
    const tree = join(work, 'files');
    mkdirSync(tree);
    writeFileSync(join(tree, 'README.txt'), 'These bytes came back from a RAID5 set with a member missing.\n');
    execFileSync('mke2fs', ['-q', '-F', '-t', 'ext4', '-d', tree, join(work, 'fs.img'), '16M']);
    // The set's name, as discovery gives it (the export is named after the set).
    out.length = 0;
    await run([...devices, '-s', '-c'], { ...io, stdout: (t) => out.push(t) });
    const name = out.join('').trim().split('\n')[0];
    const url = `nbd+unix:///${name}?socket=${sock}`;
    console.log('\nWrite the filesystem onto the healthy set, through the engine (parity kept):');
    await serving(devices, ['--writable'], async () => {
      console.log(`$ nbdcopy fs.img '${url.replace(work + '/', '')}'`);
      await exec('nbdcopy', [join(work, 'fs.img'), url]);
    });

    const gone = specs[1].split(':')[0];
    rm(join(work, gone));
    const left = specs.filter((_, i) => i !== 1);
    const leftDevices = left.flatMap((s) => ['--devices', s]);
    console.log(`\nThe disk ${gone} is gone. What dmraid discovers on the other two:`);
    console.log(`$ dmraid ${leftDevices.join(' ')} -s`);
    await run([...leftDevices, '-s'], io);
    console.log('\nServe the set anyway: the missing member is rebuilt from parity on every read.');
    const text = await serving(leftDevices, [], async () => {
      console.log(`$ nbdcopy '${url.replace(work + '/', '')}' volume.img && debugfs -R 'cat /README.txt' volume.img`);
      await exec('nbdcopy', [url, join(work, 'volume.img')]);
      return (await exec('debugfs', ['-R', 'cat /README.txt', join(work, 'volume.img')])).stdout;
    });
    process.stdout.write(text);
    if (!text.includes('member missing')) process.exitCode = 1;
  } finally {
    rm(work, { recursive: true, force: true });
  }
}

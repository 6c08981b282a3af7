// What the benchmarks share: the environment their commands run in, the images, the statistics.
//
// NODE_EXTRA_CA_CERTS (set on some machines for a TLS proxy) makes every Node process read and parse that
// certificate bundle before it runs a line (30-60 ms on the machine of docs/benchmarks.md): not the CLI's
// cost (it opens no TLS connection) nor one its users pay, so the commands run without it, and each script
// prints what it would have added.
import { spawnSync } from 'node:child_process';
import { openSync, ftruncateSync, closeSync, readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { buildTestbedImages, listTestbedSets, testbedDir } from '@dmraid/testkit';

export const extraCerts = process.env.NODE_EXTRA_CA_CERTS;

/** The environment for a measured command: this one, with `changes`, without NODE_EXTRA_CA_CERTS. */
export function commandEnv(changes = {}) {
  const env = { ...process.env, ...changes };
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

/** The reference must not find our own `dmraid` (node_modules/.bin) first on PATH. */
export function cleanPath() {
  return (process.env.PATH ?? '').split(':').filter((p) => !p.includes('node_modules')).join(':');
}

/** The command line's options: option('--runs') the value after it, every('--cli') the values after each. */
export function commandLine(args = process.argv.slice(2)) {
  return {
    args,
    option: (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined),
    every: (name) => args.flatMap((a, i) => (a === name && args[i + 1] ? [args[i + 1]] : [])),
  };
}

export function median(values) {
  const v = [...values].sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
}

/** N member images: whole testbed sets of every format in turn, then blank images to fill up. */
export async function makeImages(dir, n) {
  const sets = (await listTestbedSets(testbedDir)).filter((s) => !/missing|degraded|bad|broken/.test(s.config));
  const specs = [];
  let k = 0;
  // Round-robin over formats so each count has a mix of them.
  const byFormat = new Map();
  for (const s of sets) byFormat.set(s.format, [...(byFormat.get(s.format) ?? []), s]);
  const queues = [...byFormat.values()];
  for (let round = 0; specs.length < n && queues.some((q) => q.length > round); round++) {
    for (const q of queues) {
      const set = q[round];
      if (!set || specs.length + set.members.length > n) continue;
      const sub = join(dir, `set${k++}`);
      for (const spec of await buildTestbedImages(set, sub)) specs.push(join(sub, spec));
    }
  }
  while (specs.length < n) {
    const file = join(dir, `blank${specs.length}.img`);
    const fd = openSync(file, 'w');
    ftruncateSync(fd, 64 << 20);
    closeSync(fd);
    specs.push(file);
  }
  return specs;
}

/** The machine, and the version of `node` (the Node that runs ours; default this one). */
export function machine(node = process.execPath) {
  const c = cpus();
  let os = process.platform;
  try {
    os = /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? os;
  } catch {}
  return `${c.length} × ${c[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${os}, Node ${spawnSync(node, ['-p', 'process.version'], { env: commandEnv(), encoding: 'utf8' }).stdout.trim()}`;
}

const letters = 'abcdefghijklmnopqrstuvwxyz';
/** The i-th disk's name as the kernel gives it: sda ... sdz, sdaa ... sdzz. */
export const diskName = (i) => `sd${i < 26 ? letters[i] : letters[Math.floor(i / 26) - 1] + letters[i % 26]}`;

// Shows the loop devices as whole disks /dev/sda, ... to both tools alike: a tmpfs over /sys/block with each
// disk's size and removable flag (the real /sys beneath for everything else: ours reads /sys/dev/block), a tmpfs
// /dev with the disk nodes, a tmpfs /run with udev's record of each disk's serial (the reference gets it from its
// ATA serial shim). The machine's own disks are out of sight.
const namespaceSetup = `
  set -e
  mount -t tmpfs none /sys/block
  mount -t tmpfs none /dev
  mount -t tmpfs none /run && mkdir -p /run/udev/data /run/lock
  for n in $NODES; do
    IFS=: read -r name maj min sectors serial <<<"$n"
    mknod /dev/$name b $maj $min
    mkdir /sys/block/$name && echo $sectors >/sys/block/$name/size && echo 0 >/sys/block/$name/removable
    if [ -n "$serial" ]; then echo "E:ID_SERIAL_SHORT=$serial" >/run/udev/data/b$maj:$min; fi
  done
  mknod /dev/null c 1 3; mknod /dev/zero c 1 5; mknod /dev/urandom c 1 9
  set +e`;

/**
 * Images (`PATH[:SERIAL]`) attached read-only to loop devices, shown as disks sda, sdb, ... in a private mount
 * namespace: run(script, argv) runs the bash `script` there after the setup (neither unshare nor the mounts are
 * in what the script times), with `argv` as "$@" and the reference's serial shim variables in its environment.
 * detach() detaches every loop device (also called here when attaching fails).
 */
export function loopDisks(images, env = commandEnv()) {
  const loops = [];
  const sh = (cmd, a) => spawnSync(cmd, a, { encoding: 'utf8' }).stdout.trim();
  const detach = () => {
    for (const l of loops.splice(0)) spawnSync('losetup', ['-d', l]);
  };
  try {
    const serials = {};
    const nodes = images.map((spec, i) => {
      const [image, serial = ''] = spec.split(':');
      const loop = sh('losetup', ['-f', '--show', '-r', image]);
      if (!loop) throw new Error(`losetup ${image} failed`);
      loops.push(loop);
      const [maj, min] = sh('stat', ['-c', '%t %T', loop]).split(' ').map((h) => parseInt(h, 16));
      // isw matches disks by serial: the shim answers ATA IDENTIFY with the one the testbed recorded.
      if (serial) serials[`DMRAID_REF_SERIAL_${maj}_${min}`] = serial;
      return `${diskName(i)}:${maj}:${min}:${Number(sh('blockdev', ['--getsize64', loop])) / 512}:${serial}`;
    });
    return {
      loops,
      run: (script, argv, more = {}) =>
        spawnSync('unshare', ['-m', 'bash', '-c', `${namespaceSetup}\n${script}`, 'bench', ...argv], {
          encoding: 'latin1',
          maxBuffer: 64 << 20,
          env: { ...env, ...serials, ...more, NODES: nodes.join(' ') },
        }),
      detach,
    };
  } catch (e) {
    detach();
    throw e;
  }
}

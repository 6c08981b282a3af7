// The monitor's cost and reaction, in the dm-vm VM (a real kernel; software emulation, TCG: every number
// here is an upper bound of what a real machine shows). docs/benchmarks.md "Monitor" has the results.
//
//   node tools/bench/monitor.mjs [--idle-seconds 60] [--rounds 3]
//
// Per round: an isw RAID1 of two 64 MiB disks made with our -C, activated with our -ay, `dmraid --monitor
// --json` started; then
// - idle: the monitor's CPU time (utime+stime of it and its `dmsetup wait` children, /proc) over the idle
//   window, and its resident memory (VmRSS, the node process and the children apart);
// - reaction: a writer keeps writing to the volume, one member is taken offline (/sys/.../device/state);
//   from the kernel's first rejected write (dmesg's time: dm-raid1 fails the leg and raises its event there)
//   to the monitor's `failed` event and to its `reloaded` event (the new table in place: the writes the mirror
//   held complete), from the monitor's own JSON lines. dmesg's clock and /proc/uptime's (the JSON times are
//   put on it through node's Date.now() against /proc/uptime) differ by a few hundredths of a second.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runDmVm } from '@dmraid/testkit';

const { values } = parseArgs({ options: { 'idle-seconds': { type: 'string', default: '60' }, rounds: { type: 'string', default: '3' } } });
const idleSeconds = Number(values['idle-seconds']);
const rounds = Number(values.rounds);
const bin = join(import.meta.dirname, '..', '..', 'packages', 'cli', 'dist', 'bin.js');

const script = `
set -u
$DMRAID -ay >/dev/null || exit 10
vol=$(ls /dev/mapper | grep '^isw_' | head -n 1)
[ -n "$vol" ] || exit 11
$DMRAID --monitor --json >/root/mon.json 2>/root/mon.err &
mon=$!
for i in $(seq 1 60); do grep -q '"watching"' /root/mon.json && break; sleep 1; done
grep -q '"watching"' /root/mon.json || { cat /root/mon.err >&2; exit 12; }
sleep 3
kids() { cat /proc/$mon/task/*/children 2>/dev/null; }
ticks() { t=0; for p in $mon $(kids); do set -- $(cut -d' ' -f14,15 /proc/$p/stat); t=$((t + $1 + $2)); done; echo $t; }
rss() { grep VmRSS /proc/$1/status | awk '{print $2}'; }
t0=$(ticks); u0=$(cut -d' ' -f1 /proc/uptime)
sleep ${idleSeconds}
t1=$(ticks); u1=$(cut -d' ' -f1 /proc/uptime)
echo "idle ticks $((t1 - t0)) over $u0 $u1 hz $(getconf CLK_TCK 2>/dev/null || echo 100)"
echo "rss node $(rss $mon)"
kids=0; n=0; for p in $(kids); do kids=$((kids + $(rss $p))); n=$((n + 1)); done
echo "rss children $kids count $n"
( while :; do dd if=/dev/zero of=/dev/mapper/$vol bs=4096 count=256 oflag=direct 2>/dev/null || break; done ) &
writer=$!
sleep 2
# The VM's wall clock (the monitor's JSON times) against its uptime (dmesg's and /proc/uptime's clock).
NODE="/share/lib/ld-linux-x86-64.so.2 --library-path /share/lib /share/node"
echo "clock $($NODE -e 'const u = Number(require("fs").readFileSync("/proc/uptime", "utf8").split(" ")[0]); console.log(Date.now() / 1000 - u)')"
echo "offline $(cut -d' ' -f1 /proc/uptime)"
echo offline > /sys/block/sdb/device/state
for i in $(seq 1 120); do grep -q '"reloaded"' /root/mon.json && break; sleep 0.5; done
kill $writer 2>/dev/null
kill $mon; wait $mon
echo "kernel $(dmesg | grep -m 1 'rejecting I/O to offline device' | awk -F'[][]' '{print $2}' | tr -d ' ')"
cat /root/mon.json
`;

/** A JSON event's time on the VM's uptime clock. */
const uptimeOf = (iso, clock) => Date.parse(iso) / 1000 - clock;
const results = [];
for (let round = 0; round < rounds; round++) {
  const dir = mkdtempSync(join(tmpdir(), 'dmraid-bench-monitor-'));
  try {
    const disks = [0, 1].map((i) => ({ file: join(dir, `d${i}.img`), serial: `BENCHMON${i}0000` }));
    for (const d of disks) {
      writeFileSync(d.file, '');
      truncateSync(d.file, 64 << 20);
    }
    execFileSync(process.execPath, [bin, ...disks.flatMap((d) => ['--devices', `${d.file}:${d.serial}`]), '-f', 'isw', '-C', 'Bench', '--type', '1', '--disk', disks.map((d) => d.file).join(','), '--yes'], { cwd: dir, stdio: 'pipe' });
    const r = await runDmVm(disks, script, { ours: true, snapshot: true, timeout: idleSeconds + 300 });
    if (r.status !== 0) throw new Error(`round ${round}: the VM script ended with ${r.status}\n${r.stderr}`);
    const line = (re) => {
      const m = re.exec(r.stdout);
      if (!m) throw new Error(`round ${round}: no line ${re} in the VM's output:\n${r.stdout}\n${r.stderr}`);
      return m.slice(1).map(Number);
    };
    const [ticks, u0, u1, hz] = line(/^idle ticks (\d+) over ([\d.]+) ([\d.]+) hz (\d+)$/m);
    const [rssNode] = line(/^rss node (\d+)$/m);
    const [rssKids, kids] = line(/^rss children (\d+) count (\d+)$/m);
    const [clock] = line(/^clock ([\d.]+)$/m);
    const [offline] = line(/^offline ([\d.]+)$/m);
    const [kernel] = line(/^kernel ([\d.]+)$/m);
    const events = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    const at = (name) => events.find((e) => e.event === name)?.time;
    const failed = at('failed');
    const reloaded = at('reloaded');
    results.push({
      cpuPercent: (100 * ticks) / hz / (u1 - u0),
      rssNodeMiB: rssNode / 1024,
      rssChildrenMiB: rssKids / 1024,
      children: kids,
      offlineToKernel: kernel - offline,
      kernelToFailed: failed ? uptimeOf(failed, clock) - kernel : undefined,
      kernelToReloaded: reloaded ? uptimeOf(reloaded, clock) - kernel : undefined,
    });
    console.log(`round ${round + 1}: ${JSON.stringify(results.at(-1))}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const median = (xs) => {
  const s = xs.filter((x) => x !== undefined).sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : undefined;
};
const fmt = (x, digits = 2) => (x === undefined ? 'none' : x.toFixed(digits));
console.log(`\nmedian of ${rounds} rounds (VM, TCG):`);
console.log(`  idle CPU            ${fmt(median(results.map((r) => r.cpuPercent)))} % of a core (monitor + its dmsetup wait children, ${idleSeconds} s)`);
console.log(`  memory              ${fmt(median(results.map((r) => r.rssNodeMiB)), 1)} MiB node + ${fmt(median(results.map((r) => r.rssChildrenMiB)), 1)} MiB in ${results[0]?.children} dmsetup wait`);
console.log(`  offline -> kernel's event   ${fmt(median(results.map((r) => r.offlineToKernel)))} s (the first write the offline disk rejects, dmesg)`);
console.log(`  kernel's event -> failed   ${fmt(median(results.map((r) => r.kernelToFailed)))} s (the monitor has read the status)`);
console.log(`  kernel's event -> reloaded ${fmt(median(results.map((r) => r.kernelToReloaded)))} s (recorded in the metadata, new table in place, held writes released)`);

// --monitor in a real kernel (../shared/tools/dm-vm; our CLI runs there as $DMRAID): a set made by our -C and
// -S on image files is activated with -ay, the monitor starts (--json to a file), a writer runs on the volume,
// and a member goes offline under it (`echo offline > /sys/block/sdX/device/state`). Shown: the held writes
// complete (the writer ends), the metadata records the failure (mdadm --examine in the VM; the reference
// dmraid and our -s on the host afterwards), the spare is rebuilt onto and the set reads ok again, and the
// volume holds what was written (sha256).
// Skipped with the reason where the VM cannot run; required under CI.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildTestbedImages, dmVmBoots, listTestbedSets, reference, removeVmBundle, runDmVm, runOurs, runReference, testbedDir, testIf } from '@dmraid/testkit';
import { tmp } from './helpers.js';

const vmIt = testIf(it, await dmVmBoots({ ours: true }));
afterAll(() => removeVmBundle());
const MIB = 1 << 20;

interface Event {
  readonly event: string;
  readonly set?: string;
  readonly device?: string;
  readonly message: string;
}

/** Images made by our -C (the volume) and -S (a global spare), 64 MiB each; serials as the VM's disks report them. */
async function images(dir: string, format: 'isw' | 'ddf1', level: '1' | '5', members: number, tag: string) {
  const disks = Array.from({ length: members + 1 }, (_, i) => ({ file: join(dir, `d${i}.img`), serial: `MON${tag}${i}` }));
  for (const d of disks) {
    await fs.writeFile(d.file, '');
    await fs.truncate(d.file, 64 * MIB);
  }
  const specs = disks.map((d) => `${d.file}:${d.serial}`);
  const names = disks.slice(0, members).map((d) => d.file).join(',');
  const created = await runOurs(specs.slice(0, members), ['-f', format, '-C', 'Vol', '--type', level, '--disk', names, '--yes'], { cwd: dir });
  expect(created.status, created.stderr).toBe(0);
  // isw's global spare is a set of its own; ddf1's joins the set's container (-S SET).
  const set = format === 'ddf1' ? [(await runOurs(specs.slice(0, members), ['-s', '-c'], { cwd: dir })).stdout.trim().split('\n')[0]!] : [];
  const spare = await runOurs(specs, ['-f', format, '-S', ...set, '-M', disks[members]!.file], { cwd: dir, stdin: 'y\n' });
  expect(spare.status, spare.stderr).toBe(0);
  return { disks, specs };
}

/**
 * The scenario in the VM: the member `fail` (sdb, ...) goes offline under a writer of 4 MiB. The script prints
 * WRITER (the writer's end), SUM (the volume's first 4 MiB after the rebuild), EVENTS and the examine lines.
 */
const scenario = (fail: string, volume = '_Vol') => `
cd /tmp && mkdir -p mon && cd mon
$DMRAID -ay >/dev/null 2>&1 || exit 10
name=$($DMRAID -s -c 2>/dev/null | grep ${volume} | head -n 1)
[ -n "$name" ] || exit 11
echo "NAME $name"
head -c 4194304 /dev/urandom > data
echo "DATA $(sha256sum < data | cut -d' ' -f1)"
DMRAID_MONITOR_PROGRESS_SECONDS=1 $DMRAID --monitor --json > events.json 2> err.txt &
MON=$!
for i in $(seq 1 240); do grep -q '"watching"' events.json && break; sleep 0.5; done
# The writer: its first MiB, then the member goes offline, then the rest (held by dm-mirror until the reload).
( w=0
  for i in 0 1 2 3; do
    [ $i = 1 ] && echo offline > /sys/block/${fail}/device/state
    dd if=data of=/dev/mapper/$name bs=64k count=16 skip=$((i*16)) seek=$((i*16)) oflag=direct 2>/dev/null || w=1
  done
  echo "WRITER $w" > writer.txt ) &
for i in $(seq 1 240); do [ -s writer.txt ] && break; sleep 0.5; done
cat writer.txt 2>/dev/null || echo "WRITER hung"
for i in $(seq 1 600); do grep -q '"rebuilt"' events.json && break; sleep 0.5; done
sync
echo "SUM $(head -c 4194304 /dev/mapper/$name | sha256sum | cut -d' ' -f1)"
echo "TABLE $(dmsetup table $name)"
echo "STATUS $(dmsetup status $name)"
kill -TERM $MON; wait $MON; echo "MONRC $?"
echo EVENTS; cat events.json; echo END
sed 's/^/MONERR /' err.txt
$DMRAID -an >/dev/null 2>&1
mdadm --examine /dev/sda 2>/dev/null | sed 's/^/EXAMINE /'
echo BACKUPS $(ls -d dmraid.*/backup-* 2>/dev/null | wc -l)
`;

const events = (stdout: string): Event[] =>
  (/EVENTS\n([^]*?)END\n/.exec(stdout)?.[1] ?? '')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Event);
const field = (stdout: string, key: string) => new RegExp(`^${key} (.*)$`, 'm').exec(stdout)?.[1];

/** A mirror of two members and a spare (the third disk), made on the host. */
interface MirrorCase {
  readonly format: string;
  readonly make: (dir: string) => Promise<{ disks: { file: string; serial: string | undefined }[]; specs: string[] }>;
  /** How the volume's name is told from the spare set's in `-s -c`. */
  readonly volume?: string;
  /** What mdadm --examine of the survivor says (IMSM, DDF); undefined where mdadm reads no such metadata. */
  readonly examine?: { readonly after: RegExp };
}

const MIRRORS: MirrorCase[] = [
  { format: 'isw', make: (dir) => images(dir, 'isw', '1', 2, 'R1'), examine: { after: /EXAMINE\s+Map State : normal/ } },
  { format: 'ddf1', make: (dir) => images(dir, 'ddf1', '1', 2, 'D1'), examine: { after: /EXAMINE.*Optimal/ } },
  {
    format: 'nvidia',
    // mdadm reads no nvidia metadata: the testbed set raid1-2-spare (32 MiB members, a spare), recorded from
    // the vendor's own. nvidia's rebuild (format-nvidia ops.ts) takes the spare in, as for isw and ddf1.
    make: async (dir) => {
      const set = (await listTestbedSets(testbedDir, 'nvidia')).find((x) => x.config === 'raid1-2-spare')!;
      const specs = (await buildTestbedImages(set, dir)).map((spec) => join(dir, spec));
      return { specs, disks: specs.map((spec) => ({ file: spec.split(':')[0]!, serial: spec.split(':')[1] })) };
    },
    volume: 'nvidia_',
  },
];

describe('--monitor in a real kernel: a mirror member goes offline under writes', () => {
  for (const c of MIRRORS) {
    vmIt(`${c.format} RAID1 with a spare: held writes complete, the failure is recorded, the spare rebuilt in, the set ok, the bytes as written`, async () => {
      const dir = tmp(`monitor-vm-${c.format}`);
      const { disks, specs } = await c.make(dir);
      const r = await runDmVm(disks, scenario('sdb', c.volume), { ours: true, timeout: 900 });
      expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
      const ev = events(r.stdout);
      const names = ev.map((e) => e.event).filter((e) => e !== 'resync-progress');
      // The writer ended: the reload released what dm-mirror held (handle_errors).
      expect(field(r.stdout, 'WRITER'), r.stdout).toBe('0');
      expect(field(r.stdout, 'SUM')).toBe(field(r.stdout, 'DATA'));
      expect(ev.find((e) => e.event === 'failed')?.device, r.stdout).toBe('/dev/sdb');
      expect(field(r.stdout, 'MONRC')).toBe('0');
      expect(names, r.stdout).toEqual(['watching', 'failed', 'recorded', 'reloaded', 'spare-added', 'reloaded', 'rebuilt']);
      expect(ev.find((e) => e.event === 'rebuilt')!.device).toBe('/dev/sdc');
      expect(field(r.stdout, 'TABLE')).toMatch(/ mirror core 2 \d+ (no)?sync 2 8:0 0 8:32 0 1 handle_errors$/);
      expect(field(r.stdout, 'STATUS')).toMatch(/ mirror 2 8:0 8:32 (\d+)\/\1 1 AA /);
      expect(Number(field(r.stdout, 'BACKUPS'))).toBeGreaterThanOrEqual(3);
      // mdadm reads the survivor's metadata as the monitor left it.
      if (c.examine) expect(r.stdout).toMatch(c.examine.after);
      // On the host: the reference and our -s read the disks left (the dead one out).
      const kept = specs.filter((_, i) => i !== 1);
      const want = /status\s*:\s*ok/;
      const ours = await runOurs(kept, ['-s'], { cwd: dir });
      expect(ours.stdout, ours.stderr).toMatch(want);
      if (reference().available) {
        const ref = await runReference(kept.map((spec) => spec.replace(`${dir}/`, '')), ['-s'], { cwd: dir });
        expect(ref.stdout, ref.stderr).toMatch(want);
      }
    }, 1_000_000);
  }
});

/** mdadm --examine of a survivor after the monitor recorded the failure of the second member. */
const RAID5S = [
  { format: 'isw' as const, tag: 'R5', examine: [/EXAMINE\s+Map State : degraded/, /EXAMINE\s+Slots : \[U_U\]/] },
  { format: 'ddf1' as const, tag: 'D5', examine: [/EXAMINE.*[Dd]egraded/] },
];

describe('--monitor in a real kernel: a RAID5 (dm-raid) member goes offline', () => {
  for (const c of RAID5S) vmIt(`${c.format} RAID5 (dm-raid) with a global spare: the failure is recorded but the kernel holds the set (no metadata devices: no reload possible); after a reboot the monitor rebuilds the degraded set onto the spare, the bytes as written`, async () => {
    const dir = tmp(`monitor-vm-r5-${c.format}`);
    const { disks, specs } = await images(dir, c.format, '5', 3, c.tag);
    // Before: the data written and flushed; then sdb dies under a read and the monitor records it.
    const before = await runDmVm(disks, `
cd /tmp && mkdir -p mon && cd mon
$DMRAID -ay >/dev/null 2>&1 || exit 10
name=$($DMRAID -s -c 2>/dev/null | grep _Vol | head -n 1)
head -c 4194304 /dev/urandom > data
echo "DATA $(sha256sum < data | cut -d' ' -f1)"
dd if=data of=/dev/mapper/$name bs=64k oflag=direct 2>/dev/null || exit 12
DMRAID_MONITOR_PROGRESS_SECONDS=1 $DMRAID --monitor --json > events.json 2> err.txt &
MON=$!
for i in $(seq 1 240); do grep -q '"watching"' events.json && break; sleep 0.5; done
echo offline > /sys/block/sdb/device/state
( dd if=/dev/mapper/$name of=/dev/null bs=64k iflag=direct 2>/dev/null & )
for i in $(seq 1 240); do grep -q '"error"' events.json && break; sleep 0.5; done
echo "STATUS $(dmsetup status $name)"
kill -TERM $MON; wait $MON; echo "MONRC $?"
echo EVENTS; cat events.json; echo END
sed 's/^/MONERR /' err.txt
mdadm --examine /dev/sda 2>/dev/null | sed 's/^/EXAMINE /'
`, { ours: true, timeout: 900 });
    expect(before.status, `${before.stdout}\n${before.stderr}`).toBe(0);
    const ev = events(before.stdout);
    expect(ev.map((e) => e.event), before.stdout).toEqual(['watching', 'failed', 'recorded', 'error']);
    expect(ev[1]!.device).toBe('/dev/sdb');
    expect(ev[3]!.message).toContain('cannot be suspended');
    expect(field(before.stdout, 'MONRC')).toBe('0');
    expect(field(before.stdout, 'STATUS')).toMatch(/ raid raid5_\w+ 3 ADA /);
    // mdadm reads what the monitor recorded on the survivors: the volume degraded.
    for (const want of c.examine) expect(before.stdout).toMatch(want);
    // On the host: our -s and the reference read the survivors as a degraded set.
    const kept = [specs[0]!, specs[2]!, specs[3]!];
    const degraded = /type\s*:\s*raid5_\w+\nstatus\s*:\s*(inconsistent|broken|nosync)/;
    expect((await runOurs(kept, ['-s'], { cwd: dir })).stdout).toMatch(degraded);
    if (reference().available) expect((await runReference(kept.map((x) => x.replace(`${dir}/`, '')), ['-s'], { cwd: dir })).stdout).toMatch(degraded);

    // After a reboot, without the dead disk: -ay maps the set degraded, the monitor puts the spare in.
    const after = await runDmVm([disks[0]!, disks[2]!, disks[3]!], scenarioAfterReboot, { ours: true, timeout: 900 });
    expect(after.status, `${after.stdout}\n${after.stderr}`).toBe(0);
    const ev2 = events(after.stdout);
    expect(ev2.map((e) => e.event).filter((e) => e !== 'resync-progress'), after.stdout).toEqual(['watching', 'spare-added', 'reloaded', 'rebuilt']);
    // The spare (sdc in this boot) took the dead member's slot, rebuilt by the kernel (`rebuild 1`).
    expect(field(after.stdout, 'TABLE')).toMatch(/ raid raid5_\w+ 5 \d+ rebuild 1 region_size \d+ 3 - 8:0 - 8:32 - 8:16$/);
    expect(field(after.stdout, 'STATUS')).toMatch(/ raid raid5_\w+ 3 AAA (\d+)\/\1 idle /);
    expect(field(after.stdout, 'SUM')).toBe(field(before.stdout, 'DATA'));
    const ok = /type\s*:\s*raid5_\w+\nstatus\s*:\s*ok/;
    expect((await runOurs(kept, ['-s'], { cwd: dir })).stdout).toMatch(ok);
    if (reference().available) expect((await runReference(kept.map((x) => x.replace(`${dir}/`, '')), ['-s'], { cwd: dir })).stdout).toMatch(ok);
  }, 2_000_000);
});

const scenarioAfterReboot = `
cd /tmp && mkdir -p mon && cd mon
$DMRAID -ay >/dev/null 2>&1 || exit 10
name=$($DMRAID -s -c 2>/dev/null | grep _Vol | head -n 1)
echo "BEFORE $(dmsetup table $name)"
DMRAID_MONITOR_PROGRESS_SECONDS=1 $DMRAID --monitor --json > events.json 2> err.txt &
MON=$!
for i in $(seq 1 600); do grep -q '"rebuilt"' events.json && break; grep -q '"error"' events.json && break; sleep 0.5; done
echo "SUM $(head -c 4194304 /dev/mapper/$name | sha256sum | cut -d' ' -f1)"
echo "TABLE $(dmsetup table $name)"
echo "STATUS $(dmsetup status $name)"
kill -TERM $MON; wait $MON; echo "MONRC $?"
echo EVENTS; cat events.json; echo END
sed 's/^/MONERR /' err.txt
$DMRAID -an >/dev/null 2>&1
`;

/**
 * Activation with a real kernel (../shared/tools/dm-vm). Per format, one VM boot holds several testbed
 * sets: the REFERENCE dmraid activates them, they are filled through the kernel (random data, an MBR with
 * one partition, an ext2 file system on it; the VM's kernel cannot mount it, blkid checks it), then reference and ours each `-ay` in turn: the same tables
 * (`dmsetup table`), the same volume bytes (sha256 of /dev/mapper/<set>), the partition appears with its file system, and `-an`
 * leaves nothing behind. Skipped when dm-vm is unusable; failing under CI.
 */
import { mkdtempSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildTestbedImages, dmVmBoots, listTestbedSets, removeVmBundle, runDmVm, runOurs, testbedDir, testIf, type VmDisk } from '@dmraid/testkit';

const vmIt = testIf(it, await dmVmBoots({ ours: true }));
const work = mkdtempSync(join(tmpdir(), 'dmraid-vm-'));
afterAll(async () => {
  await fs.rm(work, { recursive: true, force: true });
  await removeVmBundle();
});

/**
 * Non-degraded layouts whose tables the reference's kernel load accepts (no raid5: its region is refused).
 * Not hpt37x: its first member's metadata (sector 9) lies inside the volume, so filling a set destroys it,
 * and the reference then reads its own /dev/dm-N devices as members.
 */
const BATCHES: Record<string, string[]> = {
  hpt45x: ['raid0-2', 'raid1-2', 'raid10-4', 'span-2'],
  nvidia: ['jbod-2', 'raid0-2', 'raid1-2', 'raid10-4'],
  pdc: ['raid0-2', 'raid1-2', 'raid10-4', 'span-2'],
  isw: ['mdadm-raid0-2', 'mdadm-raid1-2', 'mdadm-matrix-2'],
  sil: ['raid0-2', 'raid1-2'],
  via: ['raid0-2', 'raid1-2', 'raid01-4', 'span-2'],
  ddf1: ['mdadm-raid0-2', 'mdadm-raid1-2', 'concat-2'],
};

/** The top-level sets our CLI finds on these disks (`-s -c`), as the VM will show them. */
async function setsOn(disks: readonly VmDisk[]): Promise<string[]> {
  const r = await runOurs(disks.map((d) => (d.serial ? `${d.file}:${d.serial}` : d.file)), ['-s', '-c'], { cwd: work });
  return r.stdout.split('\n').filter(Boolean);
}

/**
 * The configs' member images, split into VM runs so that the sets of one run do not disturb each other
 * (testbed sets of a format often reuse one array id or magic) and no run has more than 26 disks.
 */
async function runsOf(format: string, configs: readonly string[]): Promise<VmDisk[][]> {
  const all = await listTestbedSets(testbedDir, format);
  const runs: { disks: VmDisk[]; sets: string[] }[] = [];
  for (const config of configs) {
    const set = all.find((s) => s.config === config);
    if (!set) continue;
    const dir = join(work, format, config);
    const disks = (await buildTestbedImages(set, dir)).map((spec) => {
      const [file, serial] = spec.split(':');
      return { file: join(dir, file!), serial };
    });
    const own = await setsOn(disks);
    let placed = false;
    for (const run of runs) {
      if (run.disks.length + disks.length > 26) continue;
      const together = await setsOn([...run.disks, ...disks]);
      if ([...together].sort().join() !== [...run.sets, ...own].sort().join()) continue;
      run.disks.push(...disks);
      run.sets.push(...own);
      placed = true;
      break;
    }
    if (!placed) runs.push({ disks, sets: own });
  }
  return runs.map((r) => r.disks);
}

/** One pass: activate with $1, record tables, hashes and partition 1 of each set, deactivate, list leftovers. */
const PASS = `
pass() {
  echo "=== $2 activate"; $1 -ay 2>&1 | sort
  echo "=== $2 sets"; $1 -s -c 2>/dev/null
  # dm minors follow creation order: name the dm devices a table refers to.
  map=$(dmsetup info -c --noheadings -o major,minor,name --separator ' ' | awk '{printf "s# %s:%s # %s #g;", $1, $2, $3}')
  echo "=== $2 tables"; dmsetup table | sed "$map" | sort
  echo "=== $2 hashes"; for n in $NAMES; do sha256sum /dev/mapper/$n; done
  echo "=== $2 mount"; for n in $NAMES; do p=$(ls /dev/mapper | grep -E "^\${n}p?1$"); [ -n "$p" ] && echo "$n $(blkid -o value -s TYPE /dev/mapper/$p) $(sha256sum </dev/mapper/$p | cut -c1-16) $(dd if=/dev/mapper/$n skip=2048 count=8192 2>/dev/null | sha256sum | cut -c1-16)"; done
  echo "=== $2 deactivate"; $1 -an 2>&1
  echo "=== $2 left"; dmsetup ls
}`;

/** A failure half-way: dmsetup refuses the last set; the run removes what it created, `other` stays. */
const INJECT = `
echo "=== inject"
echo "0 8 zero" | dmsetup create other
printf '#!/bin/sh\\n[ "$1" = create ] && [ "$2" = "$FAIL" ] && { echo injected >&2; exit 1; }\\nexec dmsetup "$@"\\n' >/tmp/dmsetup-fail
chmod +x /tmp/dmsetup-fail
FAIL=$(echo $NAMES | tr ' ' '\\n' | tail -n 1) DMRAID_DMSETUP=/tmp/dmsetup-fail $DMRAID -ay >/dev/null 2>&1; echo "rc=$?"
dmsetup ls | cut -f1
dmsetup remove other
`;

const FILL = `
NAMES=$(dmraid -s -c | sort)
dmraid -ay >/dev/null
for n in $NAMES; do
  # Sector 0-63 stay: hpt37x keeps its metadata at sector 9 of the first member, inside the volume.
  dd if=/dev/urandom of=/dev/mapper/$n bs=32k seek=1 2>/dev/null
  printf 'o\\nn\\np\\n1\\n2048\\n+4M\\nw\\n' | fdisk /dev/mapper/$n >/dev/null 2>&1
done
dmraid -an; dmraid -ay >/dev/null
# The reference creates only one partition device per run (docs/activation.md): make the file systems
# through a linear device of our own over each set's partition 1 (sectors 2048..10239).
for n in $NAMES; do
  echo "0 8192 linear /dev/mapper/$n 2048" | dmsetup create fill_$n
  mke2fs -q -L "$(echo $n | tail -c 17)" /dev/mapper/fill_$n
  dmsetup remove fill_$n
done
dmraid -an
`;

function sections(out: string): Map<string, string> {
  const m = new Map<string, string>();
  let key = '';
  for (const line of out.split('\n')) {
    const h = /^=== (.*)$/.exec(line);
    if (h) m.set((key = h[1]!), '');
    else if (key) m.set(key, `${m.get(key)!}${line}\n`);
  }
  return m;
}

describe('kernel activation in dm-vm equals the reference', () => {
  for (const [format, configs] of Object.entries(BATCHES)) {
    vmIt(`${format}: ${configs.join(', ')}`, async () => {
      let sets = 0;
      for (const [k, disks] of (await runsOf(format, configs)).entries()) {
        // Ours gets the disks with their serials (--devices): Node cannot ask a SCSI disk for it (see the report).
        const devs = disks.map((d, i) => `--devices /dev/sd${'abcdefghijklmnopqrstuvwxyz'[i]}${d.serial ? `:${d.serial}` : ''}`).join(' ');
        const r = await runDmVm(disks, `${PASS}\n${FILL}\npass dmraid ref\npass "$DMRAID ${devs}" ours\nDMRAID="$DMRAID ${devs}"\n${INJECT}`, { ours: true, timeout: 500 });
        if (process.env.DMRAID_VM_LOG) await fs.writeFile(join(process.env.DMRAID_VM_LOG, `${format}-${k}.log`), `${r.stdout}\n--- stderr\n${r.stderr}`);
        expect(r.status, r.stderr).toBe(0);
        const s = sections(r.stdout);
        // The reference activates only the first partition 1 of a run (its partition uuids collide, see
        // docs/activation.md): set tables compare equal, and ours has each set's partition.
        const partition = (l: string) => /^\S+?p?1: 0 8192 linear \S+ 2048$/.test(l);
        const setLines = (t = '') => t.split('\n').filter((l) => l && !partition(l)).join('\n');
        expect(setLines(s.get('ours tables')), 'dmsetup table').toBe(setLines(s.get('ref tables')));
        expect(s.get('ours hashes'), 'volume bytes').toBe(s.get('ref hashes'));
        const names = s.get('ref hashes')!.trim().split('\n').map((l) => l.split('/dev/mapper/')[1]);
        sets += names.length;
        expect(s.get('ours tables')!.split('\n').filter(partition).length).toBe(names.length);
        // Every set's partition 1 appears, holds the ext2 made through the reference's mapping, and equals the
        // set's sectors 2048..10239. (The VM kernel has no block file systems to mount: blkid reads it.)
        const parts = s.get('ours mount')!.trim().split('\n').map((l) => l.split(' '));
        expect(parts.map((p) => p[0]).sort()).toEqual([...names].sort());
        for (const p of parts) expect(p.slice(1, 3)).toEqual(['ext2', p[3]]);
        const activated = (t = '') => t.split('\n').filter((l) => / was activated$/.test(l) && !/p?1" was/.test(l));
        expect(activated(s.get('ours activate'))).toEqual(activated(s.get('ref activate')));
        expect(s.get('ours left')!.trim()).toBe('No devices found');
        expect(s.get('ref left')!.trim()).toBe('No devices found');
        expect(s.get('inject')!.trim().split('\n').sort()).toEqual(['other', 'rc=1']);
      }
      expect(sets).toBeGreaterThanOrEqual(configs.length);
    }, 600_000);
  }

  vmIt('RAID10/01 short of any one disk (nvidia raid10-4, via raid01-4): ours maps the healthy half, the volume reads as before; the reference\'s tables are refused', async () => {
    const disks = [...(await runsOf('nvidia', ['raid10-4'])), ...(await runsOf('via', ['raid01-4']))].flat();
    expect(disks.length).toBe(8);
    const dev = (i: number) => `/dev/sd${'abcdefghijklmnopqrstuvwxyz'[i]}`;
    const arg = (i: number) => `--devices ${dev(i)}${disks[i]!.serial ? `:${disks[i]!.serial}` : ''}`;
    const all = disks.map((_, i) => arg(i)).join(' ');
    // Each pass: ours with one disk left out of --devices activates, and each volume has the healthy size and bytes.
    const without = disks.map((_, gone) => `echo "=== without ${dev(gone)}"; O="$DMRAID ${disks.map((_, i) => (i === gone ? '' : arg(i))).filter(Boolean).join(' ')}"
$O -ay -p 2>&1 | grep -v '^ERROR: .*wrong # of devices' | sort; volumes; $O -an; dmsetup ls`).join('\n');
    // Nine activations under emulation: 550 s ran out when two VM suites shared the two cores.
    const r = await runDmVm(disks, `volumes() { for n in $NAMES; do echo "$n $(blockdev --getsz /dev/mapper/$n) $(sha256sum </dev/mapper/$n | cut -c1-16)"; done; }
O="$DMRAID ${all}"
NAMES=$($O -s -c 2>/dev/null | sort)
$O -ay -p >/dev/null
for n in $NAMES; do dd if=/dev/urandom of=/dev/mapper/$n bs=64k 2>/dev/null; done
echo "=== healthy"; volumes; $O -an
${without}
# The reference without the last disk of each set: the disk's metadata (at its end) wiped.
for d in ${dev(3)} ${dev(7)}; do dd if=/dev/zero of=$d bs=512 seek=$(( $(blockdev --getsz $d) - 2048 )) count=2048 2>/dev/null; done
echo "=== ref tables"; dmraid -tay 2>/dev/null
echo "=== ref"; dmraid -ay 2>&1 | grep 'RAID set' | sort; dmraid -an >/dev/null 2>&1`, { ours: true, timeout: 1000 });
    if (process.env.DMRAID_VM_LOG) await fs.writeFile(join(process.env.DMRAID_VM_LOG, 'raid10-degraded.log'), `${r.stdout}\n--- stderr\n${r.stderr}`);
    expect(r.status, r.stderr).toBe(0);
    const s = sections(r.stdout);
    const healthy = s.get('healthy')!.trim().split('\n');
    expect(healthy.length).toBe(2);
    const names = healthy.map((l) => l.split(' ')[0]!);
    for (let gone = 0; gone < disks.length; gone++) {
      const lines = s.get(`without ${dev(gone)}`)!.trim().split('\n');
      for (const name of names) expect(lines, `without ${dev(gone)}`).toContain(`RAID set "${name}" was activated`);
      // (-an names the half it did not create: `RAID set "X-1" is not active`.)
      expect(lines.filter((l) => !/^ERROR: creating degraded mirror mapping|^RAID set "/.test(l))).toEqual([...healthy, 'No devices found']);
    }
    // The reference concatenates the two halves, the broken one as /dev/zero, which the kernel refuses.
    expect(s.get('ref tables')).toMatch(/linear \/dev\/zero 0/);
    const ref = s.get('ref')!;
    expect(ref).toMatch(/was not activated/);
    for (const name of names) expect(ref).not.toContain(`RAID set "${name}" was activated`);
  }, 1_050_000);

  vmIt('raid5 (nvidia raid5-3, ddf1 raid5-3-la): the reference\'s table is refused, ours loads and keeps the data', async () => {
    const runs = [...(await runsOf('nvidia', ['raid5-3'])), ...(await runsOf('ddf1', ['raid5-3-la']))];
    const disks = runs.flat();
    const devs = disks.map((d, i) => `--devices /dev/sd${'abcdefghijklmnopqrstuvwxyz'[i]}${d.serial ? `:${d.serial}` : ''}`).join(' ');
    const r = await runDmVm(disks, `O="$DMRAID ${devs}"
NAMES=$($O -s -c 2>/dev/null | sort)
echo "=== ref"; dmraid -ay 2>&1 | sort; dmraid -an >/dev/null 2>&1
echo "=== ours"; $O -ay -p 2>&1 | sort
for n in $NAMES; do dd if=/dev/urandom of=/dev/mapper/$n bs=64k 2>/dev/null; done
echo "=== first"; for n in $NAMES; do sha256sum /dev/mapper/$n; done
$O -an
$O -ay -p >/dev/null 2>&1
echo "=== second"; for n in $NAMES; do sha256sum /dev/mapper/$n; done
$O -an; echo "=== left"; dmsetup ls`, { ours: true, timeout: 500 });
    if (process.env.DMRAID_VM_LOG) await fs.writeFile(join(process.env.DMRAID_VM_LOG, 'raid5.log'), `${r.stdout}\n--- stderr\n${r.stderr}`);
    expect(r.status, r.stderr).toBe(0);
    const s = sections(r.stdout);
    expect(s.get('ref')).toMatch(/was not activated/);
    expect(s.get('ours')!.trim().split('\n')).toEqual(['RAID set "ddf1_R5LA" was activated', 'RAID set "nvidia_fedjajde" was activated']);
    expect(s.get('first')!.trim().split('\n').length).toBe(2);
    expect(s.get('second')).toBe(s.get('first'));
    expect(s.get('left')!.trim()).toBe('No devices found');
  }, 600_000);
});

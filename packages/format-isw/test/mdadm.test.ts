// An independent reader for what we write: mdadm (IMSM) in the dm-vm VM examines and assembles the sets our
// create writes. Skipped with the reason when the VM tool cannot run here; required under CI.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dmVm, runDmVm, runOurs, testIf } from '@dmraid/testkit';

const itVm = testIf(it, dmVm());
const runVm = (disks: readonly string[], script: string) => runDmVm(disks, script, { snapshot: true });

const SIZE = 256 << 20;

describe('mdadm accepts the sets our create writes', () => {
  const cases: { label: string; disks: number; creates: string[][]; levels: string[] }[] = [
    { label: 'RAID1 over two disks', disks: 2, creates: [['-C', 'Mirror', '--type', '1']], levels: ['raid1'] },
    { label: 'RAID0 over two disks', disks: 2, creates: [['-C', 'Stripe', '--type', '0']], levels: ['raid0'] },
    { label: 'RAID5 over three disks, --size 200m', disks: 3, creates: [['-C', 'Parity', '--type', '5', '--size', '200m']], levels: ['raid5'] },
    // dmraid's default RAID5 size is not a whole number of stripes (its num_data_stripes rounds the strips
    // down first), so md examines it but will not start it ("md: invalid array_size"); the reference's own
    // create writes the same bytes (create.test.ts). Examined only.
    { label: 'RAID5 over three disks, default size (examined only)', disks: 3, creates: [['-C', 'Parity', '--type', '5']], levels: [] },
    { label: 'RAID10 (01) over four disks', disks: 4, creates: [['-C', 'R10', '--type', '01']], levels: ['raid10'] },
    { label: 'RAID0 + RAID1 (Matrix) on two disks', disks: 2, creates: [['-C', 'Fast', '--type', '0', '--size', '150m'], ['-C', 'Safe', '--type', '1']], levels: ['raid0', 'raid1'] },
  ];
  for (const c of cases) {
    itVm(`${c.label}: mdadm --examine finds a correct checksum and every volume${c.levels.length ? ', and md assembles and starts them' : ''}`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'isw-mdadm-'));
      try {
        const specs: string[] = [];
        for (let i = 0; i < c.disks; i++) {
          const fd = await fs.open(join(dir, `d${i}.img`), 'w');
          await fd.truncate(SIZE);
          await fd.close();
          specs.push(`d${i}.img:MDEXAMINE${i}`);
        }
        const disks = specs.map((s) => s.split(':')[0]!).join(',');
        for (const args of c.creates) {
          const r = await runOurs(specs, ['-f', 'isw', ...args, '--disk', disks, '--yes'], { cwd: dir });
          expect(r.stderr).toBe('');
          expect(r.status).toBe(0);
        }
        const names = c.creates.map((a) => a[1]!);
        const script = [
          ...specs.map((_, i) => `mdadm --examine /dev/sd${String.fromCharCode(97 + i)} || exit 10`),
          'mdadm --assemble --scan --run >/dev/null 2>&1; sleep 1',
          'cat /proc/mdstat',
        ].join('\n');
        const out = await runVm(specs.map((s) => join(dir, s.split(':')[0]!) + ':' + s.split(':')[1]), script);
        expect(out.status, out.stderr).toBe(0);
        expect(out.stdout.match(/Checksum : [0-9a-f]{8} correct/g)).toHaveLength(c.disks);
        for (const name of names) expect(out.stdout).toMatch(new RegExp(`\\[${name}\\]:`));
        const mdstat = out.stdout.slice(out.stdout.indexOf('Personalities'));
        for (const level of c.levels) expect(mdstat).toMatch(new RegExp(`: active (\\(auto-read-only\\) )?${level} `));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 300_000);
  }
});

describe('mdadm reads the rebuild our -R carries out', () => {
  // A mirror that mdadm made and filled loses a disk; -R puts a blank one in its place and copies the data
  // onto it (the engine), then writes the volume normal. md must assemble it in sync, and the bytes back it.
  itVm('-R on an IMSM RAID1 made by mdadm: the new disk holds the survivor\'s data, md assembles the volume normal and in sync, check finds no mismatch', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'isw-rebuild-'));
    try {
      for (let i = 0; i < 3; i++) {
        const fd = await fs.open(join(dir, `d${i}.img`), 'w');
        await fd.truncate(96 << 20);
        await fd.close();
      }
      const made = await runDmVm([`${join(dir, 'd0.img')}:REBUILDS0`, `${join(dir, 'd1.img')}:REBUILDS1`], [
        'mdadm --create /dev/md/c0 --metadata=imsm --raid-devices=2 --run $DISKS >/dev/null 2>&1 || exit 10',
        'mdadm --create /dev/md/v0 --level=1 --raid-devices=2 --run /dev/md/c0 >/dev/null 2>&1 || exit 11',
        'mdadm --wait /dev/md/v0',
        'head -c 50000000 /dev/urandom > /dev/md/v0 && sync',
      ].join('\n'));
      expect(made.status, made.stderr).toBe(0);
      // d1 dies; the blank d2 (another serial) takes its place.
      const specs = ['d0.img:REBUILDS0', 'd2.img:REBUILDS2'];
      const name = (await runOurs(specs, ['-s', '-c'], { cwd: dir })).stdout.trim();
      expect(name).toMatch(/^isw_[a-j]+_v0$/);
      const r = await runOurs(specs, ['-R', name, 'd2.img'], { cwd: dir });
      expect(r.status, r.stderr).toBe(0);
      const out = await runVm(specs.map((s) => join(dir, s)), [
        'mdadm --examine /dev/sdb | grep -E "Migrate State|Map State|This Slot|State :"',
        'mdadm --assemble --scan --run >/dev/null 2>&1',
        'v=/dev/md/$(ls /dev/md/ | grep "^v0" | head -n 1); n=$(basename $(readlink -f $v))',
        'grep -A1 "^$n :" /proc/mdstat',
        'mdadm --readwrite $v; mdadm --wait $v',
        'dmesg | grep -c "recovery of RAID array" | sed "s/^/recoveries /"',
        'cmp -s -n $((92160 * 1024)) /dev/sda /dev/sdb && echo "new disk equals survivor"',
        'echo check > /sys/block/$n/md/sync_action; sleep 1; mdadm --wait $v; echo "mismatch_cnt $(cat /sys/block/$n/md/mismatch_cnt)"',
      ].join('\n'));
      expect(out.status, out.stderr).toBe(0);
      expect(out.stdout).toMatch(/\[2\/2\] \[UU\]/);
      expect(out.stdout).toContain('recoveries 0\n');
      expect(out.stdout).toMatch(/Map State : normal\n/);
      expect(out.stdout).toMatch(/Migrate State : idle\n/);
      expect(out.stdout).toContain('new disk equals survivor');
      expect(out.stdout).toContain('mismatch_cnt 0\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});

describe('mdadm initialises the redundant volume our -C writes', () => {
  // The members of a new RAID1 hold different bytes (here: random data on the first disk, zeros on the
  // second). Written "normal" (as dmraid does), md assembles the mirror in sync over them and a read
  // depends on the leg; written uninitialised (as mdadm's own create does), mdmon has md resync it.
  itVm('RAID1 over two disks of different contents: md resyncs it, then both legs are equal and mismatch_cnt is 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'isw-init-'));
    try {
      const specs = ['d0.img:INITSYNC0', 'd1.img:INITSYNC1'];
      for (let i = 0; i < 2; i++) {
        const fd = await fs.open(join(dir, `d${i}.img`), 'w');
        await fd.truncate(160 << 20);
        if (i === 0) await fd.write(randomBytes(1 << 20), 0, 1 << 20, 0);
        await fd.close();
      }
      const r = await runOurs(specs, ['-f', 'isw', '-C', 'Fresh', '--type', '1', '--disk', 'd0.img,d1.img', '--yes'], { cwd: dir });
      expect(r.status, r.stderr).toBe(0);
      const out = await runVm(specs.map((s) => join(dir, s)), [
        'mdadm --assemble --scan --run >/dev/null 2>&1',
        'v=/dev/md/$(ls /dev/md/ | grep "^Fresh" | head -n 1); n=$(basename $(readlink -f $v))',
        'mdadm --readwrite $v; mdadm --wait $v',
        'dmesg | grep -o "resync of RAID array.*\\|resync done" | head -n 2',
        'cmp -s -n $((1 << 20)) /dev/sda /dev/sdb && echo "legs equal"',
        'echo check > /sys/block/$n/md/sync_action; sleep 1; mdadm --wait $v; echo "mismatch_cnt $(cat /sys/block/$n/md/mismatch_cnt)"',
      ].join('\n'));
      expect(out.status, out.stderr).toBe(0);
      expect(out.stdout).toContain('resync of RAID array');
      expect(out.stdout).toContain('legs equal');
      expect(out.stdout).toContain('mismatch_cnt 0\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});

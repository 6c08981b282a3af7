// Our `failed` against mdadm's own record of a failure, in the dm-vm VM (the independent truth): a set made
// by mdadm, copied before the failure; mdadm fails a member under mdmon, ours fails the same member on the
// copies; the survivors' MPB must agree on every field mdmon's mark_failure and imsm_set_disk touch. Then mdadm
// reads our survivors: --examine reports the disk failed and the volume degraded, --assemble --scan --run
// starts it degraded with the data.
// Skipped with the reason when the VM cannot run here; required under CI.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dmVm, runDmVm, testIf } from '@dmraid/testkit';
import type { Mpb } from '../src/index.js';
import { failOnImages, mpbOfImage } from './fail-images.js';

const itVm = testIf(it, dmVm());
const MIB = 1 << 20;

interface Scenario {
  readonly label: string;
  readonly level: 1 | 5 | 10;
  readonly disks: number;
  /** The member that fails. */
  readonly fails: number;
}

// Only failures a volume survives: md (Debian's 6.1 kernel) refuses to fail a member the volume cannot lose,
// by --fail (busy) or on its I/O errors, so mdmon never records a failed (lost) volume here; that state
// follows mdadm's imsm_check_degraded in failed.test.ts.
const scenarios: Scenario[] = [
  { label: 'RAID1 of two disks', level: 1, disks: 2, fails: 1 },
  { label: 'RAID5 of three disks', level: 5, disks: 3, fails: 0 },
  { label: 'RAID10 of four disks', level: 10, disks: 4, fails: 2 },
];


/** The fields mdmon's failure record touches, in words a failed comparison shows plainly. */
function failureFields(mpb: Mpb) {
  return {
    disks: mpb.disks.map(({ disk }) => ({ serial: Buffer.from(disk.serial).toString('latin1').replace(/\0+$/, ''), status: `0x${disk.status.toString(16)}` })),
    volumes: mpb.volumes.map((v) => ({
      migr_state: v.dev.vol.migr_state,
      maps: v.maps.map(({ map, ord }) => ({ map_state: map.map_state, failed_disk_num: map.failed_disk_num, ord: ord.map((o) => `0x${o.toString(16)}`) })),
    })),
  };
}


describe('isw failed agrees with mdadm/mdmon, and mdadm reads what it wrote', () => {
  for (const sc of scenarios) {
    itVm(`${sc.label}: the survivors' failure fields as mdmon writes them; mdadm --examine and --assemble read ours degraded with the data`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'dmraid-isw-failed-vm-'));
      try {
        const share = join(dir, 'share');
        await fs.mkdir(share);
        const data = randomBytes(MIB);
        await fs.writeFile(join(share, 'A'), data);
        const names = Array.from({ length: sc.disks }, (_, i) => `d${i}.img`);
        const serials = names.map((_, i) => `FAILVM${sc.level}${i}`);
        for (const n of names) {
          const fd = await fs.open(join(dir, n), 'w');
          await fd.truncate(64 * MIB);
          await fd.close();
        }
        const vmDisks = names.map((n, i) => `${join(dir, n)}:${serials[i]}`);
        const chunk = sc.level === 1 ? '' : '--chunk=64';
        const created = await runDmVm(vmDisks, [
          `mdadm --create /dev/md/c0 --metadata=imsm --raid-devices=${sc.disks} --run $DISKS >/dev/null 2>&1 || exit 3`,
          `mdadm --create /dev/md/v0 --level=${sc.level} --raid-devices=${sc.disks} ${chunk} --assume-clean --run /dev/md/c0 >/dev/null 2>&1 || exit 4`,
          'dd if=/share/A of=/dev/md/v0 bs=1M conv=fsync 2>/dev/null || exit 5',
          'mdadm --stop /dev/md/v0 >/dev/null && mdadm --stop /dev/md/c0 >/dev/null',
        ].join('\n'), { share });
        expect(created.status, created.stderr).toBe(0);

        // Ours works on copies of the set as it is before the failure.
        const ours = names.map((n) => `ours-${n}`);
        for (const [i, n] of names.entries()) execFileSync('cp', ['--sparse=always', join(dir, n), join(dir, ours[i]!)]);
        const before = await mpbOfImage(join(dir, names[0]!));

        const failDev = `/dev/sd${String.fromCharCode(97 + sc.fails)}`;
        const mdFailed = await runDmVm(vmDisks, [
          'mdadm --assemble --scan --run >/dev/null 2>&1',
          'v=/dev/md/$(ls /dev/md/ | grep "^v0" | head -n 1); mdadm --readwrite $v',
          `mdadm $v --fail ${failDev} >/dev/null 2>&1 || exit 6`,
          'sleep 3',
          'mdadm --stop $v >/dev/null; c=/dev/md/$(ls /dev/md/ | grep -v "^v0" | head -n 1); mdadm --stop $c >/dev/null',
        ].join('\n'));
        expect(mdFailed.status, mdFailed.stderr).toBe(0);

        const specs = ours.map((n, i) => `${n}:${serials[i]}`);
        expect(await failOnImages(dir, specs, ours[sc.fails]!)).toEqual({ ok: true, errors: [] });

        const survivor = names.findIndex((_, i) => i !== sc.fails);
        const theirs = await mpbOfImage(join(dir, names[survivor]!));
        const mine = await mpbOfImage(join(dir, ours[survivor]!));
        expect(failureFields(mine)).toEqual(failureFields(theirs));
        expect(theirs.header.generation_num).toBeGreaterThan(before.header.generation_num);
        expect(mine.header.generation_num).toBeGreaterThan(before.header.generation_num);
        // The failed disk itself is not written.
        const untouched = await mpbOfImage(join(dir, ours[sc.fails]!));
        expect([untouched.header.generation_num, failureFields(untouched)]).toEqual([before.header.generation_num, failureFields(before)]);

        // mdadm on our survivors alone (the failed disk gone).
        const left = specs.flatMap((s, i) => (i === sc.fails ? [] : [join(dir, s)]));
        const read = await runDmVm(left, [
          'mdadm --examine /dev/sda',
          'echo ---',
          'mdadm --assemble --scan --run >/dev/null 2>&1',
          'v=/dev/md/$(ls /dev/md/ | grep "^v0" | head -n 1)',
          'mdadm --detail $v | grep -E "State :|Active Devices|Raid Devices"',
          'echo ---',
          'head -c 1048576 $v | sha256sum',
        ].join('\n'));
        expect(read.status, read.stderr).toBe(0);
        const [examine, detail, hash] = read.stdout.split('---\n');
        const failedSerial = `${serials[sc.fails]}:0`;
        expect(examine).toMatch(/State : degraded/);
        expect(examine).toMatch(new RegExp(`Failed disk : ${theirs.volumes[0]!.maps[0]!.map.failed_disk_num}\n`));
        expect(examine).toContain(failedSerial);
        expect(detail).toMatch(/State : .*degraded/);
        expect(detail).toMatch(new RegExp(`Active Devices : ${sc.disks - 1}`));
        const sha = execFileSync('sha256sum', { input: data }).toString().split(' ')[0];
        expect(hash!.trim().split(' ')[0]).toBe(sha);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 900_000);
  }
});

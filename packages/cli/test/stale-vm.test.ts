// A stale member, made as users meet it, by real mdadm in the dm-vm VM: a set written with data A, one
// member's image kept, that member failed out with mdadm (the others' metadata records it, the generation or
// sequence number goes up), the set written with data B; then the kept old image put back. The reference
// dmraid maps the old image as a member (a mirror with `sync` over its legs, the old one first: the kernel
// would copy A over B). Ours must leave it out: the table maps the current members only, the extracted volume
// is exactly what md held after B, and -r/-s mark the old image stale. And the user can overrule: with
// --include OLD and the newer members excluded, a mirror's extract gives data A back. Skipped with the reason when the VM
// cannot run here; required under CI. Images live in a temporary directory only.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dmVm, runDmVm, runOurs, testIf } from '@dmraid/testkit';

const itVm = testIf(it, dmVm());
const MIB = 1 << 20;

interface Scenario {
  readonly label: string;
  readonly metadata: 'imsm' | 'ddf';
  readonly level: 1 | 5;
  readonly disks: number;
  /** The set's type as -s --json names it. */
  readonly type: RegExp;
}

interface SetJson {
  name: string;
  type: string;
  devices: { path: string }[];
  staleDevices?: { path: string; stale?: boolean; staleReason?: string; status: string }[];
  sets: SetJson[];
}

const leaves = (sets: readonly SetJson[]): SetJson[] => sets.flatMap((s) => (s.sets.length ? leaves(s.sets) : [s]));

const scenarios: Scenario[] = [
  { label: 'IMSM RAID1 of two disks', metadata: 'imsm', level: 1, disks: 2, type: /^mirror$/ },
  { label: 'IMSM RAID5 of three disks', metadata: 'imsm', level: 5, disks: 3, type: /^raid5_/ },
  { label: 'DDF RAID1 of two disks', metadata: 'ddf', level: 1, disks: 2, type: /^mirror$/ },
];

describe('a member failed out with mdadm and put back with its old data is stale: never mapped nor read', () => {
  for (const sc of scenarios) {
    itVm(`${sc.label}: -tay maps the current members only, --extract gives the newest data, -r/-s mark the old copy stale`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'dmraid-stale-'));
      try {
        const share = join(dir, 'share');
        await fs.mkdir(share);
        const dataA = randomBytes(MIB);
        const dataB = randomBytes(MIB);
        await fs.writeFile(join(share, 'A'), dataA);
        await fs.writeFile(join(share, 'B'), dataB);
        const names = Array.from({ length: sc.disks }, (_, i) => `d${i}.img`);
        const serials = names.map((_, i) => `STALEVM${sc.metadata.toUpperCase()}${sc.level}${i}`);
        for (const n of names) {
          const fd = await fs.open(join(dir, n), 'w');
          await fd.truncate(64 * MIB);
          await fd.close();
        }
        const vmDisks = names.map((n, i) => `${join(dir, n)}:${serials[i]}`);
        const chunk = sc.level === 5 ? '--chunk=64' : '';
        const created = await runDmVm(vmDisks, [
          `mdadm --create /dev/md/c0 --metadata=${sc.metadata} --raid-devices=${sc.disks} --run $DISKS >/dev/null 2>&1 || exit 3`,
          `mdadm --create /dev/md/v0 --level=${sc.level} --raid-devices=${sc.disks} ${chunk} --assume-clean --run /dev/md/c0 >/dev/null 2>&1 || exit 4`,
          'dd if=/share/A of=/dev/md/v0 bs=1M conv=fsync 2>/dev/null || exit 5',
          'mdadm --stop /dev/md/v0 >/dev/null && mdadm --stop /dev/md/c0 >/dev/null',
        ].join('\n'), { share });
        expect(created.status, created.stderr).toBe(0);

        // The last member's image as it is now: its old copy, with data A.
        const staleIndex = sc.disks - 1;
        const staleName = `d${staleIndex}-old.img`;
        execFileSync('cp', ['--sparse=always', join(dir, names[staleIndex]!), join(dir, staleName)]);
        const failDev = `/dev/sd${String.fromCharCode(97 + staleIndex)}`;
        const failed = await runDmVm(vmDisks, [
          'mdadm --assemble --scan --run >/dev/null 2>&1',
          'v=/dev/md/$(ls /dev/md/ | grep "^v0" | head -n 1); mdadm --readwrite $v',
          `mdadm $v --fail ${failDev} >/dev/null 2>&1 || exit 6`,
          'sleep 3',
          `c=/dev/md/$(ls /dev/md/ | grep -v "^v0" | head -n 1); mdadm $c --remove ${failDev} >/dev/null 2>&1`,
          'sleep 2',
          'dd if=/share/B of=$v bs=1M conv=fsync 2>/dev/null || exit 7',
          'sync',
          'echo "sectors $(blockdev --getsz $v)"',
          'sha256sum $v',
        ].join('\n'), { share });
        expect(failed.status, failed.stderr).toBe(0);
        const mdSectors = Number(/^sectors (\d+)$/m.exec(failed.stdout)![1]);
        const mdHash = /^([0-9a-f]{64}) /m.exec(failed.stdout)![1];

        // Ours on the current members and the old copy, under the failed member's serial.
        const images = names.map((n, i) => (i === staleIndex ? `${staleName}:${serials[i]}` : `${n}:${serials[i]}`));
        const sets = await runOurs(images, ['-s', '--json'], { cwd: dir });
        expect(sets.status, sets.stderr).toBe(0);
        const leaf = leaves((JSON.parse(sets.stdout) as { sets: SetJson[] }).sets).find((s) => sc.type.test(s.type))!;
        expect(leaf, sets.stdout).toBeDefined();
        // The data first: what a user of the old mapping would have lost.
        const out = join(dir, 'volume.img');
        const extract = await runOurs(images, ['--extract', leaf.name, '-o', out], { cwd: dir });
        expect(extract.status, extract.stderr).toBe(0);
        const volume = await fs.readFile(out);
        expect(volume.length).toBeGreaterThanOrEqual(mdSectors * 512);
        expect(volume.subarray(0, MIB).equals(dataB)).toBe(true);
        expect(createHash('sha256').update(volume.subarray(0, mdSectors * 512)).digest('hex')).toBe(mdHash);

        const tables = await runOurs(images, ['-tay'], { cwd: dir });
        expect(tables.status, tables.stderr).toBe(0);
        expect(tables.stdout).not.toContain(staleName);
        if (sc.level === 1) expect(tables.stdout).toMatch(new RegExp(`^${leaf.name}: 0 \\d+ linear d0\\.img 0\\n$`));
        else expect(tables.stdout).toMatch(new RegExp(`^${leaf.name}: 0 \\d+ raid raid5_\\w+ .* - -\\n$`));

        expect(leaf.devices.map((d) => d.path)).not.toContain(staleName);
        expect(leaf.devices).toHaveLength(sc.disks - 1);
        expect(leaf.staleDevices?.map((d) => [d.path, d.stale, d.status])).toEqual([[staleName, true, 'broken']]);
        expect(leaf.staleDevices![0]!.staleReason).toMatch(/older than the metadata on d0\.img/);

        const raid = await runOurs(images, ['-r', '--json'], { cwd: dir });
        const listed = (JSON.parse(raid.stdout) as { raidDevices: { path: string; status: string; stale?: boolean }[] }).raidDevices;
        expect(listed.find((d) => d.path === staleName)).toMatchObject({ status: 'broken', stale: true });
        const text = await runOurs(images, ['-r'], { cwd: dir });
        expect(text.stderr).toContain(`WARNING: ${sc.metadata === 'imsm' ? 'isw' : 'ddf1'}: ${staleName} is stale, not used: `);

        // The user overrules: the old copy as current and the newer members left out. A mirror's old leg
        // alone holds data A, as the disk did before it was failed out.
        if (sc.level === 1) {
          const others = names.filter((_, i) => i !== staleIndex).flatMap((n) => ['--exclude', n]);
          const oldOut = join(dir, 'old-volume.img');
          const old = await runOurs(images, ['--extract', leaf.name, '-o', oldOut, '--include', staleName, ...others], { cwd: dir });
          expect(old.status, old.stderr).toBe(0);
          expect((await fs.readFile(oldOut)).subarray(0, MIB).equals(dataA)).toBe(true);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 600_000);
  }
});

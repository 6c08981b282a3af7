/**
 * `-ay` of a mirror rebuilding onto its FIRST member, in a real kernel (../shared/tools/dm-vm): dm-raid1 under
 * `sync` copies its first leg over the others, so the leg the metadata records as the rebuild's target must
 * not come first. The testbed set ddf1/rebuilding-first-disk (PD state Rebuilding on sda) with the volume's
 * data on sdb and sda blank: after the kernel's resync both legs hold sdb's data. The reference lists sda
 * first, and its `nosync` on the sibling set (sdb rebuilding) would never copy at all. Skipped when dm-vm is
 * unusable; failing under CI.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildTestbedImages, dmVmBoots, listTestbedSets, removeVmBundle, runDmVm, testbedDir, testIf } from '@dmraid/testkit';

const vmIt = testIf(it, await dmVmBoots({ ours: true }));
const work = mkdtempSync(join(tmpdir(), 'dmraid-syncleg-vm-'));
afterAll(async () => {
  await fs.rm(work, { recursive: true, force: true });
  await removeVmBundle();
});

describe('-ay of a mirror rebuilding onto its first member resyncs from the in-sync leg', () => {
  vmIt('ddf1/rebuilding-first-disk: after the resync both legs hold the good data, none the blank disk\'s', async () => {
    const set = (await listTestbedSets(testbedDir, 'ddf1')).find((s) => s.config === 'rebuilding-first-disk')!;
    const specs = await buildTestbedImages(set, work);
    const disks = specs.map((spec) => {
      const [file, serial] = spec.split(':');
      return { file: join(work, file!), serial };
    });
    // The volume: 8192 sectors from sector 0 of each member (the DDF anchor lies at the end).
    const good = randomBytes(8192 * 512);
    const h = await fs.open(disks[1]!.file, 'r+');
    await h.write(good, 0, good.length, 0);
    await h.close();
    const devs = disks.map((d, i) => `--devices /dev/sd${'ab'[i]}${d.serial ? `:${d.serial}` : ''}`).join(' ');
    const r = await runDmVm(
      disks,
      [
        `$DMRAID ${devs} -ay >/dev/null || exit 10`,
        'dmsetup table ddf1_Rebuild',
        // dm-raid1's status: "<#legs> <devs...> <in sync>/<regions> ..."; wait for the resync to end.
        'for i in $(seq 1 120); do s=$(dmsetup status ddf1_Rebuild | awk \'{print $7}\'); [ "${s%/*}" = "${s#*/}" ] && break; sleep 1; done',
        'echo "regions $s"',
        `$DMRAID ${devs} -an >/dev/null || exit 11`,
        'echo "sda $(head -c 4194304 /dev/sda | sha256sum | cut -d" " -f1)"',
        'echo "sdb $(head -c 4194304 /dev/sdb | sha256sum | cut -d" " -f1)"',
      ].join('\n'),
      { ours: true, snapshot: true },
    );
    expect(r.status, r.stderr).toBe(0);
    const want = createHash('sha256').update(good).digest('hex');
    expect(r.stdout).toMatch(/^regions (\d+)\/\1$/m);
    // The data first: the good disk must not have been overwritten by the blank one.
    expect(r.stdout).toContain(`sdb ${want}\n`);
    expect(r.stdout).toContain(`sda ${want}\n`);
    expect(r.stdout).toMatch(/mirror core 2 \d+ sync 2 8:16 0 8:0 0/);
  }, 600_000);
});

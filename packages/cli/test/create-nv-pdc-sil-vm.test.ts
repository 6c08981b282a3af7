/**
 * The sets our -C writes for nvidia (RAID5), pdc (RAID10: Promise's RAID1 over four disks) and sil (RAID1),
 * assembled by the kernel from our -ay in ../shared/tools/dm-vm: random data goes in through each mapped
 * device, the VM hashes the whole volume, and on the host our --extract must give the same bytes from the
 * images. One VM boot for the three formats (64 MiB images). Skipped when dm-vm is unusable; failing under CI.
 */
import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dmVmBoots, removeVmBundle, runDmVm, runOurs, testIf } from '@dmraid/testkit';

const vmIt = testIf(it, await dmVmBoots({ ours: true }));
const work = mkdtempSync(join(tmpdir(), 'create-nv-pdc-sil-vm-'));
afterAll(async () => {
  await fs.rm(work, { recursive: true, force: true });
  await removeVmBundle();
});

const SETS = [
  { format: 'nvidia', level: '5', disks: 3, size: 2 * ((64 << 11) - 128) },
  { format: 'pdc', level: '10', disks: 4, size: 2 * ((64 << 11) - 128) },
  { format: 'sil', level: '1', disks: 2, size: (64 << 11) - 1538 },
] as const;

async function sha256(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

describe('the kernel maps the sets our -C writes as we meant them', () => {
  vmIt('nvidia RAID5, pdc RAID10, sil RAID1: data written through our -ay in the VM is what --extract reads on the host', async () => {
    const disks: { file: string; serial: string }[] = [];
    const names: string[] = [];
    for (const set of SETS) {
      const mine = Array.from({ length: set.disks }, (_, i) => ({ file: join(work, `${set.format}${i}.img`), serial: `CR${set.format.toUpperCase()}${i}X` }));
      for (const d of mine) {
        await fs.writeFile(d.file, '');
        await fs.truncate(d.file, 64 << 20);
      }
      disks.push(...mine);
      const r = await runOurs(mine.map((d) => `${d.file}:${d.serial}`), ['-f', set.format, '-C', 'VmCheck', '--type', set.level, '--disk', mine.map((d) => d.file).join(' '), '--yes'], { cwd: work });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(Number(/RAID size: .*\((\d+) blocks\)/.exec(r.stdout)![1])).toBe(set.size);
      names.push(/RAID name: +(\S+)/.exec(r.stdout)![1]!);
    }
    const script = [
      '$DMRAID -ay >/dev/null 2>/tmp/err || { cat /tmp/err; exit 13; }',
      ...names.map((n) =>
        [
          `echo "${n} table $(dmsetup table ${n} | head -n 1 | cut -d" " -f3)"`,
          // 16 MiB of random data from 1 MiB on; the rest stays the zeros the blank images hold on every member.
          `head -c 16777216 /dev/urandom | dd of=/dev/mapper/${n} bs=1M seek=1 conv=fsync 2>/dev/null`,
          `echo "${n} dm $(blockdev --getsz /dev/mapper/${n}) $(sha256sum < /dev/mapper/${n} | cut -d" " -f1)"`,
        ].join('\n'),
      ),
      'sync; $DMRAID -an >/dev/null || exit 14',
    ].join('\n');
    const r = await runDmVm(disks, script, { ours: true, timeout: 900 });
    const out = `${r.stdout}\n${r.stderr}`;
    expect(r.status, out).toBe(0);
    for (const [i, set] of SETS.entries()) {
      const name = names[i]!;
      const dm = new RegExp(`^${name} dm (\\d+) ([0-9a-f]{64})$`, 'm').exec(r.stdout);
      expect(dm, out).not.toBeNull();
      expect(Number(dm![1]), `${set.format} volume size`).toBe(set.size);
      const file = join(work, `${name}.volume`);
      const mine = disks.filter((d) => d.file.startsWith(join(work, set.format)));
      const x = await runOurs(mine.map((d) => `${d.file}:${d.serial}`), ['--extract', name, '-o', file], { cwd: work });
      expect(x.status, x.stderr).toBe(0);
      expect(await sha256(file), `${set.format}: the host reads what the kernel wrote`).toBe(dm![2]);
      await fs.rm(file);
    }
    // The kernel's own targets: dm-raid for RAID5, a mirror (of stripes for pdc's RAID10) for the others.
    expect(r.stdout, out).toMatch(new RegExp(`^${names[0]} table raid$`, 'm'));
    expect(r.stdout, out).toMatch(new RegExp(`^${names[1]} table mirror$`, 'm'));
    expect(r.stdout, out).toMatch(new RegExp(`^${names[2]} table mirror$`, 'm'));
  }, 1_000_000);
});

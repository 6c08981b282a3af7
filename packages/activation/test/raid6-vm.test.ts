/**
 * `-ay` of DDF RAID6 in a real kernel (../shared/tools/dm-vm): mdadm 4.2 creates the volume (each layout it
 * writes as DDF), random data goes in through md, md hashes its own assembly and stops; then our `-ay` maps
 * the same disks with dm-raid and the mapped device must hash the same, whole, and with one and with two
 * members left out (`--devices` naming the others; `- -` in their places). Skipped when dm-vm is unusable;
 * failing under CI. Then, on the host, the userspace engine (`--extract`) reads the same images: md's bytes
 * again, whole and with every one and every two members lost.
 */
import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dmVmBoots, removeVmBundle, runDmVm, runOurs, testIf } from '@dmraid/testkit';

const vmIt = testIf(it, await dmVmBoots({ ours: true }));
const work = mkdtempSync(join(tmpdir(), 'dmraid-raid6-vm-'));
afterAll(async () => {
  await fs.rm(work, { recursive: true, force: true });
  await removeVmBundle();
});

const CASES = [
  { disks: 5, layout: 'ddf-N-continue', chunk: 64, dm: 'raid6_nc', leaveOut: [[1], [0, 3]] },
  { disks: 4, layout: 'ddf-zero-restart', chunk: 32, dm: 'raid6_zr', leaveOut: [[2], [1, 3]] },
  { disks: 4, layout: 'ddf-N-restart', chunk: 64, dm: 'raid6_nr', leaveOut: [[0], [0, 2]] },
] as const;

const letter = (i: number) => String.fromCharCode(0x61 + i);

async function sha256(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Every way to lose none, one or two of `n` members. */
const losses = (n: number): number[][] => {
  const out: number[][] = [[]];
  for (let a = 0; a < n; a++) {
    out.push([a]);
    for (let b = a + 1; b < n; b++) out.push([a, b]);
  }
  return out;
};

describe('-ay of an mdadm DDF RAID6 gives the bytes md assembles', () => {
  for (const c of CASES) {
    vmIt(`${c.layout} on ${c.disks} disks: ${c.dm}, whole and short of one or two members`, async () => {
      const disks = Array.from({ length: c.disks }, (_, i) => ({ file: join(work, `${c.dm}-${i}.img`), serial: `R6VM${c.disks}${letter(i).toUpperCase()}` }));
      for (const d of disks) {
        await fs.writeFile(d.file, '');
        await fs.truncate(d.file, 64 << 20);
      }
      const devices = (members: readonly number[]) => members.map((i) => `--devices /dev/sd${letter(i)}:${disks[i]!.serial}`).join(' ');
      const all = disks.map((_, i) => i);
      const subsets = [all, ...c.leaveOut.map((out) => all.filter((i) => !(out as readonly number[]).includes(i)))];
      const script = [
        `mdadm --create /dev/md/ddf0 --metadata=ddf --raid-devices=${c.disks} --run $DISKS >/dev/null 2>&1 || exit 11`,
        `mdadm --create /dev/md/vol0 --level=6 --layout=${c.layout} --chunk=${c.chunk} --raid-devices=${c.disks} --run /dev/md/ddf0 >/dev/null 2>&1 || exit 12`,
        'mdadm --wait /dev/md/vol0',
        'mdadm --detail /dev/md/vol0 | grep Layout',
        // Random data over the first 12 MiB (every rotation of P and Q, many times), the rest as resynced.
        'head -c 12582912 /dev/urandom > /dev/md/vol0 && sync',
        'echo "md $(blockdev --getsz /dev/md/vol0) $(sha256sum < /dev/md/vol0 | cut -d" " -f1)"',
        'mdadm --stop /dev/md/vol0 /dev/md/ddf0 >/dev/null 2>&1',
        'for i in $(seq 50); do pidof mdmon >/dev/null || break; sleep 0.2; done',
        ...subsets.flatMap((members) => [
          `$DMRAID ${devices(members)} -ay >/dev/null 2>/tmp/err || { cat /tmp/err; $DMRAID ${devices(members)} -tay; dmesg | tail -n 15; exit 13; }`,
          'dmsetup table ddf1_vol0',
          `echo "dm ${members.join(',')} $(blockdev --getsz /dev/mapper/ddf1_vol0) $(sha256sum < /dev/mapper/ddf1_vol0 | cut -d" " -f1)"`,
          `$DMRAID ${devices(members)} -an >/dev/null || exit 14`,
        ]),
      ].join('\n');
      const r = await runDmVm(disks, script, { ours: true, timeout: 600 });
      expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
      expect(r.stdout).toContain(`Layout : ${c.layout}`);
      const md = /^md (\d+) ([0-9a-f]{64})$/m.exec(r.stdout);
      expect(md, r.stdout).not.toBeNull();
      const tables = r.stdout.split('\n').filter((l) => / raid /.test(l));
      expect(tables).toHaveLength(subsets.length);
      // The bytes first: a wrong layout or member order shows here, whatever the table says.
      for (const members of subsets) expect(r.stdout).toContain(`dm ${members.join(',')} ${md![1]} ${md![2]}\n`);
      for (const [k, members] of subsets.entries()) {
        expect(tables[k]).toContain(` raid ${c.dm} `);
        // One `- -` per member left out.
        expect(tables[k]!.split(' - -').length - 1).toBe(c.disks - members.length);
      }
      // The engine on the host, from the images md wrote: the same bytes whatever one or two members are lost.
      const out = join(work, `${c.dm}.volume`);
      for (const lost of losses(c.disks)) {
        const kept = disks.filter((_, i) => !lost.includes(i)).map((d) => `${d.file}:${d.serial}`);
        const x = await runOurs(kept, ['--extract', 'ddf1_vol0', '-o', out], { cwd: work });
        expect(x.status, `lost ${lost.join(',')}: ${x.stderr}`).toBe(0);
        expect((await fs.stat(out)).size, `lost ${lost.join(',')}`).toBe(Number(md![1]) * 512);
        expect(await sha256(out), `lost ${lost.join(',')}`).toBe(md![2]);
        await fs.rm(out);
      }
    }, 900_000);
  }
});

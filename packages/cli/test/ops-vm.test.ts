/**
 * -R proved in the kernel (../shared/tools/dm-vm): for nvidia, sil, pdc and ddf1 RAID1 made with our -C, data
 * goes in through our -ay in the VM; on the host a member is replaced by a blank disk and -R rebuilds onto it;
 * back in the VM our -ay of the set with the ORIGINAL survivor left out (the rebuilt member alone) reads the
 * same volume. For ddf1, mdadm --examine and --assemble the rebuilt disk too, and md reads the same bytes.
 * Beside it, ddf1 -x against mdadm's --kill-subarray: the same deletion on copies of the same disks changes
 * the same bytes, but the headers' timestamps (and CRCs). Two VM boots, 64 MiB images. Skipped when dm-vm is
 * unusable; failing under CI.
 */
import { mkdtempSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dmVmBoots, reference, removeVmBundle, runDmVm, runOurs, runReference, testIf, type VmDisk } from '@dmraid/testkit';

const vmIt = testIf(it, await dmVmBoots({ ours: true }));
const work = mkdtempSync(join(tmpdir(), 'ops-vm-'));
afterAll(async () => {
  await fs.rm(work, { recursive: true, force: true });
  await removeVmBundle();
});

const FORMATS = ['nvidia', 'sil', 'pdc', 'ddf1'] as const;
const MIB = 1 << 20;

async function blank(file: string) {
  await fs.writeFile(file, '');
  await fs.truncate(file, 64 * MIB);
}

const spec = (d: VmDisk) => `${d.file}:${d.serial}`;

/** `NAME sha HASH` lines a VM script printed. */
function hashes(stdout: string): Map<string, string> {
  return new Map([...stdout.matchAll(/^(\S+) sha ([0-9a-f]{64})$/gm)].map((m) => [m[1]!, m[2]!]));
}

/** Changes of mdadm's kind on one disk: a table CRC (bytes 4-7) or a header timestamp (0x2c-0x2f) of a sector. */
function besideStamps(a: Buffer, b: Buffer): string[] {
  const out: string[] = [];
  for (let i = 0; i < a.length && out.length < 8; i++) {
    if (a[i] === b[i]) continue;
    const o = i % 512;
    if ((o >= 4 && o < 8) || (o >= 0x2c && o < 0x30)) continue;
    out.push(`sector ${Math.floor(i / 512)} byte ${o}: mdadm ${a[i]}, ours ${b[i]}`);
  }
  return out;
}

describe('-R in the kernel; ddf1 -x against mdadm', () => {
  vmIt('nvidia, sil, pdc, ddf1 RAID1: the rebuilt member alone carries the data; ddf1 -x writes what mdadm --kill-subarray writes', async () => {
    const sets = [];
    for (const format of FORMATS) {
      const disks = [0, 1].map((i) => ({ file: join(work, `${format}${i}.img`), serial: `OPS${format.toUpperCase()}${i}` }));
      for (const d of disks) await blank(d.file);
      const c = await runOurs(disks.map(spec), ['-f', format, '-C', 'Vm', '--type', '1', '--disk', disks.map((d) => d.file).join(' '), '--yes'], { cwd: work });
      expect(c.status, c.stderr).toBe(0);
      const name = (await runOurs(disks.map(spec), ['-s', '-c'], { cwd: work })).stdout.trim();
      expect(name, format).toMatch(new RegExp(`^${format}_\\w+$`));
      sets.push({ format, name, disks });
    }
    const mdadm = [0, 1].map((i) => ({ file: join(work, `m${i}.img`), serial: `OPSMD${i}` }));
    for (const d of mdadm) await blank(d.file);
    // mdadm's disks come after the sets' disks: two per set in the first run, one in the second.
    const md = (i: number) => `$DISK${2 * sets.length + i}`;
    const md2 = (i: number) => `$DISK${sets.length + i}`;

    // Run 1: data through our -ay; mdadm's container with two RAID1 VDs on two more disks.
    const first = await runDmVm(
      [...sets.flatMap((s) => s.disks), ...mdadm],
      [
        '$DMRAID -ay >/dev/null 2>/tmp/err || { cat /tmp/err; exit 13; }',
        ...sets.map((s) => `head -c ${8 * MIB} /dev/urandom | dd of=/dev/mapper/${s.name} bs=1M seek=1 conv=fsync 2>/dev/null && echo "${s.name} sha $(sha256sum < /dev/mapper/${s.name} | cut -d' ' -f1)"`),
        'sync; $DMRAID -an >/dev/null || exit 14',
        `mdadm --create /dev/md/ddf0 --metadata=ddf --raid-devices=2 --run ${md(0)} ${md(1)} 2>&1 &&`,
        '  mdadm --create /dev/md/vol0 --level=1 --raid-devices=2 --size=16M --run /dev/md/ddf0 2>&1 &&',
        '  mdadm --create /dev/md/vol1 --level=1 --raid-devices=2 --run /dev/md/ddf0 2>&1 || exit 15',
        'mdadm --wait /dev/md/vol0 /dev/md/vol1; mdadm --stop /dev/md/vol1 /dev/md/vol0 && mdadm --stop /dev/md/ddf0 && sync || exit 16',
      ].join('\n'),
      { ours: true, timeout: 900 },
    );
    const out1 = `${first.stdout}\n${first.stderr}`;
    expect(first.status, out1).toBe(0);
    const written = hashes(first.stdout);
    for (const s of sets) expect(written.get(s.name), `${s.format}: ${out1}`).toMatch(/^[0-9a-f]{64}$/);

    // Host: member 1 of each set dies, a blank disk with another serial is rebuilt from member 0.
    for (const s of sets) {
      const fresh = { file: join(work, `${s.format}-new.img`), serial: `OPS${s.format.toUpperCase()}N` };
      await blank(fresh.file);
      await fs.rm(s.disks[1]!.file);
      const r = await runOurs([spec(s.disks[0]!), spec(fresh)], ['-R', s.name, fresh.file], { cwd: work });
      expect(r.status, `${s.format}: ${r.stderr}`).toBe(0);
      expect(r.stdout, s.format).toContain(`${fresh.file} rebuilt (`);
      Object.assign(s, { fresh });
    }
    // Host: our -x of the second VD on copies of mdadm's disks taken before mdadm's own deletion.
    const ours = mdadm.map((d, i) => ({ file: join(work, `o${i}.img`), serial: d.serial }));
    for (const [i, d] of ours.entries()) await fs.copyFile(mdadm[i]!.file, d.file);
    const x = await runOurs(ours.map(spec), ['-x', 'ddf1_vol1', '--yes'], { cwd: work });
    expect(x.status, x.stderr).toBe(0);

    // Run 2: the rebuilt disks alone; mdadm deletes its second VD; mdadm reads the rebuilt ddf1 disk.
    const fresh = sets.map((s) => (s as typeof s & { fresh: VmDisk }).fresh);
    const ddf1 = `$DISK${sets.findIndex((s) => s.format === 'ddf1')}`;
    const second = await runDmVm(
      [...fresh, ...mdadm],
      [
        `mdadm --assemble /dev/md/ddfk ${md2(0)} ${md2(1)} >/dev/null 2>&1 && mdadm --kill-subarray=1 /dev/md/ddfk 2>&1; echo "kill $?"`,
        'mdadm --stop /dev/md/ddfk >/dev/null 2>&1',
        '$DMRAID -ay >/dev/null 2>/tmp/err || { cat /tmp/err; exit 13; }',
        ...sets.map((s) => `echo "${s.name} sha $(sha256sum < /dev/mapper/${s.name} | cut -d' ' -f1)"`),
        '$DMRAID -an >/dev/null || exit 14',
        `mdadm --examine ${ddf1} 2>&1 | grep -E "Container GUID|state\\[0\\]|Name\\[0\\]|active/"`,
        'mdadm --assemble --scan --run 2>&1',
        'cat /proc/mdstat; v=$(ls /dev/md/ | grep "^Vm" | head -n 1); echo "md volume $v"',
        `[ -n "$v" ] && echo "md sha $(head -c $(( $(blockdev --getsz /dev/md/$v) * 512 )) /dev/md/$v | sha256sum | cut -d' ' -f1)"`,
        'mdadm --stop --scan >/dev/null 2>&1; true',
      ].join('\n'),
      { ours: true, timeout: 900 },
    );
    const out2 = `${second.stdout}\n${second.stderr}`;
    expect(second.status, out2).toBe(0);
    const read = hashes(second.stdout);
    for (const s of sets) expect(read.get(s.name), `${s.format}: the rebuilt member alone reads the data written\n${out2}`).toBe(written.get(s.name));
    // mdadm takes the rebuilt disk as a DDF member, active and online, and md reads the same volume.
    expect(second.stdout, out2).toMatch(/Name\[0\] : Vm/);
    expect(second.stdout, out2).toMatch(/active\/Online/);
    const ddf1Name = sets.find((s) => s.format === 'ddf1')!.name;
    expect(second.stdout, out2).toContain(`md sha ${written.get(ddf1Name)}`);

    // ddf1 -x: mdadm's bytes and ours differ in the header timestamps and CRCs only.
    expect(second.stdout, out2).toMatch(/^kill 0$/m);
    for (const [i, d] of mdadm.entries()) {
      const [theirs, mine] = [await fs.readFile(d.file), await fs.readFile(ours[i]!.file)];
      expect(besideStamps(theirs, mine), `disk ${i}`).toEqual([]);
    }
    const args = ['-s', '-c', '-c', '-c'];
    const disk = (t: string) => t.replace(/\S+\/[mo](\d)\.img/g, 'disk$1');
    expect(disk((await runOurs(ours.map(spec), args, { cwd: work })).stdout)).toBe(disk((await runOurs(mdadm.map(spec), args, { cwd: work })).stdout));
    if (reference().available) {
      // The reference misreads mdadm's own result as ours (docs/formats/ddf1.md, the VD record lookup).
      const [refMdadm, refOurs] = [await runReference(mdadm.map(spec), args, { cwd: work }), await runReference(ours.map(spec), args, { cwd: work })];
      expect(refMdadm.stdout).toMatch(/^ddf1_vol1:.*:inconsistent:/m);
      expect(disk(refOurs.stdout)).toBe(disk(refMdadm.stdout));
    }
  }, 1_800_000);
});

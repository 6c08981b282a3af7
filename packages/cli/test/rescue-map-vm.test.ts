// Ours: unreadable areas against the real kernel (../shared/tools/dm-vm). In the VM, members of a RAID5 sit
// behind device-mapper tables with `error` segments: GNU ddrescue (this machine's binary, shared in) images
// them to files and mapfiles, and our dmraid reads the set from the failing devices themselves (real EIO
// from pread). Here, `--extract --rescue-map` of the images gives the volume written (one bad member) or
// loses exactly what the mapfiles mark on two members at once. Skipped when dm-vm is unusable; failing under CI.
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createEngine, isTableError, memorySource } from '@dmraid/engine';
import { dmVmBoots, removeVmBundle, runDmVm, testIf, vmBundle } from '@dmraid/testkit';
import { run } from '../src/main.js';
import { tmp } from './helpers.js';

const vmIt = testIf(it, await dmVmBoots({ ours: true }));
afterAll(() => removeVmBundle());

const MEMBER = 2048;
const SECTOR = 512;
const check = (n: number) => Math.imul(n + 1, 0x9e3779b1) >>> 0;

/** The sectors a ddrescue mapfile marks not finished (read here with a regular expression of its own). */
const unfinished = (map: string): number[] =>
  [...map.matchAll(/^(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+([?*/\-+])$/gim)]
    .filter((m) => m[3] !== '+')
    .flatMap((m) => {
      const [pos, size] = [Number(m[1]), Number(m[2])];
      return Array.from({ length: Math.ceil((pos + size) / SECTOR) - Math.floor(pos / SECTOR) }, (_, k) => Math.floor(pos / SECTOR) + k);
    });

async function dmraid(dir: string, args: string[]) {
  let stdout = '';
  let stderr = '';
  const status = await run(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), readLine: async () => null, cwd: dir }, { handlers: [] });
  return { status, stdout, stderr };
}

describe('unreadable member areas in the real kernel', () => {
  vmIt('ddrescue images dm error segments: one bad member rebuilt, two lose exactly the mapfiles\' common rows; our dmraid over the failing devices too', async () => {
    const dir = tmp('rescue-vm');
    const sectors = 2 * MEMBER;
    const volume = Buffer.alloc(sectors * SECTOR);
    for (let i = 0; i < volume.length; i++) volume[i] = (Math.imul(i, 2654435761) >>> 13) & 0xff || 1;
    for (let n = 0; n < sectors; n++) {
      volume.writeUInt32LE(n, n * SECTOR);
      volume.writeUInt32LE(check(n), n * SECTOR + 4);
    }
    const members = [0, 1, 2].map(() => Buffer.alloc(MEMBER * SECTOR));
    const table = (devs: string[]) => `r5: 0 ${sectors} raid raid5_ls 1 16 3 ${devs.map((d) => `- ${d}`).join(' ')}\n`;
    const e = createEngine([{ name: 'r5', table: table(['m0', 'm1', 'm2']).slice(4) }], (p) => memorySource(p, members[Number(p[1])]!));
    if (isTableError(e)) throw new Error(e.message);
    expect(await e.get('r5')!.write(0, volume)).toBe(true);
    const disks = [];
    for (const [i, m] of members.entries()) {
      await writeFile(join(dir, `m${i}.img`), m);
      disks.push(join(dir, `m${i}.img`));
    }
    const share = await vmBundle();
    await copyFile('/usr/bin/ddrescue', join(share, 'ddrescue'));
    // Member 1 fails at sectors 300-339, member 2 at 320-379: rows 320-339 have two failing members.
    const script = `set -e
bad() { n=$(blockdev --getsz $1); printf "0 $3 linear $1 0\\n$3 $4 error\\n$(($3 + $4)) $((n - $3 - $4)) linear $1 $(($3 + $4))\\n" | dmsetup create $2; }
bad $DISK1 bad1 300 40
bad $DISK2 bad2 320 60
ddr() { /share/lib/ld-linux-x86-64.so.2 --library-path /share/lib /share/ddrescue -q "$@"; }
ddr /dev/mapper/bad1 /share/r1.img /share/r1.map || true
ddr /dev/mapper/bad2 /share/r2.img /share/r2.map || true
printf "${table(['$DISK0', '/dev/mapper/bad1', '$DISK2']).replace(/\n/, '\\n')}" > /tmp/t1
printf "${table(['$DISK0', '/dev/mapper/bad1', '/dev/mapper/bad2']).replace(/\n/, '\\n')}" > /tmp/t2
set +e
$DMRAID --tables /tmp/t1 --extract r5 -o /share/eio1.img; echo "eio1 $?"
$DMRAID --tables /tmp/t2 --extract r5 -o /share/eio2.img --json > /share/eio2.json; echo "eio2 $?"
`;
    const r = await runDmVm(disks, script, { ours: true, timeout: 600 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout, `${r.stdout}\n${r.stderr}`).toContain('eio1 0');
    for (const f of ['r1.img', 'r1.map', 'r2.img', 'r2.map', 'eio1.img', 'eio2.img', 'eio2.json']) await copyFile(join(share, f), join(dir, f));
    const bad1 = unfinished(await readFile(join(dir, 'r1.map'), 'utf8'));
    const bad2 = unfinished(await readFile(join(dir, 'r2.map'), 'utf8'));
    expect(bad1).toEqual(expect.arrayContaining([300, 339]));
    expect(bad2).toEqual(expect.arrayContaining([320, 379]));
    await copyFile(join(dir, 'm0.img'), join(dir, 'r0.img'));
    await writeFile(join(dir, 't1.txt'), table(['r0.img', 'r1.img', 'm2.img']));
    await writeFile(join(dir, 't2.txt'), table(['r0.img', 'r1.img', 'r2.img']));

    // One failing member: the whole volume, from the images with the mapfile and from the devices in the VM.
    const one = await dmraid(dir, ['--extract', 'r5', '-o', 'one.img', '--tables', 't1.txt', '--rescue-map', 'r1.img=r1.map']);
    expect([one.status, one.stderr]).toEqual([0, '']);
    expect((await readFile(join(dir, 'one.img'))).equals(volume)).toBe(true);
    expect(r.stdout).toContain('eio1 0');
    expect((await readFile(join(dir, 'eio1.img'))).equals(volume)).toBe(true);

    // Two: lost are the volume sectors both mapfiles' common member sectors held (read off their numbers).
    const common = bad1.filter((s) => bad2.includes(s));
    const held = [1, 2].flatMap((i) =>
      common.flatMap((s) => {
        const n = members[i]!.readUInt32LE(s * SECTOR);
        return members[i]!.readUInt32LE(s * SECTOR + 4) === check(n) ? [n] : [];
      }),
    );
    const lostSectors = [...new Set(held)].sort((a, b) => a - b);
    expect(lostSectors.length).toBeGreaterThan(0);
    const two = await dmraid(dir, ['--extract', 'r5', '-o', 'two.img', '--tables', 't2.txt', '--json', '--rescue-map', 'r1.img=r1.map', '--rescue-map', 'r2.img=r2.map']);
    expect(two.status).toBe(2);
    const lost = (JSON.parse(two.stdout) as { extract: { lost: { start: number; count: number }[] } }).extract.lost;
    expect(lost.flatMap((l) => Array.from({ length: l.count }, (_, k) => l.start + k))).toEqual(lostSectors);
    const want = Buffer.from(volume);
    for (const s of lostSectors) want.fill(0, s * SECTOR, (s + 1) * SECTOR);
    expect((await readFile(join(dir, 'two.img'))).equals(want)).toBe(true);
    // Our dmraid on the failing devices: lost sectors reported, exit 2, the rest the volume's.
    expect(r.stdout).toContain('eio2 2');
    const eio = (JSON.parse(await readFile(join(dir, 'eio2.json'), 'utf8')) as { extract: { lost: { start: number; count: number }[] } }).extract.lost;
    const eioSectors = eio.flatMap((l) => Array.from({ length: l.count }, (_, k) => l.start + k));
    expect(eioSectors).toEqual(expect.arrayContaining(lostSectors));
    const got = await readFile(join(dir, 'eio2.img'));
    const wantEio = Buffer.from(volume);
    for (const s of eioSectors) wantEio.fill(0, s * SECTOR, (s + 1) * SECTOR);
    expect(got.equals(wantEio)).toBe(true);
  });
});

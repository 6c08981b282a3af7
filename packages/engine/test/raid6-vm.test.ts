/**
 * RAID6 against the real kernel (../shared/tools/dm-vm, dm-raid over md's raid6): in the VM, zeroed member
 * images get a `raid raid6_* 1 64 <n> - <dev>...` table (dm-raid takes no `nosync` for raid456: md's resync
 * runs and is waited for), random data is written through it and the device hashed; the member images are
 * copied out. Here, our engine reads the volume from those images equal to the kernel's device, healthy and
 * with every one- and two-member loss; check-data finds P and Q clean, and a flipped byte in a P block, then
 * in a Q block, raises that count alone. Skipped when dm-vm is unusable; failing under CI.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dmVmBoots, runDmVm, testIf } from '@dmraid/testkit';
import { checkData, createEngine, isIoError, isTableError, memorySource, raid6Stripe, SECTOR, type Engine, type Raid6Type } from '../src/index.js';

const vmIt = testIf(it, await dmVmBoots());
const work = mkdtempSync(join(tmpdir(), 'dmraid-raid6-vm-'));
afterAll(() => fs.rm(work, { recursive: true, force: true }));

const MEMBER_SECTORS = 8192; // 4 MiB members: 128 rows of 64-sector chunks, every rotation many times over
const CHUNK = 64;
const CASES: readonly [Raid6Type, number][] = [
  ['raid6_zr', 4], ['raid6_zr', 5], ['raid6_nr', 4], ['raid6_nr', 5], ['raid6_nc', 4], ['raid6_nc', 5],
  ['raid6_n_6', 5], ['raid6_la_6', 5], ['raid6_ra_6', 5], ['raid6_ls_6', 4], ['raid6_rs_6', 5],
];
const MAX_DISKS = Math.max(...CASES.map(([, n]) => n));

/** The kernel's side, once for every case: the hash of each case's device, its member images in `work`. */
let kernel: Promise<Map<string, string>> | undefined;
function kernelRun(): Promise<Map<string, string>> {
  kernel ??= (async () => {
    const disks = [];
    for (let i = 0; i < MAX_DISKS; i++) {
      const file = join(work, `d${i}.img`);
      await fs.writeFile(file, new Uint8Array(0));
      await fs.truncate(file, MEMBER_SECTORS * SECTOR);
      disks.push(file);
    }
    const script = [
      'set -e',
      `for c in ${CASES.map(([t, n]) => `${t}:${n}`).join(' ')}; do`,
      '  t=${c%:*}; n=${c#*:}; devs=""; i=0',
      `  for d in $DISKS; do [ $i -lt $n ] || break; dd if=/dev/zero of=$d bs=1M count=${MEMBER_SECTORS / 2048} 2>/dev/null; devs="$devs - $d"; i=$((i+1)); done`,
      `  len=$((${MEMBER_SECTORS} * (n - 2)))`,
      `  echo "0 $len raid $t 1 ${CHUNK} $n$devs" | dmsetup create r6 || { dmesg | tail -n 3; exit 3; }`,
      '  head -c $((len * 512)) /dev/urandom > /tmp/data',
      '  dd if=/tmp/data of=/dev/mapper/r6 bs=64k 2>/dev/null; sync',
      // md's resync of the zeroed members: "<type> <n> <health> <done>/<total> ..."; wait for it to end.
      '  for k in $(seq 1 120); do s=$(dmsetup status r6 | cut -d" " -f7); [ "${s%/*}" = "${s#*/}" ] && break; sleep 1; done',
      '  echo 3 > /proc/sys/vm/drop_caches',
      '  echo "case $t $n data $(sha256sum /tmp/data | cut -d" " -f1) dev $(sha256sum /dev/mapper/r6 | cut -d" " -f1) $(dmsetup status r6 | cut -d" " -f5-7)"',
      '  dmsetup remove r6; echo 3 > /proc/sys/vm/drop_caches',
      '  i=0; for d in $DISKS; do [ $i -lt $n ] || break; blockdev --flushbufs $d; cat $d > /share/$t-$n-$i.img; i=$((i+1)); done',
      'done',
    ].join('\n');
    const r = await runDmVm(disks, script, { share: work, timeout: 900 });
    if (r.status !== 0) throw new Error(`dm-vm exit ${r.status}\n${r.stdout}\n${r.stderr}`);
    const hashes = new Map<string, string>();
    for (const m of r.stdout.matchAll(/^case (\S+) (\d+) data (\w+) dev (\w+) \d+ (\w+) (\d+)\/(\d+)$/gm)) {
      // The kernel read back what was written, all members in sync, the resync done.
      expect(m[4]).toBe(m[3]);
      expect([m[5], m[6]]).toEqual(['A'.repeat(Number(m[2])), m[7]]);
      hashes.set(`${m[1]}-${m[2]}`, m[4]!);
    }
    expect(hashes.size, r.stdout).toBe(CASES.length);
    return hashes;
  })();
  return kernel;
}

function engineOf(type: Raid6Type, members: Uint8Array[], lost: readonly number[]): Engine {
  const n = members.length;
  const devs = members.map((_, i) => (lost.includes(i) ? '- -' : `- m${i}`)).join(' ');
  const e = createEngine([{ name: 'r6', table: `0 ${MEMBER_SECTORS * (n - 2)} raid ${type} 1 ${CHUNK} ${n} ${devs}` }], (p) => memorySource(p, members[Number(p.slice(1))]!));
  if (isTableError(e)) throw new Error(e.message);
  return e;
}

describe('raid6 against the kernel: our reads equal dm-raid\'s, with any two members lost', () => {
  for (const [type, n] of CASES) {
    vmIt(`${type} over ${n} members: every loss of up to two members reads the kernel's bytes; check-data counts P and Q apart`, async () => {
      const want = (await kernelRun()).get(`${type}-${n}`);
      const members = await Promise.all(Array.from({ length: n }, (_, i) => fs.readFile(join(work, `${type}-${n}-${i}.img`)).then((b) => new Uint8Array(b))));
      const losses: number[][] = [[]];
      for (let a = 0; a < n; a++) {
        losses.push([a]);
        for (let b = a + 1; b < n; b++) losses.push([a, b]);
      }
      for (const lost of losses) {
        const got = await engineOf(type, members, lost).get('r6')!.read(0, MEMBER_SECTORS * (n - 2));
        if (isIoError(got)) throw new Error(got.message);
        expect(createHash('sha256').update(got).digest('hex'), `lost ${lost.join('+') || 'none'}`).toBe(want);
      }
      const e = engineOf(type, members, []);
      const counts = async () => {
        const r = await checkData(e, ['r6']);
        if (isIoError(r)) throw new Error(r.message);
        return [r.mismatches, r.syndromeMismatches];
      };
      expect(await counts()).toEqual([0, 0]);
      const row = 5;
      const s = raid6Stripe(type, n, row);
      members[s.p]![(row * CHUNK + 3) * SECTOR + 100]! ^= 0x10;
      expect(await counts()).toEqual([1, 0]);
      members[s.q]![(row * CHUNK + 7) * SECTOR + 1]! ^= 0x80;
      expect(await counts()).toEqual([1, 1]);
    }, 900_000);
  }
});

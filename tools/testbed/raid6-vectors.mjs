#!/usr/bin/env node
// Records where the real kernel's dm-raid puts each sector of a RAID6 volume, for every raid6 layout on 4
// and 5 members: packages/engine/test/fixtures/raid6-vectors.json, which raid6-vectors.test.ts checks the
// engine against without a VM. In the dm-vm VM, zeroed members get a `raid <layout> 1 8 <n> - <dev>...`
// table (8-sector chunks), a stamped volume is written through it (each 512-byte sector: the SHA-256 of
// "sector <n>" sixteen times, n its volume sector), the resync is waited for, and the members are copied
// out. Here, every member sector is looked up among the stamps: a data sector names its volume sector; of
// the two chunks of a row that hold none, the one equal to the XOR of the row's data is P, the other Q.
// The fixture keeps, per member and row, the volume sector the chunk starts with (its sectors are checked
// to follow on) or "P"/"Q", and each member's SHA-256 (what a writer of the same volume must produce).
//   node tools/testbed/raid6-vectors.mjs        (under the VM lock: flock /work/wt/vm.lock ...)
import { createHash } from 'node:crypto';
import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runDmVm } from '@dmraid/testkit';

const SECTOR = 512;
const CHUNK = 8;
const ROWS = 32;
const MEMBER_SECTORS = CHUNK * ROWS;
const LAYOUTS = ['raid6_zr', 'raid6_nr', 'raid6_nc', 'raid6_n_6', 'raid6_la_6', 'raid6_ra_6', 'raid6_ls_6', 'raid6_rs_6'];
const CASES = LAYOUTS.flatMap((layout) => [4, 5].map((disks) => ({ layout, disks })));
const MAX_DISKS = 5;
const out = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'packages', 'engine', 'test', 'fixtures', 'raid6-vectors.json');

/** Volume sector n's stamp: 32 hash bytes, sixteen times. */
function stamp(n) {
  const h = createHash('sha256').update(`sector ${n}`).digest();
  return Buffer.concat(Array.from({ length: SECTOR / h.length }, () => h));
}

const work = mkdtempSync(join(tmpdir(), 'raid6-vectors-'));
try {
  const volumeSectors = MEMBER_SECTORS * (MAX_DISKS - 2);
  const stamps = Array.from({ length: volumeSectors }, (_, n) => stamp(n));
  await fs.writeFile(join(work, 'volume'), Buffer.concat(stamps));
  const disks = [];
  for (let i = 0; i < MAX_DISKS; i++) {
    const file = join(work, `d${i}.img`);
    await fs.writeFile(file, Buffer.alloc(0));
    await fs.truncate(file, MEMBER_SECTORS * SECTOR);
    disks.push(file);
  }
  const script = [
    'set -e',
    `for c in ${CASES.map((c) => `${c.layout}:${c.disks}`).join(' ')}; do`,
    '  t=${c%:*}; n=${c#*:}; devs=""; i=0',
    `  for d in $DISKS; do [ $i -lt $n ] || break; dd if=/dev/zero of=$d bs=512 count=${MEMBER_SECTORS} 2>/dev/null; devs="$devs - $d"; i=$((i+1)); done`,
    `  len=$((${MEMBER_SECTORS} * (n - 2)))`,
    `  echo "0 $len raid $t 1 ${CHUNK} $n$devs" | dmsetup create r6 || { dmesg | tail -n 3; exit 3; }`,
    '  dd if=/share/volume of=/dev/mapper/r6 bs=4096 count=$((len / 8)) 2>/dev/null; sync',
    '  for k in $(seq 1 120); do s=$(dmsetup status r6 | cut -d" " -f7); [ "${s%/*}" = "${s#*/}" ] && break; sleep 1; done',
    '  echo 3 > /proc/sys/vm/drop_caches',
    '  echo "case $t $n $(head -c $((len * 512)) /share/volume | sha256sum | cut -d" " -f1) $(sha256sum < /dev/mapper/r6 | cut -d" " -f1) $(dmsetup status r6 | cut -d" " -f5-7)"',
    '  dmsetup remove r6; echo 3 > /proc/sys/vm/drop_caches',
    '  i=0; for d in $DISKS; do [ $i -lt $n ] || break; blockdev --flushbufs $d; cat $d > /share/$t-$n-$i.img; i=$((i+1)); done',
    'done',
  ].join('\n');
  const r = await runDmVm(disks, script, { share: work, timeout: 900 });
  if (r.status !== 0) throw new Error(`dm-vm exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  const bySector = new Map(stamps.map((s, n) => [s.subarray(0, 32).toString('hex'), n]));
  const cases = [];
  for (const { layout, disks: n } of CASES) {
    const m = new RegExp(`^case ${layout} ${n} (\\w+) (\\w+) \\d+ (\\w+) (\\d+)/(\\d+)$`, 'm').exec(r.stdout);
    if (!m) throw new Error(`${layout} over ${n}: no result\n${r.stdout}`);
    // The kernel read back what was written, every member in sync, the resync done.
    if (m[1] !== m[2] || m[3] !== 'A'.repeat(n) || m[4] !== m[5]) throw new Error(`${layout} over ${n}: ${m[0]}`);
    const members = await Promise.all(Array.from({ length: n }, (_, i) => fs.readFile(join(work, `${layout}-${n}-${i}.img`))));
    const chunkAt = (member, row) => members[member].subarray(row * CHUNK * SECTOR, (row + 1) * CHUNK * SECTOR);
    const map = members.map(() => []);
    for (let row = 0; row < ROWS; row++) {
      const parity = [];
      const xor = Buffer.alloc(CHUNK * SECTOR);
      for (let i = 0; i < n; i++) {
        const chunk = chunkAt(i, row);
        const first = bySector.get(chunk.subarray(0, 32).toString('hex'));
        if (first === undefined) {
          parity.push(i);
          continue;
        }
        for (let k = 0; k < CHUNK; k++) {
          if (!chunk.subarray(k * SECTOR, (k + 1) * SECTOR).equals(stamps[first + k])) throw new Error(`${layout} over ${n}: member ${i} row ${row} sector ${k} is not volume sector ${first + k}`);
        }
        for (let b = 0; b < xor.length; b++) xor[b] ^= chunk[b];
        map[i][row] = first;
      }
      if (parity.length !== 2) throw new Error(`${layout} over ${n}: row ${row} has ${parity.length} chunks that are no data`);
      const p = parity.filter((i) => chunkAt(i, row).equals(xor));
      if (p.length !== 1) throw new Error(`${layout} over ${n}: row ${row}: ${p.length} chunks equal the XOR of the data`);
      map[p[0]][row] = 'P';
      map[parity.find((i) => i !== p[0])][row] = 'Q';
    }
    const hashes = members.map((b) => createHash('sha256').update(b).digest('hex'));
    cases.push({ layout, disks: n, members: map, sha256: hashes });
  }
  const fixture = {
    recorded: 'tools/testbed/raid6-vectors.mjs in dm-vm (Debian linux 6.1 dm-raid over md raid6)',
    sectorStamp: 'SHA-256 of "sector <n>" (ASCII), sixteen times',
    chunkSectors: CHUNK,
    memberSectors: MEMBER_SECTORS,
    cases,
  };
  await fs.mkdir(dirname(out), { recursive: true });
  // One line per member: its rows.
  const rows = [];
  const text = JSON.stringify(fixture, (k, v) => (k === 'members' ? v.map((m) => `@${rows.push(JSON.stringify(m)) - 1}@`) : v), 2);
  await fs.writeFile(out, `${text.replace(/"@(\d+)@"/g, (_, i) => rows[Number(i)])}\n`);
  console.log(`${out}: ${cases.length} cases`);
} finally {
  rmSync(work, { recursive: true, force: true });
}

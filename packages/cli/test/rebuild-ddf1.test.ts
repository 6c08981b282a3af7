// -R SET DEV for ddf1 on images: a -C set holding data loses a member, a blank disk takes its place, the
// engine copies or reconstructs its data, then the tables say it Online and the VD optimal. The volume's
// bytes are the same as before, --check-data is clean. In the VM, mdadm (the judge of DDF) examines the
// result, assembles it in sync and finds no mismatch; after `failed`, it reads the survivor as we wrote it.
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildSets, isIoError, openDevice, readContext, type RaidDevice, type WriteContext, type WritableDevice } from '@dmraid/core';
import { blankImage, dmVm, fillMembers, runDmVm, runOurs, specFile, testIf } from '@dmraid/testkit';
import { tmp, writeVolume } from './helpers.js';

const SECTORS = 131072;

const blank = (path: string, sectors = SECTORS) => blankImage(path, sectors);

const file = specFile;

/**
 * A `-f ddf1 -C` volume over `n` images whose members' first `dataSectors` hold what the volume's writes would
 * leave: one random block on every mirror leg, or random members and their XOR (parity holds in every row,
 * whatever the layout). The rest stays zero on every member, consistent as well.
 */
async function filledSet(
  dir: string,
  prefix: string,
  level: '0' | '1' | '5',
  n: number,
  dataSectors = 16384
): Promise<{ specs: string[]; name: string; memberSectors: number }> {
  const specs = Array.from({ length: n }, (_, i) => `${prefix}${i}.img:${prefix.toUpperCase()}DDF${i}`);
  for (const s of specs) await blank(join(dir, file(s)));
  const created = await runOurs(specs, ['-f', 'ddf1', '-C', prefix, '--type', level, '--disk', specs.map(file).join(','), '--yes'], { cwd: dir });
  expect(created.status, created.stderr).toBe(0);
  const name = `ddf1_${prefix}`;
  const member = (await runOurs(specs, ['-s', '-c', '-c', '-c'], { cwd: dir })).stdout
    .split('\n')
    .find((l) => l.startsWith(`${file(specs[0]!)}:`))!
    .split(':');
  const memberSectors = Number(member[5]);
  expect(member[6]).toBe('0');
  await fillMembers(specs.map((s) => join(dir, file(s))), level, dataSectors * 512);
  return { specs, name, memberSectors };
}

/** The disk at `index` dies; a blank one with another serial takes its place. */
async function replace(dir: string, specs: string[], index: number): Promise<{ specs: string[]; lost: Buffer }> {
  const path = join(dir, file(specs[index]!));
  const lost = await fs.readFile(path);
  await blank(path, lost.length / 512);
  return {
    specs: specs.map((s, i) => (i === index ? `${file(s)}:REPLACED${index}` : s)),
    lost,
  };
}

/** The volume's bytes as the engine reads them. */
async function extract(dir: string, specs: string[], name: string, out: string): Promise<Buffer> {
  const r = await runOurs(specs, ['--extract', name, '-o', out], { cwd: dir });
  expect(r.status, r.stderr).toBe(0);
  return fs.readFile(join(dir, out));
}

/** Rebuild member 1 of a filled set onto a blank disk with -R; the volume read before and after. */
async function rebuilt(dir: string, prefix: string, level: '1' | '5', n: number) {
  const { specs: before, name, memberSectors } = await filledSet(dir, prefix, level, n);
  const volume = await extract(dir, before, name, `${prefix}-before.bin`);
  const { specs, lost } = await replace(dir, before, 1);
  const r = await runOurs(specs, ['-R', name, file(specs[1]!)], { cwd: dir });
  return { specs, name, memberSectors, volume, lost, r };
}

describe('-R SET DEV for ddf1: the data onto the new disk, then its tables in sync', () => {
  for (const [level, n] of [
    ['1', 2],
    ['5', 3],
  ] as const) {
    it(`RAID${level} over ${n}: the blank disk gets the lost member's data, the volume's bytes are unchanged, --check-data clean, -s ok`, async () => {
      const dir = tmp(`rebuild-ddf1-${level}`);
      const prefix = `r${level}d`;
      const { specs, name, memberSectors, volume, lost, r } = await rebuilt(dir, prefix, level, n);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toBe(`ddf1: drive to rebuild: ${prefix}1.img\n\nddf1: ${prefix}1.img rebuilt (${(memberSectors / 2048).toFixed(1)} MiB of ${name})\n`);
      // RAID5: whole stripe rows only are the volume's (the tail past the last one is no data).
      const rows = level === '5' ? Math.floor(memberSectors / 128) * 128 : memberSectors;
      const got = (await fs.readFile(join(dir, `${prefix}1.img`))).subarray(0, rows * 512);
      expect(got.equals(lost.subarray(0, rows * 512))).toBe(true);
      expect((await extract(dir, specs, name, `${prefix}-after.bin`)).equals(volume)).toBe(true);
      const s = await runOurs(specs, ['-s', '-c', '-c', '-c'], { cwd: dir });
      expect(s.status, s.stderr).toBe(0);
      expect(
        s.stdout
          .split('\n')
          .filter(Boolean)
          .every((l) => l.includes(':ok:'))
      ).toBe(true);
      expect(s.stdout.split('\n').filter((l) => l.startsWith(prefix))).toHaveLength(n);
      // Each disk's own state (its PD entry): Online, no longer Rebuilding (nosync).
      const disks = await runOurs(specs, ['-r'], { cwd: dir });
      expect(
        disks.stdout
          .split('\n')
          .filter(Boolean)
          .map((l) => l.split(', ')[3])
      ).toEqual(Array(n).fill('ok'));
      const check = await runOurs(specs, ['--check-data', name], { cwd: dir });
      expect([check.status, check.stdout]).toEqual([0, expect.stringContaining(`${name}: mismatch_cnt 0`)]);
    }, 120_000);
  }

  it('RAID0: refused with the reason, nothing written to the new disk', async () => {
    const dir = tmp('rebuild-ddf1-0');
    const { specs: before, name } = await filledSet(dir, 's0d', '0', 2, 2048);
    const { specs } = await replace(dir, before, 1);
    const r = await runOurs(specs, ['-R', name, 's0d1.img'], { cwd: dir });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`ERROR: ddf1: cannot rebuild onto s0d1.img: "${name}" has no redundancy, its data was on the missing disk\n`);
    expect((await fs.readFile(join(dir, 's0d1.img'))).every((b) => b === 0)).toBe(true);
  }, 60_000);
});

describe('-R SET DEV for a ddf1 RAID6: P and Q rebuilt as well as data', () => {
  for (const [n, gone] of [
    [4, undefined],
    [5, 3],
  ] as const) {
    it(`RAID6 over ${n}${gone === undefined ? '' : `, member ${gone} missing as well`}: the blank disk gets the lost member's bytes (data, P and Q chunks), the volume is unchanged${gone === undefined ? ', --check-data clean' : ''}`, async () => {
      const dir = tmp(`rebuild-ddf1-6-${n}`);
      const prefix = `r6n${n}d`;
      const specs0 = Array.from({ length: n }, (_, i) => `${prefix}${i}.img:R6N${n}DDF${i}`);
      for (const s of specs0) await blank(join(dir, file(s)));
      const created = await runOurs(specs0, ['-f', 'ddf1', '-C', prefix, '--type', '6', '--disk', specs0.map(file).join(','), '--yes'], { cwd: dir });
      expect(created.status, created.stderr).toBe(0);
      const name = `ddf1_${prefix}`;
      await writeVolume(dir, specs0, (await import('@dmraid/format-ddf1')).default, name, randomBytes(16 << 20));
      const volume = await extract(dir, specs0, name, 'before.bin');
      const { specs: replaced, lost } = await replace(dir, specs0, 1);
      // The other missing member's disk is not there at all.
      const specs = replaced.filter((_, i) => i !== gone);
      const r = await runOurs(specs, ['-R', name, file(specs[1]!)], { cwd: dir });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^ddf1: drive to rebuild: ${prefix}1.img\\n\\nddf1: ${prefix}1.img rebuilt \\([\\d.]+ MiB of ${name}\\)\\n$`));
      const memberBytes = (volume.length / (n - 2)) & ~(64 * 1024 - 1);
      expect((await fs.readFile(join(dir, `${prefix}1.img`))).subarray(0, memberBytes).equals(lost.subarray(0, memberBytes))).toBe(true);
      expect((await extract(dir, specs, name, 'after.bin')).equals(volume)).toBe(true);
      const s = await runOurs(specs, ['-s', '-c', '-c', '-c'], { cwd: dir });
      const status = gone === undefined ? ':ok:' : ':inconsistent:';
      expect(s.stdout.split('\n').find((l) => l.startsWith(`${name}:`)), s.stdout).toContain(status);
      // Each present disk's own PD entry: Online, not Rebuilding.
      const disks = await runOurs(specs, ['-r'], { cwd: dir });
      expect(disks.stdout.split('\n').filter(Boolean).map((l) => l.split(', ')[3])).toEqual(Array(specs.length).fill('ok'));
      if (gone === undefined) {
        const check = await runOurs(specs, ['--check-data', name], { cwd: dir });
        expect([check.status, check.stdout]).toEqual([0, expect.stringContaining(`${name}: mismatch_cnt 0`)]);
      }
    }, 180_000);
  }
});

describe('-S SET -M DEV for ddf1: a global spare, then -R onto it', () => {
  it('the spare joins the container (-r lists it, nothing stale), a member dies, -R SET spare rebuilds onto it', async () => {
    const dir = tmp('spare-ddf1');
    const { specs: members, name, memberSectors } = await filledSet(dir, 'sp', '1', 2);
    await blank(join(dir, 'spare.img'));
    const specs = [...members, 'spare.img:SPAREDDF'];
    const volume = await extract(dir, members, name, 'before.bin');
    const s = await runOurs(specs, ['-S', name, '-M', 'spare.img', '--yes'], { cwd: dir });
    expect(s.status, s.stderr).toBe(0);
    expect(s.stdout).toContain('     Create a SPARE DISK with DDF1 metadata format     \n');
    const listed = await runOurs(specs, ['-r'], { cwd: dir });
    expect([listed.stdout, listed.stderr]).toEqual([expect.stringContaining('spare.img: ddf1, ".ddf1_disks", GROUP, ok,'), '']);
    const { specs: left } = await replace(dir, specs, 1);
    const r = await runOurs(left, ['-R', name, 'spare.img'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(`ddf1: drive to rebuild: spare.img\n\nddf1: spare.img rebuilt (${(memberSectors / 2048).toFixed(1)} MiB of ${name})\n`);
    const now = [left[0]!, left[2]!];
    expect((await runOurs(now, ['-s', '-c', '-c', '-c'], { cwd: dir })).stdout).toBe(
      `${name}:${memberSectors}:1:mirror:ok:0:2:0\nsp0.img:ddf1:${name}:mirror:ok:${memberSectors}:0\nspare.img:ddf1:${name}:mirror:ok:${memberSectors}:0\n`
    );
    expect((await extract(dir, now, name, 'after.bin')).equals(volume)).toBe(true);
  }, 120_000);
});

// ---- the judge: mdadm in the VM

/** `failed` through the handler, as the monitor calls it: the set as read before, the disk that died. */
async function recordFailure(dir: string, specs: string[], dead: string): Promise<void> {
  const ddf1 = (await import('@dmraid/format-ddf1')).default;
  const devices: WritableDevice[] = [];
  for (const s of specs) {
    const d = await openDevice(join(dir, file(s)), {
      writable: true,
      serial: s.split(':')[1],
    });
    if (isIoError(d)) throw new Error(d.message);
    devices.push(d);
  }
  try {
    const rds: RaidDevice[] = [];
    for (const d of devices)
      rds.push(
        ...(await ddf1.read(
          d,
          readContext('ddf1', () => undefined)
        ))
      );
    const [set] = buildSets(rds, { handlers: [ddf1], log: () => undefined });
    const errors: string[] = [];
    const ctx: WriteContext = {
      format: 'ddf1',
      log: () => undefined,
      error: (t) => errors.push(t),
      openWritable: async (p) => devices.find((d) => d.path === p),
    };
    expect(await ddf1.failed!(set!, devices.find((d) => d.path.endsWith(`/${dead}`))!, ctx)).toBe(true);
    expect(errors).toEqual([]);
  } finally {
    for (const d of devices) await d.close();
  }
}

/**
 * The VM script's start: every disk's `mdadm --examine`, then the containers assembled at full resync speed and
 * mdmon running (a write or check on an external-metadata array waits for it: format-ddf1/test/mdadm.test.ts).
 */
const EXAMINE_AND_ASSEMBLE = [
  'for d in $DISKS; do mdadm --examine $d || exit 10; done',
  'echo "=== run"',
  'echo 1000000 > /proc/sys/dev/raid/speed_limit_max; echo 1000000 > /proc/sys/dev/raid/speed_limit_min',
  'mdadm --assemble --scan --run >/dev/null 2>&1',
  'mdmon --all >/dev/null 2>&1; for i in $(seq 50); do pidof mdmon >/dev/null && break; sleep 0.2; done',
];

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('mdadm reads what -R and failed wrote', () => {
  testIf(it, dmVm())(
    'after -R, mdadm --examine shows every PD Online and the VD optimal, assembles it in sync with our bytes, a check finds no mismatch; after failed, the survivor shows the PD failed and the VD degraded',
    async () => {
      const dir = tmp('rebuild-ddf1-vm');
      const mirror = await rebuilt(dir, 'vm1d', '1', 2);
      const parity = await rebuilt(dir, 'vm5d', '5', 3);
      for (const x of [mirror, parity]) expect(x.r.status, x.r.stderr).toBe(0);
      const failing = await filledSet(dir, 'vmfd', '1', 2, 2048);
      await recordFailure(dir, failing.specs, 'vmfd1.img');
      // The failed disk is gone: mdadm sees the survivor alone.
      const disks = [...mirror.specs, ...parity.specs, failing.specs[0]!];
      const sets = [
        { prefix: 'vm1d', name: 'vm1d', bytes: mirror.volume },
        { prefix: 'vm5d', name: 'vm5d', bytes: parity.volume },
      ];
      const script = [
        ...EXAMINE_AND_ASSEMBLE,
        ...sets.map((s) =>
          [
            `v=/dev/md/$(ls /dev/md/ | grep "^${s.name}" | head -n 1); m=$(basename $(readlink -f $v))`,
            `echo "${s.name} degraded $(cat /sys/block/$m/md/degraded) resync_start $(cat /sys/block/$m/md/resync_start) action $(cat /sys/block/$m/md/sync_action)"`,
            `echo "${s.name} sha $(head -c ${s.bytes.length} $v | sha256sum)"`,
            'mdadm --readwrite $v; mdadm --wait $v',
            'echo check > /sys/block/$m/md/sync_action; sleep 1; mdadm --wait $v',
            `echo "${s.name} mismatch $(cat /sys/block/$m/md/mismatch_cnt)"`,
          ].join('\n')
        ),
        'echo "resyncs $(dmesg | grep -c "md: resync of RAID array")"',
        'mdadm --stop --scan >/dev/null 2>&1; mdadm --stop --scan >/dev/null 2>&1',
        'for i in $(seq 50); do pidof mdmon >/dev/null || break; sleep 0.2; done',
      ].join('\n');
      const out = await runDmVm(
        disks.map((s) => join(dir, s)),
        script,
        { timeout: 900 }
      );
      if (process.env.DDF1_VM_DUMP) await fs.writeFile(process.env.DDF1_VM_DUMP, out.stdout + out.stderr);
      expect(out.status, out.stderr).toBe(0);
      const [examined, ran] = out.stdout.split('=== run\n') as [string, string];
      const blocks = examined.split(/^(?=\/dev\/sd[a-z]:$)/m).filter((b) => b.startsWith('/dev/'));
      expect(blocks).toHaveLength(disks.length);
      // The five disks of the rebuilt sets: every PD row active/Online, the VD optimal and consistent.
      for (const block of blocks.slice(0, 5)) {
        expect(block).toMatch(/^\s+state\[0\] : Optimal, Consistent$/m);
        const rows = block
          .split(/Number\s+RefNo.*\n/)[1]!
          .split('\n')
          .filter((l) => /^\s+\d+\s+[0-9a-f]{8}/.test(l));
        expect(rows.length).toBeGreaterThanOrEqual(2);
        for (const row of rows) expect(row).toMatch(/active\/Online$/);
      }
      // The survivor of the failure: the other PD failed, the VD degraded.
      const survivor = blocks[5]!;
      expect(survivor).toMatch(/^\s+state\[0\] : Degraded, /m);
      const rows = survivor
        .split(/Number\s+RefNo.*\n/)[1]!
        .split('\n')
        .filter((l) => /^\s+\d+\s+[0-9a-f]{8}/.test(l));
      expect(rows.filter((r) => /active\/Online$/.test(r))).toHaveLength(1);
      expect(rows.filter((r) => /active\/Offline, Failed$/.test(r))).toHaveLength(1);
      for (const s of sets) {
        expect(ran).toContain(`${s.name} degraded 0 resync_start none action idle\n`);
        expect(ran).toContain(`${s.name} sha ${sha256(s.bytes)}`);
        expect(ran).toContain(`${s.name} mismatch 0\n`);
      }
      expect(ran).toContain('resyncs 0\n');
    },
    1_000_000
  );

  testIf(it, dmVm())(
    'a RAID6 mdadm created and wrote: one member replaced by a blank disk, -R rebuilds it; mdadm --examine shows every PD Online and the VD optimal, assembles it in sync with md\'s bytes, a check finds no mismatch',
    async () => {
      const dir = tmp('rebuild-ddf1-6-vm');
      const made = Array.from({ length: 4 }, (_, i) => `vm6d${i}.img:VM6DDF${i}`);
      for (const s of made) await blank(join(dir, file(s)));
      const create = [
        'echo 1000000 > /proc/sys/dev/raid/speed_limit_max; echo 1000000 > /proc/sys/dev/raid/speed_limit_min',
        'mdadm --create /dev/md/ddf6 --metadata=ddf --raid-devices=4 --run $DISKS >/dev/null 2>&1 || exit 11',
        'mdadm --create /dev/md/vol6 --level=6 --chunk=32 --raid-devices=4 --run /dev/md/ddf6 >/dev/null 2>&1 || exit 12',
        'mdadm --wait /dev/md/vol6',
        'head -c 16777216 /dev/urandom > /dev/md/vol6 && sync',
        'echo "md $(head -c 16777216 /dev/md/vol6 | sha256sum)"',
        'mdadm --wait /dev/md/vol6',
        'mdadm --stop /dev/md/vol6 /dev/md/ddf6 >/dev/null || exit 13',
        'for i in $(seq 50); do pidof mdmon >/dev/null || break; sleep 0.2; done',
      ].join('\n');
      const made1 = await runDmVm(
        made.map((s) => join(dir, s)),
        create,
        { timeout: 600 }
      );
      expect(made1.status, made1.stderr).toBe(0);
      const md = /^md ([0-9a-f]{64})/m.exec(made1.stdout)?.[1];
      expect(md, made1.stdout).toBeDefined();
      const name = 'ddf1_vol6';
      const volume = await extract(dir, made, name, 'before.bin');
      expect(sha256(volume.subarray(0, 16 << 20))).toBe(md);
      const { specs, lost } = await replace(dir, made, 1);
      const r = await runOurs(specs, ['-R', name, file(specs[1]!)], { cwd: dir });
      expect(r.status, r.stderr).toBe(0);
      const memberBytes = (volume.length / 2) & ~(32 * 1024 - 1);
      expect((await fs.readFile(join(dir, 'vm6d1.img'))).subarray(0, memberBytes).equals(lost.subarray(0, memberBytes))).toBe(true);
      const script = [
        ...EXAMINE_AND_ASSEMBLE,
        'v=/dev/md/$(ls /dev/md/ | grep "^vol6" | head -n 1); m=$(basename $(readlink -f $v))',
        'echo "degraded $(cat /sys/block/$m/md/degraded) resync_start $(cat /sys/block/$m/md/resync_start) action $(cat /sys/block/$m/md/sync_action)"',
        `echo "sha $(head -c ${volume.length} $v | sha256sum)"`,
        'mdadm --readwrite $v; mdadm --wait $v',
        'echo check > /sys/block/$m/md/sync_action; sleep 1; mdadm --wait $v',
        'echo "mismatch $(cat /sys/block/$m/md/mismatch_cnt)"',
        'echo "resyncs $(dmesg | grep -c "md: resync of RAID array")"',
        'mdadm --stop --scan >/dev/null 2>&1; mdadm --stop --scan >/dev/null 2>&1',
        'for i in $(seq 50); do pidof mdmon >/dev/null || break; sleep 0.2; done',
      ].join('\n');
      const out = await runDmVm(
        specs.map((s) => join(dir, s)),
        script,
        { timeout: 600 }
      );
      if (process.env.DDF1_VM_DUMP) await fs.writeFile(process.env.DDF1_VM_DUMP, made1.stdout + out.stdout + out.stderr);
      expect(out.status, out.stderr).toBe(0);
      const [examined, ran] = out.stdout.split('=== run\n') as [string, string];
      const blocks = examined.split(/^(?=\/dev\/sd[a-z]:$)/m).filter((b) => b.startsWith('/dev/'));
      expect(blocks).toHaveLength(4);
      for (const block of blocks) {
        expect(block).toMatch(/^\s+state\[0\] : Optimal, Consistent$/m);
        const rows = block
          .split(/Number\s+RefNo.*\n/)[1]!
          .split('\n')
          .filter((l) => /^\s+\d+\s+[0-9a-f]{8}/.test(l));
        expect(rows).toHaveLength(4);
        for (const row of rows) expect(row).toMatch(/active\/Online$/);
      }
      expect(ran).toContain('degraded 0 resync_start none action idle\n');
      expect(ran).toContain(`sha ${sha256(volume)}`);
      expect(ran).toContain('mismatch 0\n');
      expect(ran).toContain('resyncs 0\n');
    },
    1_300_000
  );

  testIf(it, dmVm())(
    'a spare from -S: mdadm --examine lists it Global-Spare/Online; with a member gone, mdadm itself rebuilds onto it and the data checks clean',
    async () => {
      const dir = tmp('spare-ddf1-vm');
      const { specs: members, name } = await filledSet(dir, 'vs', '1', 2, 4096);
      await blank(join(dir, 'vsspare.img'));
      const specs = [...members, 'vsspare.img:VSSPARE'];
      const volume = await extract(dir, members, name, 'before.bin');
      const s = await runOurs(specs, ['-S', name, '-M', 'vsspare.img', '--yes'], { cwd: dir });
      expect(s.status, s.stderr).toBe(0);
      // The second member stays out of the VM: the array is degraded, mdmon takes the spare.
      const script = [
        ...EXAMINE_AND_ASSEMBLE,
        'v=/dev/md/$(ls /dev/md/ | grep "^vs" | head -n 1); m=$(basename $(readlink -f $v))',
        'mdadm --readwrite $v; for i in $(seq 100); do [ "$(cat /sys/block/$m/md/degraded)" = 0 ] && [ "$(cat /sys/block/$m/md/sync_action)" = idle ] && break; sleep 0.3; mdadm --wait $v; done',
        'echo "degraded $(cat /sys/block/$m/md/degraded)"',
        `echo "sha $(head -c ${volume.length} $v | sha256sum)"`,
        'echo check > /sys/block/$m/md/sync_action; sleep 1; mdadm --wait $v',
        'echo "mismatch $(cat /sys/block/$m/md/mismatch_cnt)"',
        'mdadm --stop --scan >/dev/null 2>&1; mdadm --stop --scan >/dev/null 2>&1',
        'for i in $(seq 50); do pidof mdmon >/dev/null || break; sleep 0.2; done',
        'echo "=== after"',
        'for d in $DISKS; do mdadm --examine $d || exit 11; done',
      ].join('\n');
      const out = await runDmVm(
        [members[0]!, specs[2]!].map((x) => join(dir, x)),
        script,
        { timeout: 600 }
      );
      if (process.env.DDF1_VM_DUMP) await fs.writeFile(process.env.DDF1_VM_DUMP, out.stdout + out.stderr);
      expect(out.status, out.stderr).toBe(0);
      const [examined, rest] = out.stdout.split('=== run\n') as [string, string];
      const [ran, after] = rest.split('=== after\n') as [string, string];
      for (const block of examined.split(/^(?=\/dev\/sd[a-z]:$)/m).filter((b) => b.startsWith('/dev/'))) {
        expect(block).toMatch(/^\s+\d+\s+[0-9a-f]{8}\s+\d+K\s+(\/dev\/sdb)?\s+Global-Spare\/Online$/m);
        expect(block).toMatch(/^\s+state\[0\] : Optimal, Consistent$/m);
      }
      expect(ran).toContain('degraded 0\n');
      expect(ran).toContain(`sha ${sha256(volume)}`);
      expect(ran).toContain('mismatch 0\n');
      // mdadm's own record of the rebuild: the spare an active member, the VD optimal again.
      const sdb = after.split(/^(?=\/dev\/sd[a-z]:$)/m).find((b) => b.startsWith('/dev/sdb:'))!;
      expect(sdb).toMatch(/\/dev\/sdb\s+active\/Online$/m);
      expect(sdb).toMatch(/^\s+state\[0\] : Optimal, /m);
      // We read mdadm's result alike: both disks Online (not the Rebuilding of the unused row mdadm leaves).
      const after2 = [members[0]!, specs[2]!];
      const r = await runOurs(after2, ['-r'], { cwd: dir });
      expect(
        r.stdout
          .split('\n')
          .filter(Boolean)
          .map((l) => l.split(', ')[3])
      ).toEqual(['ok', 'ok']);
      expect((await runOurs(after2, ['-s', '-c', '-c', '-c'], { cwd: dir })).stdout).toMatch(new RegExp(`^${name}:\\d+:\\d+:mirror:ok:0:2:0\n`));
    },
    700_000
  );
});

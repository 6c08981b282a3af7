// -R SET DEV for an nvidia RAID5 and RAID1+0 on images: a -C set, its volume written through the engine,
// loses a member; a blank disk takes its place; the degraded set is still read (kept inconsistent, mapped
// around the hole), -R reconstructs the member through the engine and the metadata says idle again. The
// member's bytes are the lost one's, the volume's bytes unchanged, --check-data clean, -s ok, and the
// reference dmraid reads the result as it reads the vendor's healthy set.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildSets, isIoError, openDevice, readContext, type RaidDevice, type RaidSet, type WritableDevice, type WriteContext } from '@dmraid/core';
import nvidia, { NV_END_OFFSET, nvChecksum, nvLayout } from '@dmraid/format-nvidia';
import { reference, runOurs, runReference } from '@dmraid/testkit';
import { spareFor, volumesOf, wantsSpare } from '../src/monitor/model.js';
import { extractVolume, imagesOf, nvidiaShape, replaceDisk, tmp, writeVolume } from './helpers.js';

const SECTORS = 65536;
const STRIDE = 128;
const file = (spec: string) => spec.split(':')[0]!;

async function blank(path: string, sectors = SECTORS) {
  await fs.writeFile(path, '');
  await fs.truncate(path, sectors * 512);
}

/** Every member's block rewritten with `edit` applied and its checksum made good again. */
async function editBlocks(dir: string, specs: string[], edit: (nv: ReturnType<typeof nvLayout.decodeFrom>) => void) {
  for (const s of specs) {
    const fd = await fs.open(join(dir, file(s)), 'r+');
    const at = (SECTORS - NV_END_OFFSET) * 512;
    const raw = Buffer.alloc(nvLayout.size);
    await fd.read(raw, 0, raw.length, at);
    const nv = nvLayout.decodeFrom(raw);
    edit(nv);
    nv.chksum = nvChecksum(nv);
    await fd.write(nvLayout.encodeToBytes(nv), 0, nvLayout.size, at);
    await fd.close();
  }
}

/** The sets our reader builds from `specs` (the monitor's view, without the CLI). */
async function readSets(dir: string, specs: string[], writable = false): Promise<{ sets: RaidSet[]; devices: WritableDevice[] }> {
  const rds: RaidDevice[] = [];
  const devices: WritableDevice[] = [];
  for (const s of specs) {
    const d = await openDevice(join(dir, file(s)), { serial: s.split(':')[1], writable: true });
    if (isIoError(d)) throw new Error(d.message);
    devices.push(d);
    rds.push(...(await nvidia.read(d, readContext('nvidia', () => undefined))));
  }
  if (!writable) for (const d of devices) await d.close();
  return { sets: buildSets(rds, { handlers: [nvidia], log: () => undefined }), devices };
}

/**
 * `-f nvidia -C` over `n` blank images, 8 MiB of the volume written through the engine, then the array
 * idle: what MediaShield's initialisation leaves (our -C writes raidJobCode 2, initialising, and an
 * initialising RAID5 one short has no parity to rebuild from).
 */
async function filledSet(dir: string, prefix: string, level: '5' | '10', n: number) {
  const specs = Array.from({ length: n }, (_, i) => `${prefix}${i}.img:${prefix.toUpperCase()}NV${i}`);
  for (const s of specs) await blank(join(dir, file(s)));
  const created = await runOurs(specs, ['-f', 'nvidia', '-C', prefix, '--type', level, '--disk', specs.map(file).join(' '), '--yes'], { cwd: dir });
  expect(created.status, created.stderr).toBe(0);
  const name = (await runOurs(specs, ['-s', '-c'], { cwd: dir })).stdout.split('\n')[0]!;
  await writeVolume(dir, specs, nvidia, name, randomBytes(8 << 20));
  await editBlocks(dir, specs, (nv) => void (nv.array.raidJobCode = 0));
  return { specs, name };
}


// [level, members, the member lost, the vendor's healthy set of that shape]
const CASES = [
  ['5', 3, 1, 'raid5-3'],
  ['10', 4, 1, 'raid10-4'],
  ['10', 4, 2, 'raid10-4'],
] as const;

describe('nvidia -R SET DEV for RAID5 and RAID1+0: the member reconstructed, then the array idle', () => {
  for (const [level, n, lost, vendorSet] of CASES) {
    it(`RAID${level === '10' ? '1+0' : level} over ${n}, member ${lost} lost: the degraded set is read, -R gives the blank disk the lost bytes, the volume is unchanged, --check-data clean, -s ok, the reference reads the vendor's ${vendorSet}`, async () => {
      const dir = tmp(`rebuild-nv-${level}-${lost}`);
      const prefix = `nv${level}l${lost}`;
      const { specs: before, name } = await filledSet(dir, prefix, level, n);
      const volume = await extractVolume(dir, before, name, 'before.bin');
      const { specs: degraded, lost: lostBytes } = await replaceDisk(dir, before, lost);
      // The lost disk gone altogether: the set is still there, degraded, and reads the same volume.
      const survivors = degraded.filter((_, i) => i !== lost);
      const s0 = await runOurs(survivors, ['-s', '-c', '-c', '-c'], { cwd: dir });
      expect([s0.status, s0.stdout.split('\n')[0]]).toEqual([0, expect.stringMatching(new RegExp(`^${name}:.*:${level === '5' ? 'inconsistent' : 'ok'}:`))]);
      expect((await extractVolume(dir, survivors, name, 'degraded.bin')).equals(volume)).toBe(true);
      const r = await runOurs(degraded, ['-R', name, file(degraded[lost]!)], { cwd: dir });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^nvidia: drive to rebuild: ${prefix}${lost}.img\n\nnvidia: ${prefix}${lost}.img rebuilt \\(`));
      // A member's data: whole strips from sector 0 (the block sits at N-2).
      const dataBytes = Math.floor((SECTORS - NV_END_OFFSET) / STRIDE) * STRIDE * 512;
      const got = await fs.readFile(join(dir, `${prefix}${lost}.img`));
      expect(got.subarray(0, dataBytes).equals(lostBytes.subarray(0, dataBytes))).toBe(true);
      expect((await extractVolume(dir, degraded, name, 'after.bin')).equals(volume)).toBe(true);
      const s = await runOurs(degraded, ['-s', '-c', '-c', '-c'], { cwd: dir });
      expect([s.status, s.stderr]).toEqual([0, '']);
      expect(s.stdout.split('\n').filter(Boolean).every((l) => l.includes(':ok:')), s.stdout).toBe(true);
      const check = await runOurs(degraded, ['--check-data', name], { cwd: dir });
      expect([check.status, check.stdout]).toEqual([0, expect.stringContaining(`${name}: mismatch_cnt 0`)]);
      const nl = await runOurs(degraded, ['-n'], { cwd: dir });
      expect(nl.stdout).not.toMatch(/raidJobCode: [1-9]|unitFlags: [1-9]|array->flags 0x[0-9a-f]*[2367abef]\b/);
      if (reference().available) {
        const vendorDir = tmp(`rebuild-nv-${level}-${lost}-vendor`);
        const vendor = await imagesOf(vendorDir, `nvidia/${vendorSet}`);
        for (const args of [['-s'], ['-r'], ['-s', '-c', '-c', '-c']]) {
          const ours = await runReference(degraded, args, { cwd: dir });
          const theirs = await runReference(vendor, args, { cwd: vendorDir });
          expect([ours.status, nvidiaShape(ours.stdout), ours.stderr], args.join(' ')).toEqual([theirs.status, nvidiaShape(theirs.stdout), theirs.stderr]);
        }
      }
    }, 180_000);
  }
});


describe('the monitor and a degraded nvidia RAID5 with a spare: nothing nvidia-specific', () => {
  it('after failed (the monitor\'s record) and with the failed disk gone, the volume wants its spare, maps around the hole, and the rebuild onto the spare restores the lost bytes', async () => {
    const dir = tmp('rebuild-nv-monitor');
    const { specs: members, name } = await filledSet(dir, 'nvm', '5', 3);
    await blank(join(dir, 'nvm3.img'));
    const withSpare = [...members, 'nvm3.img:NVMSPARE'];
    const spared = await runOurs(withSpare, ['-f', 'nvidia', '-S', name, '-M', 'nvm3.img', '--yes'], { cwd: dir });
    expect(spared.status, spared.stderr).toBe(0);
    const volume = await extractVolume(dir, withSpare, name, 'before.bin');
    const lost = await fs.readFile(join(dir, 'nvm2.img'));
    // The monitor's record of the failure: the handler's `failed`, as daemon.ts calls it.
    const { sets: live, devices } = await readSets(dir, withSpare, true);
    const errors: string[] = [];
    const ctx: WriteContext = { format: 'nvidia', log: () => undefined, error: (t) => errors.push(t), openWritable: async (p) => devices.find((d) => d.path === p) };
    try {
      expect(await nvidia.failed!(live[0]!, devices.find((d) => d.path.endsWith('/nvm2.img'))!, ctx)).toBe(true);
      expect(errors).toEqual([]);
    } finally {
      for (const d of devices) await d.close();
    }
    await fs.rm(join(dir, 'nvm2.img'));
    const left = withSpare.filter((s) => !s.startsWith('nvm2.img'));
    // What daemon.ts decides from (model.ts): a degraded volume, nothing rebuilding, the array's spare.
    const { sets } = await readSets(dir, left);
    const [v] = volumesOf(sets);
    expect([v!.volume.name, v!.volume.status, wantsSpare(v!.volume)]).toEqual([name, 'inconsistent', true]);
    expect(spareFor(v!.top, sets)?.path).toBe(join(dir, 'nvm3.img'));
    // -ay maps it degraded: the spare holds no slot, the lost member's is `- -`.
    const tay = await runOurs(left, ['-tay'], { cwd: dir });
    expect([tay.status, tay.stdout]).toEqual([0, expect.stringMatching(new RegExp(`^${name}: 0 \\d+ raid raid5_ls 4 128 sync region_size \\d+ 3 - nvm0\\.img - nvm1\\.img - -\n$`))]);
    // The same handler rebuild the monitor writes, with the engine's copy (no kernel here).
    const r = await runOurs(left, ['-R', name, 'nvm3.img'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    const dataBytes = Math.floor((SECTORS - NV_END_OFFSET) / STRIDE) * STRIDE * 512;
    expect((await fs.readFile(join(dir, 'nvm3.img'))).subarray(0, dataBytes).equals(lost.subarray(0, dataBytes))).toBe(true);
    expect((await extractVolume(dir, left, name, 'after.bin')).equals(volume)).toBe(true);
    const s = await runOurs(left, ['-s', '-c', '-c', '-c'], { cwd: dir });
    expect([s.status, s.stderr, s.stdout.split('\n').filter(Boolean).every((l) => l.includes(':ok:'))]).toEqual([0, '', true]);
  }, 180_000);
});

// The *_hi words of a corrupted MPB (mdadm's pba_of_lba0_hi, blocks_per_member_hi) joined with their low
// words reach 2^53 sectors and more: such a volume is an ERROR naming the fields, never a rounded number.
// (dmraid rc16 ignores the *_hi words; using them for large disks is our documented deviation.)
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runOurs, testDir } from '@dmraid/testkit';
import { buildGroupMpb, decodeMpb, encodeMpb, mpbArea, partsOf, type IswMap } from '../src/index.js';

const DISK = 1 << 20;
const disks = [0, 1].map((i) => ({ serial: `ISWWIDE${i}`, sizeSectors: DISK }));

/** A two-disk RAID0 whose map is changed by `change` before the MPB is sealed; image specs. */
async function wideGroup(dir: string, change: (map: IswMap) => void): Promise<string[]> {
  const parts = partsOf(decodeMpb(buildGroupMpb({ family: 0x1a2b3c77, disks, volumes: [{ name: 'Wide', level: '0', perMember: 65536 }] })));
  change(parts.volumes[0]!.maps[0]!.map);
  const mpb = encodeMpb(parts);
  const specs: string[] = [];
  for (const [i, d] of disks.entries()) {
    const a = mpbArea(mpb, d.sizeSectors);
    const handle = await fs.open(join(dir, `w${i}.img`), 'w');
    await handle.truncate(d.sizeSectors * 512);
    await handle.write(a.data, 0, a.data.length, a.offsetBytes);
    await handle.close();
    specs.push(`w${i}.img:${d.serial}`);
  }
  return specs;
}

const refusal = (what: string, value: bigint) =>
  ['w0.img', 'w1.img'].map((p) => `ERROR: isw: ${what} of ${value} sectors on ${p}: 2^53 or more, larger than any disk\n`);

describe('isw: 64-bit member lengths and offsets from the *_hi words', () => {
  it('a member length of 2^53 sectors or more is an ERROR with the exact value', async () => {
    const dir = testDir('isw-wide');
    const images = await wideGroup(dir, (map) => {
      map.filler[1] = 0x10000000; // blocks_per_member_hi: 2^60 + 65536 blocks, odd in its last bits for a double
      map.blocks_per_member = 65537;
    });
    const ours = await runOurs(images, ['-s', '-c', '-c', '-c'], { cwd: dir });
    for (const line of refusal('member length (blocks_per_member_hi:blocks_per_member)', 2n ** 60n + 65537n)) expect(ours.stderr).toContain(line);
    expect(ours.stdout).not.toMatch(/isw_[a-z]+_Wide/);
    expect(ours.status).toBe(1);
  });

  it('a data offset of 2^53 sectors or more is an ERROR with the exact value', async () => {
    const dir = testDir('isw-wide');
    const images = await wideGroup(dir, (map) => {
      map.filler[0] = 0x00200000; // pba_of_lba0_hi: 2^53 + 1
      map.pba_of_lba0 = 1;
    });
    const ours = await runOurs(images, ['-s', '-c', '-c', '-c'], { cwd: dir });
    for (const line of refusal('data offset (pba_of_lba0_hi:pba_of_lba0)', 2n ** 53n + 1n)) expect(ours.stderr).toContain(line);
    expect(ours.stdout).not.toMatch(/isw_[a-z]+_Wide/);
  });

  it('just below 2^53 sectors the member length is used as it is', async () => {
    const dir = testDir('isw-wide');
    const images = await wideGroup(dir, (map) => {
      map.filler[1] = 0x001fffff;
      map.blocks_per_member = 0xffffffff;
    });
    const ours = await runOurs(images, ['-s', '-c', '-c', '-c'], { cwd: dir });
    expect(ours.stdout).toMatch(new RegExp(`:isw:isw_[a-z]+_Wide:stripe:ok:${2 ** 53 - 1}:0\n`));
  });
});

// An MPB whose mpb_size runs to 256 MiB (0x10000000): the reference allocates and reads all of it, sums it, and
// accepts the disk when the sum matches. Ours reads the same bytes a piece at a time (only the first MiB kept)
// and must print what the reference prints. Crafted from the testbed's RAID1 (sparse 512 MiB members): the
// header's mpb_size and check_sum rewritten, the extended blocks zeros. Differential against the reference
// dmraid (skipped with the reason when it cannot run here; required under CI).
import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bufferLog, isIoError, openDevice, readContext } from '@dmraid/core';
import { buildTestbedImages, listTestbedSets, reference, runOurs, runReference, testbedDir, testIf } from '@dmraid/testkit';
import isw, { iswHeaderLayout, type IswMeta } from '../src/index.js';

const refIt = testIf(it, reference());
const LARGE = 0x10000000;
const work = mkdtempSync(join(tmpdir(), 'isw-mpb-size-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Rewrite mpb_size in the header block at N-2 and make check_sum right for zeros after the header block. */
async function setMpbSize(image: string, mpbSize: number): Promise<void> {
  const fd = await fs.open(image, 'r+');
  try {
    const { size } = await fd.stat();
    const at = size - 2 * 512;
    const block = Buffer.alloc(512);
    await fd.read(block, 0, 512, at);
    const header = iswHeaderLayout.decodeFrom(block);
    header.mpb_size = mpbSize;
    header.check_sum = 0;
    block.set(iswHeaderLayout.encodeToBytes(header));
    let sum = 0;
    for (let i = 0; i < Math.min(mpbSize, 512); i += 4) sum = (sum + block.readUInt32LE(i)) >>> 0;
    header.check_sum = sum;
    block.set(iswHeaderLayout.encodeToBytes(header));
    await fd.write(block, 0, 512, at);
  } finally {
    await fd.close();
  }
}

async function crafted(label: string, mpbSize: number, damage?: number): Promise<{ dir: string; images: string[] }> {
  const set = (await listTestbedSets(testbedDir, 'isw')).find((s) => s.config === 'raid1-2')!;
  const dir = join(work, label);
  const images = await buildTestbedImages(set, dir);
  for (const spec of images) await setMpbSize(join(dir, spec.split(':')[0]!), mpbSize);
  if (damage !== undefined) {
    // One byte inside the extended blocks, far past what is kept in memory: only the full sum sees it.
    const fd = await fs.open(join(dir, images[0]!.split(':')[0]!), 'r+');
    await fd.write(Buffer.from([1]), 0, 1, damage);
    await fd.close();
  }
  return { dir, images };
}

describe('isw: an MPB with mpb_size 0x10000000 is read as the reference reads it', () => {
  refIt('a correct checksum over all 256 MiB: -r, -s and -tay equal the reference', async () => {
    const { dir, images } = await crafted('large', LARGE);
    for (const args of [['-r'], ['-s'], ['-tay']]) {
      const theirs = await runReference(images, args, { cwd: dir });
      const ours = await runOurs(images, args, { cwd: dir });
      expect(ours, args.join(' ')).toEqual(theirs);
    }
    const r = await runOurs(images, ['-r'], { cwd: dir });
    expect(r.stdout).toMatch(/^sda\.img: isw, "isw_\w+", GROUP, ok/);
  }, 120_000);

  refIt('a byte changed 300 MiB into the disk (inside the 256 MiB MPB): the wrong checksum, as the reference says', async () => {
    const { dir, images } = await crafted('damaged', LARGE, 300 << 20);
    const theirs = await runReference(images.slice(0, 1), ['-r'], { cwd: dir });
    const ours = await runOurs(images.slice(0, 1), ['-r'], { cwd: dir });
    expect(ours).toEqual(theirs);
    expect(ours.stderr).toContain('has wrong checksum');
  }, 120_000);

  it('memory stays bounded: at most 1 MiB of the MPB is kept, whatever mpb_size says', async () => {
    const { dir, images } = await crafted('bounded', LARGE);
    const device = await openDevice(join(dir, images[0]!.split(':')[0]!), { serial: images[0]!.split(':')[1] });
    if (isIoError(device)) throw new Error(device.message);
    try {
      const { log, lines } = bufferLog();
      const rds = await isw.read(device, readContext('isw', log));
      expect(lines).toEqual([]);
      expect(rds.length).toBeGreaterThan(0);
      const m = rds[0]!.meta as IswMeta;
      expect(m.mpb.header.mpb_size).toBe(LARGE);
      expect(m.mpb.bytes.length).toBeLessThanOrEqual(1 << 20);
      expect(rds[0]!.areas.reduce((n, a) => n + a.data.length, 0)).toBeLessThanOrEqual(1 << 20);
      // The header block stays where it is on the disk: N-2.
      expect(rds[0]!.areas.at(-1)!.offsetSectors).toBe(device.sizeSectors - 2);
    } finally {
      await device.close();
    }
  }, 120_000);
});

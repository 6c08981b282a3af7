/**
 * The overlay file against the real kernel (../shared/tools/dm-vm): the engine writes an overlay over a
 * RAID0 volume (partial chunks, and more exceptions than one metadata area holds); in the VM, the kernel's
 * dm-snapshot with that file as its persistent COW device (`snapshot /dev/mapper/r0 COW P 8`) reads the same
 * volume, then writes more into it; back here the engine reads what the kernel wrote. The member images stay
 * as they were throughout. Skipped when dm-vm is unusable; failing under CI.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, promises as fs, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dmVmBoots, runDmVm, testIf } from '@dmraid/testkit';
import { createEngine, isIoError, isOverlayError, isTableError, memorySource, openOverlay, overlayFile, SECTOR, type Source } from '../src/index.js';

const vmIt = testIf(it, await dmVmBoots());
const work = mkdtempSync(join(tmpdir(), 'dmraid-snapshot-vm-'));
afterAll(() => fs.rm(work, { recursive: true, force: true }));

const MEMBER = 2048; // 1 MiB members, a 2 MiB volume: 512 chunks of 8 sectors, 256 exceptions per area
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function volumeWithOverlay(members: Uint8Array[], cow: string, create: boolean) {
  const sources = new Map<string, Source>(members.map((m, i) => [`m${i}.img`, { ...memorySource(`m${i}.img`, m), write: async () => true as const }]));
  const e = createEngine([{ name: 'r0', table: `0 ${2 * MEMBER} striped 2 128 m0.img 0 m1.img 0` }], (p) => sources.get(p));
  if (isTableError(e)) throw new Error(e.message);
  const store = overlayFile(cow, { create, writable: create, volumeSectors: 2 * MEMBER });
  if (isIoError(store)) throw new Error(store.message);
  const o = await openOverlay(e.get('r0')!, store, { chunk: 8, create, writable: create, identity: { name: 'r0', sizeSectors: 2 * MEMBER } });
  if (isOverlayError(o)) throw new Error(o.message);
  return { o, close: () => store.close() };
}

describe('overlay file as the kernel dm-snapshot COW device', () => {
  vmIt('the kernel reads the volume the engine wrote, and the engine reads what the kernel wrote', async () => {
    const members = [0, 1].map((m) => {
      const b = new Uint8Array(MEMBER * SECTOR);
      for (let i = 0; i < b.length; i++) b[i] = ((i >>> 9) * 29 + (i & 511) + m * 101) & 0xff;
      return b;
    });
    await Promise.all(members.map((b, i) => fs.writeFile(join(work, `m${i}.img`), b)));
    const cow = join(work, 'ov.cow');
    const ours = await volumeWithOverlay(members, cow, true);
    // 300 one-sector writes at odd places (300 chunks: past the first area's 256 exceptions), and a long one.
    for (let k = 0; k < 300; k++) expect(await ours.o.write(((k * 37) % 512) * 8 + (k % 8), new Uint8Array(SECTOR).fill(k % 251))).toBe(true);
    expect(await ours.o.write(3001, new Uint8Array(100 * SECTOR).fill(0xd7))).toBe(true);
    expect(await ours.o.flush!()).toBe(true);
    const engineView = await ours.o.read(0, 2 * MEMBER);
    if (isIoError(engineView)) throw new Error(engineView.message);
    ours.close();
    const script = [
      'set -e',
      `echo "0 ${2 * MEMBER} striped 2 128 $DISK0 0 $DISK1 0" | dmsetup create r0`,
      `echo "0 ${2 * MEMBER} snapshot /dev/mapper/r0 $DISK2 P 8" | dmsetup create r0ov || { dmesg | tail -n 5; exit 3; }`,
      'echo "read $(sha256sum /dev/mapper/r0ov | cut -d" " -f1)"',
      'head -c 40960 /dev/urandom > /tmp/k',
      'dd if=/tmp/k of=/dev/mapper/r0ov bs=512 seek=1001 conv=notrunc,fsync 2>/dev/null',
      'dd if=/tmp/k of=/dev/mapper/r0ov bs=512 seek=3500 count=3 conv=notrunc,fsync 2>/dev/null',
      'echo 3 > /proc/sys/vm/drop_caches',
      'echo "wrote $(sha256sum /dev/mapper/r0ov | cut -d" " -f1) $(dmsetup status r0ov | cut -d" " -f4-)"',
      'dmsetup remove r0ov; dmsetup remove r0',
      'blockdev --flushbufs $DISK2',
    ].join('\n');
    const r = await runDmVm([join(work, 'm0.img'), join(work, 'm1.img'), cow], script, { timeout: 300 });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(/^read (\w+)$/m.exec(r.stdout)?.[1]).toBe(sha(engineView));
    const kernelWrote = /^wrote (\w+)/m.exec(r.stdout)?.[1];
    // The members, as the VM left them: untouched.
    for (let i = 0; i < 2; i++) expect(sha(readFileSync(join(work, `m${i}.img`))), `m${i}.img`).toBe(sha(members[i]!));
    const back = await volumeWithOverlay(members, cow, false);
    const after = await back.o.read(0, 2 * MEMBER);
    back.close();
    if (isIoError(after)) throw new Error(after.message);
    expect(sha(after)).toBe(kernelWrote);
    expect(sha(after)).not.toBe(sha(engineView));
  }, 600_000);
});

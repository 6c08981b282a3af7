import { execFileSync } from 'node:child_process';
import { mkdtempSync, openSync, readSync, closeSync, ftruncateSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { reference, referenceEnv, referenceTool, testIf } from '@dmraid/testkit';
import { decodeMpb, createMpb, encodeMpb, ISW_T_RAID0, ISW_T_STATE_NORMAL, ISW_T_STATE_UNINITIALIZED, mpbChecksum, partsOf, toMemoryOrder, type IswLevel, type Mpb } from '../src/index.js';

const SIZE = 1 << 20;

function readMpb(file: string): Mpb {
  const fd = openSync(file, 'r');
  const head = Buffer.alloc(512);
  readSync(fd, head, 0, 512, (SIZE - 2) * 512);
  const blocks = Math.max(1, Math.ceil(head.readUInt32LE(0x24) / 512));
  const all = Buffer.alloc(blocks * 512);
  readSync(fd, all, 0, blocks * 512, (SIZE - 1 - blocks) * 512);
  closeSync(fd);
  return decodeMpb(toMemoryOrder(new Uint8Array(all), 512));
}

/** The time(NULL) dmraid used: family_num minus the checksum of the MPB with family 0. */
function createTime(mpb: Mpb): number {
  const copy = new Uint8Array(mpb.bytes);
  const view = new DataView(copy.buffer);
  view.setUint32(0x20, 0, true);
  view.setUint32(0x28, 0, true);
  view.setUint32(0x40, 0, true);
  return (mpb.header.family_num - mpbChecksum(copy, mpb.header.mpb_size)) >>> 0;
}

const itRef = testIf(it, reference());

/**
 * The reference's MPB as ours writes it on purpose: a new redundant volume uninitialised (map 0's
 * map_state, as mdadm's create writes it), the family number following the checksum (docs/deviations.md).
 */
function asOursWrites(theirs: Mpb, time: number): Uint8Array {
  const parts = partsOf(theirs);
  for (const v of parts.volumes) if (v.maps[0]!.map.raid_level !== ISW_T_RAID0 && !v.dev.vol.migr_state) v.maps[0]!.map.map_state = ISW_T_STATE_UNINITIALIZED;
  parts.header.family_num = 0;
  parts.header.orig_family_num = 0;
  const family = (mpbChecksum(encodeMpb(parts)) + time) >>> 0;
  parts.header.family_num = family;
  parts.header.orig_family_num = family;
  return encodeMpb(parts);
}

describe('isw create writes what dmraid -C writes, byte for byte (but a redundant volume uninitialised)', () => {
  const cases: { level: IswLevel; disks: number; args: string[]; size?: number; strip?: number }[] = [
    { level: '0', disks: 2, args: [] },
    { level: '0', disks: 3, args: ['--strip', '32k'], strip: 64 },
    // A bare number is not sectors to dmraid's parser: --strip 64 ends up as the smallest strip, 8.
    { level: '0', disks: 2, args: ['--strip', '64'], strip: 8 },
    { level: '1', disks: 2, args: [] },
    { level: '5', disks: 3, args: ['--size', '200m'], size: 409600 },
    { level: '01', disks: 4, args: [] },
    { level: '5', disks: 5, args: [] },
  ];
  for (const c of cases) {
    itRef(`RAID ${c.level} over ${c.disks} disks ${c.args.join(' ')}`, () => {
      const dir = mkdtempSync(join(tmpdir(), 'isw-create-'));
      const serials = Array.from({ length: c.disks }, (_, i) => `CREATESER${i}X`);
      const images = serials.map((s, i) => {
        const f = join(dir, `d${i}.img`);
        const fd = openSync(f, 'w');
        ftruncateSync(fd, SIZE * 512);
        closeSync(fd);
        return `${f}:${s}`;
      });
      const disks = serials.map((_, i) => `/dev/sd${String.fromCharCode(97 + i)}`).join(' ');
      // The reference shares a lock and loop devices with whatever else runs: try again if it wrote nothing.
      let theirs = readMpb(images[0]!.split(':')[0]!);
      for (let attempt = 0; attempt < 5 && theirs.header.num_raid_devs === 0; attempt++) {
        execFileSync('sh', ['-c', `yes y | "$0" "$@" >/dev/null 2>&1 || true`, referenceTool, ...images, '--', '-f', 'isw', '-C', 'VolX', '--type', c.level, ...c.args, '--disk', disks], { env: referenceEnv() });
        theirs = readMpb(images[0]!.split(':')[0]!);
      }
      expect(theirs.header.num_raid_devs).toBe(1);
      const ours = createMpb({
        name: 'VolX',
        level: c.level,
        sizeSectors: c.size,
        stripSectors: c.strip,
        disks: serials.map((serial) => ({ serial, sizeSectors: SIZE })),
        time: createTime(theirs),
      });
      expect(ours.error).toBeUndefined();
      const time = createTime(theirs);
      expect(decodeMpb(ours.bytes!).volumes[0]!.maps[0]!.map.map_state).toBe(c.level === '0' || c.disks > 4 ? ISW_T_STATE_NORMAL : ISW_T_STATE_UNINITIALIZED);
      expect(Buffer.from(ours.bytes!).toString('hex')).toBe(Buffer.from(asOursWrites(theirs, time)).toString('hex'));
      rmSync(dir, { recursive: true, force: true });
    }, 60_000);
  }
});

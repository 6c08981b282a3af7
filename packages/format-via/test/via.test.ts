import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bufferLog, readContext, sparseDevice } from '@dmraid/core';
import { buildTestbedSet, formatTester } from '@dmraid/testkit';
import via, {
  buildViaSet,
  expectedDevices,
  setName,
  VIA_DISK_BITS,
  viaArrayLayout,
  viaChecksum,
  viaDiskBits,
  viaDiskWord,
  viaLayout,
  viaStride,
  type ViaSetSpec,
} from '../src/index.js';
import { testbedSets } from '../src/testbed.js';

// Sets that read back whole: no member missing, no corrupted copy.
const seeds = testbedSets().map(buildTestbedSet)
  .filter((s) => !s.config.includes('degraded') && !s.config.includes('badsum'))
  .map((s) => s.members.map((m) => ({ sizeSectors: m.sizeSectors, serial: m.serial, areas: m.areas })));

formatTester.run(via, {
  seeds,
  fixtures: [{ file: 'via-raid.img.xz' }],
});

const spec = (extra: Partial<ViaSetSpec> = {}): ViaSetSpec => ({ level: 'raid0', id: 0x77, disks: 2, diskSectors: 4096, ...extra });

async function readMember(data: Uint8Array, sizeSectors = 4096) {
  const dev = sparseDevice('/dev/sdx', sizeSectors);
  await dev.write((sizeSectors - 1) * 512, data);
  const { log, lines } = bufferLog();
  const rds = await via.read(dev, readContext('via', log));
  return { rds, lines: lines.map((l) => `${l.level}: ${l.text}`) };
}

describe('via layout', () => {
  it('decodes and encodes any 51 bytes back to the same bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 51, maxLength: 51 }), (bytes) => {
        expect(viaLayout.encodeToBytes(viaLayout.decodeFrom(bytes))).toEqual(bytes);
      }),
    );
  });

  it('splits the disk bit field and packs it back to the same 16 bits', () => {
    fc.assert(
      fc.property(fc.nat(0xffff), (word) => {
        expect(viaDiskWord(viaDiskBits(word))).toBe(word);
      }),
    );
  });

  it('lays the bit fields out least significant bit first, covering all 16 bits once', () => {
    const widths = Object.values(VIA_DISK_BITS).reduce((n, [, w]) => n + w, 0);
    expect(widths).toBe(16);
    expect(viaDiskBits(0x0005)).toMatchObject({ bootable: 1, in_disk_array: 1, raid_type: 0 });
    expect(viaDiskBits(viaDiskWord({ raid_type: 9, raid_type_info: 0x0b }))).toMatchObject({ raid_type: 9, raid_type_info: 0x0b });
  });

  it('places the fields where via.h puts them (packed)', () => {
    expect(viaLayout.size).toBe(51);
    expect(viaLayout.offsetOf('array')).toBe(3);
    expect(viaArrayLayout.size).toBe(15);
    expect(viaLayout.offsetOf('array') + viaArrayLayout.offsetOf('disk_array_ex')).toBe(5);
    expect(viaLayout.offsetOf('array') + viaArrayLayout.offsetOf('serial_checksum')).toBe(0x0e);
    expect(viaLayout.offsetOf('serial_checksum')).toBe(0x12);
    expect(viaLayout.offsetOf('checksum')).toBe(0x32);
  });
});

describe('via checksum', () => {
  it('is the 8-bit sum of bytes 0..49 on every built member', () => {
    for (const level of ['span', 'raid0', 'raid1', 'raid01'] as const) {
      for (const m of buildViaSet(spec({ level, disks: level === 'raid01' ? 4 : 2 }))) {
        expect(viaChecksum(m.data)).toBe(m.data[50]);
      }
    }
  });

  it('ignores byte 50 and everything after it', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 51, maxLength: 51 }), fc.nat(255), (bytes, b) => {
        const other = new Uint8Array(bytes);
        other[50] = b;
        expect(viaChecksum(other)).toBe(viaChecksum(bytes));
        expect(viaChecksum(bytes)).toBe(bytes.subarray(0, 50).reduce((s, x) => (s + x) & 0xff, 0));
      }),
    );
  });

  it("reports a bad checksum with dmraid's message and reads nothing", async () => {
    const [m] = buildViaSet(spec({ corrupt: [0] }));
    const { rds, lines } = await readMember(m!.data);
    expect(rds).toEqual([]);
    expect(lines).toEqual(['error: via: invalid checksum on /dev/sdx']);
  });

  it('reads a version 2 block with an INFO line', async () => {
    const [m] = buildViaSet(spec({ version: 2 }));
    const { rds, lines } = await readMember(m!.data);
    expect(rds).toHaveLength(1);
    expect(lines).toEqual(['info: via: version 2; format handler specified for version 0+1 only']);
  });

  it('ignores a block without the 0xAA55 signature silently', async () => {
    const [m] = buildViaSet(spec());
    const data = new Uint8Array(m!.data);
    data[0] = 0;
    const { rds, lines } = await readMember(data);
    expect(rds).toEqual([]);
    expect(lines).toEqual([]);
  });
});

describe('via members', () => {
  it('names sets by disk_array_ex plus the serial checksums in decimal, digits as letters', () => {
    const v = viaLayout.zero();
    v.array.disk_array_ex = 0x42;
    v.serial_checksum = [4119781426, 4087472178, 0, 0, 0, 0, 0, 0];
    expect(setName(v, true)).toBe('via_djbccigdhe');
    v.array.disk = viaDiskWord({ raid_type: 9, raid_type_info: 0x09 });
    expect(setName(v, true)).toBe('via_djbccigdhe-1');
    expect(setName(v, false)).toBe('via_djbccigdhe');
  });

  it('expects two members for a mirror, the disk count otherwise (one half for RAID0+1)', async () => {
    const counts = async (s: ViaSetSpec) => Promise.all(buildViaSet(s).map(async (m) => expectedDevices((await readMember(m.data)).rds[0]!.meta)));
    expect(await counts(spec({ level: 'raid1', disks: 3 }))).toEqual([2, 2, 2]);
    expect(await counts(spec({ level: 'raid0', disks: 3 }))).toEqual([3, 3, 3]);
    expect(await counts(spec({ level: 'raid01', disks: 4 }))).toEqual([2, 2, 2, 2]);
  });

  it('takes the stride from the code in disk_array_ex: 8 << code sectors', () => {
    const v = viaLayout.zero();
    for (let code = 0; code < 16; code++) {
      v.array.disk_array_ex = (code << 4) | 2;
      expect(viaStride(v)).toBe(8 << code);
    }
  });
});

describe('via member failure', () => {
  it('has no failed: the metadata keeps no state a survivor could record (docs/formats/via.md, "Member failure")', () => {
    expect(via.failed).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bufferLog, readContext, sparseDevice } from '@dmraid/core';
import { buildTestbedSet, formatTester } from '@dmraid/testkit';
import nvidia, {
  buildNvidiaSet,
  expectedDevices,
  nvArrayLayout,
  nvChecksum,
  nvChecksumOk,
  nvDwordSum,
  nvLayout,
  setName,
  status,
  type NvidiaSetSpec,
} from '../src/index.js';
import { testbedSets } from '../src/testbed.js';

// Sets that read back whole: no member missing, no corrupted copy.
const seeds = testbedSets().map(buildTestbedSet)
  .filter((s) => !s.config.includes('degraded') && !s.config.includes('badsum'))
  .map((s) => s.members.map((m) => ({ sizeSectors: m.sizeSectors, serial: m.serial, areas: m.areas })));

formatTester.run(nvidia, {
  seeds,
  fixtures: [{ file: 'nvidia-raid.img.xz' }],
});

const spec = (extra: Partial<NvidiaSetSpec> = {}): NvidiaSetSpec => ({ level: 'raid1', id: 0x1234, disks: 2, diskSectors: 4096, ...extra });

async function readMember(data: Uint8Array, sizeSectors = 4096) {
  const dev = sparseDevice('/dev/sdx', sizeSectors);
  await dev.write((sizeSectors - 2) * 512, data);
  const { log, lines } = bufferLog();
  const rds = await nvidia.read(dev, readContext('nvidia', log));
  return { rds, lines: lines.map((l) => `${l.level}: ${l.text}`) };
}

describe('nvidia layout', () => {
  it('decodes and encodes any 120 bytes back to the same bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 120, maxLength: 120 }), (bytes) => {
        expect(nvLayout.encodeToBytes(nvLayout.decodeFrom(bytes))).toEqual(bytes);
      }),
    );
  });

  it('encodes any field values and decodes them unchanged', () => {
    fc.assert(
      fc.property(
        fc.record({
          unitNumber: fc.nat(255),
          capacity: fc.nat(0xffffffff),
          version: fc.nat(0xffff),
          signature: fc.array(fc.nat(0xffffffff), { minLength: 4, maxLength: 4 }),
          raidLevel: fc.nat(0xffffffff),
          flags: fc.nat(0xffffffff),
        }),
        (f) => {
          const nv = nvLayout.zero();
          nv.unitNumber = f.unitNumber;
          nv.capacity = f.capacity;
          nv.version = f.version;
          nv.array = { ...nvArrayLayout.zero(), signature: f.signature, raidLevel: f.raidLevel, flags: f.flags };
          const back = nvLayout.decodeFrom(nvLayout.encodeToBytes(nv));
          expect(back.unitNumber).toBe(f.unitNumber);
          expect(back.capacity).toBe(f.capacity);
          expect(back.version).toBe(f.version);
          expect(back.array.signature).toEqual(f.signature);
          expect(back.array.raidLevel).toBe(f.raidLevel);
          expect(back.array.flags).toBe(f.flags);
        },
      ),
    );
  });

  it('places the fields where nv.h puts them', () => {
    expect(nvLayout.size).toBe(120);
    expect(nvLayout.offsetOf('chksum')).toBe(0x0c);
    expect(nvLayout.offsetOf('productID')).toBe(0x1c);
    expect(nvLayout.offsetOf('productRevision')).toBe(0x2c);
    expect(nvLayout.offsetOf('array')).toBe(0x34);
    expect(nvArrayLayout.size).toBe(0x44);
    expect(nvArrayLayout.offsetOf('raidJobCode')).toBe(0x48 - 0x34);
    expect(nvArrayLayout.offsetOf('raidLevel')).toBe(0x4c - 0x34);
    expect(nvArrayLayout.offsetOf('flags')).toBe(0x74 - 0x34);
  });
});

describe('nvidia checksum', () => {
  it('makes the 30 dwords of every built member sum to zero', () => {
    for (const level of ['jbod', 'raid0', 'raid1', 'raid10', 'raid5'] as const) {
      for (const m of buildNvidiaSet(spec({ level, disks: level === 'raid10' ? 4 : 3, spares: 1 }))) {
        expect(nvDwordSum(m.data)).toBe(0);
        expect(nvChecksumOk(nvLayout.decodeFrom(m.data), m.data)).toBe(true);
      }
    }
  });

  it('computes chksum as minus the sum of the other 29 dwords, whatever they hold', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 120, maxLength: 120 }), (bytes) => {
        const nv = nvLayout.decodeFrom(bytes);
        nv.size = 30;
        nv.chksum = nvChecksum(nv);
        const raw = nvLayout.encodeToBytes(nv);
        expect(nvDwordSum(raw)).toBe(0);
        expect(nvChecksumOk(nv, raw)).toBe(true);
      }),
    );
  });

  it('rejects a block whose size is not 30 dwords even when the sum is zero', () => {
    const [m] = buildNvidiaSet(spec());
    const nv = nvLayout.decodeFrom(m!.data);
    nv.size = 31;
    nv.chksum = nvChecksum(nv);
    const raw = nvLayout.encodeToBytes(nv);
    expect(nvDwordSum(raw)).toBe(0);
    expect(nvChecksumOk(nv, raw)).toBe(false);
  });

  it('reports a bad checksum with dmraid\'s message and reads nothing', async () => {
    const [m] = buildNvidiaSet(spec({ corrupt: [0] }));
    const { rds, lines } = await readMember(m!.data);
    expect(rds).toEqual([]);
    expect(lines).toEqual(['error: nvidia: bad checksum on /dev/sdx']);
  });

  it('ignores a block without the NVIDIA id silently', async () => {
    const [m] = buildNvidiaSet(spec());
    const data = new Uint8Array(m!.data);
    data[0] = 0x6e;
    const { rds, lines } = await readMember(data);
    expect(rds).toEqual([]);
    expect(lines).toEqual([]);
  });
});

describe('nvidia members', () => {
  it('names sets by the signature sum in hex, digits as letters, RAID1+0 halves with -0/-1', async () => {
    const nv = nvLayout.zero();
    nv.array = { ...nvArrayLayout.zero(), signature: [37632291, 1125722619, 689127463, 785962370] };
    expect(setName(nv, true)).toBe('nvidia_jdedhich');
    nv.array.raidLevel = 0x8180;
    nv.array.stripeWidth = 2;
    nv.unitNumber = 3;
    expect(setName(nv, true)).toBe('nvidia_jdedhich-1');
    expect(setName(nv, false)).toBe('nvidia_jdedhich');
  });

  it('maps raidJobCode as the metadata means it (dmraid always says ok)', () => {
    const nv = nvLayout.zero();
    const at = (code: number, flags = 0) => {
      nv.array = { ...nvArrayLayout.zero(), raidJobCode: code, flags };
      return status(nv);
    };
    expect([0, 2, 3, 4, 5, 1].map((c) => at(c))).toEqual(['ok', 'nosync', 'inconsistent', 'inconsistent', 'nosync', 'undef']);
    expect(at(0, 2)).toBe('broken');
  });

  it('does not count spares among the members a set expects', async () => {
    const expected = async (s: NvidiaSetSpec) =>
      Promise.all(buildNvidiaSet(s).map(async (m) => expectedDevices((await readMember(m.data)).rds[0]!.meta)));
    expect(await expected(spec({ spares: 1 }))).toEqual([2, 2, 2]);
    expect(await expected(spec({ level: 'raid5', disks: 3, spares: 2 }))).toEqual([3, 3, 3, 3, 3]);
    expect(await expected(spec({ level: 'raid10', disks: 4, spares: 1 }))).toEqual([2, 2, 2, 2, 2]);
  });

  it('types the members past the data width as spares', async () => {
    const types = await Promise.all(buildNvidiaSet(spec({ level: 'raid5', disks: 3, spares: 1 })).map(async (m) => (await readMember(m.data)).rds[0]!.type));
    expect(types).toEqual(['raid5_ls', 'raid5_ls', 'raid5_ls', 'spare']);
  });
});

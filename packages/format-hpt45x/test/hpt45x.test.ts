import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { buildTestbedSet, formatTester } from '@dmraid/testkit';
import hpt45x, { hpt45xLayout } from '../src/index.js';
import { testbedSets } from '../src/testbed.js';

const seeds = testbedSets().map(buildTestbedSet)
  .filter((s) => !s.config.includes('degraded'))
  .map((s) => s.members.map((m) => ({ sizeSectors: m.sizeSectors, serial: m.serial, areas: m.areas })));

formatTester.run(hpt45x, {
  seeds,
  fixtures: [{ file: 'hpt45x-raid.img.xz' }],
});

describe('hpt45x layout', () => {
  it('decodes and encodes any 48 bytes back to the same bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 48, maxLength: 48 }), (bytes) => {
        expect(hpt45xLayout.encodeToBytes(hpt45xLayout.decodeFrom(bytes))).toEqual(bytes);
      }),
    );
  });

  it('places the fields where the C header puts them', () => {
    expect(hpt45xLayout.size).toBe(0x30);
    expect(hpt45xLayout.offsetOf('total_secs')).toBe(0x0c);
    expect(hpt45xLayout.offsetOf('raid1_type')).toBe(0x20);
    expect(hpt45xLayout.offsetOf('dummy1')).toBe(0x24);
  });
});

describe('hpt45x member failure', () => {
  it('has no failed: the metadata keeps no state a survivor could record (docs/formats/hpt45x.md, "Member failure")', () => {
    expect(hpt45x.failed).toBeUndefined();
  });
});

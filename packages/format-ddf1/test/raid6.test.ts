// DDF RAID6 qualifiers to dm-raid layouts. md's assembly of each layout mdadm writes is checked on the recorded
// sets (mdadm.test.ts, mdadm-detail.txt); this covers what mdadm never writes.
import { describe, expect, it } from 'vitest';
import {
  DDF1_CONCAT,
  DDF1_JBOD,
  DDF1_RAID0,
  DDF1_RAID1,
  DDF1_RAID1E,
  DDF1_RAID1E_OFFSET,
  DDF1_RAID3,
  DDF1_RAID4,
  DDF1_RAID5,
  DDF1_RAID5E,
  DDF1_RAID5EE,
  DDF1_RAID6,
  DDF1_RAID6_DMRAID,
  raid6Layout,
  volumeType,
  type Ddf1,
  type Ddf1ConfigRecord,
} from '../src/index.js';
import { unsupportedLevel } from '../src/volumes.js';

const record = (raid_level: number, raid_qualifier: number) => ({ raid_level, raid_qualifier }) as Ddf1ConfigRecord;

describe('ddf1 raid6 layouts', () => {
  it('maps RLQ 1, 2 and 3 of PRL 0x06 to raid6_zr, raid6_nr and raid6_nc (mdadm super-ddf.c layout_ddf2md)', () => {
    expect([1, 2, 3].map((q) => raid6Layout(record(DDF1_RAID6, q)))).toEqual(['raid6_zr', 'raid6_nr', 'raid6_nc']);
  });
  it('names no layout for a qualifier md has no algorithm for, for dmraid\'s private level 0x16, or for RAID5', () => {
    expect(raid6Layout(record(DDF1_RAID6, 0))).toBeUndefined();
    expect(raid6Layout(record(DDF1_RAID6, 4))).toBeUndefined();
    expect(raid6Layout(record(DDF1_RAID6_DMRAID, 3))).toBeUndefined();
    expect(raid6Layout(record(DDF1_RAID5, 3))).toBeUndefined();
  });
});

describe('ddf1 RAID1E', () => {
  const rec = (raid_qualifier: number, primary_element_count: number) => ({ raid_level: DDF1_RAID1E, raid_qualifier, primary_element_count }) as Ddf1ConfigRecord;
  const d = { adaptec: false } as Ddf1;
  it('is mirrored pairs (raid1 legs, striped) only with adjacent copies over an even number of disks', () => {
    expect(volumeType(d, rec(0, 4))).toBe('raid1');
    expect(volumeType(d, rec(0, 3))).toBe('undef');
  });
  it('leaves offset copies (md raid10 offset=2) unknown: its chunks are not in pairs', () => {
    expect(volumeType(d, rec(DDF1_RAID1E_OFFSET, 4))).toBe('undef');
  });
});

describe('ddf1 levels and qualifiers that are not mapped say so, naming them', () => {
  const rec = (raid_level: number, raid_qualifier: number, primary_element_count = 4) => ({ raid_level, raid_qualifier, primary_element_count }) as Ddf1ConfigRecord;
  const d = { adaptec: false } as Ddf1;
  it('RAID1E: offset copies, an odd number of disks, an unknown qualifier; adjacent pairs are mapped', () => {
    expect(unsupportedLevel(d, rec(DDF1_RAID1E, DDF1_RAID1E_OFFSET))).toBe('RAID1E with offset copies (RLQ 1) is not supported');
    expect(unsupportedLevel(d, rec(DDF1_RAID1E, 0, 3))).toBe('RAID1E over an odd number of disks (3) is not supported');
    expect(unsupportedLevel(d, rec(DDF1_RAID1E, 7))).toBe('RAID1E with qualifier RLQ 7 is not supported');
    expect(unsupportedLevel(d, rec(DDF1_RAID1E, 0, 4))).toBeUndefined();
  });
  it('RAID6: a qualifier md has no layout for, and dmraid\'s private level; RLQ 1-3 are mapped', () => {
    expect(unsupportedLevel(d, rec(DDF1_RAID6, 0))).toBe('RAID6 with qualifier RLQ 0 is not supported (md lays out RLQ 1, 2 and 3)');
    expect(unsupportedLevel(d, rec(DDF1_RAID6, 4))).toBe('RAID6 with qualifier RLQ 4 is not supported (md lays out RLQ 1, 2 and 3)');
    expect(unsupportedLevel(d, rec(DDF1_RAID6_DMRAID, 3))).toBe("RAID6 as dmraid's private level 0x16 (RLQ 3) is not supported: it names no layout");
    for (const q of [1, 2, 3]) expect(unsupportedLevel(d, rec(DDF1_RAID6, q))).toBeUndefined();
  });
  it('RAID3, RAID5E, RAID5EE, an unknown RAID5 qualifier and an unknown level; the mapped levels say nothing', () => {
    expect(unsupportedLevel(d, rec(DDF1_RAID3, 0))).toBe('RAID3 (PRL 0x03, RLQ 0) is not supported');
    expect(unsupportedLevel(d, rec(DDF1_RAID5E, 3))).toBe('RAID5E (PRL 0x15, RLQ 3) is not supported');
    expect(unsupportedLevel(d, rec(DDF1_RAID5EE, 3))).toBe('RAID5EE (PRL 0x25, RLQ 3) is not supported');
    expect(unsupportedLevel(d, rec(DDF1_RAID5, 1))).toBe('RAID5 with qualifier RLQ 1 is not supported');
    expect(unsupportedLevel(d, rec(0x42, 0))).toBe('RAID level (PRL 0x42, RLQ 0) is not supported');
    expect(unsupportedLevel({ adaptec: true } as Ddf1, rec(DDF1_RAID5, 1))).toBeUndefined();
    for (const level of [DDF1_RAID0, DDF1_RAID1, DDF1_RAID4, DDF1_CONCAT, DDF1_JBOD]) expect(unsupportedLevel(d, rec(level, 0))).toBeUndefined();
    for (const q of [0, 2, 3]) expect(unsupportedLevel(d, rec(DDF1_RAID5, q))).toBeUndefined();
  });
});

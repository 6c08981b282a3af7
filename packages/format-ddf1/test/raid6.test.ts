// DDF RAID6 qualifiers to dm-raid layouts. md's assembly of each layout mdadm writes is checked on the recorded
// sets (mdadm.test.ts, mdadm-detail.txt); this covers what mdadm never writes.
import { describe, expect, it } from 'vitest';
import { DDF1_RAID1E, DDF1_RAID1E_OFFSET, DDF1_RAID5, DDF1_RAID6, DDF1_RAID6_DMRAID, raid6Layout, volumeType, type Ddf1, type Ddf1ConfigRecord } from '../src/index.js';

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

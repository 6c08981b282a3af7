/**
 * RAID types and statuses of the abstract model, with the numeric values and display strings dmraid uses
 * (dmraid's lib/metadata/metadata.c type and status tables).
 */

export const RAID_TYPES = {
  undef: { value: 0x01, display: 'unknown' },
  group: { value: 0x02, display: 'GROUP' },
  partition: { value: 0x04, display: 'partition' },
  spare: { value: 0x08, display: 'spare' },
  linear: { value: 0x10, display: 'linear' },
  raid0: { value: 0x20, display: 'stripe' },
  raid1: { value: 0x40, display: 'mirror' },
  raid4: { value: 0x80, display: 'raid4' },
  raid5_ls: { value: 0x100, display: 'raid5_ls' },
  raid5_rs: { value: 0x200, display: 'raid5_rs' },
  raid5_la: { value: 0x400, display: 'raid5_la' },
  raid5_ra: { value: 0x800, display: 'raid5_ra' },
  raid6: { value: 0x1000, display: 'raid6' },
} as const;

export type RaidType = keyof typeof RAID_TYPES;

export const RAID_STATUSES = {
  undef: { value: 0x01, display: 'unknown' },
  broken: { value: 0x02, display: 'broken' },
  inconsistent: { value: 0x04, display: 'inconsistent' },
  nosync: { value: 0x08, display: 'nosync' },
  ok: { value: 0x10, display: 'ok' },
  setup: { value: 0x20, display: 'setup' },
} as const;

export type RaidStatus = keyof typeof RAID_STATUSES;

export const isRaid5 = (t: RaidType) => t === 'raid5_ls' || t === 'raid5_rs' || t === 'raid5_la' || t === 'raid5_ra';
/** Levels with parity: their usable size loses one (raid6: two) members' worth. */
export const isParity = (t: RaidType) => t === 'raid4' || isRaid5(t) || t === 'raid6';

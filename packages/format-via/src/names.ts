/** VIA set names: the sum of the members' serial checksums (shared by the reader and create). */
import { mkAlpha } from '@dmraid/core';
import { VIA_T_RAID01, raid01Mirror, viaDiskBits, type Via } from './layout.js';

const NAME = 'via';

export function setName(via: Via, subset: boolean): string {
  // dmraid adds disk_array_ex to the sum (its own comment doubts it); the name depends on it.
  const sum = via.serial_checksum.reduce((s, x) => (s + x) >>> 0, via.array.disk_array_ex);
  const bits = viaDiskBits(via.array.disk);
  const base = `${NAME}_${mkAlpha(String(sum))}`;
  return subset && bits.raid_type === VIA_T_RAID01 ? `${base}-${raid01Mirror(bits.raid_type_info)}` : base;
}

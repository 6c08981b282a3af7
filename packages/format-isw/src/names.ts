/**
 * Names and matching: which disk-table entry a disk is (by serial as dmraid's dev_info_serial_to_isw maps
 * it, or by position and size), and the names of the group, its volumes and their sets.
 */
import { cString, mkAlpha, type RaidType } from '@dmraid/core';
import {
  CONFIGURED_DISK,
  FAILED_DISK,
  ISW_T_RAID0,
  ISW_T_RAID1,
  ISW_T_RAID10,
  ISW_T_RAID5,
  ISW_T_SPARE,
  MAX_RAID_SERIAL_LEN,
  USABLE_DISK,
} from './layout.js';
import { cStringAt, diskTotalBlocks, type Mpb, type MpbVolume } from './mpb.js';

export const NAME = 'isw';

/** dmraid's dev_info_serial_to_isw: whitespace removed, ':' → ';', the last 16 characters. */
export function serialToIsw(serial: string): string {
  const s = serial.replace(/\s+/g, '').replace(/:/g, ';');
  return s.length > MAX_RAID_SERIAL_LEN ? s.slice(-MAX_RAID_SERIAL_LEN) : s;
}

/** The disk-table index for a serial, scanning from the last entry as dmraid does; -1 if none. */
export function diskIndexBySerial(mpb: Mpb, serial: string | undefined): number {
  if (serial === undefined) return -1;
  const want = serialToIsw(serial);
  for (let i = mpb.disks.length - 1; i >= 0; i--) if (cString(mpb.disks[i]!.disk.serial) === want) return i;
  return -1;
}

/** Every disk-table index holding this serial. */
export function diskIndicesBySerial(mpb: Mpb, serial: string | undefined): number[] {
  if (serial === undefined) return [];
  const want = serialToIsw(serial);
  return mpb.disks.flatMap(({ disk }, i) => (cString(disk.serial) === want ? [i] : []));
}

/**
 * mdadm renames the serial of a disk it fails out to `<serial>:<n>` (of which the last 15 characters and a
 * NUL when that is 16 or longer: super-intel.c mark_failure), so that the slot no longer matches the disk:
 * such an entry, marked failed, is that disk.
 */
export function failedOutBySerial(mpb: Mpb, serial: string | undefined): boolean {
  if (serial === undefined) return false;
  const want = serialToIsw(serial);
  return mpb.disks.some(({ disk }) => {
    const s = cString(disk.serial);
    const n = /:(\d+)$/.exec(s)?.[1];
    if ((disk.status & FAILED_DISK) === 0 || n === undefined) return false;
    const renamed = `${want}:${n}`;
    return s === (renamed.length >= MAX_RAID_SERIAL_LEN ? renamed.slice(1 - MAX_RAID_SERIAL_LEN) : renamed);
  });
}

export const diskUsable = (status: number) => (status & (CONFIGURED_DISK | USABLE_DISK)) !== 0 && (status & FAILED_DISK) === 0;

/** match=position: entries of this disk's size in table order that are usable; the first not yet taken. */
export function positionCandidates(mpb: Mpb, sizeSectors: number, unit: number): number[] {
  return mpb.disks.flatMap((d, i) => (diskTotalBlocks(d.disk) * (unit / 512) === sizeSectors && diskUsable(d.disk.status) ? [i] : []));
}

export const groupName = (mpb: Mpb) => `isw_${mkAlpha(String(mpb.header.family_num))}`;

/** The volume name as dmraid uses it: a C string from the record, running on past 16 bytes without a NUL. */
export const volumeName = (mpb: Mpb, v: MpbVolume) => cStringAt(mpb.bytes, v.offset);

/** RAID10: raid_level 2, or a RAID1 of 4 or more members (how dmraid's own create writes RAID10). */
export const isRaid10 = (dev: { maps: MpbVolume['maps'] }) => {
  const m = dev.maps[0]!.map;
  return m.raid_level === ISW_T_RAID10 || (m.raid_level === ISW_T_RAID1 && m.num_members >= 4);
};

export function volumeType(v: MpbVolume): RaidType {
  if (isRaid10(v)) return 'raid1';
  switch (v.maps[0]!.map.raid_level) {
    case ISW_T_RAID0:
      return 'raid0';
    case ISW_T_RAID1:
      return 'raid1';
    case ISW_T_RAID5:
      return 'raid5_la';
    case ISW_T_SPARE:
      return 'spare';
    default:
      return 'undef';
  }
}

/** Set name of a volume's member: isw_<fam>_<volume>, for RAID10 with the mirror index -<disk index / 2>. */
export function volumeSetName(mpb: Mpb, diskIndex: number, v: MpbVolume): string | undefined {
  const base = `${groupName(mpb)}_${volumeName(mpb, v)}`;
  if (!isRaid10(v)) return base;
  // dmraid only looks among the first four table entries for the mirror index.
  return diskIndex < 4 ? `${base}-${Math.floor(diskIndex / 2)}` : undefined;
}

/** The volume record a member of set `name` belongs to: the last whose name is a substring of it. */
export function volumeIndexByName(mpb: Mpb, name: string): number {
  for (let i = mpb.volumes.length - 1; i >= 0; i--) if (name.includes(volumeName(mpb, mpb.volumes[i]!))) return i;
  return -1;
}

/**
 * -x SET: the VD deleted from the container's tables as mdadm deletes one (super-ddf.c _kill_subarray_ddf):
 * its VD entry's GUID all ones (an unused row), its config records gone (all ones in the configuration
 * section), every member's tables one sequence number up. The container, its PD table and the data stay:
 * the disks remain DDF disks with no VD on them, free for a new one.
 */
import { allDevices, type RaidDevice, type RaidSet, type WriteContext } from '@dmraid/core';
import type { Ddf1 } from './metadata.js';
import { containerKey, membersOf, presentMembers, rewrite } from './redundancy.js';
import { guidKey, type Volume } from './volumes.js';

const BLOCK = 512;

/** The GUIDs of the VDs a set is made of (a stacked set's halves are records of one VD). */
function vdGuids(set: RaidSet): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const rd of allDevices(set) as RaidDevice<{ volume?: Volume }>[]) {
    const guid = rd.meta?.volume?.record.cr.guid;
    if (guid) out.set(guidKey(guid), guid);
  }
  return out;
}

/** Drop the VD of `key` from one disk's tables: its entry unused, its records all ones. */
export function deleteVd(d: Ddf1, key: string): void {
  for (const vd of d.vds) if (guidKey(vd.guid) === key) vd.guid = new Uint8Array(vd.guid.length).fill(0xff);
  const recordBytes = d.header.value.vd_config_record_len * BLOCK;
  d.records = d.records.filter((r) => {
    if (r.kind !== 'vd' || guidKey(r.cr.guid) !== key) return true;
    d.cfg.raw.fill(0xff, r.at, r.at + recordBytes);
    return false;
  });
}

export async function removeDdf1(set: RaidSet, ctx: WriteContext): Promise<boolean> {
  const guids = vdGuids(set);
  const members = membersOf(set);
  const first = members[0];
  const found = first && presentMembers(members, containerKey(first.ddf));
  if (guids.size === 0 || !found || found.present.length === 0) {
    ctx.error(`failed to find a DDF virtual drive in RAID set "${set.name}"`);
    return false;
  }
  return rewrite(ctx, found.present, (d) => {
    for (const key of guids.keys()) deleteVd(d, key);
  });
}

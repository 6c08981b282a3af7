/**
 * A guessed geometry: which member holds which chunk of the volume, and the device-mapper tables that read
 * it (the `--tables` text `dmraid --tables FILE --extract NAME` takes).
 */
import { mappedRef, memberRef, type DeviceRef, type TableTarget } from '@dmraid/core';
import { raid5Place, type Algorithm } from '../targets/raid5-layout.js';

export type InferLevel = 'striped' | 'mirror' | 'raid5';
export const RAID5_LAYOUTS = ['left-symmetric', 'left-asymmetric', 'right-symmetric', 'right-asymmetric'] as const satisfies readonly Algorithm[];
export type Raid5Layout = (typeof RAID5_LAYOUTS)[number];
/** dm-raid's names of md's RAID5 layouts. */
const DM_TYPE: Record<Raid5Layout, string> = {
  'left-symmetric': 'raid5_ls',
  'left-asymmetric': 'raid5_la',
  'right-symmetric': 'raid5_rs',
  'right-asymmetric': 'raid5_ra',
};

export interface Geometry {
  readonly level: InferLevel;
  readonly layout?: Raid5Layout;
  /** Member index (into the members given) of each slot of the set, in set order; -1: a member not given. */
  readonly order: readonly number[];
  readonly chunkSectors: number;
  /** Where the set's data starts on every member. */
  readonly dataOffsetSectors: number;
  readonly sizeSectors: number;
}

/** Data chunks per row. */
export const dataSlots = (g: Pick<Geometry, 'level' | 'order'>) => (g.level === 'raid5' ? g.order.length - 1 : g.level === 'mirror' ? 1 : g.order.length);

/** The slot holding data chunk `d` of row `row`. */
export function slotOf(g: Pick<Geometry, 'level' | 'layout' | 'order'>, row: number, d: number): number {
  if (g.level === 'raid5') return raid5Place(g.layout!, g.order.length, row, d).dev;
  return g.level === 'mirror' ? 0 : d;
}

/** The volume's size for members of `memberSectors` (the smallest one): whole chunks of each member. */
export function volumeSectors(level: InferLevel, slots: number, chunkSectors: number, dataOffsetSectors: number, memberSectors: number): number {
  const usable = memberSectors - dataOffsetSectors;
  if (level === 'mirror') return usable;
  const perMember = Math.floor(usable / chunkSectors) * chunkSectors;
  return perMember * (level === 'raid5' ? slots - 1 : slots);
}

export const dmType = (g: Geometry): string => (g.level === 'raid5' ? DM_TYPE[g.layout!] : g.level);

/** The tables of a geometry as devices in creation order: helpers (a member shifted to its data) first. */
export function geometryTables(g: Geometry, name: string, paths: readonly string[]): { name: string; targets: TableTarget[] }[] {
  const offset = String(g.dataOffsetSectors);
  const member = (slot: number): DeviceRef => memberRef(paths[g.order[slot]!]!);
  if (g.level === 'striped') {
    return [{ name, targets: [{ start: 0, length: g.sizeSectors, type: 'striped', args: [String(g.order.length), String(g.chunkSectors), ...g.order.flatMap((_, s) => [member(s), offset])] }] }];
  }
  if (g.level === 'mirror') {
    return [{ name, targets: [{ start: 0, length: g.sizeSectors, type: 'mirror', args: ['core', '2', '64', 'nosync', String(g.order.length), ...g.order.flatMap((_, s) => [member(s), offset]), '1', 'handle_errors'] }] }];
  }
  // dm-raid reads each member from its sector 0: a data offset is a linear device in front of the member.
  const perMember = g.sizeSectors / (g.order.length - 1);
  const helpers = g.dataOffsetSectors === 0 ? [] : g.order.flatMap((m, s) => (m < 0 ? [] : [{ name: `${name}-d${s}`, targets: [{ start: 0, length: perMember, type: 'linear', args: [member(s), offset] }] }]));
  const dev = (s: number): DeviceRef | string => (g.order[s]! < 0 ? '-' : g.dataOffsetSectors === 0 ? member(s) : mappedRef(`${name}-d${s}`));
  const args = [DM_TYPE[g.layout!], '1', String(g.chunkSectors), String(g.order.length), ...g.order.flatMap((_, s) => ['-', dev(s)])];
  return [...helpers, { name, targets: [{ start: 0, length: g.sizeSectors, type: 'raid', args }] }];
}

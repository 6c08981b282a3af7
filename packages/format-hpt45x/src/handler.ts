/**
 * Highpoint HPT45x: span, RAID0, RAID1 and RAID10 (a mirror of two stripe sets). Facts from dmraid's
 * hpt45x.c: metadata at N-11, data from sector 0, set id magic_0, spares (magic_0 == 0) never grouped.
 */
import { blockReader, defineFormat, fieldLines, mkAlpha, placeMember, writeMetadata, type RaidDevice, type RaidType } from '@dmraid/core';
import {
  HPT45X_END_OFFSET,
  HPT45X_MAGIC_BAD,
  HPT45X_MAGIC_OK,
  HPT45X_T_RAID0,
  HPT45X_T_RAID1,
  HPT45X_T_SPAN,
  hpt45xLayout,
  type Hpt45x,
} from './layout.js';
import { createHpt45x } from './create.js';

const NAME = 'hpt45x';

const stride = (shift: number) => (shift ? 1 << shift : 0);

function raidType(hpt: Hpt45x): RaidType {
  if (hpt.magic_0 === 0) return 'spare';
  switch (hpt.type) {
    case HPT45X_T_SPAN:
      return 'linear';
    case HPT45X_T_RAID0:
      return 'raid0';
    case HPT45X_T_RAID1:
      return 'raid1';
    default:
      return 'undef';
  }
}

/** A member of a RAID10 (a stripe half) carries the half's index in its set name. */
const isRaid10Half = (hpt: Hpt45x) => hpt.raid1_type === HPT45X_T_RAID1;

/**
 * `hpt45x_` + magic_0 with digits as letters; a RAID10 half adds `-<raid1_disk_number>`, of which dmraid
 * leaves only the last two characters unconverted (it expects one digit: half 148 is `-b48`).
 */
export function setName(hpt: Hpt45x, subset: boolean): string {
  if (!hpt.magic_0) return 'hpt45x_SPARE';
  if (!subset) return `hpt45x_${mkAlpha(String(hpt.magic_0))}`;
  const id = `${hpt.magic_0}-${hpt.raid1_disk_number}`;
  return `hpt45x_${mkAlpha(id.slice(0, -2))}${id.slice(-2)}`;
}

function dataSectors(type: RaidType, hpt: Hpt45x, metaSector: number): number {
  if (type === 'raid0') return Math.floor(hpt.total_secs / (hpt.raid_disks || 1));
  if (type === 'raid1') return hpt.total_secs;
  return metaSector;
}

const meta = (rd: RaidDevice) => rd.meta as Hpt45x;

export const hpt45x = defineFormat<Hpt45x>({
  apiVersion: 1,
  name: NAME,
  description: 'Highpoint HPT45X',
  levels: 'S,0,1,10',

  read: blockReader({
    layout: hpt45xLayout,
    at: { fromEnd: HPT45X_END_OFFSET },
    identifiedBy: ['magic', 'disk_number'],
    isOurs: (hpt) => (hpt.magic === HPT45X_MAGIC_OK || hpt.magic === HPT45X_MAGIC_BAD) && hpt.disk_number < 8,
    member: ({ meta: hpt, sector }) => {
      const type = raidType(hpt);
      return {
        name: setName(hpt, isRaid10Half(hpt)),
        type,
        status: hpt.magic === HPT45X_MAGIC_BAD ? 'broken' : 'ok',
        sectors: dataSectors(type, hpt, sector),
      };
    },
  }),

  group(rd, ctx) {
    if (rd.type === 'spare') return undefined;
    const hpt = meta(rd);
    const half = rd.type === 'raid0' && isRaid10Half(hpt);
    return placeMember(ctx, rd, {
      stride: stride(hpt.raid0_shift),
      rawType: hpt.type,
      before: (a, b) => meta(a).disk_number < meta(b).disk_number,
      superset: half
        ? {
            name: setName(hpt, false),
            init: (s) => {
              s.type = 'raid1';
              s.stride = stride(hpt.raid1_shift);
            },
            before: (a, b) => meta(a.devs[0]!).raid1_disk_number < meta(b.devs[0]!).raid1_disk_number,
          }
        : undefined,
    });
  },

  check(set, ctx) {
    return ctx.checkRaidSet(set, { devices: (rd) => meta(rd).raid_disks });
  },

  log(rd) {
    return [
      `${rd.device.path} (${NAME}):`,
      ...fieldLines(hpt45xLayout, meta(rd), {
        magic: 'x',
        magic_0: 'x',
        magic_1: 'x',
        dummy: 'x',
        dummy1: 'x',
      }),
    ];
  },

  write: writeMetadata,
  create: createHpt45x,
});

/**
 * Creating a DDF container with one VD on the given disks (dmraid cannot create DDF; this follows what a
 * DDF controller writes: tables at the end of each disk, big-endian, data from sector 0), laid out so that
 * mdadm reads and assembles it (writer.ts `mdadm`; test/mdadm.test.ts checks it in the VM).
 */
import { confirmCreate, writeMembers, type CreateRequest, type CreateSummary, type WriteContext } from '@dmraid/core';
import { buildDdf1Container, dataSectors, type Ddf1Level } from './writer.js';

const LEVELS: Record<string, Ddf1Level> = {
  '0': 'raid0',
  '1': 'raid1',
  '4': 'raid4',
  '5': 'raid5',
  '6': 'raid6',
  '10': 'raid10',
  '01': 'raid10',
  '1e': 'raid1e',
  linear: 'concat',
  concat: 'concat',
  jbod: 'jbod',
};

const LEVEL_NAMES: Record<Ddf1Level, string> = {
  raid0: 'RAID0',
  raid1: 'RAID1',
  raid4: 'RAID4',
  raid5: 'RAID5 (left symmetric)',
  raid6: 'RAID6',
  raid10: 'RAID10',
  raid1e: 'RAID1E',
  concat: 'linear (concatenation)',
  jbod: 'JBOD',
};

/** Levels without redundancy: nothing to bring in sync, so they are written initialised. */
const PLAIN: ReadonlySet<Ddf1Level> = new Set(['raid0', 'concat', 'jbod']);
/** Levels without a stripe size. */
const UNSTRIPED: ReadonlySet<Ddf1Level> = new Set(['raid1', 'concat', 'jbod']);

/** Data disks' worth of a level over n members (how much of --size each member carries). */
function dataMembers(level: Ddf1Level, n: number): number {
  switch (level) {
    case 'raid1':
      return 1;
    case 'raid4':
    case 'raid5':
      return n - 1;
    case 'raid6':
      return n - 2;
    case 'raid10':
    case 'raid1e':
      return n / 2;
    default:
      return n;
  }
}

const MIN_MEMBERS: Record<Ddf1Level, number> = { raid0: 2, raid1: 2, raid4: 3, raid5: 3, raid6: 4, raid10: 4, raid1e: 3, concat: 1, jbod: 1 };

export interface CreatePlan {
  readonly level: Ddf1Level;
  readonly stripeShift: number;
  readonly memberSectors: number;
}

/** Check a request and work out the layout; an error text when it cannot be done. */
export function planCreate(request: CreateRequest): CreatePlan | string {
  const level = LEVELS[request.level.toLowerCase()];
  if (!level) return `unsupported RAID level "${request.level}"`;
  const n = request.devices.length;
  if (n < MIN_MEMBERS[level] || (level === 'raid10' && n % 2) || (level === 'jbod' && n !== 1)) return `wrong number of disks (${n}) for RAID level ${request.level}`;
  // Its copies would sit on no fixed pair of disks: no table maps it and no reader here reads it (volumes.ts).
  if (level === 'raid1e' && n % 2) return `RAID1E over an odd number of disks (${n}) is not supported`;
  if (request.name.length === 0 || request.name.length > 16) return `invalid RAID set name "${request.name}"`;
  const strip = request.stripSectors ?? 128;
  if (strip < 1 || (strip & (strip - 1)) !== 0) return `stripe size ${strip} is not a power of two`;
  const stripeShift = Math.log2(strip);
  const smallest = Math.min(...request.devices.map((d) => d.sizeSectors));
  const room = dataSectors(smallest, false, true);
  if (room <= strip) return 'disks too small';
  let memberSectors = request.sizeSectors ? Math.ceil(request.sizeSectors / dataMembers(level, n)) : room;
  if (level !== 'concat' && level !== 'jbod') memberSectors -= memberSectors % strip;
  if (memberSectors > room) return `size ${request.sizeSectors} does not fit on the disks`;
  if (memberSectors <= 0) return 'size too small';
  return { level, stripeShift, memberSectors };
}

/** The summary shown before the prompt, in the shape of dmraid's isw create summary. */
function summary(request: CreateRequest, plan: CreatePlan): CreateSummary {
  return {
    format: 'ddf1',
    name: request.name,
    type: LEVEL_NAMES[plan.level],
    sizeSectors: plan.memberSectors * dataMembers(plan.level, request.devices.length),
    stripSectors: UNSTRIPED.has(plan.level) ? undefined : 1 << plan.stripeShift,
    disks: request.devices,
  };
}

export async function createDdf1(request: CreateRequest, ctx: WriteContext): Promise<boolean> {
  const plan = planCreate(request);
  if (typeof plan === 'string') {
    ctx.error(plan);
    return false;
  }
  if (!(await confirmCreate(ctx, summary(request, plan)))) return true;
  const n = request.devices.length;
  // The seed makes the container, PD and VD GUIDs: they must differ between sets, even sets made in the same
  // second (mdadm's assembly hung over two containers of one GUID), so it is random, not the clock.
  // 24 bits: the writer builds PD references (seed × 0x100 + disk) and the header timestamp from it.
  const seed = crypto.getRandomValues(new Uint32Array(1))[0]! & 0xffffff;
  const time = Math.floor(Date.now() / 1000);
  // Every disk gets the same tables; they sit at the end of each disk, so each is built for its own size.
  const members = request.devices.map((device, i) => {
    const [image] = buildDdf1Container({
      endian: 'be',
      disks: n,
      diskSectors: device.sizeSectors,
      seed,
      // Stamped with the clock, as mdadm stamps a new container: a recorded time is evidence where a disk
      // also carries another format's metadata (docs/conflicts.md).
      time,
      mdadm: true,
      vds: [
        {
          name: request.name,
          level: plan.level,
          members: Array.from({ length: n }, (_, k) => k),
          sectors: plan.memberSectors,
          offset: 0,
          stripeShift: plan.stripeShift,
          initialised: PLAIN.has(plan.level),
        },
      ],
    }).slice(i, i + 1);
    return { path: device.path, areas: image!.areas };
  });
  return writeMembers(ctx, members);
}

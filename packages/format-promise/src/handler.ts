/**
 * Promise FastTrak (dmraid's `pdc`): span, RAID0, RAID1 and RAID10 (a mirror of two stripe sets), with up
 * to four arrays per disk. Facts from dmraid's pdc.c and the reference binary (formats.md §5).
 */
import {
  defineFormat,
  failSetup,
  hex,
  logLine,
  mkAlpha,
  nullLog,
  placeMember,
  readContext,
  writeAreas,
  writeMetadata,
  cString,
  type BlockDevice,
  type ReadContext,
  type RaidDevice,
  type RaidStatus,
  type RaidType,
} from '@dmraid/core';
import {
  PDC_BEGIN_SECTOR,
  PDC_BLOCK_SIZE,
  PDC_END_OFFSETS,
  PDC_F_DOWN,
  PDC_MAXDISKS,
  PDC_MAX_META_AREAS,
  PDC_META_OFFSET,
  PDC_T_RAID0,
  PDC_T_RAID1,
  PDC_T_RAID10,
  PDC_T_SPAN,
  hasPdcSignature,
  pdcChecksum,
  pdcDiskLayout,
  pdcLayout,
  pdcRaidLayout,
  type Pdc,
} from './layout.js';
import { createPdc } from './create.js';
import { recordFailed, staleMembers } from './failed.js';
import { isSpareBlock, makeSpare, rebuildSet, rebuildingReason, rebuiltSet, removeSet } from './ops.js';

const NAME = 'pdc';

/** What a disk's blocks look like in memory after the search: dmraid reads them into one 4-block buffer. */
export interface PdcDiskMemory {
  /** Every block slot as read (zeros where nothing was read), before dmraid's in-memory rewrites. */
  readonly raw: Uint8Array;
  /** The same after the RAID10 type rewrite of the first block: what -n prints. */
  readonly memory: Uint8Array;
  /** Slots the search went through (the -D dump holds this many blocks). */
  readonly slots: number;
  /** The signature blocks from the first one on, with their sectors (what a write puts back). */
  readonly blocks: readonly { readonly offsetSectors: number; readonly data: Uint8Array }[];
  /** `.offset` of the dump. */
  readonly dumpOffsetBytes: number;
}

export interface PdcMeta {
  /** The block this RAID device comes from, as dmraid holds it (RAID10 type rewritten). */
  readonly pdc: Pdc;
  /** 0 for the disk's own block, 1..3 for further arrays on the disk. */
  readonly index: number;
  /** On the disk's own RAID device. */
  readonly disk?: PdcDiskMemory;
  /** A further block dmraid rejects when it groups the disk: the messages it prints then. */
  readonly rejected?: readonly string[];
}

const meta = (rd: RaidDevice) => rd.meta as PdcMeta;

/** `1 << shift` as a 32-bit unsigned C shift (x86 masks the count). */
const stride = (pdc: Pdc) => (pdc.raid.raid0_shift ? (1 << (pdc.raid.raid0_shift & 31)) >>> 0 : 0);

/** Promise stores RAID10 as RAID1 over four or more disks; dmraid also takes its own type 2. */
const isRaid10 = (pdc: Pdc) =>
  pdc.raid.type === PDC_T_RAID10 || (pdc.raid.type === PDC_T_RAID1 && pdc.raid.total_disks > 3);

/** The stripe half a RAID10 member belongs to. */
const setNumber = (pdc: Pdc) => (pdc.raid.disk_number >= Math.floor(pdc.raid.total_disks / 2) ? 1 : 0);

const isPdc = (pdc: Pdc) => pdc.raid.total_disks > 0 && pdc.raid.total_disks < PDC_MAXDISKS;

const identifyError = (path: string, pdc: Pdc) =>
  `identifying ${path}, magic_0: ${hex(pdc.magic_0)}/${hex(pdc.raid.magic_0)}, magic_1: ${hex(pdc.magic_1)}/${hex(pdc.raid.magic_1)}, total_disks: ${pdc.raid.total_disks}`;

function raidType(pdc: Pdc): RaidType {
  switch (pdc.raid.type) {
    case PDC_T_SPAN:
      return 'linear';
    case PDC_T_RAID0:
    case PDC_T_RAID10:
      return 'raid0';
    case PDC_T_RAID1:
      return 'raid1';
    default:
      return 'undef';
  }
}

/** Data length on this disk; `metaSector` is what a span loses at the end (0 for further blocks). */
function dataSectors(pdc: Pdc, sizeSectors: number, metaSector: number): number {
  const { total_secs, total_disks } = pdc.raid;
  switch (pdc.raid.type) {
    case PDC_T_RAID10: {
      // dmraid divides by zero (and dies) for a one-disk RAID10; here it is a zero-length member.
      const halves = Math.floor(total_disks / 2);
      return halves ? Math.floor(total_secs / halves) : 0;
    }
    case PDC_T_RAID1:
      return total_secs;
    case PDC_T_RAID0:
      return Math.floor(total_secs / total_disks);
    case PDC_T_SPAN:
      return Math.max(0, sizeSectors - metaSector);
    default:
      return 0;
  }
}

export function setName(pdc: Pdc, subset: boolean): string {
  const base = `pdc_${mkAlpha(String(pdc.raid.magic_1))}`;
  return subset ? `${base}-${setNumber(pdc)}` : base;
}

/**
 * Status from the member's own flags. dmraid masks its status test out (bit 0x80 of raid.status turned out
 * to mean "functional", not "broken") and shows every member ok; a member whose flags say it is down
 * (FreeBSD's PR_F_DOWN) is broken here.
 */
const memberStatus = (pdc: Pdc): RaidStatus => (pdc.raid.unknown_0 & PDC_F_DOWN ? 'broken' : 'ok');

/** dmraid's in-memory rewrite: a RAID1 over more than three disks becomes its RAID10 type. */
function neutralize(pdc: Pdc): void {
  if (isRaid10(pdc)) pdc.raid.type = PDC_T_RAID10;
}

interface Found {
  readonly raw: Uint8Array;
  readonly slots: number;
  /** Sectors from the end (or the absolute sector) where block 0 was found. */
  readonly metaSector: number;
  readonly fromEnd: boolean;
}

/** Blocks with a signature from slot 0 on (dmraid's count_meta_areas). */
function countSignatures(memory: Uint8Array): number {
  let n = 0;
  while (n < PDC_MAX_META_AREAS && hasPdcSignature(memory.subarray(n * PDC_BLOCK_SIZE))) n++;
  return n;
}

/**
 * The reference binary's search: for each end offset s, blocks at N-s+14k (k < 4) while the sector is at most
 * N; the first s whose block 0 (or, after a failed read, a later block) has the signature wins, and reading
 * stops at the first block without it. Then the same at one absolute sector.
 */
async function search(device: BlockDevice, ctx: ReadContext): Promise<Found | undefined> {
  const n = device.sizeSectors;
  const raw = new Uint8Array(PDC_MAX_META_AREAS * PDC_BLOCK_SIZE);
  const candidates: [readonly number[], boolean][] = [
    [PDC_END_OFFSETS, true],
    [[PDC_BEGIN_SECTOR], false],
  ];
  for (const [list, fromEnd] of candidates) {
    for (const s of list) {
      let found = false;
      let slot = 0;
      for (let sector = fromEnd ? n - s : s; slot < PDC_MAX_META_AREAS && sector >= 0 && sector <= n; slot++, sector += PDC_META_OFFSET) {
        const block = await ctx.read(device, sector * 512, PDC_BLOCK_SIZE);
        if (!block) continue;
        raw.set(block, slot * PDC_BLOCK_SIZE);
        if (!hasPdcSignature(block)) break;
        found = true;
      }
      if (found) return { raw, slots: slot, metaSector: s, fromEnd };
    }
  }
  return undefined;
}

/**
 * A FreeBSD spare block (ops.ts): a spare in no set, of the sectors the block gives it. dmraid takes
 * total_disks 0 for no Promise disk (`identifying` error).
 */
function spareDevice(device: BlockDevice, ctx: ReadContext, pdc: Pdc, found: Found): RaidDevice<PdcMeta> {
  const areaSector = found.fromEnd ? device.sizeSectors - found.metaSector : found.metaSector;
  const data = found.raw.slice(0, PDC_BLOCK_SIZE);
  return {
    device,
    format: ctx.format,
    name: setName(pdc, false),
    type: 'spare',
    status: 'ok',
    offset: 0,
    sectors: pdc.raid.disk_secs,
    areas: [{ offsetSectors: areaSector, size: PDC_BLOCK_SIZE, data }],
    meta: {
      pdc,
      index: 0,
      disk: { raw: found.raw.slice(0, found.slots * PDC_BLOCK_SIZE), memory: found.raw.slice(), slots: found.slots, blocks: [{ offsetSectors: areaSector, data }], dumpOffsetBytes: areaSector * 512 },
    },
  };
}

async function readPdc(device: BlockDevice, ctx: ReadContext): Promise<RaidDevice<PdcMeta>[]> {
  const found = await search(device, ctx);
  if (!found) return [];
  const { raw, slots, metaSector, fromEnd } = found;
  const path = device.path;
  const first = pdcLayout.decodeFrom(raw);
  if (isSpareBlock(first) && pdcChecksum(raw) === first.checksum) return [spareDevice(device, ctx, first, found)];
  if (!isPdc(first)) {
    ctx.error(identifyError(path, first));
    return [];
  }
  if (pdcChecksum(raw) !== first.checksum) return failSetup(ctx, device, `invalid checksum on ${path}`);
  neutralize(first);
  const memory = new Uint8Array(raw);
  memory.set(pdcLayout.encodeToBytes(first).subarray(0, PDC_BLOCK_SIZE), 0);
  const sectors = dataSectors(first, device.sizeSectors, metaSector);
  if (!sectors) return failSetup(ctx, device, `zero sectors on ${path}`);
  // dmraid's begin-of-disk case computes the area as if it were at the end; the area here is where it is.
  const areaSector = fromEnd ? device.sizeSectors - metaSector : metaSector;
  const count = countSignatures(raw);
  const blocks = Array.from({ length: count }, (_, k) => ({
    offsetSectors: areaSector + k * PDC_META_OFFSET,
    data: raw.slice(k * PDC_BLOCK_SIZE, (k + 1) * PDC_BLOCK_SIZE),
  }));
  const disk: RaidDevice<PdcMeta> = {
    device,
    format: ctx.format,
    name: setName(first, isRaid10(first)),
    type: raidType(first),
    status: memberStatus(first),
    offset: 0,
    sectors,
    areas: [{ offsetSectors: areaSector, size: PDC_BLOCK_SIZE, data: blocks[0]!.data }],
    ...outOfSync(first),
    meta: {
      pdc: first,
      index: 0,
      disk: { raw: raw.slice(0, slots * PDC_BLOCK_SIZE), memory, slots, blocks, dumpOffsetBytes: areaSector * 512 },
    },
  };
  const out: RaidDevice<PdcMeta>[] = [disk];
  for (let k = 1; k < count; k++) {
    const pdc = pdcLayout.decodeFrom(raw, k * PDC_BLOCK_SIZE);
    const volume = (rejected?: string[]): RaidDevice<PdcMeta> => ({
      device,
      format: ctx.format,
      name: rejected ? disk.name : setName(pdc, isRaid10(pdc)),
      type: rejected ? disk.type : raidType(pdc),
      status: memberStatus(pdc),
      offset: pdc.raid.start,
      sectors: rejected ? 0 : dataSectors(pdc, device.sizeSectors, 0),
      areas: [blocks[k]!].map((b) => ({ ...b, size: PDC_BLOCK_SIZE })),
      meta: { pdc, index: k, rejected },
      volumeOf: disk,
      ...outOfSync(pdc),
    });
    // dmraid checks further blocks only when it groups the disk, and stops at the first bad one.
    if (!isPdc(pdc)) {
      out.push(volume([identifyError(path, pdc)]));
      break;
    }
    neutralize(pdc);
    if (raidType(pdc) === 'undef') {
      out.push(volume([`RAID type ${pdc.raid.type} not supported`]));
      break;
    }
    if (!dataSectors(pdc, device.sizeSectors, 0)) {
      out.push(volume([`zero sectors on ${path}`]));
      break;
    }
    out.push(volume());
  }
  return out;
}

/** The member a rebuild writes to: the CLI's engine fills it, `rebuilt` ends it. */
function outOfSync(pdc: Pdc): { outOfSync?: string } {
  const reason = rebuildingReason(pdc);
  return reason === undefined ? {} : { outOfSync: reason };
}

/** -n lines of the block at `at` in the disk's memory, labels and formats as dmraid's pdc_log. */
function blockLog(path: string, memory: Uint8Array, at: number): string[] {
  const pdc = pdcLayout.decodeFrom(memory, at);
  const r = pdc.raid;
  const R = pdcLayout.offsetOf('raid');
  const off = (name: keyof Pdc & string) => pdcLayout.offsetOf(name);
  const roff = (name: Parameters<typeof pdcRaidLayout.offsetOf>[0]) => R + pdcRaidLayout.offsetOf(name);
  const xu = (v: number) => `${hex(v)} ${v}`;
  const lines = [
    `${path} (${NAME}):`,
    logLine(off('promise_id'), `promise_id: "${cString(memory.subarray(at))}"`),
    logLine(off('unknown_0'), `unknown_0: ${xu(pdc.unknown_0)}`),
    logLine(off('magic_0'), `magic_0: ${hex(pdc.magic_0)}`),
    logLine(off('unknown_1'), `unknown_1: ${xu(pdc.unknown_1)}`),
    logLine(off('magic_1'), `magic_1: ${hex(pdc.magic_1)}`),
    logLine(off('unknown_2'), `unknown_2: ${xu(pdc.unknown_2)}`),
    logLine(roff('flags'), `raid.flags: ${hex(r.flags)}`),
    logLine(roff('unknown_0'), `raid.unknown_0: ${xu(r.unknown_0)}`),
    logLine(roff('disk_number'), `raid.disk_number: ${r.disk_number}`),
    logLine(roff('channel'), `raid.channel: ${r.channel}`),
    logLine(roff('device'), `raid.device: ${r.device}`),
    logLine(roff('magic_0'), `raid.magic_0: ${hex(r.magic_0)}`),
    logLine(roff('unknown_1'), `raid.unknown_1: ${xu(r.unknown_1)}`),
    logLine(roff('start'), `raid.start: ${xu(r.start)}`),
    logLine(roff('disk_secs'), `raid.disk_secs: ${r.disk_secs}`),
    logLine(roff('unknown_3'), `raid.unknown_3: ${xu(r.unknown_3)}`),
    logLine(roff('unknown_4'), `raid.unknown_4: ${xu(r.unknown_4)}`),
    logLine(roff('status'), `raid.status: ${hex(r.status)}`),
    logLine(roff('type'), `raid.type: ${hex(r.type)}`),
    logLine(roff('total_disks'), `raid.total_disks: ${r.total_disks}`),
    logLine(roff('raid0_shift'), `raid.raid0_shift: ${r.raid0_shift}`),
    logLine(roff('raid0_disks'), `raid.raid0_disks: ${r.raid0_disks}`),
    logLine(roff('array_number'), `raid.array_number: ${r.array_number}`),
    logLine(roff('total_secs'), `raid.total_secs: ${r.total_secs}`),
    logLine(roff('cylinders'), `raid.cylinders: ${r.cylinders}`),
    logLine(roff('heads'), `raid.heads: ${r.heads}`),
    logLine(roff('sectors'), `raid.sectors: ${r.sectors}`),
    logLine(roff('magic_1'), `raid.magic_1: ${hex(r.magic_1)}`),
    logLine(roff('unknown_5'), `raid.unknown_5: ${xu(r.unknown_5)}`),
  ];
  // dmraid walks total_disks entries, past the eight of the table (and the block) when it is larger.
  const table = roff('disk');
  for (let i = 0; i < r.total_disks; i++) {
    const rel = table + i * pdcDiskLayout.size;
    const d = at + rel + pdcDiskLayout.size <= memory.length ? pdcDiskLayout.decodeFrom(memory, at + rel) : pdcDiskLayout.zero();
    lines.push(
      logLine(rel + pdcDiskLayout.offsetOf('unknown_0'), `raid.disk[${i}].unknown_0: ${hex(d.unknown_0)}`),
      logLine(rel + pdcDiskLayout.offsetOf('channel'), `raid.disk[${i}].channel: ${d.channel}`),
      logLine(rel + pdcDiskLayout.offsetOf('device'), `raid.disk[${i}].device: ${d.device}`),
      logLine(rel + pdcDiskLayout.offsetOf('magic_0'), `raid.disk[${i}].magic_0: ${hex(d.magic_0)}`),
      logLine(rel + pdcDiskLayout.offsetOf('disk_number'), `raid.disk[${i}].disk_number: ${d.disk_number}`),
    );
  }
  const ok = pdcChecksum(memory.subarray(at, at + PDC_BLOCK_SIZE)) === pdc.checksum;
  lines.push(logLine(off('checksum'), `checksum: ${hex(pdc.checksum)} ${ok ? 'Ok' : 'BAD'}`));
  return lines;
}

export const pdc = defineFormat<PdcMeta>({
  apiVersion: 1,
  name: NAME,
  description: 'Promise FastTrack',
  levels: 'S,0,1,10',

  read: readPdc,

  group(rd, ctx) {
    // A spare belongs to no array: FreeBSD takes it for whichever degrades.
    if (rd.type === 'spare') return undefined;
    const m = meta(rd);
    if (m.rejected) {
      for (const text of m.rejected) ctx.error(text);
      return undefined;
    }
    const p = m.pdc;
    return placeMember(ctx, rd, {
      stride: stride(p),
      rawType: p.raid.type,
      before: (a, b) => meta(a).pdc.raid.disk_number < meta(b).pdc.raid.disk_number,
      superset:
        p.raid.type === PDC_T_RAID10
          ? {
              name: setName(p, false),
              init: (s) => {
                s.type = 'raid1';
                s.stride = stride(p);
              },
              before: (a) => setNumber(meta(a.devs[0]!).pdc) === 0,
            }
          : undefined,
    });
  },

  check(set, ctx) {
    // Pass one counts members and sums their lengths; pass two, only for a set not broken by then,
    // counts again and checks the sum against the array size (so a count error shows twice).
    let total = 0;
    const count = (rd: RaidDevice) => {
      const p = meta(rd).pdc;
      return isRaid10(p) ? Math.floor(p.raid.total_disks / 2) : p.raid.total_disks;
    };
    const first = ctx.checkRaidSet(set, {
      devices: (rd) => {
        if (meta(rd).pdc.raid.type !== PDC_T_SPAN) total += rd.sectors;
        return count(rd);
      },
    });
    return (
      first &&
      ctx.checkRaidSet(set, {
        devices: count,
        member: (_, rd) => total >= meta(rd).pdc.raid.total_secs && memberStatus(meta(rd).pdc) === 'ok',
      })
    );
  },

  log(rd) {
    const disk = meta(rd).disk;
    if (!disk) return [];
    const lines: string[] = [];
    for (let k = 0, n = countSignatures(disk.memory); k < n; k++) lines.push(...blockLog(rd.device.path, disk.memory, k * PDC_BLOCK_SIZE));
    return lines;
  },

  dump(rd) {
    const disk = meta(rd).disk;
    if (!disk) return [];
    return [{ suffix: '', data: disk.raw, offsetBytes: disk.dumpOffsetBytes }];
  },

  async write(rd, device, ctx, erase) {
    const disk = meta(rd).disk;
    // dmraid erases the first block only; a state write puts every block back as read.
    if (erase || !disk) return writeMetadata(rd, device, ctx, erase);
    return writeAreas(device, disk.blocks.map((b) => ({ ...b, size: b.data.length })), ctx, false);
  },

  create(request, ctx) {
    return createPdc(request, ctx, { read: (d) => this.read(d, readContext(NAME, nullLog)), setName: (b) => setName(pdcLayout.decodeFrom(b), false) });
  },

  failed: recordFailed,

  remove: removeSet,
  spare: (device, set, ctx) => makeSpare(device, set, ctx),
  rebuild: rebuildSet,
  rebuilt: rebuiltSet,

  stale: staleMembers,
});

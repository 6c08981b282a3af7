/**
 * The MPB as a whole: finding the variable-length parts (disk table, volumes, one or two maps each),
 * the checksum, the *_hi words of large disks, and building MPB bytes from parts.
 */
import { join64 as join64Exact, latin1, toBytes } from '@dmraid/core';
import {
  ISW_DEV_OFFSET_MAP,
  ISW_MAP_OFFSET_ORD,
  MPB_SIGNATURE,
  MPB_VERSION_LENGTH,
  iswDevLayout,
  iswDiskLayout,
  iswHeaderLayout,
  iswMapLayout,
  type IswDev,
  type IswDisk,
  type IswHeader,
  type IswMap,
} from './layout.js';

const HEADER = iswHeaderLayout.size;
const DISK = iswDiskLayout.size;
/** sizeof(struct isw_map) with its one disk_ord_tbl entry. */
const MAP = ISW_MAP_OFFSET_ORD + 4;

export interface MpbMap {
  readonly offset: number;
  readonly map: IswMap;
  readonly ord: number[];
}

export interface MpbVolume {
  readonly offset: number;
  readonly dev: IswDev;
  /** map[0], and map[1] while migrating. */
  readonly maps: MpbMap[];
  /** Bytes of the record: dmraid's advance_raiddev() step. */
  readonly size: number;
}

export interface Mpb {
  /** The MPB in memory order (header sector first), as many bytes as were read. */
  readonly bytes: Uint8Array;
  readonly header: IswHeader;
  readonly disks: { readonly offset: number; readonly disk: IswDisk }[];
  readonly volumes: MpbVolume[];
}

/** Bytes at `offset`, zeros where the buffer ends (dmraid reads on into whatever memory follows). */
export function bytesAt(buf: Uint8Array, offset: number, length: number): Uint8Array {
  if (offset >= 0 && offset + length <= buf.length) return buf.subarray(offset, offset + length);
  const out = new Uint8Array(length);
  if (offset < buf.length) out.set(buf.subarray(Math.max(0, offset), Math.min(buf.length, offset + length)), Math.max(0, -offset));
  return out;
}

/** A C string starting at `offset`, running on past its field until a NUL (or the end of the buffer). */
export function cStringAt(buf: Uint8Array, offset: number): string {
  let end = offset;
  while (end < buf.length && buf[end] !== 0) end++;
  return latin1(buf.subarray(offset, end));
}

/** sizeof(isw_map) + (m-1) disk_ord_tbl entries; m = 0 steps back one entry as dmraid's arithmetic does. */
export const mapSize = (numMembers: number) => MAP + 4 * (numMembers - 1);

function decodeMap(buf: Uint8Array, offset: number): MpbMap {
  const map = iswMapLayout.decodeFrom(bytesAt(buf, offset, iswMapLayout.size));
  const ordBytes = bytesAt(buf, offset + ISW_MAP_OFFSET_ORD, 4 * map.num_members);
  const view = new DataView(ordBytes.buffer, ordBytes.byteOffset, ordBytes.byteLength);
  const ord = Array.from({ length: map.num_members }, (_, i) => view.getUint32(4 * i, true));
  return { offset, map, ord };
}

/** Decode an MPB (memory order). Never throws: fields past the buffer read as zero. */
export function decodeMpb(bytes: Uint8Array): Mpb {
  const header = iswHeaderLayout.decodeFrom(bytesAt(bytes, 0, HEADER));
  const disks = Array.from({ length: header.num_disks }, (_, i) => {
    const offset = HEADER + DISK * i;
    return { offset, disk: iswDiskLayout.decodeFrom(bytesAt(bytes, offset, DISK)) };
  });
  const volumes: MpbVolume[] = [];
  let offset = HEADER + DISK * header.num_disks;
  for (let i = 0; i < header.num_raid_devs; i++) {
    const dev = iswDevLayout.decodeFrom(bytesAt(bytes, offset, iswDevLayout.size));
    const map0 = decodeMap(bytes, offset + ISW_DEV_OFFSET_MAP);
    const maps = [map0];
    // dmraid sizes the second map (and steps over it) with map[0]'s member count.
    const step = mapSize(map0.map.num_members);
    if (dev.vol.migr_state) maps.push(decodeMap(bytes, map0.offset + step));
    const size = ISW_DEV_OFFSET_MAP + step * (dev.vol.migr_state ? 2 : 1);
    volumes.push({ offset, dev, maps, size });
    offset += size;
  }
  return { bytes, header, disks, volumes };
}

/** Wrapping sum of the first mpb_size/4 dwords, minus the check_sum dword (dmraid's _checksum). */
export function mpbChecksum(bytes: Uint8Array, mpbSize = mpbSizeOf(bytes)): number {
  const words = Math.floor(mpbSize / 4);
  const data = bytesAt(bytes, 0, words * 4);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let sum = 0;
  for (let i = 0; i < words; i++) sum = (sum + view.getUint32(4 * i, true)) >>> 0;
  return (sum - iswHeaderLayout.decodeFrom(bytesAt(bytes, 0, iswHeaderLayout.size)).check_sum) >>> 0;
}

/** The MPB's `mpb_size` field, read from its first sector. */
export function mpbSizeOf(bytes: Uint8Array): number {
  return iswHeaderLayout.decodeFrom(bytesAt(bytes, 0, iswHeaderLayout.size)).mpb_size;
}

/** The 6-character version after the signature. */
export const mpbVersion = (bytes: Uint8Array) => latin1(bytesAt(bytes, MPB_SIGNATURE.length, MPB_VERSION_LENGTH));

export const hasSignature = (bytes: Uint8Array) => latin1(bytesAt(bytes, 0, MPB_SIGNATURE.length)) === MPB_SIGNATURE;

/** strncmp(a, b, 6) > 0 on the version bytes (stops at a NUL). */
export function versionNewer(bytes: Uint8Array, than: string): boolean {
  const v = bytesAt(bytes, MPB_SIGNATURE.length, MPB_VERSION_LENGTH);
  for (let i = 0; i < MPB_VERSION_LENGTH; i++) {
    const a = v[i]!;
    const b = than.charCodeAt(i);
    if (a !== b) return a > b;
    if (a === 0) return false;
  }
  return false;
}

// 2 TiB and more: the high words mdadm (super-intel.c) keeps in what dmraid's isw.h calls fillers:
// imsm_disk.total_blocks_hi = disk.filler[0]; imsm_map.pba_of_lba0_hi, blocks_per_member_hi,
// num_data_stripes_hi = map.filler[0..2]; imsm_dev.size_high = SizeHigh. dmraid rc16 ignores them.
const join64 = (lo: number, hi: number | undefined) => (hi ?? 0) * 2 ** 32 + lo;
const split64 = (x: number): [number, number] => [x % 2 ** 32, Math.floor(x / 2 ** 32)];

export const diskTotalBlocks = (disk: IswDisk) => join64(disk.totalBlocks, disk.filler[0]);
export const volumeSize = (dev: IswDev) => join64(dev.SizeLow, dev.SizeHigh);
export const pbaOfLba0 = (map: IswMap) => join64(map.pba_of_lba0, map.filler[0]);
export const blocksPerMember = (map: IswMap) => join64(map.blocks_per_member, map.filler[1]);
export const numDataStripes = (map: IswMap) => join64(map.num_data_stripes, map.filler[2]);

/** pbaOfLba0 and blocksPerMember exact at any size (the number forms above round from 2^53 blocks on). */
export const pbaOfLba0Exact = (map: IswMap) => join64Exact(map.filler[0] ?? 0, map.pba_of_lba0);
export const blocksPerMemberExact = (map: IswMap) => join64Exact(map.filler[1] ?? 0, map.blocks_per_member);

export function setDiskTotalBlocks(disk: IswDisk, blocks: number): void {
  [disk.totalBlocks, disk.filler[0]] = split64(blocks);
}
export function setVolumeSize(dev: IswDev, blocks: number): void {
  [dev.SizeLow, dev.SizeHigh] = split64(blocks);
}
export function setMapSizes(map: IswMap, pba: number, perMember: number, stripes: number): void {
  [map.pba_of_lba0, map.filler[0]] = split64(pba);
  [map.blocks_per_member, map.filler[1]] = split64(perMember);
  [map.num_data_stripes, map.filler[2]] = split64(stripes);
}

/** What an MPB is built from. */
export interface MpbParts {
  readonly header: IswHeader;
  readonly disks: readonly IswDisk[];
  readonly volumes: readonly { readonly dev: IswDev; readonly maps: readonly { readonly map: IswMap; readonly ord: readonly number[] }[] }[];
}

/**
 * Encode parts into MPB bytes (memory order, mpb_size long): num_disks, num_raid_devs, mpb_size and
 * check_sum are set from the parts. A second map is written only when vol.migr_state says so.
 */
export function encodeMpb(parts: MpbParts): Uint8Array {
  const records = parts.volumes.map((v) => {
    const m = v.maps[0]!.map.num_members;
    const maps = v.dev.vol.migr_state ? v.maps.slice(0, 2) : v.maps.slice(0, 1);
    const size = ISW_DEV_OFFSET_MAP + mapSize(m) * (v.dev.vol.migr_state ? 2 : 1);
    const out = new Uint8Array(Math.max(size, ISW_DEV_OFFSET_MAP + MAP * 2));
    out.set(iswDevLayout.encodeToBytes(v.dev));
    maps.forEach((mp, k) => {
      const at = ISW_DEV_OFFSET_MAP + k * mapSize(m);
      out.set(iswMapLayout.encodeToBytes(mp.map), at);
      const view = new DataView(out.buffer);
      mp.ord.forEach((o, j) => {
        if (at + ISW_MAP_OFFSET_ORD + 4 * j + 4 <= out.length) view.setUint32(at + ISW_MAP_OFFSET_ORD + 4 * j, o >>> 0, true);
      });
    });
    return out.subarray(0, size);
  });
  const size = HEADER + DISK * parts.disks.length + records.reduce((a, r) => a + r.length, 0);
  const bytes = new Uint8Array(size);
  const header = cloneValue(parts.header);
  header.num_disks = parts.disks.length;
  header.num_raid_devs = parts.volumes.length;
  header.mpb_size = size;
  header.check_sum = 0;
  bytes.set(iswHeaderLayout.encodeToBytes(header));
  parts.disks.forEach((d, i) => bytes.set(iswDiskLayout.encodeToBytes(d), HEADER + DISK * i));
  let at = HEADER + DISK * parts.disks.length;
  for (const r of records) {
    bytes.set(r, at);
    at += r.length;
  }
  new DataView(bytes.buffer).setUint32(iswHeaderLayout.offsetOf('check_sum'), mpbChecksum(bytes, size), true);
  return bytes;
}

/** Deep copy of a decoded struct value, keeping the (non-enumerable) raw bytes behind undeclared fields. */
export function cloneValue<T extends object>(value: T): T {
  const copy = Object.assign(Object.create(Object.getPrototypeOf(value)), value) as T;
  for (const sym of Object.getOwnPropertySymbols(value)) {
    Object.defineProperty(copy, sym, { value: (value as Record<symbol, unknown>)[sym], enumerable: false });
  }
  for (const [k, v] of Object.entries(copy)) {
    if (Array.isArray(v)) (copy as Record<string, unknown>)[k] = [...v];
    else if (v instanceof Uint8Array) (copy as Record<string, unknown>)[k] = new Uint8Array(v);
    else if (v && typeof v === 'object') (copy as Record<string, unknown>)[k] = cloneValue(v);
  }
  return copy;
}

/** Parts of a decoded MPB, deep-copied for editing. */
export function partsOf(mpb: Mpb): { header: IswHeader; disks: IswDisk[]; volumes: { dev: IswDev; maps: { map: IswMap; ord: number[] }[] }[] } {
  return {
    header: cloneValue(mpb.header),
    disks: mpb.disks.map((d) => cloneValue(d.disk)),
    volumes: mpb.volumes.map((v) => ({ dev: cloneValue(v.dev), maps: v.maps.map((m) => ({ map: cloneValue(m.map), ord: [...m.ord] })) })),
  };
}

export const signatureBytes = (version: string) => toBytes(MPB_SIGNATURE + version, 32);

/** Blocks of `unit` bytes an MPB of `mpbSize` bytes occupies (at least the header block). */
export const mpbBlocks = (mpbSize: number, unit: number) => Math.max(1, Math.ceil(mpbSize / unit));

/**
 * On-disk order: the header block is the last of the MPB's blocks (N-2), the rest precede it in order.
 * Memory order is header block first.
 */
export function toDiskOrder(memory: Uint8Array, unit: number): Uint8Array {
  const blocks = mpbBlocks(memory.length, unit);
  const padded = bytesAt(memory, 0, blocks * unit);
  const out = new Uint8Array(blocks * unit);
  out.set(padded.subarray(unit), 0);
  out.set(padded.subarray(0, unit), (blocks - 1) * unit);
  return out;
}

export function toMemoryOrder(disk: Uint8Array, unit: number): Uint8Array {
  const blocks = disk.length / unit;
  const out = new Uint8Array(disk.length);
  out.set(disk.subarray((blocks - 1) * unit), 0);
  out.set(disk.subarray(0, (blocks - 1) * unit), unit);
  return out;
}

/**
 * The MPB with its sizes counted in blocks of `to` bytes instead of `from` (mdadm's convert_to_4k and
 * convert_from_4k): disk totalBlocks, volume size, curr_migr_unit, and each map's pba_of_lba0,
 * blocks_per_member and blocks_per_strip. num_data_stripes counts strips and stays.
 */
export function rescaleMpb(bytes: Uint8Array, from: number, to: number): Uint8Array {
  if (from === to) return bytes;
  const scale = (x: number) => Math.floor((x * from) / to);
  const parts = partsOf(decodeMpb(bytes));
  for (const d of parts.disks) setDiskTotalBlocks(d, scale(diskTotalBlocks(d)));
  for (const v of parts.volumes) {
    setVolumeSize(v.dev, scale(volumeSize(v.dev)));
    v.dev.vol.curr_migr_unit = scale(v.dev.vol.curr_migr_unit);
    for (const { map } of v.maps) {
      setMapSizes(map, scale(pbaOfLba0(map)), scale(blocksPerMember(map)), numDataStripes(map));
      map.blocks_per_strip = scale(map.blocks_per_strip);
    }
  }
  return encodeMpb(parts);
}

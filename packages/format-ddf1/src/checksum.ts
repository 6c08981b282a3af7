/**
 * DDF's CRC-32: the zlib/IEEE one (reflected polynomial 0xEDB88320, initial value and final xor 0xFFFFFFFF),
 * computed over a table with its own crc field set to 0xFFFFFFFF (SNIA DDF 1.2 §5.2; dmraid's ddf1_crc.c).
 */
/** node:zlib's crc32, loaded with the first table checked (a run on disks without DDF metadata loads no zlib). */
let zlibCrc32: ((data: Uint8Array, value?: number) => number) | undefined;

/**
 * The CRC of `data` with the register starting at `crc`. Native: in JavaScript the loop over every byte of a
 * DDF set's tables was enough for V8 to start its optimising compiler, whose first use in a process costs
 * ~4 MiB of memory (loading zlib costs 1.3). zlib's crc32 continues a finished CRC: the register inverted.
 */
export function crc32(data: Uint8Array, crc = 0xffffffff): number {
  zlibCrc32 ??= process.getBuiltinModule('node:zlib').crc32;
  return zlibCrc32(data, (crc ^ 0xffffffff) >>> 0);
}

/**
 * Which CRC-32 a table carries. `zlib`: as above (dmraid's ddf1_crc.c). `mdadm`: the same polynomial from 0,
 * without the final xor (mdadm's crc32.c has both inversions commented out); mdadm rejects a DDF whose
 * headers carry any other ("bad CRC on anchor"), so what we create for mdadm to read carries this one.
 */
export type CrcStyle = 'zlib' | 'mdadm';

/** The CRC a DDF table must carry: its bytes with the crc field (at `crcOffset`) read as all ones. */
export function tableCrc(table: Uint8Array, crcOffset = 4, style: CrcStyle = 'zlib'): number {
  const copy = new Uint8Array(table);
  if (copy.length >= crcOffset + 4) copy.fill(0xff, crcOffset, crcOffset + 4);
  return style === 'mdadm' ? (crc32(copy, 0) ^ 0xffffffff) >>> 0 : crc32(copy);
}

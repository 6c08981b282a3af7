/**
 * DDF's CRC-32: the zlib/IEEE one (reflected polynomial 0xEDB88320, initial value and final xor 0xFFFFFFFF),
 * computed over a table with its own crc field set to 0xFFFFFFFF (SNIA DDF 1.2 §5.2; dmraid's ddf1_crc.c).
 */
import { crc32 as zlibCrc32 } from 'node:zlib';

/**
 * `crc` is the register's starting value (0xFFFFFFFF for DDF; mdadm's starts from 0). zlib's own function
 * (native, Node >= 20.15) takes the previous result instead, which is the register inverted. Native matters:
 * the table loop in JavaScript cost ~5 ms of an 8-member `-s`, run once and so never optimised.
 */
export function crc32(data: Uint8Array, crc = 0xffffffff): number {
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

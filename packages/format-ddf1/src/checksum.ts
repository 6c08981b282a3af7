/**
 * DDF's CRC-32: the zlib/IEEE one (reflected polynomial 0xEDB88320, initial value and final xor 0xFFFFFFFF),
 * computed over a table with its own crc field set to 0xFFFFFFFF (SNIA DDF 1.2 §5.2; dmraid's ddf1_crc.c).
 */
const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(data: Uint8Array, crc = 0xffffffff): number {
  let c = crc >>> 0;
  for (let i = 0; i < data.length; i++) c = TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
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

/** Helpers for the C strings and raw bytes that metadata layouts keep as `bytes(n)`. */

/** The bytes up to the first NUL (or all of them), one char per byte, as C's `%s` prints them. */
export function cString(raw: Uint8Array, max = raw.length): string {
  let end = 0;
  while (end < max && end < raw.length && raw[end] !== 0) end++;
  return latin1(raw.subarray(0, end));
}

/** Every byte as one character (latin1), NULs included. */
export function latin1(raw: Uint8Array): string {
  let s = '';
  for (const b of raw) s += String.fromCharCode(b);
  return s;
}

/** A string as latin1 bytes, padded with NULs (or cut) to `length`. */
export function toBytes(text: string, length: number, pad = 0): Uint8Array {
  const out = new Uint8Array(length).fill(pad);
  for (let i = 0; i < Math.min(length, text.length); i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

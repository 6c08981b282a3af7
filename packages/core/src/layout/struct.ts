/**
 * Declarative binary layouts: one definition gives decode, encode, size and a field table.
 *
 * Offsets are written out in the definition (`u32.at(0x24)`) and checked when the module that declares the
 * layout loads: a field that overlaps another or runs past the structure's size throws at once, so a wrong
 * offset cannot survive until a disk is read. Bytes no field covers are kept from the decoded buffer, so
 * `encode(decode(b))` gives `b` back byte for byte.
 */

export type Endian = 'le' | 'be';

/** What decode/encode need besides the bytes: the byte order of fields declared without one. */
export interface CodecOptions {
  readonly endian?: Endian;
}

export interface FieldType<T> {
  readonly kind: string;
  readonly size: number;
  decode(view: DataView, offset: number, endian: Endian): T;
  /**
   * Decode from bytes that are already a private copy (a structure inside one being decoded): a structure
   * keeps a view of them instead of a copy of its own. Types with nothing to copy have none.
   */
  readonly decodeInCopy?: (view: DataView, offset: number, endian: Endian) => T;
  encode(view: DataView, offset: number, value: T, endian: Endian): void;
  /** Place this type at a byte offset inside a struct. */
  at(offset: number): Placed<T>;
}

export interface Placed<T> {
  readonly type: FieldType<T>;
  readonly offset: number;
}

function fieldType<T>(
  kind: string,
  size: number,
  decode: (view: DataView, offset: number, endian: Endian) => T,
  encode: (view: DataView, offset: number, value: T, endian: Endian) => void,
  decodeInCopy?: (view: DataView, offset: number, endian: Endian) => T,
): FieldType<T> {
  const type: FieldType<T> = {
    kind,
    size,
    decode,
    encode,
    ...(decodeInCopy ? { decodeInCopy } : {}),
    at: (offset: number) => ({ type, offset }),
  };
  return type;
}

const little = (fixed: Endian | undefined, ctx: Endian) => (fixed ?? ctx) === 'le';

/**
 * What an n-byte integer field takes: an integer from -2^(8n-1) (two's complement, the C habit of writing -1
 * for all ones) to 2^(8n) - 1. Anything else would be written truncated or wrapped, so it is refused.
 */
function checkRange(kind: string, bits: number, x: number | bigint): void {
  const ok =
    typeof x === 'bigint'
      ? x >= -(1n << BigInt(bits - 1)) && x < 1n << BigInt(bits)
      : Number.isInteger(x) && x >= -(2 ** (bits - 1)) && x < 2 ** bits;
  if (!ok) throw new RangeError(`${kind} field given ${String(x)}, which ${bits} bits cannot hold`);
}

function integer(kind: string, bytes: 1 | 2 | 4, signed: boolean, fixed?: Endian): FieldType<number> {
  const bits = bytes * 8;
  const checked =
    (set: (v: DataView, o: number, x: number, e: Endian) => void) =>
    (v: DataView, o: number, x: number, e: Endian) => {
      checkRange(kind, bits, x);
      set(v, o, x, e);
    };
  if (bytes === 1) {
    return fieldType(kind, 1, signed ? (v, o) => v.getInt8(o) : (v, o) => v.getUint8(o), checked((v, o, x) => v.setUint8(o, x & 0xff)));
  }
  // The decoder chosen here, once, not per field read: a disk's probe decodes thousands of fields.
  const le = fixed === 'le';
  let decode: (v: DataView, o: number, e: Endian) => number;
  if (bytes === 2 && signed) decode = fixed ? (v, o) => v.getInt16(o, le) : (v, o, e) => v.getInt16(o, e === 'le');
  else if (bytes === 2) decode = fixed ? (v, o) => v.getUint16(o, le) : (v, o, e) => v.getUint16(o, e === 'le');
  else if (signed) decode = fixed ? (v, o) => v.getInt32(o, le) : (v, o, e) => v.getInt32(o, e === 'le');
  else decode = fixed ? (v, o) => v.getUint32(o, le) : (v, o, e) => v.getUint32(o, e === 'le');
  return bytes === 2
    ? fieldType(kind, 2, decode, checked((v, o, x, e) => v.setUint16(o, x & 0xffff, little(fixed, e))))
    : fieldType(kind, 4, decode, checked((v, o, x, e) => v.setUint32(o, x >>> 0, little(fixed, e))));
}

/** A 64-bit field decodes to a bigint (unsigned), so every value up to 2^64 - 1 is exact. */
function bigInteger(kind: string, fixed?: Endian): FieldType<bigint> {
  return fieldType(
    kind,
    8,
    (v, o, e) => v.getBigUint64(o, little(fixed, e)),
    (v, o, x, e) => {
      checkRange(kind, 64, x);
      v.setBigUint64(o, BigInt.asUintN(64, x), little(fixed, e));
    },
  );
}

export const u8 = integer('u8', 1, false);
export const i8 = integer('i8', 1, true);
/** u16/u32/u64 without a suffix take the byte order given to decode/encode (little-endian by default). */
export const u16 = integer('u16', 2, false);
export const u32 = integer('u32', 4, false);
export const u64 = bigInteger('u64');
export const u16le = integer('u16le', 2, false, 'le');
export const u16be = integer('u16be', 2, false, 'be');
export const u32le = integer('u32le', 4, false, 'le');
export const u32be = integer('u32be', 4, false, 'be');
export const i32le = integer('i32le', 4, true, 'le');
export const u64le = bigInteger('u64le', 'le');
export const u64be = bigInteger('u64be', 'be');

/** 2^53 - 1, the largest integer a number holds exactly; as sectors 4 EiB, more than any disk has. */
export const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * A 64-bit on-disk count or LBA as a number, or undefined from 2^53 on, where a number would round it: the
 * handler then reports the field (`tooLarge`) and leaves the device out rather than use a rounded value.
 */
export function exactNumber(value: bigint): number | undefined {
  return value >= 0n && value <= MAX_EXACT ? Number(value) : undefined;
}

/** One 64-bit value kept as two 32-bit fields (`*_high`/`*_low`, `*_hi`). */
export const join64 = (high: number, low: number): bigint => (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0);

/** The error text for a count of sectors exactNumber refused; `what` names the field(s) it comes from. */
export const tooLarge = (what: string, value: bigint, path: string) =>
  `${what} of ${value} sectors on ${path}: 2^53 or more, larger than any disk`;

/** Raw bytes (strings, GUIDs, fillers): decoded as a copy, so strings keep every byte, NULs included. */
export function bytes(length: number): FieldType<Uint8Array> {
  return fieldType(
    `bytes[${length}]`,
    length,
    (v, o) => new Uint8Array(v.buffer.slice(v.byteOffset + o, v.byteOffset + o + length)),
    (v, o, x) => {
      if (x.length !== length) throw new RangeError(`bytes[${length}] field given ${x.length} bytes`);
      new Uint8Array(v.buffer, v.byteOffset + o, length).set(x);
    },
  );
}

/** A fixed-length array of one element type, laid out back to back. */
export function array<T>(element: FieldType<T>, count: number): FieldType<T[]> {
  const each =
    (decode: (v: DataView, o: number, e: Endian) => T) =>
    (v: DataView, o: number, e: Endian): T[] => {
      const out = new Array<T>(count);
      for (let i = 0; i < count; i++) out[i] = decode(v, o + i * element.size, e);
      return out;
    };
  return fieldType(
    `${element.kind}[${count}]`,
    element.size * count,
    each(element.decode),
    (v, o, x, e) => {
      if (x.length !== count) throw new RangeError(`${element.kind}[${count}] field given ${x.length} elements`);
      x.forEach((item, i) => element.encode(v, o + i * element.size, item, e));
    },
    element.decodeInCopy && each(element.decodeInCopy),
  );
}

/** The decoded bytes a value came from: encode starts from them so undeclared bytes survive. */
const RAW = Symbol('raw bytes');

type Fields = Record<string, Placed<any>>;
export type Decoded<F extends Fields> = { -readonly [K in keyof F]: F[K] extends Placed<infer T> ? T : never };
export type StructValue<S> = S extends Struct<infer F> ? Decoded<F> : never;

export interface FieldInfo {
  readonly name: string;
  readonly offset: number;
  readonly size: number;
  readonly kind: string;
}

export interface Struct<F extends Fields> extends FieldType<Decoded<F>> {
  readonly fields: readonly FieldInfo[];
  readonly placed: F;
  /** Decode `size` bytes at `offset` of `buf`. Throws RangeError when the buffer is too short. */
  decodeFrom(buf: Uint8Array, offset?: number, options?: CodecOptions): Decoded<F>;
  /**
   * Only the named fields of the structure at the start of `buf`: what a probe looks at (the magic) before it
   * decodes a block whole. Throws RangeError when the buffer is too short for the structure.
   */
  pick<K extends keyof F & string>(buf: Uint8Array, names: readonly K[], options?: CodecOptions): Pick<Decoded<F>, K>;
  /** Encode a value into a new buffer of `size` bytes (undeclared bytes from the value's source, else zero). */
  encodeToBytes(value: Decoded<F>, options?: CodecOptions): Uint8Array;
  /** A value with every field zero (or empty), for writers that build metadata from scratch. */
  zero(): Decoded<F>;
  offsetOf(name: keyof F & string): number;
}

export interface StructOptions {
  /** The structure's full size in bytes; fields must fit inside it. */
  readonly size: number;
  readonly name?: string;
}

function viewOf(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

/**
 * Declare a structure. Throws at declaration time if two fields overlap or a field ends past `size`.
 */
export function struct<F extends Fields>(placed: F, options: StructOptions): Struct<F> {
  const { size } = options;
  const label = options.name ?? 'struct';
  const fields: FieldInfo[] = Object.entries(placed)
    .map(([name, p]) => ({ name, offset: p.offset, size: p.type.size, kind: p.type.kind }))
    .sort((a, b) => a.offset - b.offset);
  let end = 0;
  let previous = '';
  for (const f of fields) {
    if (!Number.isInteger(f.offset) || f.offset < 0) throw new Error(`${label}.${f.name}: bad offset ${f.offset}`);
    if (f.offset < end) {
      throw new Error(`${label}.${f.name} at 0x${f.offset.toString(16)} overlaps ${previous} (ends at 0x${end.toString(16)})`);
    }
    if (f.offset + f.size > size) {
      throw new Error(`${label}.${f.name} at 0x${f.offset.toString(16)} (+${f.size}) runs past the size 0x${size.toString(16)}`);
    }
    end = f.offset + f.size;
    previous = f.name;
  }
  const entries = Object.entries(placed);
  // The same, as arrays walked by index: decode runs for every field of every block a probe reads.
  const names = entries.map(([name]) => name);
  const types = entries.map(([, p]) => p.type);
  const offsets = entries.map(([, p]) => p.offset);

  const inRange = (view: DataView, offset: number) => {
    if (offset < 0 || offset + size > view.byteLength) {
      throw new RangeError(`${label}: need ${size} bytes at ${offset}, have ${view.byteLength}`);
    }
  };
  // A structure inside this one decodes from the same copy: its bytes are copied once, with the outermost.
  const decoders = types.map((t) => t.decodeInCopy ?? t.decode);
  // The fields and RAW of bytes already checked to hold the structure.
  const fill = (view: DataView, offset: number, endian: Endian): Decoded<F> => {
    const value = {} as Record<string, unknown>;
    for (let i = 0; i < names.length; i++) value[names[i]!] = decoders[i]!(view, offset + offsets[i]!, endian);
    Object.defineProperty(value, RAW, { value: new Uint8Array(view.buffer, view.byteOffset + offset, size), enumerable: false });
    return value as Decoded<F>;
  };
  const decodeInCopy = (view: DataView, offset: number, endian: Endian): Decoded<F> => {
    inRange(view, offset);
    return fill(view, offset, endian);
  };
  const decode = (view: DataView, offset: number, endian: Endian): Decoded<F> => {
    inRange(view, offset);
    return fill(new DataView(view.buffer.slice(view.byteOffset + offset, view.byteOffset + offset + size)), 0, endian);
  };

  const encode = (view: DataView, offset: number, value: Decoded<F>, endian: Endian): void => {
    const raw = (value as Record<symbol, Uint8Array | undefined>)[RAW];
    const target = new Uint8Array(view.buffer, view.byteOffset + offset, size);
    if (raw) target.set(raw);
    else target.fill(0);
    for (const [name, p] of entries) p.type.encode(view, offset + p.offset, (value as Record<string, unknown>)[name], endian);
  };

  const self: Struct<F> = {
    kind: label,
    size,
    fields,
    placed,
    decode,
    decodeInCopy,
    encode,
    at: (offset: number) => ({ type: self, offset }),
    decodeFrom(buf, offset = 0, opts = {}) {
      return decode(viewOf(buf), offset, opts.endian ?? 'le');
    },
    pick(buf, wanted, opts = {}) {
      const view = viewOf(buf);
      inRange(view, 0);
      const endian = opts.endian ?? 'le';
      const value = {} as Record<string, unknown>;
      for (const name of wanted) value[name] = placed[name]!.type.decode(view, placed[name]!.offset, endian);
      return value as Pick<Decoded<F>, (typeof wanted)[number]>;
    },
    encodeToBytes(value, opts = {}) {
      const out = new Uint8Array(size);
      encode(viewOf(out), 0, value, opts.endian ?? 'le');
      return out;
    },
    zero() {
      return decode(viewOf(new Uint8Array(size)), 0, 'le');
    },
    offsetOf(name) {
      const f = placed[name];
      if (!f) throw new Error(`${label} has no field ${name}`);
      return f.offset;
    },
  };
  return self;
}

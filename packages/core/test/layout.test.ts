import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  array,
  bytes,
  cString,
  exactNumber,
  i8,
  i32le,
  join64,
  struct,
  toBytes,
  u16,
  u16be,
  u16le,
  u32,
  u32be,
  u32le,
  u64,
  u64be,
  u64le,
  u8,
  type Endian,
  type FieldType,
} from '../src/index.js';

const sub = struct({ a: u8.at(0), b: u32le.at(4) }, { size: 8, name: 'sub' });
const demo = struct(
  {
    magic: u32le.at(0x00),
    be: u16be.at(0x04),
    any16: u16.at(0x06),
    any32: u32.at(0x08),
    big: u64.at(0x10),
    bigBe: u64be.at(0x18),
    name: bytes(8).at(0x20),
    list: array(u32le, 3).at(0x28),
    signed: i8.at(0x34),
    nested: array(sub, 2).at(0x38),
  },
  { size: 0x50, name: 'demo' },
);

describe('declarative layouts', () => {
  it('decode then encode gives back any bytes, in either byte order (gaps included)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0x50, maxLength: 0x50 }), fc.constantFrom('le' as const, 'be' as const), (b, endian) => {
        expect(demo.encodeToBytes(demo.decodeFrom(b, 0, { endian }), { endian })).toEqual(b);
      }),
    );
  });

  it('reads fields at their declared offsets with their declared byte order', () => {
    const b = new Uint8Array(0x50);
    const v = new DataView(b.buffer);
    v.setUint32(0, 0x5a7816f3, true);
    v.setUint16(4, 0x1234, false);
    v.setUint16(6, 0xabcd, false);
    v.setBigUint64(0x18, 0x0102030405060708n, false);
    b.set(toBytes('NVIDIA', 8), 0x20);
    v.setUint32(0x2c, 7, true);
    v.setInt8(0x34, -2);
    v.setUint32(0x38 + 8 + 4, 99, true);
    const le = demo.decodeFrom(b);
    expect(le.magic).toBe(0x5a7816f3);
    expect(le.be).toBe(0x1234);
    expect(le.any16).toBe(0xcdab);
    expect(demo.decodeFrom(b, 0, { endian: 'be' }).any16).toBe(0xabcd);
    expect(le.bigBe).toBe(0x0102030405060708n);
    expect(cString(le.name)).toBe('NVIDIA');
    expect(le.list).toEqual([0, 7, 0]);
    expect(le.signed).toBe(-2);
    expect(le.nested[1]).toEqual({ a: 0, b: 99 });
  });

  it('an edited value encodes the change and keeps every other byte', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0x50, maxLength: 0x50 }), fc.integer({ min: 0, max: 0xffffffff }), (b, x) => {
        const value = demo.decodeFrom(b);
        value.any32 = x;
        const out = demo.encodeToBytes(value);
        expect(new DataView(out.buffer).getUint32(0x08, true)).toBe(x);
        expect([...out.slice(0, 8), ...out.slice(12)]).toEqual([...b.slice(0, 8), ...b.slice(12)]);
      }),
    );
  });

  it('refuses overlapping fields and fields past the end when declared', () => {
    expect(() => struct({ a: u32le.at(0), b: u8.at(3) }, { size: 8, name: 'bad' })).toThrow(/bad\.b at 0x3 overlaps a/);
    expect(() => struct({ a: u32le.at(6) }, { size: 8, name: 'short' })).toThrow(/runs past the size/);
  });

  it('a buffer shorter than the structure is a RangeError, not garbage', () => {
    expect(() => demo.decodeFrom(new Uint8Array(0x4f))).toThrow(RangeError);
  });

  it('the field table lists fields in offset order with sizes', () => {
    expect(demo.fields.map((f) => [f.name, f.offset, f.size])).toEqual([
      ['magic', 0, 4], ['be', 4, 2], ['any16', 6, 2], ['any32', 8, 4], ['big', 0x10, 8], ['bigBe', 0x18, 8],
      ['name', 0x20, 8], ['list', 0x28, 12], ['signed', 0x34, 1], ['nested', 0x38, 16],
    ]);
  });
});

/** Every integer field type with its width, signedness and fixed byte order (none: the codec's). */
const INTEGERS: readonly { type: FieldType<number>; bytes: number; signed: boolean; endian?: Endian }[] = [
  { type: u8, bytes: 1, signed: false },
  { type: i8, bytes: 1, signed: true },
  { type: u16, bytes: 2, signed: false },
  { type: u16le, bytes: 2, signed: false, endian: 'le' },
  { type: u16be, bytes: 2, signed: false, endian: 'be' },
  { type: u32, bytes: 4, signed: false },
  { type: u32le, bytes: 4, signed: false, endian: 'le' },
  { type: u32be, bytes: 4, signed: false, endian: 'be' },
  { type: i32le, bytes: 4, signed: true, endian: 'le' },
];
const WIDE: readonly { type: FieldType<bigint>; endian?: Endian }[] = [{ type: u64 }, { type: u64le, endian: 'le' }, { type: u64be, endian: 'be' }];
const endians = fc.constantFrom<Endian>('le', 'be');

/** The value of `bytes` read as an integer in `endian` order, by arithmetic on the bytes (the independent truth). */
function byHand(b: Uint8Array, endian: Endian, signed = false): bigint {
  const ordered = endian === 'le' ? [...b].reverse() : [...b];
  const unsigned = ordered.reduce((acc, byte) => acc * 256n + BigInt(byte), 0n);
  const bits = BigInt(8 * b.length);
  return signed && unsigned >= 1n << (bits - 1n) ? unsigned - (1n << bits) : unsigned;
}

function codec<T>(type: FieldType<T>, size: number) {
  const one = struct({ v: type.at(0) }, { size, name: type.kind });
  return {
    decode: (b: Uint8Array, endian: Endian) => one.decodeFrom(b, 0, { endian }).v,
    encode: (v: T, endian: Endian) => one.encodeToBytes({ v } as never, { endian }),
  };
}

describe('field types', () => {
  for (const { type, bytes: n, signed, endian: fixed } of INTEGERS) {
    const c = codec(type, n);
    it(`${type.kind}: decodes any bytes to the value they hold and encodes it back to the same bytes`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: n, maxLength: n }), endians, (b, endian) => {
          const v = c.decode(b, endian);
          expect(BigInt(v)).toBe(byHand(b, fixed ?? endian, signed));
          expect(c.encode(v, endian)).toEqual(b);
        }),
        { numRuns: 500 },
      );
    });
    it(`${type.kind}: every value of its range encodes and decodes to itself; others are refused, not wrapped`, () => {
      const bits = 8 * n;
      const [min, max] = signed ? [-(2 ** (bits - 1)), 2 ** (bits - 1) - 1] : [0, 2 ** bits - 1];
      fc.assert(
        fc.property(fc.integer({ min, max }), endians, (x, endian) => {
          expect(c.decode(c.encode(x, endian), endian)).toBe(x);
        }),
        { numRuns: 500 },
      );
      for (const bad of [2 ** bits, -(2 ** (bits - 1)) - 1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
        expect(() => c.encode(bad, 'le'), String(bad)).toThrow(RangeError);
      }
    });
  }

  for (const { type, endian: fixed } of WIDE) {
    const c = codec(type, 8);
    it(`${type.kind}: decodes any 8 bytes to their exact value (past 2^53 too) and encodes them back`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 8, maxLength: 8 }), endians, (b, endian) => {
          const v = c.decode(b, endian);
          expect(v).toBe(byHand(b, fixed ?? endian));
          expect(c.encode(v, endian)).toEqual(b);
        }),
        { numRuns: 500 },
      );
    });
    it(`${type.kind}: every value up to 2^64 - 1 round-trips exactly, the edges around 2^53 included; wider ones are refused`, () => {
      const edges = [0n, 1n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n].map((x) => fc.constant(x));
      fc.assert(
        fc.property(fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), ...edges), endians, (x, endian) => {
          const b = c.encode(x, endian);
          expect(c.decode(b, endian)).toBe(x);
          expect(byHand(b, fixed ?? endian)).toBe(x);
        }),
        { numRuns: 1000 },
      );
      expect(() => c.encode(2n ** 64n, 'le')).toThrow(RangeError);
      expect(() => c.encode(-(2n ** 63n) - 1n, 'le')).toThrow(RangeError);
      // Two's complement, as for the narrower fields: -1 is all ones.
      expect(c.decode(c.encode(-1n, 'le'), 'le')).toBe(2n ** 64n - 1n);
    });
  }

  it('u32 halves join into the exact 64-bit value, and exactNumber gives a number only below 2^53', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }), (high, low) => {
        const b = new Uint8Array(8);
        new DataView(b.buffer).setUint32(0, low, true);
        new DataView(b.buffer).setUint32(4, high, true);
        const v = join64(high, low);
        expect(v).toBe(byHand(b, 'le'));
        const n = exactNumber(v);
        if (v < 2n ** 53n) expect(n !== undefined && BigInt(n)).toBe(v);
        else expect(n).toBeUndefined();
      }),
      { numRuns: 1000 },
    );
    expect(exactNumber(2n ** 53n - 1n)).toBe(Number.MAX_SAFE_INTEGER);
    expect(exactNumber(2n ** 53n)).toBeUndefined();
    expect(exactNumber(-1n)).toBeUndefined();
  });

  it('arrays and nested structures of every type decode and encode any bytes back, in either byte order', () => {
    const all = struct(
      Object.fromEntries([
        ...INTEGERS.map(({ type }, i) => [`n${i}`, array(type, 2).at(i * 8)]),
        ...WIDE.map(({ type }, i) => [`w${i}`, array(type, 2).at(0x50 + i * 16)]),
        ['raw', bytes(5).at(0x80)],
        ['inner', array(struct({ a: u64be.at(0), b: i8.at(9) }, { size: 12, name: 'inner' }), 2).at(0x88)],
      ]),
      { size: 0xa8, name: 'all' },
    );
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0xa8, maxLength: 0xa8 }), endians, (b, endian) => {
        expect(all.encodeToBytes(all.decodeFrom(b, 0, { endian }), { endian })).toEqual(b);
      }),
      { numRuns: 300 },
    );
  });

  it('a decoded value owns its bytes: nested structures keep the bytes as read after the buffer changes', () => {
    const entry = struct({ id: u8.at(0) }, { size: 4, name: 'entry' });
    const outer = struct({ magic: u32le.at(0), log: array(entry, 3).at(4) }, { size: 16, name: 'outer' });
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ minLength: 16, maxLength: 16 }), (b, later) => {
        const buf = new Uint8Array(b);
        const value = outer.decodeFrom(buf);
        buf.set(later);
        // The undeclared bytes of every entry (1-3) come from the copy made at decode, not from the buffer now.
        expect(outer.encodeToBytes(value)).toEqual(b);
        expect(entry.encodeToBytes(value.log[2]!)).toEqual(b.subarray(12, 16));
        // An entry edited and put back changes its own field only.
        value.log[1]!.id = (b[8]! + 1) & 0xff;
        const edited = outer.encodeToBytes(value);
        expect(edited[8]).toBe((b[8]! + 1) & 0xff);
        expect([...edited.subarray(0, 8), ...edited.subarray(9)]).toEqual([...b.subarray(0, 8), ...b.subarray(9)]);
      }),
      { numRuns: 200 },
    );
  });

  it('pick decodes only the fields named, with the values decodeFrom gives them', () => {
    const layout = struct({ magic: u32be.at(0), count: u16.at(4), name: bytes(4).at(8) }, { size: 12, name: 'picked' });
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 12, maxLength: 16 }), endians, (b, endian) => {
        const picked = layout.pick(b, ['magic', 'count'], { endian });
        const whole = layout.decodeFrom(b, 0, { endian });
        expect(picked).toEqual({ magic: whole.magic, count: whole.count });
      }),
    );
    expect(() => layout.pick(new Uint8Array(11), ['magic'])).toThrow(RangeError);
  });
});

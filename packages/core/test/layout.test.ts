import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { array, bytes, cString, i8, struct, toBytes, u16, u16be, u32, u32le, u64, u64be, u8 } from '../src/index.js';

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

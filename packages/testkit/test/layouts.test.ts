// Every binary layout every format package exports, found by its shape (a new format is covered without
// being listed): any bytes decode and encode back byte-identically in either byte order, and every 64-bit
// field decodes to the exact unsigned value of its eight bytes.
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Struct } from '@dmraid/core';

const packagesDir = fileURLToPath(new URL('../../', import.meta.url));
const formats = readdirSync(packagesDir).filter((d) => d.startsWith('format-'));

const isStruct = (x: unknown): x is Struct<any> =>
  typeof x === 'object' && x !== null && Array.isArray((x as Struct<any>).fields) && typeof (x as Struct<any>).decodeFrom === 'function' && typeof (x as Struct<any>).encodeToBytes === 'function';

/** The bytes as an unsigned integer, most significant first per `endian`, by arithmetic. */
const byHand = (b: Uint8Array, little: boolean) => (little ? [...b].reverse() : [...b]).reduce((acc, x) => acc * 256n + BigInt(x), 0n);

describe('format layouts', async () => {
  for (const dir of formats) {
    const mod = (await import(`@dmraid/${dir}`)) as Record<string, unknown>;
    const layouts = Object.entries(mod).filter((e): e is [string, Struct<any>] => isStruct(e[1]));
    it(`${dir} exports its layouts`, () => expect(layouts.length).toBeGreaterThan(0));
    for (const [name, layout] of layouts) {
      it(`${dir} ${name}: any ${layout.size} bytes decode and encode back unchanged, 64-bit fields exact`, () => {
        const wide = layout.fields.filter((f) => /^u64(le|be)?$/.test(f.kind));
        fc.assert(
          fc.property(fc.uint8Array({ minLength: layout.size, maxLength: layout.size }), fc.constantFrom('le' as const, 'be' as const), (b, endian) => {
            const value = layout.decodeFrom(b, 0, { endian });
            expect(layout.encodeToBytes(value, { endian })).toEqual(b);
            for (const f of wide) {
              const little = f.kind === 'u64le' || (f.kind === 'u64' && endian === 'le');
              expect(value[f.name], f.name).toBe(byHand(b.subarray(f.offset, f.offset + 8), little));
            }
          }),
          { numRuns: 200 },
        );
      });
    }
  }
});

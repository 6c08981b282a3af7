import { describe, expect, it } from 'vitest';
import {
  blockReader,
  bufferLog,
  memoryDevice,
  readContext,
  sparseDevice,
  struct,
  u8,
  u32le,
  writeMetadata,
  type BlockReader,
  type StructValue,
} from '../src/index.js';

const MAGIC = 0x1badcafe;
const toyLayout = struct({ magic: u32le.at(0x00), sum: u8.at(0x04), sectors: u32le.at(0x08), id: u8.at(0x0c) }, { size: 0x10, name: 'toy' });
type Toy = StructValue<typeof toyLayout>;

/** The byte sum of everything but the sum itself, as a one-byte checksum. */
const toySum = (raw: Uint8Array) => raw.reduce((s, b, i) => (i === 4 ? s : (s + b) & 0xff), 0);

function block(fields: Partial<Toy>): Uint8Array {
  const t = Object.assign(toyLayout.zero(), { magic: MAGIC, sectors: 100, id: 7 }, fields);
  const raw = toyLayout.encodeToBytes(t);
  if (fields.sum === undefined) raw[4] = toySum(raw);
  return raw;
}

/** A disk of `sizeSectors` with `raw` at `sector`. */
function disk(sizeSectors: number, sector: number, raw: Uint8Array, path = '/dev/sdx') {
  const bytes = new Uint8Array(sizeSectors * 512);
  bytes.set(raw, sector * 512);
  return memoryDevice(path, bytes);
}

const reader = (over: Partial<BlockReader<Toy>> = {}): BlockReader<Toy> => ({
  layout: toyLayout,
  at: { fromEnd: 3 },
  isOurs: (t) => t.magic === MAGIC,
  checksum: { valid: (t, raw) => toySum(raw) === t.sum, message: 'bad checksum' },
  member: ({ meta }) => ({ name: `toy_${meta.id}`, type: 'raid1', status: 'ok', sectors: meta.sectors }),
  ...over,
});

async function read(r: BlockReader<Toy>, device: ReturnType<typeof disk>) {
  const { log, lines } = bufferLog();
  const rds = await blockReader(r)(device, readContext('toy', log));
  return { rds, messages: lines.map((l) => `${l.level}: ${l.text}`) };
}

describe('blockReader: the read path of a one-block format', () => {
  it('describes the member from the block at N-k: the context names the format, the block as read is the area', async () => {
    const raw = block({ id: 9 });
    const { rds, messages } = await read(reader(), disk(64, 61, raw));
    expect(messages).toEqual([]);
    expect(rds).toHaveLength(1);
    const [rd] = rds;
    expect(rd).toMatchObject({ format: 'toy', name: 'toy_9', type: 'raid1', status: 'ok', offset: 0, sectors: 100 });
    expect(rd!.device.path).toBe('/dev/sdx');
    expect(rd!.areas).toEqual([{ offsetSectors: 61, size: 0x10, data: raw }]);
    expect(rd!.meta.id).toBe(9);
    expect('position' in rd!).toBe(false);
  });

  it('reads an absolute sector and passes the member offset and position through', async () => {
    const r = reader({ at: { sector: 9 }, member: ({ meta, sector }) => ({ name: 'toy', type: 'raid0', status: 'broken', offset: sector + 1, sectors: meta.sectors, position: 2 }) });
    const { rds } = await read(r, disk(64, 9, block({})));
    expect(rds[0]).toMatchObject({ offset: 10, position: 2, status: 'broken', areas: [{ offsetSectors: 9 }] });
  });

  it('gives the member the sector the block was read from', async () => {
    const r = reader({ member: ({ sector }) => ({ name: 'toy', type: 'linear', status: 'ok', sectors: sector }) });
    const { rds } = await read(r, disk(64, 61, block({})));
    expect(rds[0]!.sectors).toBe(61);
  });

  it('says nothing about a block that is not its own', async () => {
    expect(await read(reader(), disk(64, 61, block({ magic: MAGIC + 1 })))).toEqual({ rds: [], messages: [] });
    expect(await read(reader(), disk(64, 60, block({})))).toEqual({ rds: [], messages: [] });
  });

  it('reports a checksum that fails identification, without the setting-up line', async () => {
    const { rds, messages } = await read(reader(), disk(64, 61, block({ sum: 1 })));
    expect(rds).toEqual([]);
    expect(messages).toEqual(['error: toy: bad checksum on /dev/sdx']);
  });

  it('reports a checksum that fails setting up, then dmraid\'s setting-up line', async () => {
    const r = reader({ checksum: { valid: () => false, message: 'checksum error', failsSetup: true } });
    const { rds, messages } = await read(r, disk(64, 61, block({})));
    expect(rds).toEqual([]);
    expect(messages).toEqual(['error: toy: checksum error on /dev/sdx', 'error: toy: setting up RAID device /dev/sdx']);
  });

  it('with identifiedBy, isOurs sees only those fields and a foreign block is never decoded whole', async () => {
    const seen: object[] = [];
    let whole = 0;
    const layout = { ...toyLayout, decodeFrom: (buf: Uint8Array) => (whole++, toyLayout.decodeFrom(buf)) };
    const r = reader({ layout, identifiedBy: ['magic'], isOurs: (t) => (seen.push({ ...t }), t.magic === MAGIC) });
    expect(await read(r, disk(64, 61, block({ magic: MAGIC + 1 })))).toEqual({ rds: [], messages: [] });
    expect([seen, whole]).toEqual([[{ magic: MAGIC + 1 }], 0]);
    // Its own block is then decoded whole: the checksum and the member see every field.
    const { rds, messages } = await read(r, disk(64, 61, block({ id: 5 })));
    expect(messages).toEqual([]);
    expect([rds[0]!.meta, whole]).toEqual([toyLayout.decodeFrom(block({ id: 5 })), 1]);
    expect((await read(r, disk(64, 61, block({ sum: 1 })))).messages).toEqual(['error: toy: bad checksum on /dev/sdx']);
  });

  it('checks the magic before the checksum: a foreign block with a bad sum is silent', async () => {
    expect((await read(reader(), disk(64, 61, block({ magic: 0, sum: 1 })))).messages).toEqual([]);
  });

  it('reports a zero data length, then dmraid\'s setting-up line', async () => {
    const { rds, messages } = await read(reader(), disk(64, 61, block({ sectors: 0 })));
    expect(rds).toEqual([]);
    expect(messages).toEqual(['error: toy: zero sectors on /dev/sdx', 'error: toy: setting up RAID device /dev/sdx']);
  });

  it('lets the member log before the zero-length check', async () => {
    const r = reader({
      member: ({ meta }, _device, ctx) => {
        ctx.log('info', 'toy: noted');
        return { name: 'toy', type: 'raid0', status: 'ok', sectors: meta.sectors };
      },
    });
    expect((await read(r, disk(64, 61, block({ sectors: 0 })))).messages).toEqual([
      'info: toy: noted',
      'error: toy: zero sectors on /dev/sdx',
      'error: toy: setting up RAID device /dev/sdx',
    ]);
  });

  it('seeks past the end of a disk shorter than the distance from its end, as dmraid\'s unsigned arithmetic does', async () => {
    const { rds, messages } = await read(reader(), disk(2, 0, new Uint8Array(0)));
    expect(rds).toEqual([]);
    expect(messages).toEqual([`error: toy: seeking device "/dev/sdx" to ${2n ** 64n - 512n}`]);
  });
});

describe('writeMetadata: the default write', () => {
  it('puts every area back as read, and zeros with erase', async () => {
    const raw = block({ id: 3 });
    const [rd] = (await read(reader(), disk(64, 61, raw))).rds;
    const { log } = bufferLog();
    const to = sparseDevice('/dev/sdy', 64);
    const ctx = { format: 'toy', log, error: () => undefined, openWritable: async () => to };
    expect(await writeMetadata(rd!, to, ctx, false)).toBe(true);
    expect(await to.read(61 * 512, 0x10)).toEqual(raw);
    expect(await writeMetadata(rd!, to, ctx, true)).toBe(true);
    expect(await to.read(61 * 512, 0x10)).toEqual(new Uint8Array(0x10));
  });
});

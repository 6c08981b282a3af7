import { describe, expect, it } from 'vitest';
import { confirmCreate, createSummaryLines, isIoError, memoryDevice, refuseMembers, writeMembers, type BlockDevice, type RaidDevice, type WritableDevice, type WriteContext } from '../src/index.js';

function context(devices: readonly WritableDevice[], answer?: boolean) {
  const printed: string[] = [];
  const errors: string[] = [];
  const asked: string[] = [];
  const ctx: WriteContext = {
    format: 'toy',
    log: (level, text) => void (level === 'print' && printed.push(text)),
    error: (text) => void errors.push(text),
    openWritable: async (path) => devices.find((d) => d.path === path),
    ...(answer === undefined
      ? {}
      : {
          confirm: async (q: string) => {
            asked.push(q);
            return answer;
          },
        }),
  };
  return { ctx, printed, errors, asked };
}

const QUESTION = 'About to create a RAID set with the above settings. Continue ? [y/n] :';

describe('createSummaryLines', () => {
  it("prints dmraid's isw summary block: header in capitals, size in whole MiB, strip in k and blocks", () => {
    expect(createSummaryLines({ format: 'hpt37x', name: 'hpt37x_abc (note)', type: 'RAID0', sizeSectors: 409600, stripSectors: 128, disks: [{ path: 'a.img' }, { path: 'b.img' }] })).toEqual([
      '',
      '',
      '     Create a RAID set with HPT37X metadata format     ',
      '',
      'RAID name:      hpt37x_abc (note)',
      'RAID type:      RAID0',
      'RAID size:      200M (409600 blocks)',
      'RAID strip:     64k (128 blocks)',
      'DISKS:     a.img, b.img, ',
      '',
      '',
    ]);
  });

  it('leaves out the strip line without a stripe size and shows whole GiB when asked (isw)', () => {
    const lines = createSummaryLines({ format: 'isw', name: 'Vol', type: 'RAID1', sizeSectors: 3 * 2 ** 21 - 1, sizeUnit: 'G', disks: [{ path: 'x' }] });
    expect(lines.filter((l) => l.startsWith('RAID'))).toEqual(['RAID name:      Vol', 'RAID type:      RAID1', `RAID size:      2G (${3 * 2 ** 21 - 1} blocks)`]);
    expect(lines[2]).toBe('     Create a RAID set with ISW metadata format     ');
  });
});

describe('confirmCreate', () => {
  const summary = { format: 'toy', name: 'n', type: 'RAID1', sizeSectors: 2048, disks: [{ path: 'a' }] };
  it("prints the summary, then asks dmraid's question and returns the answer", async () => {
    const no = context([], false);
    expect(await confirmCreate(no.ctx, summary)).toBe(false);
    expect(no.printed).toEqual(createSummaryLines(summary));
    expect(no.asked).toEqual([QUESTION]);
    expect(await confirmCreate(context([], true).ctx, summary)).toBe(true);
  });
  it('goes on without a prompt (library use)', async () => {
    expect(await confirmCreate(context([]).ctx, summary)).toBe(true);
  });
});

describe('refuseMembers', () => {
  const a = memoryDevice('a.img', new Uint8Array(4096));
  const b = memoryDevice('b.img', new Uint8Array(4096));
  it('names the first disk already in a set of the format, with the command that erases it', async () => {
    const { ctx, errors } = context([]);
    const read = async (d: BlockDevice) => (d === b ? [{ name: 'toy_set' } as RaidDevice] : []);
    expect(await refuseMembers(ctx, 'toy', [a, b], read)).toBe(false);
    expect(errors).toEqual(['b.img is a member of toy set toy_set; erase it first (dmraid -r -E -f toy b.img)']);
  });
  it('lets free disks through without a word', async () => {
    const { ctx, errors } = context([]);
    expect(await refuseMembers(ctx, 'toy', [a, b], async () => [])).toBe(true);
    expect(errors).toEqual([]);
  });
});

describe('writeMembers', () => {
  const bytes = (n: number, v: number) => new Uint8Array(n).fill(v);
  it("writes every area of every member at its offset", async () => {
    const a = memoryDevice('a.img', new Uint8Array(4096));
    const b = memoryDevice('b.img', new Uint8Array(4096));
    const { ctx, errors } = context([a, b]);
    const ok = await writeMembers(ctx, [
      { path: 'a.img', areas: [{ offsetBytes: 512, data: bytes(4, 1) }, { offsetBytes: 3584, data: bytes(2, 2) }] },
      { path: 'b.img', areas: [{ offsetBytes: 0, data: bytes(3, 3) }] },
    ]);
    expect([ok, errors]).toEqual([true, []]);
    const readA = await a.read(0, 4096);
    const readB = await b.read(0, 8);
    if (isIoError(readA) || isIoError(readB)) throw new Error('read');
    expect([...readA.subarray(510, 518)]).toEqual([0, 0, 1, 1, 1, 1, 0, 0]);
    expect([...readA.subarray(3584, 3587)]).toEqual([2, 2, 0]);
    expect([...readB]).toEqual([3, 3, 3, 0, 0, 0, 0, 0]);
  });
  it('stops at the first failed write, naming the device, and writes no later member', async () => {
    const a = memoryDevice('a.img', new Uint8Array(1024));
    const b = memoryDevice('b.img', new Uint8Array(1024));
    const { ctx, errors } = context([a, b]);
    const ok = await writeMembers(ctx, [
      { path: 'a.img', areas: [{ offsetBytes: 4096, data: bytes(4, 1) }] },
      { path: 'b.img', areas: [{ offsetBytes: 0, data: bytes(4, 1) }] },
    ]);
    expect(ok).toBe(false);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^writing metadata to a\.img: /);
    expect(await b.read(0, 4)).toEqual(new Uint8Array(4));
  });
  it('stops when a member does not open, leaving the report to the context', async () => {
    const b = memoryDevice('b.img', new Uint8Array(1024));
    const { ctx, errors } = context([b]);
    expect(await writeMembers(ctx, [{ path: 'gone.img', areas: [] }, { path: 'b.img', areas: [{ offsetBytes: 0, data: bytes(4, 9) }] }])).toBe(false);
    expect(errors).toEqual([]);
    expect(await b.read(0, 4)).toEqual(new Uint8Array(4));
  });
});

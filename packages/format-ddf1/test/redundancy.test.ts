// A member's failure and its rebuild in the DDF tables (handler failed, rebuild, rebuilt), on sets made by
// -C in memory: what each writes into every table and both copies, in mdadm's CRC, and what it refuses.
// mdadm's own reading of the result is in test/mdadm.test.ts and packages/cli/test/rebuild-ddf1.test.ts.
import { describe, expect, it } from 'vitest';
import { bufferLog, buildSets, findSet, readContext, sparseDevice, type BlockDevice, type RaidDevice, type RaidSet, type WriteContext } from '@dmraid/core';
import ddf1, { crcStyleOf, metadataAreas, readDdf1, tableCrc, updateCrcs, type Ddf1 } from '../src/index.js';

const SECTORS = 32768;
type Disk = ReturnType<typeof sparseDevice>;

function writeContext(devs: readonly Disk[]) {
  const { log, lines } = bufferLog();
  const ctx: WriteContext = {
    format: 'ddf1',
    log,
    error: (t) => log('error', t),
    openWritable: async (p) => devs.find((d) => d.path === p),
  };
  return {
    ctx,
    lines,
    errors: () => lines.filter((l) => l.level === 'error').map((l) => l.text),
  };
}

async function made(level: string, n: number, extra = 0): Promise<Disk[]> {
  const devs = Array.from({ length: n + extra }, (_, i) => sparseDevice(`/dev/sd${String.fromCharCode(97 + i)}`, SECTORS, `S${i}`));
  expect(await ddf1.create!({ name: 'Vol', level, devices: devs.slice(0, n) }, writeContext(devs).ctx)).toBe(true);
  return devs;
}

async function setsOf(devs: readonly BlockDevice[]): Promise<{ sets: RaidSet[]; rds: RaidDevice[] }> {
  const rds: RaidDevice[] = [];
  for (const d of devs)
    rds.push(
      ...(await ddf1.read(
        d,
        readContext('ddf1', () => undefined)
      ))
    );
  return {
    sets: buildSets(rds, { handlers: [ddf1], log: () => undefined }),
    rds,
  };
}

const tables = async (dev: BlockDevice) =>
  (await readDdf1(
    dev,
    readContext('ddf1', () => undefined)
  ))!;
const pdState = (d: Ddf1, of: Ddf1) => d.pds.find((p) => p.reference === of.diskData.value.reference)?.state;
const vdState = (d: Ddf1) => d.vds[0]!.state & 7;
const snapshot = (d: Disk) => new Map([...d.sectors].map(([k, v]) => [k, new Uint8Array(v)]));

/** Every table the disk's header in use and its secondary name, each with mdadm's CRC, both copies alike. */
async function expectSealed(dev: BlockDevice, d: Ddf1) {
  for (const t of [d.anchor, d.header, d.secondary!, d.pdHeader, d.vdHeader, d.diskData]) expect(tableCrc(t.raw, 4, 'mdadm')).toBe(t.value.crc);
  const h = d.header.value;
  const s = d.secondary!.value;
  for (const [off, off2, len] of [
    [h.phys_drive_offset, s.phys_drive_offset, h.phys_drive_len],
    [h.virt_drive_offset, s.virt_drive_offset, h.virt_drive_len],
    [h.config_record_offset, s.config_record_offset, h.config_record_len],
  ] as const) {
    const a = await dev.read((d.header.lba + off) * 512, len * 512);
    const b = await dev.read((d.secondary!.lba + off2) * 512, len * 512);
    expect(b).toEqual(a);
  }
  expect(s.seqnum).toBe(h.seqnum);
}

describe('ddf1 failed: a member failure in the survivors tables', () => {
  for (const [level, n, want] of [
    ['1', 2, 1],
    ['5', 3, 1],
    ['0', 2, 4],
  ] as const) {
    it(`RAID${level} over ${n}: the failed PD Failed, the VD ${
      want === 1 ? 'degraded' : 'failed'
    }, sequence numbers up, the failed disk untouched`, async () => {
      const devs = await made(level, n);
      const before = await tables(devs[0]!);
      const gone = await tables(devs[1]!);
      const untouched = snapshot(devs[1]!);
      const { sets } = await setsOf(devs);
      const w = writeContext(devs);
      expect(await ddf1.failed!(sets[0]!, devs[1]!, w.ctx)).toBe(true);
      expect(w.errors()).toEqual([]);
      expect(snapshot(devs[1]!)).toEqual(untouched);
      for (const dev of devs.filter((_, i) => i !== 1)) {
        const d = await tables(dev);
        // mdadm sets Failed beside Online (ddf_set_disk: "Online -> failed, just set failed flag").
        expect(pdState(d, gone)).toBe(0x03);
        expect(pdState(d, d)).toBe(0x01);
        expect(vdState(d)).toBe(want);
        expect(d.header.value.seqnum).toBe(before.header.value.seqnum + 1);
        const record = d.records.find((r) => r.kind === 'vd')!;
        expect(record.kind === 'vd' && record.cr.seqnum).toBe(2);
        await expectSealed(dev, d);
      }
      // Read again, the failed disk's older tables make it stale; the set goes on without it.
      const { rds } = await setsOf(devs);
      const stale = rds.filter((rd) => rd.stale !== undefined).map((rd) => rd.device.path);
      expect(new Set(stale)).toEqual(new Set(['/dev/sdb']));
    });
  }

  it('a second report of the same failure writes nothing', async () => {
    const devs = await made('1', 2);
    const { sets } = await setsOf(devs);
    expect(await ddf1.failed!(sets[0]!, devs[1]!, writeContext(devs).ctx)).toBe(true);
    const once = snapshot(devs[0]!);
    // Read anew: the failed disk is a stale member now, its failure on record.
    const again = await setsOf(devs);
    const w = writeContext(devs);
    expect(await ddf1.failed!(again.sets[0]!, devs[1]!, w.ctx)).toBe(true);
    expect(w.errors()).toEqual([]);
    expect(snapshot(devs[0]!)).toEqual(once);
  });

  it('refuses a device that is no member of the set', async () => {
    const devs = await made('1', 2, 1);
    const { sets } = await setsOf(devs);
    const w = writeContext(devs);
    expect(await ddf1.failed!(sets[0]!, devs[2]!, w.ctx)).toBe(false);
    expect(w.errors()).toEqual(['/dev/sdc is no member of RAID set ".ddf1_disks"']);
  });
});

describe('ddf1 rebuild and rebuilt', () => {
  /** A set with disk 1 gone: the survivors alone, read. */
  async function withoutSecond(level: string, n: number) {
    const devs = await made(level, n, 1);
    const blank = devs[n]!;
    const survivors = devs.filter((_, i) => i !== 1 && i !== n);
    const { sets } = await setsOf(survivors);
    return { devs, blank, survivors, set: findSet(sets, 'ddf1_Vol', true)! };
  }

  for (const [level, n] of [
    ['1', 2],
    ['5', 3],
  ] as const) {
    it(`RAID${level}: a blank disk takes the missing member's place, Rebuilding, the VD degraded; rebuilt makes it Online and the VD optimal`, async () => {
      const { devs, blank, survivors, set } = await withoutSecond(level, n);
      const gone = await tables(devs[1]!);
      const w = writeContext(devs);
      expect(await ddf1.rebuild!(set, blank, w.ctx)).toBe(true);
      expect(w.errors()).toEqual([]);
      const mine = await tables(blank);
      expect(mine.diskData.value.reference).not.toBe(gone.diskData.value.reference);
      for (const dev of [...survivors, blank]) {
        const d = await tables(dev);
        expect(pdState(d, mine)).toBe(0x05);
        expect(pdState(d, gone)).toBeUndefined();
        expect(vdState(d)).toBe(1);
        const record = d.records.find((r) => r.kind === 'vd')!;
        expect(record.kind === 'vd' && record.ids[1]).toBe(mine.diskData.value.reference);
        await expectSealed(dev, d);
      }
      const { sets, rds } = await setsOf([...survivors, blank]);
      const onBlank = rds.filter((rd) => rd.device === blank && rd.volumeOf);
      expect(onBlank.map((rd) => rd.outOfSync !== undefined)).toEqual([true]);
      expect(onBlank[0]!.position).toBe(1);

      const after = findSet(sets, 'ddf1_Vol', true)!;
      const done = writeContext(devs);
      expect(await ddf1.rebuilt!(after, blank, done.ctx)).toBe(true);
      expect(done.errors()).toEqual([]);
      for (const dev of [...survivors, blank]) {
        const d = await tables(dev);
        expect(pdState(d, mine)).toBe(0x01);
        expect(vdState(d)).toBe(0);
        // Every stripe of the new member was written from the others: the VD is consistent.
        expect(d.vds[0]!.init_state & 3).toBe(2);
        await expectSealed(dev, d);
      }
      const final = await setsOf([...survivors, blank]);
      expect(final.rds.filter((rd) => rd.outOfSync !== undefined || rd.stale !== undefined)).toEqual([]);
      expect(findSet(final.sets, 'ddf1_Vol', true)!.status).toBe('ok');
    });
  }

  it('RAID6 two members short: a blank disk takes the first one\'s place, the second stays missing; rebuilt leaves the VD Partially Optimal, its init state as it was', async () => {
    const devs = await made('6', 5, 1);
    const blank = devs[5]!;
    const survivors = [devs[0]!, devs[2]!, devs[4]!];
    const [gone1, gone3] = [await tables(devs[1]!), await tables(devs[3]!)];
    const init = gone1.vds[0]!.init_state;
    const set = findSet((await setsOf(survivors)).sets, 'ddf1_Vol', true)!;
    const w = writeContext(devs);
    expect(await ddf1.rebuild!(set, blank, w.ctx)).toBe(true);
    expect(w.errors()).toEqual([]);
    const mine = await tables(blank);
    for (const dev of [...survivors, blank]) {
      const d = await tables(dev);
      const record = d.records.find((r) => r.kind === 'vd')!;
      expect(record.kind === 'vd' && [record.ids[1], record.ids[3]]).toEqual([mine.diskData.value.reference, gone3.diskData.value.reference]);
      expect(pdState(d, mine)).toBe(0x05);
      // The second one, absent, is recorded Failed: not counted once DEV is in sync.
      expect(pdState(d, gone3)).toBe(0x03);
      expect(vdState(d)).toBe(1);
    }
    const { sets } = await setsOf([...survivors, blank]);
    expect(await ddf1.rebuilt!(findSet(sets, 'ddf1_Vol', true)!, blank, writeContext(devs).ctx)).toBe(true);
    for (const dev of [...survivors, blank]) {
      const d = await tables(dev);
      expect(pdState(d, mine)).toBe(0x01);
      expect(vdState(d)).toBe(5);
      // Rebuilt from P or Q, the new member agrees with the others; whether P and Q agree elsewhere is unknown.
      expect(d.vds[0]!.init_state).toBe(init);
    }
  });

  it('refuses a RAID5 two members short: its data is lost', async () => {
    const devs = await made('5', 4, 1);
    const set = findSet((await setsOf([devs[0]!, devs[2]!])).sets, 'ddf1_Vol', true)!;
    const w = writeContext(devs);
    expect(await ddf1.rebuild!(set, devs[4]!, w.ctx)).toBe(false);
    expect(w.errors()).toEqual(['RAID set "ddf1_Vol" misses 2 members: only one failed disk supported (two in a RAID6)']);
    expect(devs[4]!.sectors.size).toBe(0);
  });

  it('RAID10 (mdadm: one record per mirrored pair): only the pair of the missing disk changes, the VD degraded, then optimal', async () => {
    const { devs, blank, survivors, set } = await withoutSecond('10', 4);
    const gone = await tables(devs[1]!);
    expect(await ddf1.rebuild!(set, blank, writeContext(devs).ctx)).toBe(true);
    const mine = await tables(blank);
    for (const dev of [...survivors, blank]) {
      const d = await tables(dev);
      const pairs = d.records.flatMap((r) => (r.kind === 'vd' ? [r] : []));
      expect(pairs.map((r) => r.ids.includes(mine.diskData.value.reference))).toEqual([true, false]);
      expect(pairs.map((r) => r.cr.seqnum)).toEqual([2, 1]);
      expect(pairs.some((r) => r.ids.includes(gone.diskData.value.reference))).toBe(false);
      expect(vdState(d)).toBe(1);
    }
    const { sets } = await setsOf([...survivors, blank]);
    expect(await ddf1.rebuilt!(findSet(sets, 'ddf1_Vol', true)!, blank, writeContext(devs).ctx)).toBe(true);
    for (const dev of [...survivors, blank]) expect(vdState(await tables(dev))).toBe(0);
  });

  it('a larger blank disk gets the tables at its own end', async () => {
    const devs = await made('1', 2);
    const big = sparseDevice('/dev/sdz', SECTORS + 4096, 'BIG');
    const { sets } = await setsOf([devs[0]!]);
    expect(await ddf1.rebuild!(findSet(sets, 'ddf1_Vol', true)!, big, writeContext([...devs, big]).ctx)).toBe(true);
    const d = await tables(big);
    expect(d.anchor.lba).toBe(SECTORS + 4096 - 1);
    expect(Number(d.header.value.primary_table_lba)).toBe(d.header.lba);
    const { rds } = await setsOf([devs[0]!, big]);
    expect(rds.filter((rd) => rd.device === big && rd.volumeOf).map((rd) => [rd.offset, rd.sectors])).toEqual(
      rds.filter((rd) => rd.device === devs[0] && rd.volumeOf).map((rd) => [rd.offset, rd.sectors])
    );
  });

  it('refuses RAID0 (nothing to rebuild from), a set with no member missing, and no device', async () => {
    const r0 = await withoutSecond('0', 2);
    const w = writeContext(r0.devs);
    expect(await ddf1.rebuild!(r0.set, r0.blank, w.ctx)).toBe(false);
    expect(w.errors()).toEqual(['cannot rebuild onto /dev/sdc: "ddf1_Vol" has no redundancy, its data was on the missing disk']);
    expect(r0.blank.sectors.size).toBe(0);

    const devs = await made('1', 2, 1);
    const { sets } = await setsOf(devs.slice(0, 2));
    const whole = findSet(sets, 'ddf1_Vol', true)!;
    const w2 = writeContext(devs);
    expect(await ddf1.rebuild!(whole, devs[2]!, w2.ctx)).toBe(false);
    expect(w2.errors()).toEqual(['no member of RAID set "ddf1_Vol" is missing or failed: nothing to rebuild']);
    const w3 = writeContext(devs);
    expect(await ddf1.rebuild!(whole, undefined, w3.ctx)).toBe(false);
    expect(w3.errors()).toEqual(['no drive to rebuild']);
  });

  it('rebuilt refuses a disk that is not rebuilding', async () => {
    const devs = await made('1', 2);
    const { sets } = await setsOf(devs);
    const w = writeContext(devs);
    const before = snapshot(devs[0]!);
    expect(await ddf1.rebuilt!(findSet(sets, 'ddf1_Vol', true)!, devs[1]!, w.ctx)).toBe(false);
    expect(w.errors()).toEqual(['/dev/sdb is not rebuilding in RAID set "ddf1_Vol"']);
    expect(snapshot(devs[0]!)).toEqual(before);
  });

  it('after failed, the failed disk (still answering) is replaced', async () => {
    const devs = await made('1', 2, 1);
    const first = await setsOf(devs.slice(0, 2));
    expect(await ddf1.failed!(first.sets[0]!, devs[1]!, writeContext(devs).ctx)).toBe(true);
    const { sets } = await setsOf(devs.slice(0, 2));
    const w = writeContext(devs);
    expect(await ddf1.rebuild!(findSet(sets, 'ddf1_Vol', true)!, devs[2]!, w.ctx)).toBe(true);
    expect(w.errors()).toEqual([]);
    const d = await tables(devs[0]!);
    expect(d.header.value.seqnum).toBe(3);
    expect(vdState(d)).toBe(1);
  });
});

describe('ddf1 spare: a global spare of the container, then rebuilt onto', () => {
  it('-S SET -M DEV: DEV a Global Spare row in every table, no config record of its own; a rebuild takes it, the old row goes', async () => {
    const devs = await made('1', 2, 1);
    const spare = devs[2]!;
    const { sets } = await setsOf(devs.slice(0, 2));
    const w = writeContext(devs);
    expect(await ddf1.spare!(spare, findSet(sets, 'ddf1_Vol', true)!, w.ctx)).toBe(true);
    expect(w.errors()).toEqual([]);
    const mine = await tables(spare);
    expect(mine.records).toEqual([]);
    for (const dev of devs) {
      const d = await tables(dev);
      const row = d.pds.find((p) => p.reference === mine.diskData.value.reference)!;
      expect([row.type, row.state]).toEqual([0x04, 0x01]);
      expect(d.header.value.seqnum).toBe(2);
      await expectSealed(dev, d);
    }
    const all = await setsOf(devs);
    expect(all.rds.filter((rd) => rd.stale !== undefined)).toEqual([]);
    expect(all.rds.filter((rd) => rd.device === spare).map((rd) => [rd.type, rd.status])).toEqual([['group', 'ok']]);

    // Disk 1 dies; the spare takes its place.
    const gone = await tables(devs[1]!);
    const { sets: left } = await setsOf([devs[0]!, spare]);
    const r = writeContext(devs);
    expect(await ddf1.rebuild!(findSet(left, 'ddf1_Vol', true)!, spare, r.ctx)).toBe(true);
    expect(r.errors()).toEqual([]);
    for (const dev of [devs[0]!, spare]) {
      const d = await tables(dev);
      const row = d.pds.find((p) => p.reference === mine.diskData.value.reference)!;
      expect([row.type, row.state]).toEqual([0x02, 0x05]);
      expect(pdState(d, gone)).toBeUndefined();
      expect(d.pdHeader.value.num_drives).toBe(2);
      const record = d.records.find((x) => x.kind === 'vd')!;
      expect(record.kind === 'vd' && record.ids).toEqual([
        d.pds[0]!.reference === mine.diskData.value.reference ? d.pds[1]!.reference : d.pds[0]!.reference,
        mine.diskData.value.reference,
      ]);
      await expectSealed(dev, d);
    }
    expect((await tables(spare)).diskData.value.reference).toBe(mine.diskData.value.reference);
  });

  it("the monitor's flow on the top-level group: failed, read again, rebuild onto the spare, rebuilt", async () => {
    const devs = await made('5', 3, 1);
    const spare = devs[3]!;
    const first = await setsOf(devs.slice(0, 3));
    expect(await ddf1.spare!(spare, findSet(first.sets, 'ddf1_Vol', true)!, writeContext(devs).ctx)).toBe(true);
    const before = await setsOf(devs);
    expect(before.sets.map((s) => s.name)).toEqual(['.ddf1_disks']);
    expect(await ddf1.failed!(before.sets[0]!, devs[1]!, writeContext(devs).ctx)).toBe(true);
    // The failed disk no longer answers: the disks read without it.
    const left = [devs[0]!, devs[2]!, spare];
    const degraded = await setsOf(left);
    const w = writeContext(devs);
    expect(await ddf1.rebuild!(degraded.sets[0]!, spare, w.ctx)).toBe(true);
    expect(w.errors()).toEqual([]);
    const rebuilding = await setsOf(left);
    expect(rebuilding.rds.filter((rd) => rd.outOfSync !== undefined).map((rd) => rd.device.path)).toEqual(['/dev/sdd']);
    expect(await ddf1.rebuilt!(rebuilding.sets[0]!, spare, writeContext(devs).ctx)).toBe(true);
    for (const dev of left) {
      const d = await tables(dev);
      expect(vdState(d)).toBe(0);
      expect(d.pds.filter((p) => p.reference !== 0xffffffff).map((p) => p.state)).toEqual([1, 1, 1]);
    }
    expect(findSet((await setsOf(left)).sets, 'ddf1_Vol', true)!.devs).toHaveLength(3);
  });

  it('refuses without a set, onto a member, onto a disk with DDF tables, onto a disk too small', async () => {
    const devs = await made('1', 2, 1);
    const { sets } = await setsOf(devs.slice(0, 2));
    const set = findSet(sets, 'ddf1_Vol', true)!;
    const cases: [BlockDevice, RaidSet | undefined, string][] = [
      [devs[2]!, undefined, 'a DDF global spare belongs to a container: name a RAID set of it (-S SET -M /dev/sdc)'],
      [devs[1]!, set, '/dev/sdb is a disk of RAID set "ddf1_Vol" already'],
    ];
    for (const [dev, s, error] of cases) {
      const w = writeContext(devs);
      expect(await ddf1.spare!(dev, s, w.ctx)).toBe(false);
      expect(w.errors()).toEqual([error]);
    }
    const other = await made('1', 2);
    const w = writeContext([...devs, other[0]!]);
    const foreign = sparseDevice('/dev/sdq', SECTORS, 'Q');
    for (const [k, v] of other[0]!.sectors) foreign.sectors.set(k, v);
    expect(await ddf1.spare!(foreign, set, w.ctx)).toBe(false);
    expect(w.errors()).toEqual(['/dev/sdq holds DDF metadata already (erase it with -E first)']);
    const small = sparseDevice('/dev/sdr', 4096, 'R');
    const w2 = writeContext([small]);
    expect(await ddf1.spare!(small, set, w2.ctx)).toBe(false);
    expect(w2.errors()[0]).toMatch(/^device "\/dev\/sdr" is too small to be a spare of RAID set "ddf1_Vol": it has 4096 sectors, a member needs \d+$/);
    expect(small.sectors.size).toBe(0);
  });
});

describe('ddf1 reading after mdadm rebuilt onto a spare', () => {
  it("the disk's PD row is its own, not the unused row (GUID all ones) mdadm leaves behind with the old Rebuilding state", async () => {
    const devs = await made('1', 2);
    for (const dev of devs) {
      const d = await tables(dev);
      // mdadm's ddf_remove_failed: the last row a copy of a moved one, only its GUID blanked.
      const own = d.pds[d.pdIndex]!;
      d.pds[d.pds.length - 1] = { ...own, guid: new Uint8Array(24).fill(0xff), state: 0x05 };
      updateCrcs(d, crcStyleOf(d));
      for (const a of metadataAreas(d)) expect(await dev.write(a.offsetSectors * 512, a.data)).toBe(true);
    }
    const { rds } = await setsOf(devs);
    expect(rds.filter((rd) => !rd.volumeOf).map((rd) => rd.status)).toEqual(['ok', 'ok']);
    expect(rds.filter((rd) => rd.outOfSync !== undefined)).toEqual([]);
  });
});

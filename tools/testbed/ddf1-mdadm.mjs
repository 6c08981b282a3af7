#!/usr/bin/env node
// Builds testbed/ddf1/mdadm-<layout>/ from DDF containers that real mdadm (4.2, in the dm-vm VM) creates
// (layouts: ddf1-mdadm-layouts.mjs): member dumps (anchor, primary header with its sections, secondary header),
// set.json, and mdadm's own `mdadm --examine` of every member after a clean stop (mdadm-examine.txt, the
// independent truth packages/format-ddf1/test/mdadm.test.ts checks). Needs the packages built (npm run build).
//   node tools/testbed/ddf1-mdadm.mjs [CONFIG...]
//   node tools/testbed/ddf1-record-mdadm.mjs [CONFIG...]     the reference's outputs
//   node tools/testbed/cli.mjs deviate ddf1/<config>...      our -n, and where dmraid is wrong
import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ddf1Header } from '@dmraid/format-ddf1';
import { runDmVm, testbedDir } from '@dmraid/testkit';
import { MDADM_LAYOUTS, mdadmScript } from './ddf1-mdadm-layouts.mjs';

const BLOCK = 512;
const IMAGE_BYTES = 64 << 20;

const wanted = process.argv.slice(2);

const NONE = 0xffffffff;
const NO_LBA = 0xffffffffffffffffn;
const SIGNATURE = 0xde11de11;

/** The header at `lba` (with `whole`: and its sections, which follow it in mdadm's layout) as one area. */
async function headerArea(handle, lba, endian, whole) {
  const raw = Buffer.alloc(BLOCK);
  await handle.read(raw, 0, BLOCK, lba * BLOCK);
  if (!whole) return { offsetBytes: lba * BLOCK, data: raw };
  const h = ddf1Header.decodeFrom(raw, 0, { endian });
  let end = 1;
  for (const section of ['adapter_data', 'phys_drive', 'virt_drive', 'config_record', 'disk_data', 'badblock', 'diag', 'vendor']) {
    const off = h[`${section}_offset`];
    const len = h[`${section}_len`];
    if (off !== NONE && len && off + len > end && off + len < 65536) end = off + len;
  }
  const data = Buffer.alloc(end * BLOCK);
  await handle.read(data, 0, data.length, lba * BLOCK);
  return { offsetBytes: lba * BLOCK, data };
}

async function areasOf(image) {
  const handle = await fs.open(image, 'r');
  try {
    const { size } = await handle.stat();
    const n = Math.floor(size / BLOCK);
    const anchor = Buffer.alloc(BLOCK);
    await handle.read(anchor, 0, BLOCK, (n - 1) * BLOCK);
    const endian = ddf1Header.decodeFrom(anchor, 0, { endian: 'be' }).signature === SIGNATURE ? 'be' : 'le';
    const a = ddf1Header.decodeFrom(anchor, 0, { endian });
    if (a.signature !== SIGNATURE) throw new Error(`${image}: no DDF anchor`);
    const areas = [];
    // The secondary's own copy of the sections is read by nobody while the primary is good: its header only.
    for (const [lba, whole] of [
      [a.primary_table_lba, true],
      [a.secondary_table_lba, false],
    ]) {
      if (lba !== NO_LBA && lba < BigInt(n - 1)) areas.push(await headerArea(handle, Number(lba), endian, whole));
    }
    areas.push({ offsetBytes: (n - 1) * BLOCK, data: anchor });
    return { sizeSectors: n, areas: areas.sort((x, y) => x.offsetBytes - y.offsetBytes) };
  } finally {
    await handle.close();
  }
}

for (const layout of MDADM_LAYOUTS) {
  if (wanted.length && !wanted.includes(layout.config)) continue;
  const work = mkdtempSync(join(tmpdir(), 'ddf1-mdadm-'));
  try {
    const names = layout.serials.map((_, i) => `sd${String.fromCharCode(97 + i)}`);
    for (const name of names) {
      const fd = await fs.open(join(work, `${name}.img`), 'w');
      await fd.truncate(IMAGE_BYTES);
      await fd.close();
    }
    // Creating and resyncing up to four 64 MiB members under emulation: more than the default time.
    const r = await runDmVm(
      names.map((n, i) => ({ file: join(work, `${n}.img`), serial: layout.serials[i] })),
      mdadmScript(layout),
      { timeout: 600 }
    );
    if (r.status !== 0) {
      console.error(`${layout.config}: dm-vm exit ${r.status}\n${r.stdout}\n${r.stderr}`);
      process.exitCode = 1;
      continue;
    }
    const examine = r.stdout.slice(r.stdout.indexOf('=== examine'));
    const dir = join(testbedDir, 'ddf1', layout.config);
    await fs.mkdir(dir, { recursive: true });
    for (const f of await fs.readdir(dir)) if (f !== 'expected') await fs.rm(join(dir, f), { recursive: true, force: true });
    // A member left out keeps the others' names: mdadm-examine.txt names them as the VM saw them.
    const members = names
      .map((name, i) => ({ name, serial: layout.serials[i], index: i }))
      .filter((m) => !layout.leaveOut?.includes(m.index));
    await fs.writeFile(
      join(dir, 'set.json'),
      `${JSON.stringify(
        {
          description: layout.description,
          members: members.map(({ name, serial }) => ({ name, serial })),
        },
        null,
        2
      )}\n`
    );
    for (const m of members) {
      const { sizeSectors, areas } = await areasOf(join(work, `${names[m.index]}.img`));
      await fs.writeFile(join(dir, `${m.name}.size`), `${sizeSectors}\n`);
      for (const [k, a] of areas.entries()) {
        await fs.writeFile(join(dir, `${m.name}_${k}.dat`), a.data);
        await fs.writeFile(join(dir, `${m.name}_${k}.offset`), `${a.offsetBytes}\n`);
      }
    }
    await fs.writeFile(join(dir, 'mdadm-examine.txt'), examine, 'latin1');
    const detailAt = r.stdout.indexOf('=== detail');
    if (detailAt >= 0) await fs.writeFile(join(dir, 'mdadm-detail.txt'), r.stdout.slice(detailAt, r.stdout.indexOf('=== examine')), 'latin1');
    console.log(`generated ddf1/${layout.config}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

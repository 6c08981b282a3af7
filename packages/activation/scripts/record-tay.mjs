#!/usr/bin/env node
// Records the reference dmraid's `-tay` output as testbed/<format>/<config>/expected/tay.txt for every
// testbed set (or the FORMAT[/CONFIG] arguments). Needs root and ../shared/tools/dmraid-ref.
// Same image building and expected-file format as @dmraid/testkit (buildTestbedImages, formatExpected).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(new URL('../../..', import.meta.url).pathname);
const testbed = join(root, 'testbed');
const tool = resolve(root, '..', 'shared/tools/dmraid-ref/dmraid-ref');
const ARGS = ['-tay'];
const wanted = process.argv.slice(2);

async function sets() {
  const out = [];
  for (const f of (await fs.readdir(testbed)).sort()) {
    for (const c of (await fs.readdir(join(testbed, f))).sort()) {
      if (wanted.length && !wanted.some((w) => w === f || w === `${f}/${c}`)) continue;
      const info = JSON.parse(await fs.readFile(join(testbed, f, c, 'set.json'), 'utf8').catch(() => 'null'));
      if (info) out.push({ ...info, format: f, config: c, dir: join(testbed, f, c) });
    }
  }
  return out;
}

async function build(set, outDir) {
  const files = await fs.readdir(set.dir);
  const specs = [];
  for (const m of set.members) {
    const size = Number((await fs.readFile(join(set.dir, `${m.name}.size`), 'utf8')).trim());
    const image = join(outDir, `${m.name}.img`);
    const h = await fs.open(image, 'w');
    await h.truncate(size * 512);
    for (const dat of files.filter((f) => f.endsWith('.dat') && (f === `${m.name}.dat` || f.startsWith(`${m.name}_`))).sort()) {
      const stem = dat.slice(0, -4);
      const offset = Number((await fs.readFile(join(set.dir, `${stem}.offset`), 'utf8')).trim());
      const data = await fs.readFile(join(set.dir, dat));
      await h.write(data, 0, data.length, offset);
    }
    await h.close();
    specs.push(m.serial ? `${m.name}.img:${m.serial}` : `${m.name}.img`);
  }
  return specs;
}

const env = { ...process.env, PATH: [...(process.env.PATH ?? '').split(':').filter((p) => p && !p.includes('node_modules')), '/usr/sbin', '/sbin'].join(':') };
const letters = 'abcdefghijklmnopqrstuvwxyz';
for (const set of await sets()) {
  const dir = mkdtempSync(join(tmpdir(), 'dmraid-tay-'));
  const images = await build(set, dir).catch((e) => console.error(`skipping ${set.format}/${set.config}: ${e.message}`));
  if (!images) continue;
  const r = spawnSync(tool, ['--keep-names', ...images, '--', ...ARGS], { cwd: dir, env, encoding: 'latin1', timeout: 60_000 });
  const paths = images.map((s) => s.split(':')[0]);
  const rename = (t) => t.replace(/\/dev\/sd([a-z])\b/g, (m, l) => paths[letters.indexOf(l)] ?? m);
  const text = `$ dmraid ${ARGS.join(' ')}\nexit ${r.status ?? 128}\n--- stdout\n${rename(r.stdout)}--- stderr\n${rename(r.stderr)}`;
  await fs.mkdir(join(set.dir, 'expected'), { recursive: true });
  await fs.writeFile(join(set.dir, 'expected', 'tay.txt'), text, 'latin1');
  await fs.rm(dir, { recursive: true, force: true });
  console.log(`recorded ${set.format}/${set.config}`);
}

// Ours: --draw SET -o FILE (the layout, traced through the engine) and --check-data SET --draw FILE (the mismatch map).
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseTestTables } from '@dmraid/activation';
import { createEngine, isTableError, SECTOR, type Source } from '@dmraid/engine';
import { runOurs, testIf } from '@dmraid/testkit';
import { run } from '../src/main.js';
import { parseOptions } from '../src/options.js';
import { bucketRect, COLOURS, esc, pictureGeometry, traceLayout, type LayoutGrid } from '../src/draw/index.js';
import { imagesOf, tmp } from './helpers.js';

const exec = promisify(execFile);
const chromium = await exec('sh', ['-c', 'command -v chromium']).then(() => true, () => false);
const itChromium = testIf(it, { name: 'chromium', available: chromium, reason: 'apt-get install -y chromium (Debian\'s headless browser)' });

const KIB64 = 128;

/** Tables as -tay prints them, over members named in the text (no file needed: the trace uses stand-ins). */
function tables(text: string) {
  const parsed = parseTestTables(text);
  if (typeof parsed === 'string') throw new Error(parsed);
  return parsed;
}

async function layout(text: string, set: string, rows = 8): Promise<LayoutGrid> {
  const grid = await traceLayout(tables(text), set, rows);
  if (typeof grid === 'string') throw new Error(grid);
  return grid;
}

/**
 * The independent truth: the volume written through the engine over members in memory, chunk k filled with
 * the byte k+1; a data cell's member chunk then holds its chunk's byte, a P cell the XOR of its row's data.
 */
async function writtenMembers(text: string, set: string, chunks: number, unit: number): Promise<Map<string, Uint8Array>> {
  const spec = tables(text);
  const mem = new Map<string, Uint8Array>();
  const source = (path: string): Source => {
    if (!mem.has(path)) mem.set(path, new Uint8Array(unit * SECTOR * (chunks + 2)));
    const b = mem.get(path)!;
    return {
      name: path,
      sizeSectors: b.length / SECTOR,
      read: async (s, n) => b.slice(s * SECTOR, (s + n) * SECTOR),
      write: async (s, d) => (b.set(d, s * SECTOR), true),
    };
  };
  const engine = createEngine(spec, source);
  if (isTableError(engine)) throw new Error(engine.message);
  const vol = engine.get(set)!;
  for (let k = 0; k < chunks; k++) expect(await vol.write(k * unit, new Uint8Array(unit * SECTOR).fill(k + 1))).toBe(true);
  engine.destroy();
  return mem;
}

function assertAgainstBytes(grid: LayoutGrid, mem: Map<string, Uint8Array>) {
  const unit = grid.unitSectors * SECTOR;
  for (const [r, row] of grid.rows.entries()) {
    for (const [c, cell] of row.entries()) {
      const col = grid.columns[c]!;
      if (!cell || col.missing) continue;
      const at = mem.get(col.path!)!.subarray(r * unit, (r + 1) * unit);
      if (cell.role === 'data' || cell.role === 'copy') expect(at[0], `row ${r} ${col.path}`).toBe(cell.chunks[0]! + 1);
      if (cell.role === 'P') expect(at[0], `P row ${r} ${col.path}`).toBe(cell.chunks.reduce((x, k) => x ^ (k + 1), 0));
    }
  }
}

const raid5 = (type: string, disks: number) =>
  `v: 0 ${KIB64 * (disks - 1) * 16} raid ${type} 1 ${KIB64} ${disks} ${Array.from({ length: disks }, (_, d) => `- m${d}.img`).join(' ')}\n`;

describe('traceLayout: the layout as the engine maps it', () => {
  it('RAID5, all four layouts and RAID4, 3-5 disks: each row one P, the data cells where the engine writes the chunk', async () => {
    for (const type of ['raid5_la', 'raid5_ra', 'raid5_ls', 'raid5_rs', 'raid4']) {
      for (const disks of [3, 4, 5]) {
        const grid = await layout(raid5(type, disks), 'v');
        expect(grid.columns.map((c) => c.path)).toEqual(Array.from({ length: disks }, (_, d) => `m${d}.img`));
        for (const row of grid.rows) {
          expect(row.filter((c) => c?.role === 'P')).toHaveLength(1);
          expect(row.filter((c) => c?.role === 'data')).toHaveLength(disks - 1);
        }
        assertAgainstBytes(grid, await writtenMembers(raid5(type, disks), 'v', 8 * (disks - 1), KIB64));
      }
    }
  });

  it('left-symmetric over 4 disks is md\'s picture (parity from the last disk backwards, data after it)', async () => {
    const grid = await layout(raid5('raid5_ls', 4), 'v', 4);
    const text = grid.rows.map((row) => row.map((c) => (c!.role === 'P' ? 'P' : String(c!.chunks[0]))).join(' '));
    expect(text).toEqual(['0 1 2 P', '4 5 P 3', '8 P 6 7', 'P 9 10 11']);
  });

  it('RAID6: each row one P and one Q; left-symmetric-6 over 5 disks: Q on the last disk, P rotating before it', async () => {
    for (const type of ['raid6_zr', 'raid6_nr', 'raid6_nc', 'raid6_ls_6']) {
      const text = `v: 0 ${KIB64 * 3 * 16} raid ${type} 1 ${KIB64} 5 ${[0, 1, 2, 3, 4].map((d) => `- m${d}.img`).join(' ')}\n`;
      const grid = await layout(text, 'v');
      for (const row of grid.rows) {
        expect(row.map((c) => c?.role).filter((r) => r === 'P' || r === 'Q').sort()).toEqual(['P', 'Q']);
      }
      assertAgainstBytes(grid, await writtenMembers(text, 'v', 24, KIB64));
      if (type === 'raid6_ls_6') {
        expect(grid.rows.slice(0, 4).map((row) => row.map((c) => (c!.role === 'data' ? String(c!.chunks[0]) : c!.role)).join(' '))).toEqual([
          '0 1 2 P Q', '4 5 P 3 Q', '8 P 6 7 Q', 'P 9 10 11 Q',
        ]);
      }
    }
  });

  it('RAID10 (a mirror over two stripe sets): data on the first, copies on the second, grouped by sub-set', async () => {
    const text = [
      `a: 0 4096 striped 2 ${KIB64} m0.img 0 m1.img 0`,
      `b: 0 4096 striped 2 ${KIB64} m2.img 0 m3.img 0`,
      'v: 0 4096 mirror core 2 64 nosync 2 /dev/mapper/a 0 /dev/mapper/b 0',
    ].join('\n');
    const grid = await layout(text, 'v', 2);
    expect(grid.columns.map((c) => c.groups)).toEqual([['a'], ['a'], ['b'], ['b']]);
    expect(grid.rows.map((row) => row.map((c) => `${c!.role}:${c!.chunks.join()}`))).toEqual([
      ['data:0', 'data:1', 'copy:0', 'copy:1'],
      ['data:2', 'data:3', 'copy:2', 'copy:3'],
    ]);
  });

  it('a data offset on the members: row 0 is where each member\'s data starts', async () => {
    const grid = await layout(`v: 0 ${KIB64 * 4} striped 2 ${KIB64} m0.img 2048 m1.img 4096\n`, 'v', 2);
    expect(grid.rows.map((row) => row.map((c) => c?.chunks[0]))).toEqual([[0, 1], [2, 3]]);
  });

  it('a missing RAID5 member (-) and a missing stripe (/dev/zero) are columns marked missing, holding what they would', async () => {
    const grid = await layout(`v: 0 ${KIB64 * 2 * 8} raid raid5_ls 1 ${KIB64} 3 - m0.img - - - m2.img\n`, 'v', 3);
    expect(grid.columns.map((c) => c.missing)).toEqual([false, true, false]);
    expect(grid.rows[0]!.map((c) => c?.role)).toEqual(['data', 'data', 'P']);
    const striped = await layout(`v: 0 ${KIB64 * 4} striped 2 ${KIB64} m0.img 0 /dev/zero 0\n`, 'v', 2);
    expect(striped.columns.map((c) => c.missing)).toEqual([false, true]);
    expect(striped.rows[1]!.map((c) => c?.chunks[0])).toEqual([2, 3]);
  });
});

describe('the SVG', () => {
  it('escapes names from disks: <&"\' and characters XML cannot hold', () => {
    expect(esc('<&">\'')).toBe('&#60;&#38;&#34;&#62;&#39;');
    expect(esc('a\0b\x1f')).toBe('a\ufffdb\ufffd');
  });
});

/** A PNG's pixels (8-bit RGB or RGBA, not interlaced: what chromium writes), read with node:zlib. */
function readPng(png: Buffer): { width: number; height: number; rgb(x: number, y: number): [number, number, number] } {
  expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  let at = 8;
  let width = 0;
  let height = 0;
  let type = 0;
  const idat: Buffer[] = [];
  while (at < png.length) {
    const len = png.readUInt32BE(at);
    const kind = png.toString('latin1', at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + len);
    if (kind === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect(data[8]).toBe(8);
      type = data[9]!;
      expect(data[12]).toBe(0);
    }
    if (kind === 'IDAT') idat.push(data);
    at += 12 + len;
  }
  const bpp = type === 6 ? 4 : type === 2 ? 3 : 0;
  expect(bpp).toBeGreaterThan(0);
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  const px = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)]!;
    for (let i = 0; i < stride; i++) {
      const x = raw[y * (stride + 1) + 1 + i]!;
      const a = i >= bpp ? px[y * stride + i - bpp]! : 0;
      const b = y > 0 ? px[(y - 1) * stride + i]! : 0;
      const c = i >= bpp && y > 0 ? px[(y - 1) * stride + i - bpp]! : 0;
      const p = a + b - c;
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      const v = [x, x + a, x + b, x + ((a + b) >> 1), x + paeth][f];
      if (v === undefined) throw new Error(`PNG filter ${f}`);
      px[y * stride + i] = v & 0xff;
    }
  }
  return { width, height, rgb: (x, y) => [px[y * stride + x * bpp]!, px[y * stride + x * bpp + 1]!, px[y * stride + x * bpp + 2]!] };
}

const hex = (rgb: [number, number, number]) => `#${rgb.map((v) => v.toString(16).padStart(2, '0')).join('')}`;

async function browser(dir: string, file: string, width: number, height: number) {
  const url = `file://${join(dir, file)}`;
  const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--force-device-scale-factor=1', '--force-color-profile=srgb'];
  const dom = (await exec('chromium', [...flags, '--dump-dom', url], { maxBuffer: 32 << 20, timeout: 120_000 })).stdout;
  await exec('chromium', [...flags, `--window-size=${width},${height}`, `--screenshot=${join(dir, 'shot.png')}`, url], { timeout: 120_000 });
  return { dom, png: readPng(await fs.readFile(join(dir, 'shot.png'))) };
}

/** The cells of a dump-dom, by row and column: their role and text. */
function cellsOf(dom: string): Map<string, { role: string; text: string; x: number; y: number }> {
  const out = new Map<string, { role: string; text: string; x: number; y: number }>();
  for (const m of dom.matchAll(/<g class="cell" data-row="(\d+)" data-col="(\d+)" data-role="(\w+)"[^>]*>(.*?)<\/g>/g)) {
    const text = [...m[4]!.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((t) => t[1]).join('');
    // Where the cell was drawn: its rectangle's corner, as the DOM has it.
    const [, x, y] = /<rect x="([\d.]+)" y="([\d.]+)"/.exec(m[4]!)!;
    out.set(`${m[1]},${m[2]}`, { role: m[3]!, text, x: Number(x), y: Number(y) });
  }
  return out;
}

describe('pictures rendered in a real browser (Debian chromium, headless)', () => {
  itChromium('--draw of a testbed RAID5 (ddf1 raid5-3-la): the DOM names the members and chunks, the parity colour only in P cells', async () => {
    const dir = tmp('draw-raid5');
    const images = await imagesOf(dir, 'ddf1/raid5-3-la');
    const sets = await runOurs(images, ['-s', '-c'], { cwd: dir });
    const set = sets.stdout.trim().split('\n')[0]!;
    const r = await runOurs(images, ['--draw', set, '-o', 'set.html'], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const html = await fs.readFile(join(dir, 'set.html'), 'utf8');
    const [, width, height] = /<svg [^>]*width="(\d+)" height="(\d+)"/.exec(html)!;
    const { dom, png } = await browser(dir, 'set.html', Number(width), Number(height) + 200);
    expect(dom).not.toContain('parsererror');
    // A --devices spec is PATH:SERIAL; the column is named by the path.
    for (const m of images) expect(dom).toContain(`>${m.split(':')[0]}<`);
    const cells = cellsOf(dom);
    expect(cells.size).toBe(8 * images.length);
    let parity = 0;
    for (let r = 0; r < 8; r++) {
      for (let c = 0; c < images.length; c++) {
        const cell = cells.get(`${r},${c}`)!;
        const { x, y } = cell;
        // A point inside the cell, clear of its border and its text.
        const colour = hex(png.rgb(x + 6, y + 6));
        if (cell.role === 'P') {
          parity++;
          expect(cell.text).toBe('P');
          expect(colour, `P at row ${r} col ${c}`).toBe(COLOURS.P);
        } else {
          expect(cell.text).toMatch(/^\d+$/);
          expect(colour, `data at row ${r} col ${c}`).toBe(COLOURS.data);
        }
      }
    }
    expect(parity).toBe(8);
    // Every volume chunk of the first 8 rows appears once.
    const chunks = [...cells.values()].filter((c) => c.role === 'data').map((c) => Number(c.text)).sort((a, b) => a - b);
    expect(chunks).toEqual(Array.from({ length: 16 }, (_, k) => k));
  }, 300_000);

  itChromium('a hostile set and member name (<&">) makes well-formed SVG that says it as text', async () => {
    const dir = tmp('draw-hostile');
    await fs.writeFile(join(dir, '<&">.img'), Buffer.alloc(KIB64 * 4 * SECTOR));
    await fs.writeFile(join(dir, 'b.img'), Buffer.alloc(KIB64 * 4 * SECTOR));
    await fs.writeFile(join(dir, 't.txt'), `x<&">: 0 ${KIB64 * 4} striped 2 ${KIB64} <&">.img 0 b.img 0\n`);
    const r = await dmraid(dir, ['--draw', 'x<&">', '-o', 'x.svg', '--tables', 't.txt']);
    expect(r).toMatchObject({ status: 0, stderr: '' });
    const { dom } = await browser(dir, 'x.svg', 800, 400);
    expect(dom).not.toContain('parsererror');
    expect(dom).toContain('RAID set x&lt;&amp;"&gt;');
    expect(dom).toContain('>&lt;&amp;"&gt;.img<');
  }, 300_000);

  itChromium('--check-data --draw: the mismatching bucket is red in the screenshot, the others are not', async () => {
    const dir = tmp('draw-check');
    const sectors = KIB64 * 2 * 32;
    for (const m of ['m0', 'm1', 'm2']) await fs.writeFile(join(dir, `${m}.img`), Buffer.alloc((sectors / 2) * SECTOR));
    await fs.writeFile(join(dir, 't.txt'), `v: 0 ${sectors} raid raid5_ls 1 ${KIB64} 3 - m0.img - m1.img - m2.img\n`);
    // One byte off on m1 at member sector 2000: chunk row 15 (volume sectors 3840-4095), buckets 30 and 31 of 64 (128 sectors each).
    const fd = await fs.open(join(dir, 'm1.img'), 'r+');
    await fd.write(Buffer.from([1]), 0, 1, 2000 * SECTOR);
    await fd.close();
    const r = await dmraid(dir, ['--check-data', 'v', '--draw', 'check.html', '--tables', 't.txt']);
    expect(r.status).toBe(2);
    expect(r.stdout).toContain('v: parity mismatch at sectors 3840-4095');
    const grid = await layout(await fs.readFile(join(dir, 't.txt'), 'utf8'), 'v');
    const geo = pictureGeometry({ layouts: [grid] });
    const { dom, png } = await browser(dir, 'check.html', geo.width, geo.mapTop + 260);
    expect(dom).not.toContain('parsererror');
    expect(dom).toContain('v: 8192 sectors; 1 mismatch range(s), 256 sectors');
    for (let b = 0; b < 64; b++) {
      const { x, y, w, h } = bucketRect(geo.width, geo.mapTop, 0, b);
      const colour = hex(png.rgb(Math.round(x + w / 2), Math.round(y + h / 2)));
      expect(colour, `bucket ${b}`).toBe(b === 30 || b === 31 ? COLOURS.mismatch : COLOURS.clean);
    }
  }, 300_000);

  itChromium('--extract --draw: the bucket with the lost sectors is dark blue in the screenshot, the others are not', async () => {
    const dir = tmp('draw-lost');
    const member = 4096;
    for (const m of ['m0', 'm1']) await fs.writeFile(join(dir, `${m}.img`), Buffer.alloc(member * SECTOR, m === 'm0' ? 1 : 2));
    await fs.writeFile(join(dir, 't.txt'), `v: 0 ${2 * member} striped 2 128 m0.img 0 m1.img 0\n`);
    // m1's sectors 1000-1007 unrescued (GNU ddrescue's mapfile): chunk row 7, volume chunk 15, volume sectors
    // 2024-2031, bucket 15 of 64 (128 sectors each). A stripe has nothing to rebuild them from.
    await fs.writeFile(join(dir, 'm1.map'), `# Mapfile\n0x00000000 +\n0x00000000 0x${(1000 * SECTOR).toString(16)} +\n0x${(1000 * SECTOR).toString(16)} 0x${(8 * SECTOR).toString(16)} -\n0x${(1008 * SECTOR).toString(16)} 0x${((member - 1008) * SECTOR).toString(16)} +\n`);
    const r = await dmraid(dir, ['--extract', 'v', '-o', 'v.img', '--draw', 'lost.html', '--tables', 't.txt', '--rescue-map', 'm1.img=m1.map']);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stdout).toContain('v: lost sectors 2024-2031 (8 sectors)');
    const grid = await layout(await fs.readFile(join(dir, 't.txt'), 'utf8'), 'v');
    const geo = pictureGeometry({ layouts: [grid] });
    const { dom, png } = await browser(dir, 'lost.html', geo.width, geo.mapTop + 260);
    expect(dom).not.toContain('parsererror');
    expect(dom).toContain('v: 8192 sectors; 1 lost range(s), 8 sectors');
    for (let b = 0; b < 64; b++) {
      const { x, y, w, h } = bucketRect(geo.width, geo.mapTop, 0, b);
      const colour = hex(png.rgb(Math.round(x + w / 2), Math.round(y + h / 2)));
      expect(colour, `bucket ${b}`).toBe(b === 15 ? COLOURS.lost : COLOURS.clean);
    }
  }, 300_000);
});

describe('--draw on the command line', () => {
  it('parses --draw SET -o FILE [--rows N], and --draw FILE with --check-data on either side', () => {
    const o = parseOptions(['--draw', 's', '-o', 'x.svg', '--rows', '3']);
    expect([o.mode, o.engine.set, o.engine.output, o.engine.rows]).toEqual(['draw', 's', 'x.svg', 3]);
    const c = parseOptions(['--check-data', 's', '--draw', 'm.svg']);
    expect([c.mode, c.engine.set, c.engine.drawFile]).toEqual(['check-data', 's', 'm.svg']);
    const d = parseOptions(['--draw', 'm.svg', '--check-data', 's']);
    expect([d.mode, d.engine.set, d.engine.drawFile]).toEqual(['check-data', 's', 'm.svg']);
    const e = parseOptions(['--draw', 'l.svg', '--extract', 's', '-o', 'v.img']);
    expect([e.mode, e.engine.set, e.engine.drawFile, e.engine.output]).toEqual(['extract', 's', 'l.svg', 'v.img']);
    expect(parseOptions(['--extract', 's', '-o', 'v.img', '--draw', 'l.svg']).engine.drawFile).toBe('l.svg');
    expect(() => parseOptions(['--extract', 's', '-o', 'v.img', '--draw', '-'])).toThrow("--draw - would put the picture among --extract's own output: give a file");
    expect(() => parseOptions(['--draw', 's'])).toThrow('--draw needs -o/--output FILE');
    expect(() => parseOptions(['--draw', 's', '-o', 'x', '--rows', '0'])).toThrow('--rows 0: not a number of rows');
    expect(() => parseOptions(['--check-data', 's', '--rows', '3'])).toThrow('--rows goes with --draw, not --check-data');
  });

  it('an unwritable FILE is one ERROR line, exit 1; an unknown set names the sets there', async () => {
    const dir = tmp('draw-errors');
    await fs.writeFile(join(dir, 'a.img'), Buffer.alloc(KIB64 * 2 * SECTOR));
    await fs.writeFile(join(dir, 't.txt'), `v: 0 ${KIB64 * 2} linear a.img 0\n`);
    const bad = await dmraid(dir, ['--draw', 'v', '-o', 'no/such/dir/x.svg', '--tables', 't.txt']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/^ERROR: cannot write picture "no\/such\/dir\/x.svg": ENOENT[^\n]*\n$/);
    const unknown = await dmraid(dir, ['--draw', 'w', '-o', '-', '--tables', 't.txt']);
    expect(unknown).toEqual({ status: 1, stdout: '', stderr: 'ERROR: no RAID set "w" in the tables (v)\n' });
    const out = await dmraid(dir, ['--draw', 'v', '-o', '-', '--tables', 't.txt']);
    expect(out.status).toBe(0);
    expect(out.stdout).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  });

  it('draws testbed sets found by discovery: RAID6, RAID10, RAID01 and a degraded RAID5 (a missing column)', async () => {
    const dir = tmp('draw-testbed');
    for (const [which, check] of [
      ['ddf1/mdadm-raid6-4', (svg: string) => expect(svg).toContain('data-role="Q"')],
      ['hpt37x/raid10-4', (svg: string) => expect(svg).toContain('data-role="copy"')],
      ['hpt37x/raid01-4', (svg: string) => expect(svg).toContain('data-role="copy"')],
      ['ddf1/raid5-4-degraded', (svg: string) => expect(svg).toContain('data-missing="true"')],
    ] as const) {
      const images = await imagesOf(dir, which);
      const set = (await runOurs(images, ['-s', '-c'], { cwd: dir })).stdout.trim().split('\n')[0]!;
      const r = await runOurs(images, ['--draw', set, '-o', '-', '--rows', '4'], { cwd: dir });
      expect(r.status, `${which}: ${r.stderr}`).toBe(0);
      check(r.stdout);
    }
  }, 300_000);
});

async function dmraid(dir: string, args: string[]) {
  let stdout = '';
  let stderr = '';
  const status = await run(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), readLine: async () => null, cwd: dir }, { handlers: [] });
  return { status, stdout, stderr };
}

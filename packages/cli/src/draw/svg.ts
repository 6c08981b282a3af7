/**
 * The pictures as SVG text: the layout grid of traceLayout, and maps of ranges (mismatches found by a
 * check, ranges an extract lost) across a device. Plain shapes and text, no script, no external resource;
 * every name comes from disks or tables and is escaped.
 */
import { columnName, type Cell, type LayoutGrid } from './layout.js';

/** A range of a device's sectors to mark: where a check found the redundancy disagreeing, or data lost. */
export interface MarkedRange {
  readonly start: number;
  readonly count: number;
  readonly kind: 'mismatch' | 'lost';
}

/** One bar of a range map: a device (the set's volume, or a sub-device holding the redundancy) and its ranges. */
export interface RangeBar {
  readonly name: string;
  readonly sectors: number;
  readonly ranges: readonly MarkedRange[];
}

export const COLOURS = {
  data: '#dbeafe',
  copy: '#bbf7d0',
  P: '#f59e0b',
  Q: '#7e22ce',
  missing: '#d4d4d4',
  empty: '#ffffff',
  mismatch: '#dc2626',
  lost: '#1e3a8a',
  clean: '#e5e7eb',
  line: '#4b5563',
  text: '#111111',
} as const;

const TEXT_ON: Record<Cell['role'], string> = { data: '#111111', copy: '#111111', P: '#111111', Q: '#ffffff' };

/** XML text: markup characters escaped, characters XML cannot hold at all replaced. */
export function esc(text: string): string {
  return text
    .replace(/[\0-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')
    .replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const MARGIN = 16;
const TITLE = 36;
const GROUP_ROW = 26;
const HEADER = 34;
const ROW_LABEL = 72;
const CELL_H = 32;
const LEGEND = 34;
const BAR_H = 28;
const BAR_BLOCK = 70;
const FONT = 'font-family="DejaVu Sans, Arial, sans-serif"';

export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

/** Where each part of the layout picture is drawn (the test looks there in the screenshot). */
export interface LayoutGeometry {
  readonly width: number;
  readonly height: number;
  readonly colWidth: number;
  cell(row: number, col: number): Rect;
}

/** Longest column label shown whole; longer ones keep their end (the distinguishing part of a path). */
const MAX_LABEL = 36;
const shown = (name: string) => (name.length > MAX_LABEL ? `…${name.slice(-(MAX_LABEL - 1))}` : name);

export function layoutGeometry(grid: LayoutGrid, top = 0): LayoutGeometry {
  const longest = Math.max(6, ...grid.columns.map((c) => shown(columnName(c)).length));
  const colWidth = Math.min(320, Math.max(96, longest * 8 + 16));
  const depth = Math.max(0, ...grid.columns.map((c) => c.groups.length));
  const gridTop = top + TITLE + depth * GROUP_ROW + HEADER;
  const width = Math.max(MARGIN * 2 + ROW_LABEL + colWidth * grid.columns.length, 560);
  const height = gridTop + CELL_H * grid.rows.length + LEGEND + MARGIN - top;
  return {
    width,
    height,
    colWidth,
    cell: (row, col) => ({ x: MARGIN + ROW_LABEL + col * colWidth, y: gridTop + row * CELL_H, w: colWidth, h: CELL_H }),
  };
}

const kib = (sectors: number) => `${(sectors * 512) / 1024} KiB`;

function cellText(cell: Cell): string {
  if (cell.role === 'P' || cell.role === 'Q') return cell.role;
  const chunks = cell.chunks.join(',');
  return cell.role === 'copy' ? `${chunks} copy` : chunks;
}

function cellTitle(cell: Cell): string {
  const chunks = cell.chunks.join(', ');
  if (cell.role === 'P') return `P: parity of chunks ${chunks}`;
  if (cell.role === 'Q') return `Q: syndrome of chunks ${chunks}`;
  return cell.role === 'copy' ? `copy of chunk ${chunks}` : `chunk ${chunks}`;
}

/** The layout grid's SVG elements, drawn from `top` down. */
function layoutBody(grid: LayoutGrid, geo: LayoutGeometry, top: number): string[] {
  const out: string[] = [];
  const depth = Math.max(0, ...grid.columns.map((c) => c.groups.length));
  out.push(
    `<text class="title" x="${MARGIN}" y="${top + 24}" font-size="17" font-weight="bold" fill="${COLOURS.text}">RAID set ${esc(grid.set)}: ${grid.columns.length} member${grid.columns.length === 1 ? '' : 's'}, ${esc(kib(grid.unitSectors))} chunks, first ${grid.rows.length} rows</text>`,
  );
  // Nested sets (RAID10/01): a band per level over the columns of each sub-device.
  for (let level = 0; level < depth; level++) {
    const y = top + TITLE + level * GROUP_ROW;
    let c = 0;
    while (c < grid.columns.length) {
      const name = grid.columns[c]!.groups[level];
      let end = c + 1;
      while (end < grid.columns.length && grid.columns[end]!.groups[level] === name) end++;
      if (name !== undefined) {
        const x = geo.cell(0, c).x;
        const w = geo.colWidth * (end - c);
        out.push(
          `<g class="group" data-level="${level}"><rect x="${x + 2}" y="${y + 2}" width="${w - 4}" height="${GROUP_ROW - 4}" fill="#f3f4f6" stroke="${COLOURS.line}"/>` +
            `<text x="${x + w / 2}" y="${y + 18}" text-anchor="middle" font-size="13" fill="${COLOURS.text}">${esc(name)}</text></g>`,
        );
      }
      c = end;
    }
  }
  const headerY = top + TITLE + depth * GROUP_ROW;
  for (const [c, col] of grid.columns.entries()) {
    const x = geo.cell(0, c).x;
    const name = columnName(col);
    out.push(
      `<g class="member" data-col="${c}"${col.missing ? ' data-missing="true"' : ''}><title>${esc(name)}</title>` +
        `<text x="${x + geo.colWidth / 2}" y="${headerY + 22}" text-anchor="middle" font-size="13" font-weight="bold" fill="${col.missing ? '#525252' : COLOURS.text}">${esc(shown(name))}</text></g>`,
    );
  }
  for (const [r, row] of grid.rows.entries()) {
    const y = geo.cell(r, 0).y;
    out.push(`<text class="row-label" x="${MARGIN}" y="${y + 21}" font-size="13" fill="${COLOURS.text}">row ${r}</text>`);
    for (const [c, cell] of row.entries()) {
      const { x, w, h } = geo.cell(r, c);
      const missing = grid.columns[c]!.missing;
      const fill = missing ? 'url(#hatch)' : cell ? COLOURS[cell.role] : COLOURS.empty;
      const text = cell ? cellText(cell) : '';
      out.push(
        `<g class="cell" data-row="${r}" data-col="${c}" data-role="${cell?.role ?? 'empty'}"${cell ? ` data-chunks="${cell.chunks.join(' ')}"` : ''}>` +
          (cell ? `<title>${esc(cellTitle(cell))}${missing ? ' (member missing)' : ''}</title>` : '') +
          `<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="${fill}" stroke="${COLOURS.line}"/>` +
          (text ? `<text x="${x + w / 2}" y="${y + 21}" text-anchor="middle" font-size="14" fill="${missing ? '#262626' : cell ? TEXT_ON[cell.role] : COLOURS.text}">${esc(text)}</text>` : '') +
          '</g>',
      );
    }
  }
  const legendY = geo.cell(grid.rows.length, 0).y + 10;
  const items: [string, string][] = [['data', COLOURS.data]];
  const roles = new Set(grid.rows.flatMap((row) => row.map((c) => c?.role)));
  if (roles.has('copy')) items.push(['copy (mirror)', COLOURS.copy]);
  if (roles.has('P')) items.push(['P parity', COLOURS.P]);
  if (roles.has('Q')) items.push(['Q syndrome', COLOURS.Q]);
  if (grid.columns.some((c) => c.missing)) items.push(['missing member', 'url(#hatch)']);
  out.push(legend(items, legendY));
  return out;
}

function legend(items: readonly [string, string][], y: number): string {
  let x = MARGIN;
  const parts = items.map(([label, fill]) => {
    const part = `<rect x="${x}" y="${y}" width="16" height="16" fill="${fill}" stroke="${COLOURS.line}"/><text x="${x + 22}" y="${y + 13}" font-size="13" fill="${COLOURS.text}">${esc(label)}</text>`;
    x += 22 + label.length * 8 + 18;
    return part;
  });
  return `<g class="legend">${parts.join('')}</g>`;
}

/** Buckets of a bar: which hold mismatching or lost sectors. */
export function bucketsOf(bar: RangeBar, buckets: number): ('mismatch' | 'lost' | undefined)[] {
  const out: ('mismatch' | 'lost' | undefined)[] = new Array(buckets).fill(undefined);
  const per = Math.max(1, bar.sectors / buckets);
  for (const r of bar.ranges) {
    if (r.count <= 0) continue;
    const first = Math.min(buckets - 1, Math.floor(r.start / per));
    const last = Math.min(buckets - 1, Math.floor((r.start + r.count - 1) / per));
    // A mismatch outranks a loss in a bucket holding both: it is what a check asks about.
    for (let b = first; b <= last; b++) if (out[b] !== 'mismatch') out[b] = r.kind;
  }
  return out;
}

export const MAP_BUCKETS = 64;

function mapBody(bars: readonly RangeBar[], width: number, top: number): string[] {
  const out: string[] = [`<text class="title" x="${MARGIN}" y="${top + 24}" font-size="17" font-weight="bold" fill="${COLOURS.text}">Across the volume (${MAP_BUCKETS} buckets per bar)</text>`];
  const barW = width - 2 * MARGIN;
  const bw = barW / MAP_BUCKETS;
  for (const [i, bar] of bars.entries()) {
    const y = top + TITLE + i * BAR_BLOCK;
    const sectors = (kind: MarkedRange['kind']) => bar.ranges.filter((r) => r.kind === kind).reduce((n, r) => n + r.count, 0);
    const counts = (['mismatch', 'lost'] as const)
      .filter((k) => bar.ranges.some((r) => r.kind === k))
      .map((k) => `${bar.ranges.filter((r) => r.kind === k).length} ${k} range(s), ${sectors(k)} sectors`);
    out.push(
      `<text class="bar-label" x="${MARGIN}" y="${y + 14}" font-size="13" fill="${COLOURS.text}">${esc(bar.name)}: ${bar.sectors} sectors; ${esc(counts.join('; ') || 'no mismatch')}</text>`,
    );
    const cells = bucketsOf(bar, MAP_BUCKETS).map((kind, b) => {
      const x = MARGIN + b * bw;
      return `<rect class="bucket" data-bar="${i}" data-bucket="${b}" data-kind="${kind ?? 'clean'}" x="${x.toFixed(2)}" y="${y + 22}" width="${bw.toFixed(2)}" height="${BAR_H}" fill="${kind ? COLOURS[kind] : COLOURS.clean}"/>`;
    });
    out.push(`<g class="bar" data-bar="${i}">${cells.join('')}<rect x="${MARGIN}" y="${y + 22}" width="${barW}" height="${BAR_H}" fill="none" stroke="${COLOURS.line}"/></g>`);
  }
  const kinds = new Set(bars.flatMap((b) => b.ranges.map((r) => r.kind)));
  const items: [string, string][] = [['clean', COLOURS.clean]];
  if (kinds.has('mismatch') || kinds.size === 0) items.push(['mismatch', COLOURS.mismatch]);
  if (kinds.has('lost')) items.push(['lost', COLOURS.lost]);
  out.push(legend(items, top + TITLE + bars.length * BAR_BLOCK));
  return out;
}

/** Where a range map's bucket is drawn, below a layout of height `top` (0 without a layout). */
export function bucketRect(width: number, top: number, bar: number, bucket: number): Rect {
  const bw = (width - 2 * MARGIN) / MAP_BUCKETS;
  return { x: MARGIN + bucket * bw, y: top + TITLE + bar * BAR_BLOCK + 22, w: bw, h: BAR_H };
}

const HATCH =
  `<defs><pattern id="hatch" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">` +
  `<rect width="8" height="8" fill="${COLOURS.missing}"/><line x1="0" y1="0" x2="0" y2="8" stroke="#737373" stroke-width="3"/></pattern></defs>`;

/** What a picture shows: layouts (a group's volumes one below the other), then range maps. */
export interface Picture {
  readonly layouts?: readonly LayoutGrid[];
  readonly bars?: readonly RangeBar[];
}

/** Where each layout of a picture is drawn: its geometry, from the top of the picture. */
export function pictureGeometry(picture: Picture): { layouts: LayoutGeometry[]; width: number; mapTop: number } {
  const layouts: LayoutGeometry[] = [];
  let top = 0;
  for (const grid of picture.layouts ?? []) {
    const geo = layoutGeometry(grid, top);
    layouts.push(geo);
    top += geo.height;
  }
  return { layouts, width: Math.max(720, ...layouts.map((g) => g.width)), mapTop: top };
}

/** The whole picture: the layouts and below them the range map (when given). */
export function drawSvg(picture: Picture): string {
  const { layouts, width, mapTop } = pictureGeometry(picture);
  const parts: string[] = [];
  let top = 0;
  for (const [i, grid] of (picture.layouts ?? []).entries()) {
    parts.push(...layoutBody(grid, layouts[i]!, top));
    top += layouts[i]!.height;
  }
  top = mapTop;
  if (picture.bars) {
    parts.push(...mapBody(picture.bars, width, top));
    top += TITLE + picture.bars.length * BAR_BLOCK + LEGEND + MARGIN;
  }
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${top}" viewBox="0 0 ${width} ${top}" ${FONT}>` +
    HATCH +
    `<rect width="${width}" height="${top}" fill="#ffffff"/>` +
    parts.join('\n') +
    '</svg>\n'
  );
}

/** The SVG in an HTML page with a title and the legend in words. */
export function drawHtml(picture: Picture, title: string): string {
  const notes = [
    'Each cell is one chunk of a member; its number is the volume chunk it holds.',
    'P: parity (XOR) of the row; Q: RAID6 syndrome; copy: a mirror leg holding the same chunk.',
    'A hatched grey column is a missing member: what it would hold.',
  ];
  if (picture.bars) notes.push('The bars show the device in equal buckets; a coloured bucket holds at least one mismatching (red) or lost (dark blue) sector.');
  return (
    `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>` +
    '<style>body{margin:0;background:#fff;color:#111;font:15px "DejaVu Sans",Arial,sans-serif}svg{display:block}ul{margin:8px 16px}</style></head>\n<body>\n' +
    drawSvg(picture) +
    `<ul class="legend">${notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>\n</body></html>\n`
  );
}

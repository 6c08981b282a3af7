/**
 * Native log (-n) lines from a layout's field table: `0x%03x <label>: <value>`, the offset being the
 * field's byte offset, as dmraid's handlers print them. A handler supplies only its quirks: which fields
 * print in hex, which are left out, which print differently.
 */
import type { Struct } from '../layout/struct.js';

export type LogStyle = 'u' | 'x' | 'd' | 'skip' | ((value: any, name: string) => string);

/** `0x%03x <text>` */
export const logLine = (offset: number, text: string) => `0x${offset.toString(16).padStart(3, '0')} ${text}`;

export const hex = (n: number | bigint) => `0x${n.toString(16)}`;

function render(style: LogStyle, value: any, name: string): string {
  if (typeof style === 'function') return style(value, name);
  if (style === 'x') return hex(value);
  return String(value);
}

/**
 * Lines for every field of `layout` in offset order. Numbers print `%u` unless styled; arrays print one
 * line per element labelled `name[i]`; raw byte fields print only when styled.
 */
export function fieldLines(
  layout: Struct<any>,
  value: Record<string, unknown>,
  styles: Record<string, LogStyle> = {},
  base = 0,
): string[] {
  const lines: string[] = [];
  for (const f of layout.fields) {
    const style = styles[f.name] ?? (f.kind.startsWith('bytes') ? 'skip' : 'u');
    if (style === 'skip') continue;
    const v = value[f.name];
    if (Array.isArray(v)) {
      const step = f.size / v.length;
      v.forEach((item, i) => lines.push(logLine(base + f.offset + i * step, `${f.name}[${i}]: ${render(style, item, f.name)}`)));
    } else lines.push(logLine(base + f.offset, `${f.name}: ${render(style, v, f.name)}`));
  }
  return lines;
}

/**
 * Ours: `--infer --devices A --devices B ... [-o FILE]`, a lost set's geometry from its members' content
 * (@dmraid/engine's inferGeometry). Prints the candidates ranked, each with its tables as `--tables FILE`
 * reads them; -o writes the best one's tables, for `dmraid --tables FILE --extract inferred -o vol.img`.
 */
import { promises as fs } from 'node:fs';
import { resolve } from 'node:path';
import { renderTarget } from '@dmraid/core';
import { deviceSource, dmType, geometryTables, inferGeometry, isIoError, type Candidate } from '@dmraid/engine';
import type { CommandContext } from '../context.js';

/** The set name the tables give the volume. */
const NAME = 'inferred';

const sizeText = (sectors: number) => `${sectors} sectors (${(sectors / 2048).toFixed(1)} MiB)`;

export default async function command(ctx: CommandContext): Promise<number> {
  if (!ctx.o.devices || ctx.o.devices.length < 2) {
    ctx.out.log('error', '--infer needs the members: --devices A --devices B ... (two at least)');
    return 1;
  }
  const devices = await ctx.openDevices(false);
  if (!devices) return 1;
  try {
    const paths = devices.map((d) => d.path);
    const result = await inferGeometry(devices.map((d) => deviceSource(d)));
    if (isIoError(result)) {
      ctx.out.log('error', `cannot read "${result.path}": ${result.message}`);
      return emit(ctx, [], paths, 1);
    }
    if ('error' in result) {
      ctx.out.log('error', `cannot infer a geometry of ${paths.map((p) => `"${p}"`).join(', ')}: ${result.error}`);
      return emit(ctx, [], paths, 1);
    }
    const tables = (c: Candidate) => `${geometryTables(c, NAME, paths).flatMap((d) => d.targets.map((t) => `${d.name}: ${renderTarget(t)}`)).join('\n')}\n`;
    const output = ctx.o.engine.output;
    if (output !== undefined) {
      const best = result.candidates[0]!;
      const to = output === '-' ? undefined : resolve(ctx.io.cwd, output);
      if (to !== undefined && paths.some((p) => resolve(ctx.io.cwd, p) === to)) {
        ctx.out.log('error', `cannot write the tables to "${output}": it is a member`);
        return emit(ctx, result.candidates, paths, 1);
      }
      if (to === undefined) ctx.io.stdout(tables(best));
      else {
        const written = await fs.writeFile(to, tables(best)).catch((e: Error) => e);
        if (written instanceof Error) {
          ctx.out.log('error', `cannot write the tables to "${output}": ${written.message}`);
          return emit(ctx, result.candidates, paths, 1);
        }
        ctx.out.line(`${summary(best, paths)}\ntables of "${NAME}" written to ${output}`);
      }
      return emit(ctx, result.candidates, paths, 0, tables);
    }
    for (const [i, c] of result.candidates.entries()) {
      ctx.out.line(`candidate ${i + 1}: ${summary(c, paths)}`);
      ctx.out.line(tables(c));
    }
    return emit(ctx, result.candidates, paths, 0, tables);
  } finally {
    await Promise.all(devices.map((d) => d.close()));
  }
}

function summary(c: Candidate, paths: readonly string[]): string {
  const order = c.order.map((m) => (m < 0 ? '(missing)' : paths[m]!)).join(', ');
  const chunk = c.level === 'mirror' ? '' : `, chunk ${c.chunkSectors} sectors`;
  return `${dmType(c)} of ${c.order.length} members [${order}]${chunk}, data offset ${c.dataOffsetSectors}, ${sizeText(c.sizeSectors)}, confidence ${c.confidence.toFixed(2)}`;
}

function emit(ctx: CommandContext, candidates: readonly Candidate[], paths: readonly string[], status: number, tables?: (c: Candidate) => string): number {
  if (!ctx.o.json) return status;
  ctx.out.emitJson({
    candidates: candidates.map((c) => ({
      type: dmType(c),
      members: c.order.map((m) => (m < 0 ? null : paths[m]!)),
      chunkSectors: c.level === 'mirror' ? null : c.chunkSectors,
      dataOffsetSectors: c.dataOffsetSectors,
      sizeSectors: c.sizeSectors,
      confidence: c.confidence,
      score: c.score,
      basis: c.basis,
      tables: tables?.(c) ?? null,
    })),
  });
  return status;
}

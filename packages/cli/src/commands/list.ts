/** `-l`: the installed handlers, as dmraid lists its formats. */
import type { CommandContext } from '../context.js';
import { formatLine, formatsJson } from '../display.js';

export default async function command(ctx: CommandContext): Promise<number> {
  const { out } = ctx;
  const described = ctx.described ?? ctx.loaded;
  out.log('info', 'supported metadata formats:');
  for (const d of described) out.line(formatLine(d.handler));
  if (ctx.o.json) out.emitJson({ formats: formatsJson(described) });
  return 0;
}

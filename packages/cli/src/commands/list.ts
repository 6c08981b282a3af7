/** `-l`: the installed handlers, as dmraid lists its formats. */
import type { CommandContext } from '../context.js';
import { formatLine, formatsJson } from '../display.js';

export default async function command(ctx: CommandContext): Promise<number> {
  const { out } = ctx;
  out.log('info', 'supported metadata formats:');
  for (const h of ctx.handlers) out.line(formatLine(h));
  if (ctx.o.json) out.emitJson({ formats: formatsJson(ctx.loaded) });
  return 0;
}

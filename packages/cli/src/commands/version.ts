/** `-V`: dmraid's version lines, then ours and each handler's package. */
import { cliVersion, type CommandContext } from '../context.js';
import { formatsJson, VERSION_LINES } from '../display.js';

export default async function command(ctx: CommandContext): Promise<number> {
  const { out } = ctx;
  for (const l of VERSION_LINES()) out.line(l);
  out.line(`dmraid (TypeScript) cli:\t@dmraid/cli ${cliVersion}`);
  for (const l of ctx.loaded) out.line(`format handler ${l.handler.name}:\t${l.packageName} ${l.version}`);
  if (ctx.o.json) out.emitJson({ formats: formatsJson(ctx.loaded) });
  return 0;
}

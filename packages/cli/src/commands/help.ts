/** `-h`: the help. */
import type { CommandContext } from '../context.js';
import { helpText } from '../display.js';

export default async function command(ctx: CommandContext): Promise<number> {
  ctx.io.stdout(helpText());
  return 0;
}

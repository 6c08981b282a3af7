import type { CommandContext } from '../main.js';

/** Placeholder until the command lands: one clear line, exit 1. */
export default async function command(ctx: CommandContext): Promise<number> {
  ctx.out.log('error', `${ctx.o.mode} is not available in this version`);
  return 1;
}

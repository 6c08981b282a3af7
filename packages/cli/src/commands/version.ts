/** `-V`: dmraid's version lines, then ours and each handler's package; with --json the same versions as data. */
import { createRequire } from 'node:module';
import { cliVersion, type CommandContext } from '../context.js';
import { DMRAID_RELEASE, VERSION_LINES } from '../display.js';

/** The @dmraid/core the CLI runs with (its version says which schema.json its documents follow). */
const coreVersion = () => (createRequire(import.meta.url)('@dmraid/core/package.json') as { version: string }).version;

export default async function command(ctx: CommandContext): Promise<number> {
  const { out } = ctx;
  const described = ctx.described ?? ctx.loaded;
  for (const l of VERSION_LINES()) out.line(l);
  out.line(`dmraid (TypeScript) cli:\t@dmraid/cli ${cliVersion}`);
  for (const l of described) out.line(`format handler ${l.handler.name}:\t${l.packageName} ${l.version}`);
  if (ctx.o.json) {
    out.emitJson({
      version: {
        dmraid: DMRAID_RELEASE,
        cli: { package: '@dmraid/cli', version: cliVersion },
        core: { package: '@dmraid/core', version: coreVersion() },
        handlers: described.map((l) => ({ name: l.handler.name, package: l.packageName, version: l.version })),
      },
    });
  }
  return 0;
}

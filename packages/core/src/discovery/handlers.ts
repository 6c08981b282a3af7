/**
 * Finding the installed format handlers. Core names no handler package: the loader reads the package.json
 * files in the node_modules folders on a resolution path (core's own by default, which is the CLI's and a
 * library user's when they install core beside the handlers), keeps the packages that declare a dmraid
 * handler manifest, imports them and sorts them by format name (dmraid's registration order is alphabetical).
 * It lives here, not in the CLI, so a library user loads the same handlers the `dmraid` command uses.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { validateFormat, type FormatHandler } from '../format/handler.js';
import { manifestProblems, type HandlerManifest } from '../schema/manifest.js';

/** The handler API version this core loads (a manifest's `dmraid.apiVersion`). */
export const API_VERSION = 1;

/** Package names a handler may have: @dmraid/format-x, dmraid-format-x, @scope/dmraid-format-x. */
export const isHandlerPackageName = (name: string) =>
  /^@dmraid\/format-[a-z0-9_.-]+$/.test(name) || /^(@[a-z0-9_.-]+\/)?dmraid-format-[a-z0-9_.-]+$/.test(name);

export interface LoadedHandler {
  readonly handler: FormatHandler;
  readonly packageName: string;
  readonly version: string;
}

export interface PluginScan {
  readonly handlers: LoadedHandler[];
  /** One line per package that could not be used (without the `ERROR: ` prefix). */
  readonly problems: string[];
}

/** The ESM entry of a package from its `exports` (import/default conditions) or `main`. */
function entryOf(m: HandlerManifest): string {
  let e: unknown = m.exports;
  if (e && typeof e === 'object' && '.' in (e as Record<string, unknown>)) e = (e as Record<string, unknown>)['.'];
  while (e && typeof e === 'object') {
    const c = e as Record<string, unknown>;
    e = c.import ?? c.default ?? c.node;
  }
  return typeof e === 'string' ? e : (m.main ?? 'index.js');
}

// The scan reads synchronously: it is the first thing every command does, nothing else is waiting, and a
// few dozen small reads cost a tenth of their promise versions (a thread-pool round trip and, for the
// node_modules folders that do not exist, a rejected promise each) — measured in docs/benchmarks.md.

/**
 * `dir/name` for a folder path.join has made and names readdir gave (no `.`, `..` or empty part): the scan joins
 * one per entry of every node_modules up the path, and path.join normalises each again, character by character.
 */
const child = (dir: string, name: string) => (dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`);

/** The package's package.json, parsed, or why it cannot be read. */
function readManifest(dir: string): { json: unknown } | { error: string } | undefined {
  try {
    return { json: JSON.parse(readFileSync(child(dir, 'package.json'), 'utf8')) as unknown };
  } catch (e) {
    // A folder without a package.json (what an uninstall can leave) is no package.
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : { error: messageOf(e) };
  }
}

/** A package.json that declares a handler (a `dmraid` field); anything else is some other package. */
const declaresHandler = (json: unknown): json is { dmraid: unknown } => typeof json === 'object' && json !== null && 'dmraid' in json;

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** node_modules folders from `start` up to the root, nearest first. */
function resolutionPath(start: string): string[] {
  const dirs: string[] = [];
  for (let dir = start, up = dirname(dir); ; dir = up, up = dirname(dir)) {
    if (!dir.endsWith('/node_modules')) dirs.push(child(dir, 'node_modules'));
    if (up === dir) break;
  }
  return dirs;
}

function candidates(nodeModules: string): string[] {
  const found: string[] = [];
  for (const entry of listDir(nodeModules)) {
    if (entry.startsWith('@')) {
      for (const sub of listDir(child(nodeModules, entry))) {
        if (isHandlerPackageName(`${entry}/${sub}`)) found.push(`${entry}/${sub}`);
      }
    } else if (isHandlerPackageName(entry)) found.push(entry);
  }
  return found.sort();
}

const here = () => dirname(fileURLToPath(import.meta.url));

/** What `-V` and `-l` show of a handler: they call no method, so a bundled handler is described without its code. */
export interface HandlerFacts {
  readonly name: string;
  readonly description: string;
  readonly levels: string;
}

/** An installed handler package as `-V`/`-l` see it (a LoadedHandler is one, with the handler itself). */
export interface DescribedHandler {
  readonly handler: HandlerFacts;
  readonly packageName: string;
  readonly version: string;
}

/** A handler compiled into the caller's bundle (the meta-package's one file of the handlers it pins). */
export interface BundledHandler {
  readonly packageName: string;
  /** The version the bundle was built from: it stands in for the installed package only at this version. */
  readonly version: string;
  /** Recorded from the validated handler when the bundle was built. */
  readonly facts: HandlerFacts;
  /** The handler's default export; its code loads on the first call (describing needs none of it). */
  readonly load: () => Promise<unknown>;
}

export interface LoadHandlersOptions {
  /** Where a failure of a handler's log() is reported (one line, no `ERROR: ` prefix); else it throws. */
  readonly report?: (text: string) => void;
  /**
   * Handlers compiled into the caller's bundle. The scan still decides what is installed: a bundled handler
   * is used for a package found with a valid manifest at the same name and version, and nothing else (an
   * uninstalled package stays absent, another version is imported from disk).
   */
  readonly bundled?: readonly BundledHandler[];
}

/** How the scan turns one usable package into an entry: import it (or take the bundle's), validate, wrap. */
type Take<T> = (name: string, manifest: HandlerManifest, bundled: BundledHandler | undefined, importEntry: () => Promise<unknown>) => Promise<T>;

const messageOf = (e: unknown) => (e as Error)?.message ?? String(e);

/**
 * The handler as the CLI and discovery use it: a throw (or a non-array from read) inside a third-party handler becomes
 * one error line naming its package, and the device or set is skipped as if the handler had found nothing.
 * Optional methods are left alone except that their errors name the package.
 */
function guarded(h: FormatHandler, packageName: string, report?: (text: string) => void): FormatHandler {
  const tag = `${packageName}: ${h.name}`;
  const named =
    <A extends unknown[], R>(what: string, f: (...a: A) => R) =>
    (...a: A): R => {
      try {
        const r = f.apply(h, a);
        return (r instanceof Promise ? r.catch((e: unknown) => Promise.reject(new Error(`${tag}: ${what} failed: ${messageOf(e)}`))) : r) as R;
      } catch (e) {
        throw new Error(`${tag}: ${what} failed: ${messageOf(e)}`);
      }
    };
  const wrapped: FormatHandler = {
    ...h,
    async read(device, ctx) {
      try {
        const found: unknown = await h.read(device, ctx);
        if (!Array.isArray(found)) throw new Error('read did not return an array');
        return found;
      } catch (e) {
        ctx.log('error', `${tag}: reading ${device.path} failed: ${messageOf(e)}`);
        return [];
      }
    },
    group(rd, ctx) {
      try {
        return h.group(rd, ctx);
      } catch (e) {
        ctx.log('error', `${tag}: grouping ${rd.device.path} failed: ${messageOf(e)}`);
        return undefined;
      }
    },
    check(set, ctx) {
      try {
        return h.check(set, ctx);
      } catch (e) {
        ctx.log('error', `${tag}: checking RAID set "${set.name}" failed: ${messageOf(e)}`);
        return false;
      }
    },
    log(rd) {
      try {
        return h.log(rd);
      } catch (e) {
        const text = `${tag}: native log of ${rd.device.path} failed: ${messageOf(e)}`;
        if (!report) throw new Error(text);
        report(text);
        return [];
      }
    },
  };
  for (const m of ['dump', 'write', 'create', 'remove', 'rebuild', 'spare', 'canActivate'] as const) {
    const f = h[m] as ((...a: unknown[]) => unknown) | undefined;
    if (f) (wrapped as unknown as Record<string, unknown>)[m] = named(m, f);
  }
  return wrapped;
}

/** A handler (loaded or described from a bundle) must be the format its manifest names. */
function checkNamed(manifest: HandlerManifest, name: string): void {
  if (manifest.dmraid.format !== name) throw new Error(`manifest names format "${manifest.dmraid.format}" but the handler is "${name}"`);
}

/** The handler package's default export, validated, and named as its manifest says. */
function checkedHandler(manifest: HandlerManifest, handler: unknown): FormatHandler {
  validateFormat(handler);
  checkNamed(manifest, handler.name);
  return handler;
}

/**
 * Find, import and validate every installed handler, looking in the node_modules folders from `start` up to
 * the root (default: where @dmraid/core itself is installed). A package that fails (bad manifest, wrong
 * apiVersion, a throw on import, a handler that fails validation) becomes one problem line; the rest keep
 * working. The handlers come sorted by format name, the order discovery probes in.
 */
export async function loadHandlers(start = here(), options: LoadHandlersOptions = {}): Promise<PluginScan> {
  return scan<LoadedHandler>(start, options, async (name, manifest, bundled, importEntry) => ({
    handler: guarded(checkedHandler(manifest, bundled ? await bundled.load() : await importEntry()), name, options.report),
    packageName: name,
    version: manifest.version ?? 'unknown',
  }));
}

/**
 * The same packages, problems and order as loadHandlers, for commands that show handlers without calling them
 * (`-V`, `-l`): a bundled handler is described from the facts recorded when it was built, without loading its
 * code; any other is imported and validated as loadHandlers does, so a broken package reads the same.
 */
export async function describeHandlers(start = here(), options: Pick<LoadHandlersOptions, 'bundled'> = {}): Promise<{ handlers: DescribedHandler[]; problems: string[] }> {
  return scan<DescribedHandler>(start, options, async (name, manifest, bundled, importEntry) => {
    let facts: HandlerFacts;
    if (bundled) {
      checkNamed(manifest, bundled.facts.name);
      facts = bundled.facts;
    } else {
      const h = checkedHandler(manifest, await importEntry());
      facts = { name: h.name, description: h.description, levels: h.levels };
    }
    return { handler: facts, packageName: name, version: manifest.version ?? 'unknown' };
  });
}

async function scan<T extends DescribedHandler>(start: string, options: Pick<LoadHandlersOptions, 'bundled'>, take: Take<T>): Promise<{ handlers: T[]; problems: string[] }> {
  // From core's own folder a package name resolves to the package found here; from elsewhere (a test's
  // folder, a library user's `start`) the entry file is imported directly.
  const byName = start === here();
  const bundled = new Map((options.bundled ?? []).map((b) => [b.packageName, b]));
  const seen = new Set<string>();
  const handlers: T[] = [];
  const problems: string[] = [];
  for (const nodeModules of resolutionPath(start)) {
    for (const name of candidates(nodeModules)) {
      if (seen.has(name)) continue;
      seen.add(name);
      const read = readManifest(child(nodeModules, name));
      if (read === undefined) continue;
      if ('error' in read) {
        problems.push(`${name}: cannot read package.json: ${read.error}`);
        continue;
      }
      if (!declaresHandler(read.json)) continue;
      if ((read.json.dmraid as { template?: unknown } | null)?.template === true) continue;
      const invalid = manifestProblems(read.json);
      if (invalid.length > 0) {
        problems.push(`${name}: invalid handler manifest: ${invalid.join('; ')}`);
        continue;
      }
      const manifest = read.json as HandlerManifest;
      if (manifest.dmraid.apiVersion !== API_VERSION) {
        problems.push(`${name}: handler API version ${String(manifest.dmraid.apiVersion)} is not supported (this dmraid supports ${API_VERSION})`);
        continue;
      }
      const inBundle = bundled.get(name);
      const importEntry = async () =>
        ((await import(byName ? name : pathToFileURL(join(nodeModules, name, entryOf(manifest))).href)) as { default?: unknown }).default;
      try {
        handlers.push(await take(name, manifest, inBundle?.version === manifest.version ? inBundle : undefined, importEntry));
      } catch (e) {
        problems.push(`${name}: cannot load format handler: ${(e as Error)?.message ?? String(e)}`);
      }
    }
  }
  const byFormat = new Map<string, T>();
  for (const h of handlers) {
    if (byFormat.has(h.handler.name)) {
      problems.push(`${h.packageName}: format "${h.handler.name}" is already provided by ${byFormat.get(h.handler.name)!.packageName}`);
    } else byFormat.set(h.handler.name, h);
  }
  return { handlers: [...byFormat.values()].sort((a, b) => (a.handler.name < b.handler.name ? -1 : 1)), problems };
}

/**
 * A handler package's manifest (its package.json) checked against manifest.schema.json, the schema published
 * beside schema.json, by the validator compiled from it at build time.
 */
import { validateManifest, type SchemaError } from './validate-manifest.generated.js';

export interface HandlerManifest {
  readonly name: string;
  readonly version?: string;
  readonly main?: string;
  readonly exports?: unknown;
  /** `template: true` marks the format-template package, which is copied, never used. */
  readonly dmraid: { readonly apiVersion: number; readonly format?: string; readonly template?: boolean };
}

/** `dmraid.format` for `/dmraid/format`; the package.json itself for the root. */
const where = (e: SchemaError) => (e.instancePath === '' ? 'package.json' : e.instancePath.slice(1).split('/').join('.'));

function describe(e: SchemaError): string {
  const extra = e.params.additionalProperty ?? e.params.allowedValue;
  return `${where(e)} ${e.message ?? e.keyword}${extra !== undefined ? ` (${JSON.stringify(extra)})` : ''}`;
}

/** What is wrong with a handler package's manifest, one phrase per problem; empty when it is valid. */
export function manifestProblems(manifest: unknown): string[] {
  if (validateManifest(manifest)) return [];
  // An `if`/`then` failure is reported by its inner errors too; its own line ("must match then") says nothing.
  return [...new Set((validateManifest.errors ?? []).filter((e) => e.keyword !== 'if').map(describe))];
}

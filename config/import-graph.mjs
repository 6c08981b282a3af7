// The import graph's rules (dependency-cruiser), checked by `npm run lint` through tools/import-graph.mjs.
// The floors: core <- format-* <- activation, engine <- cli; testkit is test-only and may import anything.
// Paths are relative to the repository root; `@dmraid/x` resolves through the workspace links and the
// private "@dmraid/source" export condition to packages/x/src, so a package-name import is an arrow between
// two packages' sources like a relative one.
const src = '^packages/[^/]+/src/';

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'A module must not reach itself again through its imports (type-only imports count: they couple as much).',
      severity: 'error',
      from: { path: src },
      to: { circular: true },
    },
    {
      name: 'core-imports-no-package',
      comment: 'core is the ground floor: it names no vendor, no activation, no CLI.',
      severity: 'error',
      from: { path: '^packages/core/src/' },
      to: { path: '^packages/(?!core/)[^/]+/' },
    },
    {
      name: 'format-imports-only-core',
      comment: 'A format handler stands on core alone: handlers are found by the CLI, never imported by each other.',
      severity: 'error',
      from: { path: '^packages/(format-[^/]+)/src/' },
      to: { path: '^packages/', pathNot: '^packages/(core|$1)/' },
    },
    {
      name: 'activation-engine-import-only-core',
      comment: 'activation and the engine build on the model; neither reaches up to the CLI, across to the other or into a format.',
      severity: 'error',
      from: { path: '^packages/(activation|engine)/src/' },
      to: { path: '^packages/', pathNot: '^packages/(core|$1)/' },
    },
    {
      name: 'no-testkit-in-src',
      comment: 'testkit is test-only: no published source imports it (the CLI included).',
      severity: 'error',
      from: { path: '^packages/(?!testkit/)[^/]+/src/' },
      to: { path: '^packages/testkit/' },
    },
  ],
  options: {
    includeOnly: src,
    doNotFollow: { path: 'node_modules' },
    // `import type` arrows count: the CLI's main.ts <-> commands/* circle is made of them.
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['@dmraid/source', 'import', 'node', 'default'],
      mainFields: ['main', 'types'],
    },
    skipAnalysisNotInRules: true,
  },
};

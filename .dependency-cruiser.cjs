/**
 * The direction of imports in src/, checked by `npm run check` (and so by CI). ARCHITECTURE.md
 * explains the layers; from the bottom up:
 *   domain → db → live → resolvers → schema → transports, app-services → server, dbservices → main
 * A layer may import the layers below it, never one above; no file is part of a cycle.
 * config.ts, logger.ts and metrics.ts are leaves every layer may use.
 */

/** A layer may not import any of the layers named after it. */
const above = {
  domain: ['db', 'live', 'resolvers', 'schema', 'transports', 'dbservices', 'app-services', 'server', 'main'],
  db: ['live', 'resolvers', 'schema', 'transports', 'dbservices', 'app-services', 'server', 'main'],
  live: ['resolvers', 'schema', 'transports', 'dbservices', 'app-services', 'server', 'main'],
  resolvers: ['schema', 'transports', 'dbservices', 'app-services', 'server', 'main'],
  schema: ['transports', 'dbservices', 'app-services', 'server', 'main'],
  transports: ['dbservices', 'app-services', 'server', 'main'],
  'app-services': ['transports', 'dbservices', 'server', 'main'],
  server: ['dbservices', 'main'],
  dbservices: ['transports', 'server', 'main'],
};

/** The path pattern of a layer: a folder, or a single file at the top of src/. */
const layerPath = (layer) => (['app-services', 'server', 'main'].includes(layer) ? `^src/${layer}\\.ts$` : `^src/${layer}/`);

module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'A cycle makes two modules one: neither can be understood, tested or changed alone.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    ...Object.entries(above).map(([layer, higher]) => ({
      name: `${layer}-imports-no-higher-layer`,
      severity: 'error',
      comment: `${layer} sits below ${higher.join(', ')} (see ARCHITECTURE.md): it may not import them.`,
      from: { path: layerPath(layer) },
      to: { path: higher.map(layerPath) },
    })),
    {
      name: 'leaves-import-no-layer',
      severity: 'error',
      comment: 'config.ts, logger.ts and metrics.ts are used by every layer, so they import none.',
      from: { path: '^src/(config|logger|metrics)\\.ts$' },
      to: { path: '^src/', pathNot: '^src/(config|logger|metrics)\\.ts$' },
    },
    {
      name: 'graphql-only-in-the-graphql-layers',
      severity: 'error',
      comment: 'Only schema/, transports/, server.ts and dbservices/ speak GraphQL: the layers below throw DomainError and know nothing of it.',
      from: { path: '^src/(domain|db|live|resolvers)/' },
      to: { path: 'node_modules/(graphql|graphql-yoga|graphql-ws|@pothos)/' },
    },
    {
      name: 'remote-dbservices-loads-no-server-code',
      severity: 'error',
      comment: 'A bot that calls a server over HTTP never loads Postgres or server code: only in-process.ts may import the rest of src/.',
      from: { path: '^src/dbservices/', pathNot: '^src/dbservices/in-process\\.ts$' },
      to: { path: '^src/(?!dbservices/)' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], extensions: ['.ts', '.js', '.d.ts'] },
  },
};

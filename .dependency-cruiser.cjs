/**
 * Import rules for Mailsystem: arrows point inward
 * (main → api|worker → services → db|queue|providers|templates → domain), no cycles.
 * @type {import('dependency-cruiser').IConfiguration}
 */
const layer = (name) => `^src/${name}/`;
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'nothing-imports-main',
      severity: 'error',
      from: { path: '^src/', pathNot: layer('main') },
      to: { path: layer('main') },
    },
    {
      name: 'domain-is-pure',
      comment: 'domain/ holds types and rules; it imports nothing but itself and lib/.',
      severity: 'error',
      from: { path: layer('domain') },
      to: { path: '^src/', pathNot: [layer('domain')] },
    },
    {
      name: 'lib-is-generic',
      severity: 'error',
      from: { path: layer('lib') },
      to: { path: '^src/', pathNot: [layer('lib')] },
    },
    {
      name: 'config-stands-alone',
      severity: 'error',
      from: { path: layer('config') },
      to: { path: '^src/', pathNot: [layer('config'), layer('domain'), layer('lib')] },
    },
    {
      name: 'adapters-do-not-reach-up',
      comment:
        'db, queue, providers, templates and ratelimit are used by services; they never import services, api or worker.',
      severity: 'error',
      from: { path: '^src/(db|queue|providers|templates|ratelimit)/' },
      to: { path: '^src/(services|api|worker)/' },
    },
    {
      name: 'services-do-not-know-transport',
      severity: 'error',
      from: { path: layer('services') },
      to: { path: '^src/(api|worker)/' },
    },
    {
      name: 'worker-never-imports-api',
      severity: 'error',
      from: { path: layer('worker') },
      to: { path: layer('api') },
    },
    {
      name: 'api-never-imports-worker',
      severity: 'error',
      from: { path: layer('api') },
      to: { path: layer('worker') },
    },
    {
      name: 'no-test-code-in-src',
      severity: 'error',
      from: { path: '^src/', pathNot: '\\.test\\.ts$' },
      to: { path: '^test/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.test\\.ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
      extensions: ['.ts', '.js'],
    },
  },
};

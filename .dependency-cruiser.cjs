/**
 * Import rules for Mailsystem: arrows point inward
 * (main → api|worker → services → db|queue|providers|templates → domain), no cycles; metrics live in
 * src/observability and local development servers in src/dev. The command
 * line (src/cli) and the console (web/src) speak HTTP through the typed client (src/client) only;
 * the console's features do not import each other.
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
      from: { path: '^src/(db|queue|providers|templates|ratelimit|breaker)/' },
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
      name: 'client-stands-alone',
      comment: 'src/client is what any application uses to call Mailsystem: it knows nothing else of it.',
      severity: 'error',
      from: { path: layer('client') },
      to: { path: '^(src|web)/', pathNot: layer('client') },
    },
    {
      name: 'cli-speaks-http-only',
      comment:
        'The command line works against any reachable Mailsystem: through the typed client, never services or db.',
      severity: 'error',
      from: { path: layer('cli') },
      to: { path: '^src/', pathNot: ['^src/(cli|client)/'] },
    },
    {
      name: 'only-main-runs-the-cli',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(main|cli)/' },
      to: { path: layer('cli') },
    },
    {
      name: 'console-speaks-http-only',
      comment:
        'The console reaches the server through the typed client; the status rules are the one piece of domain it shares.',
      severity: 'error',
      from: { path: '^web/src/' },
      to: { path: '^src/', pathNot: ['^src/client/', '^src/domain/email-status\\.ts$'] },
    },
    {
      name: 'console-features-stand-alone',
      comment: 'What two features share lives in web/src/components or web/src/lib.',
      severity: 'error',
      from: { path: '^web/src/features/([^/]+)/' },
      to: { path: '^web/src/features/', pathNot: '^web/src/features/$1/' },
    },
    {
      name: 'console-shared-code-knows-no-feature',
      severity: 'error',
      from: { path: '^web/src/(components|lib)/' },
      to: { path: '^web/src/(features|app)/' },
    },
    {
      name: 'observability-only-watches',
      comment:
        'src/observability (metrics) watches what services do; no service, adapter or domain code depends on it.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(observability|main|api)/' },
      to: { path: layer('observability') },
    },
    {
      name: 'dev-tools-stand-apart',
      comment:
        'src/dev holds local development servers (the capture SMTP server): only the entry points start them, and they know nothing of Mailsystem.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(dev|main)/' },
      to: { path: layer('dev') },
    },
    {
      name: 'dev-knows-nothing-of-mailsystem',
      severity: 'error',
      from: { path: layer('dev') },
      to: { path: '^src/', pathNot: [layer('dev'), layer('lib')] },
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
      extensions: ['.ts', '.tsx', '.js'],
    },
  },
};

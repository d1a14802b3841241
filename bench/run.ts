/**
 * `npm run bench`: every scenario against the real stack, one after another, each printing its
 * figures beside the baseline it measured in the same run (see docs/performance.md):
 *
 *   send           POST /send (API role) vs a bare Fastify + INSERT process; p50/p99; API RSS
 *   delivery       the worker role draining queued mail vs a bare nodemailer loop; worker RSS
 *   bulk           a 100,000-recipient bulk: 202, every row, delivery rate vs nodemailer
 *   webhooks       provider webhook ingestion with 20 % replays vs the upsert alone
 *   analytics      GET /analytics over the seeded event set vs counting email_events
 *   trigger        what the analytics trigger adds to event inserts
 *   stale-plans    a bulk fan-out statement on a connection whose plans are stale
 *   render         (when present) a normal template's render cost
 *   scale-out      2 API + 3 worker processes: a bulk and concurrent sends, each recipient once
 *   soak           API and worker RSS over 10 minutes of steady /send + deliveries + webhooks
 *
 *   npm run bench                       every scenario, full size (tens of minutes)
 *   npm run bench -- send delivery      some of them
 *   BENCH_SMOKE=1 npm run bench         every scenario at a tiny size (CI: the benches keep working)
 *
 * Each scenario runs in a process of its own (`tsx bench/<file>`), so a scenario's servers and
 * load generators never share an event loop with another's. Mailsystem's own roles run compiled,
 * as in production (`npm run build:server` first); BENCH_RUNTIME=tsx runs the TypeScript sources.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const smoke = process.env.BENCH_SMOKE === '1';

interface Scenario {
  name: string;
  file: string;
  /** Environment for a smoke run: seconds, not minutes. */
  smoke: Record<string, string>;
  /** Runs before the scenario (e.g. seeding), with the same environment. */
  before?: string;
}

const SCENARIOS: Scenario[] = [
  {
    name: 'send',
    file: 'send.bench.ts',
    smoke: { BENCH_SECONDS: '1', BENCH_ROUNDS: '1', BENCH_CONNECTIONS: '8' },
  },
  { name: 'delivery', file: 'delivery.bench.ts', smoke: { BENCH_EMAILS: '40', BENCH_ROUNDS: '1' } },
  { name: 'bulk', file: 'bulk.bench.ts', smoke: { BENCH_RECIPIENTS: '500', BENCH_DELIVERY_SECONDS: '2' } },
  {
    name: 'webhooks',
    file: 'webhooks.bench.ts',
    smoke: { BENCH_SECONDS: '1', BENCH_ROUNDS: '1', BENCH_CONNECTIONS: '4' },
  },
  {
    name: 'analytics',
    file: 'analytics.bench.ts',
    before: 'seed-analytics.ts',
    smoke: { BENCH_EVENTS: '20000', BENCH_ITERATIONS: '10', BENCH_ANALYTICS_DB: 'ms_analytics_bench_smoke' },
  },
  {
    name: 'trigger',
    file: 'analytics-trigger.bench.ts',
    smoke: { BENCH_ROUNDS: '2', BENCH_SINGLE: '50', BENCH_BULK_ROWS: '200' },
  },
  { name: 'stale-plans', file: 'stale-plans.bench.ts', smoke: { BENCH_STALE_ROWS: '2000' } },
  { name: 'render', file: 'render.bench.ts', smoke: { BENCH_RENDERS: '200' } },
  {
    name: 'scale-out',
    file: 'scale-out.bench.ts',
    smoke: { BENCH_BULK: '1000', BENCH_SINGLES: '200', BENCH_CONNECTIONS: '8' },
  },
  { name: 'soak', file: 'soak.bench.ts', smoke: { BENCH_SOAK_SECONDS: '6', BENCH_SOAK_SAMPLE_SECONDS: '1' } },
];

function run(file: string, env: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, file)], {
      stdio: 'inherit',
      env: { ...process.env, ...env },
    });
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !SCENARIOS.some((s) => s.name === w));
if (unknown.length > 0) {
  console.error(
    `unknown scenario(s): ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`,
  );
  process.exit(2);
}
const failed: string[] = [];
// Mailsystem's roles run as production runs them: compiled (bench/lib.ts, BENCH_RUNTIME).
if (process.env.BENCH_RUNTIME !== 'tsx') {
  console.log('━━ npm run build:server (the roles run compiled; BENCH_RUNTIME=tsx runs the sources)');
  const build = await new Promise<number>((resolve) => {
    const child = spawn('npm', ['run', '--silent', 'build:server'], {
      stdio: 'inherit',
      cwd: join(here, '..'),
    });
    child.on('exit', (code) => resolve(code ?? 1));
  });
  if (build !== 0) process.exit(build);
}
for (const s of SCENARIOS) {
  if (wanted.length > 0 && !wanted.includes(s.name)) continue;
  if (!existsSync(join(here, s.file))) continue;
  const env = smoke ? s.smoke : {};
  console.log(`\n━━ ${s.name}${smoke ? ' (smoke)' : ''} ━━`);
  const started = performance.now();
  let code = s.before ? await run(s.before, env) : 0;
  if (code === 0) code = await run(s.file, env);
  console.log(
    `━━ ${s.name}: ${code === 0 ? 'done' : `FAILED (exit ${code})`} in ${((performance.now() - started) / 1000).toFixed(0)} s`,
  );
  if (code !== 0) failed.push(s.name);
}
if (failed.length > 0) {
  console.error(`\nfailed: ${failed.join(', ')}`);
  process.exit(1);
}

// Where the worker's delivery time goes: queues BENCH_EMAILS emails, drains them with `node dist/main/worker.js`
// (with `--cpu-prof` into $PROF when set) and prints the drain rate and worker CPU per email. Not a bench: no baseline.
import { spawn } from 'node:child_process';
import { CaptureSmtpServer } from '../src/dev/capture-server.js';
import {
  BENCH_TEMPLATE,
  benchDatabase,
  benchVariables,
  cpuSeconds,
  json,
  sleep,
  startRole,
  stopChild,
  TEST_REDIS_URL,
} from './lib.js';

const EMAILS = Number(process.env.BENCH_EMAILS ?? 2000);
const ADMIN = 'bench-admin-token-0123456789abcdef';
const db = await benchDatabase('dprof');
const sink = new CaptureSmtpServer({ port: 0, keep: 1 });
const { port } = await sink.start();
const seen = new Set<string>();
let first = 0;
let last = 0;
sink.on('message', (m) => {
  seen.add(m.envelope.to[0] ?? '');
  last = performance.now();
  first ||= last;
});
const env: Record<string, string> = {
  NODE_ENV: 'production',
  DATABASE_URL: db.url,
  REDIS_URL: TEST_REDIS_URL,
  QUEUE_PREFIX: db.prefix,
  ADMIN_API_TOKEN: ADMIN,
  RATE_LIMIT_PER_SECOND: '1000000',
  RATE_LIMIT_BURST: '1000000',
  SMTP_HOST: '127.0.0.1',
  SMTP_PORT: String(port),
  SMTP_POOL_SIZE: '5',
  WORKER_CONCURRENCY: '20',
};
const api = await startRole('api', env);
try {
  const tenant = await json(api.url, '/admin/tenants', { name: 'Bench' }, ADMIN);
  const { key } = await json(api.url, `/admin/tenants/${tenant.id}/api-keys`, { name: 'bench' }, ADMIN);
  const template = await json(api.url, '/templates', BENCH_TEMPLATE, key as string);
  let sent = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (sent < EMAILS) {
        const i = sent++;
        await json(
          api.url,
          '/send',
          {
            template_id: template.id,
            recipient: { email: `r-${i}@example.com`, name: `Reader ${i}` },
            variables: benchVariables(i),
          },
          key as string,
        );
      }
    }),
  );
  const args = process.env.PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.PROF}`] : [];
  const child = spawn(process.execPath, [...args, 'dist/main/worker.js'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, LOG_FORMAT: 'json', LOG_LEVEL: 'info', ...env },
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  while (!out.includes('worker started')) await sleep(50);
  const worker = { child };
  const c0 = cpuSeconds(worker.child.pid);
  while (seen.size < EMAILS) await sleep(20);
  const c1 = cpuSeconds(worker.child.pid);
  console.log(
    `worker ${((seen.size - 1) / ((last - first) / 1000)).toFixed(0)}/s, CPU ${(((c1 - c0) / EMAILS) * 1000).toFixed(2)} ms/email`,
  );
  await sleep(300);
  await stopChild(worker.child);
} finally {
  await stopChild(api.child);
  await sink.stop();
  await db.drop();
}
process.exit(0);

// Where the worker's delivery time goes: queues BENCH_EMAILS emails, drains them with `node dist/main/worker.js`
// (with `--cpu-prof` into $PROF when set) and prints the drain rate and worker CPU per email. Not a bench: no baseline.
import { CaptureSmtpServer } from '../src/dev/capture-server.js';
import {
  benchDatabase,
  benchTenant,
  benchVariables,
  cpuSeconds,
  json,
  roleEnv,
  sleep,
  startRole,
  stopChild,
} from './lib.js';

const EMAILS = Number(process.env.BENCH_EMAILS ?? 2000);
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
const env = roleEnv(db, port, { SMTP_POOL_SIZE: '5', WORKER_CONCURRENCY: '20' });
const api = await startRole('api', env);
try {
  const { key, templateId } = await benchTenant(api.url);
  let sent = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (sent < EMAILS) {
        const i = sent++;
        await json(
          api.url,
          '/send',
          {
            template_id: templateId,
            recipient: { email: `r-${i}@example.com`, name: `Reader ${i}` },
            variables: benchVariables(i),
          },
          key,
        );
      }
    }),
  );
  const args = process.env.PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.PROF}`] : [];
  const worker = await startRole('worker', env, args);
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

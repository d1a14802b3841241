/**
 * Mailsystem scaled out as compose.yaml runs it: two API processes and three worker processes
 * (compiled, `node dist/main/api.js` / `worker.js`) against one PostgreSQL and one Redis. One bulk
 * send of BENCH_BULK recipients and BENCH_SINGLES single `POST /send` at the same time, spread over
 * both APIs; every message counted at a real SMTP server (smtp-server, in this process) by
 * recipient. Prints:
 *   - the bulk's 202, the single sends' rate and p50/p99, time until every row exists;
 *   - time until every recipient reached the SMTP server, and the delivery rate, beside a bare
 *     pooled nodemailer loop with the workers' total pool (3 × SMTP_POOL_SIZE) to the same server;
 *   - what must hold: each recipient exactly once, every email `sent`, no dead letters.
 *
 *   npm run bench:scale-out    (BENCH_BULK=100000 BENCH_SINGLES=10000 BENCH_CONNECTIONS=32)
 *   BENCH_BULK=2000 BENCH_SINGLES=200 npm run bench:scale-out     (a smoke size)
 *
 * Needs PostgreSQL and Redis as the tests do; creates and drops its own database and key prefix.
 * Exits non-zero when a recipient was missed or reached twice.
 */
import type { ChildProcess } from 'node:child_process';
import nodemailer from 'nodemailer';
import pg from 'pg';
import { CaptureSmtpServer } from '../src/dev/capture-server.js';
import {
  benchDatabase,
  benchTenant,
  cpuSeconds,
  RUNTIME,
  roleEnv,
  rssMb,
  sleep,
  startRole,
  stopChild,
} from './lib.js';

const BULK = Number(process.env.BENCH_BULK ?? 100_000);
const SINGLES = Number(process.env.BENCH_SINGLES ?? 10_000);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const APIS = 2;
const WORKERS = 3;
const POOL = 5;
const CONCURRENCY = 20;
const BASELINE_MESSAGES = Math.min(10_000, Math.max(1000, Math.round((BULK + SINGLES) / 10)));

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits });
const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
const line = (label: string, value: string, note = '') =>
  console.log(`${label.padEnd(48)} ${value.padStart(16)}  ${note}`);

async function main() {
  const db = await benchDatabase('scale');
  const pool = new pg.Pool({ connectionString: db.url, max: 2 });
  const sink = new CaptureSmtpServer({ port: 0, keep: 0 });
  const { port } = await sink.start();
  const received = new Map<string, number>();
  let messages = 0;
  let lastAt = 0;
  sink.on('message', (m) => {
    messages++;
    lastAt = performance.now();
    for (const to of m.envelope.to) received.set(to, (received.get(to) ?? 0) + 1);
  });
  const children: ChildProcess[] = [];
  const html = '<h1>Hello {{ name }}</h1><p>Your code is {{ code }}. Thanks for reading this letter.</p>';
  let ok = true;
  try {
    // --- baseline: a bare pooled nodemailer loop, the workers' total pool, same SMTP server ----
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port,
      pool: true,
      maxConnections: POOL * WORKERS,
    });
    const b0 = performance.now();
    let nextBase = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY * WORKERS }, async () => {
        while (nextBase < BASELINE_MESSAGES) {
          const i = nextBase++;
          await transport.sendMail({
            from: 'Mailsystem <no-reply@mailsystem.local>',
            to: { name: `User ${i}`, address: `base${i}@example.com` },
            subject: `Hello User ${i}`,
            html: html.replace('{{ name }}', `User ${i}`).replace('{{ code }}', `C${i}`),
            text: `Hello User ${i}\n\nYour code is C${i}.`,
          });
        }
      }),
    );
    const baselineRate = BASELINE_MESSAGES / ((performance.now() - b0) / 1000);
    transport.close();
    received.clear();
    messages = 0;

    // --- Mailsystem: 2 APIs, 3 workers ------------------------------------------------------------
    const env = roleEnv(db, port, {
      SMTP_POOL_SIZE: String(POOL),
      SMTP_TIMEOUT_MS: '5000',
      WORKER_CONCURRENCY: String(CONCURRENCY),
      // 0: the API's rate limit is off altogether (not merely out of reach).
      RATE_LIMIT_PER_SECOND: '0',
      LEASE_SECONDS: '120',
      JOB_LOCK_SECONDS: '30',
      RECOVERY_INTERVAL_SECONDS: '5',
      RECOVERY_GRACE_SECONDS: '60',
      RETRY_BASE_SECONDS: '5',
      RETRY_MAX_SECONDS: '60',
    });
    const roles = await Promise.allSettled([
      ...Array.from({ length: APIS }, () => startRole('api', env)),
      ...Array.from({ length: WORKERS }, () => startRole('worker', env)),
    ]);
    for (const r of roles) if (r.status === 'fulfilled') children.push(r.value.child);
    const failed = roles.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    const apis = roles.slice(0, APIS).map((r) => (r as PromiseFulfilledResult<{ url: string }>).value.url);
    const api = (i: number) => apis[i % APIS] as string;

    const { key, templateId } = await benchTenant(api(0), {
      name: 'scale',
      subject_template: 'Hello {{ name }}',
      html_template: html,
    });
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    const workerCpu0 = children.slice(APIS).map((c) => cpuSeconds(c.pid));

    const bulkBody = JSON.stringify({
      template_id: templateId,
      recipients: Array.from({ length: BULK }, (_, i) => ({
        email: `bulk-${i}@example.com`,
        name: `User ${i}`,
        variables: { name: `User ${i}`, code: `C${i}` },
      })),
    });
    const t0 = performance.now();
    let bulkAcceptedAt = 0;
    const bulk = fetch(`${api(0)}/send/bulk`, { method: 'POST', headers, body: bulkBody }).then(async (r) => {
      bulkAcceptedAt = performance.now();
      if (r.status !== 202) throw new Error(`bulk answered ${r.status}: ${await r.text()}`);
      return (await r.json()) as { bulk_job_id: string };
    });
    const latencies: number[] = [];
    const refused: number[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async (_, c) => {
        while (next < SINGLES) {
          const i = next++;
          const s0 = performance.now();
          const res = await fetch(`${api(c)}/send`, {
            method: 'POST',
            headers,
            body: JSON.stringify({
              recipient: { email: `single-${i}@example.com` },
              template_id: templateId,
              variables: { name: `S${i}`, code: `S${i}` },
            }),
          });
          await res.arrayBuffer();
          if (res.status === 202) latencies.push(performance.now() - s0);
          else refused.push(res.status);
        }
      }),
    );
    const singlesDone = performance.now();
    const { bulk_job_id: jobId } = await bulk;

    let rowsAt = 0;
    for (;;) {
      const { rows } = await pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM emails WHERE bulk_job_id = $1',
        [jobId],
      );
      if ((rows[0]?.n ?? 0) >= BULK) {
        rowsAt = performance.now();
        break;
      }
      await sleep(50);
    }

    const total = BULK + SINGLES;
    const deadline = performance.now() + Math.max(120_000, (total / 50) * 1000);
    let sentRows = 0;
    while (performance.now() < deadline) {
      const { rows } = await pool.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM emails WHERE status = 'sent'",
      );
      sentRows = rows[0]?.n ?? 0;
      if (received.size >= total && sentRows >= total) break;
      await sleep(500);
    }
    const allAt = lastAt;
    // Anything delivered twice would come from a worker still at work: give it a moment.
    await sleep(2000);
    const workerCpu = children.slice(APIS).map((c, i) => cpuSeconds(c.pid) - (workerCpu0[i] ?? 0));
    const workerRss = children.slice(APIS).map((c) => rssMb(c.pid));
    const apiRss = children.slice(0, APIS).map((c) => rssMb(c.pid));

    const expected = [
      ...Array.from({ length: BULK }, (_, i) => `bulk-${i}@example.com`),
      ...Array.from({ length: SINGLES }, (_, i) => `single-${i}@example.com`),
    ];
    const missing = expected.filter((to) => !received.has(to)).length;
    const twice = [...received.values()].filter((n) => n > 1).length;
    const { rows: statuses } = await pool.query<{ status: string; n: number }>(
      'SELECT status, count(*)::int AS n FROM emails GROUP BY status ORDER BY status',
    );
    const { rows: dead } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM dead_letters');
    const { rows: byWorker } = await pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM emails WHERE status = 'sent' GROUP BY claimed_by ORDER BY 1 DESC",
    );
    const sorted = [...latencies].sort((a, b) => a - b);

    console.log(
      `\nscale-out: ${APIS} API + ${WORKERS} worker processes (${RUNTIME}), one PostgreSQL, one Redis; ` +
        `bulk of ${fmt(BULK)} + ${fmt(SINGLES)} single sends over ${CONNECTIONS} connections`,
    );
    line(
      'POST /send/bulk → 202',
      `${fmt(bulkAcceptedAt - t0)} ms`,
      `(body ${fmt(bulkBody.length / 1e6, 1)} MB)`,
    );
    line(
      'single POST /send accepted, during the bulk',
      `${fmt(latencies.length / ((singlesDone - t0) / 1000))} /s`,
      `(p50 ${fmt(pct(sorted, 0.5), 1)} ms, p99 ${fmt(pct(sorted, 0.99), 1)} ms; ${refused.length} refused)`,
    );
    line('bulk 202 → all bulk email rows exist', `${fmt(rowsAt - bulkAcceptedAt)} ms`);
    line(
      'first request → every recipient at the SMTP server',
      `${fmt((allAt - t0) / 1000, 1)} s`,
      `(${fmt(messages)} messages)`,
    );
    const rate = messages / ((allAt - t0) / 1000);
    line('Mailsystem delivery rate, 3 workers', `${fmt(rate)} msg/s`);
    line('baseline: bare pooled nodemailer loop', `${fmt(baselineRate)} msg/s`, `(pool ${POOL * WORKERS})`);
    line('Mailsystem / baseline', `${fmt((100 * rate) / baselineRate)} %`);
    line('sent per worker (claimed_by)', byWorker.map((r) => fmt(r.n)).join(' / '));
    line('worker CPU s during the run', workerCpu.map((s) => fmt(s, 1)).join(' / '));
    line(
      'RSS MB: APIs / workers',
      `${apiRss.map((m) => fmt(m)).join(', ')} / ${workerRss.map((m) => fmt(m)).join(', ')}`,
    );
    line('recipients missing at the SMTP server', fmt(missing), missing ? 'FAIL' : 'ok');
    line('recipients reached more than once', fmt(twice), twice ? 'FAIL' : 'ok');
    const allSent = statuses.length === 1 && statuses[0]?.status === 'sent' && statuses[0].n === total;
    line(
      'emails by status',
      statuses.map((r) => `${r.status} ${fmt(r.n)}`).join(', '),
      allSent ? 'ok' : 'FAIL',
    );
    line('dead letters', fmt(dead[0]?.n ?? 0), dead[0]?.n ? 'FAIL' : 'ok');
    ok = missing === 0 && twice === 0 && allSent && !dead[0]?.n && refused.length === 0;
  } finally {
    await Promise.allSettled(children.map(stopChild));
    await pool.end();
    await sink.stop();
    await db.drop();
  }
  if (!ok) process.exit(1);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

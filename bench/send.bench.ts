/**
 * POST /send acceptance: the API role alone (no workers), 64 connections, the 1.2 KB template,
 * beside a baseline measured in the same run: a bare Fastify process whose route does one
 * `INSERT … RETURNING` through a pg pool of 10 and commits once per request. Baseline and system
 * alternate BENCH_ROUNDS times; medians and ranges are printed, with p50/p99 latency, the API's
 * RSS after the load and a check that every 202 left a row.
 *
 *   npm run bench:send      (BENCH_SECONDS=10 BENCH_CONNECTIONS=64 BENCH_ROUNDS=3 by default)
 *
 * Servers run in child processes; the load generator (autocannon) runs in this one. Needs
 * PostgreSQL and Redis as the tests do; creates and drops its own database and key prefix.
 */
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import pg from 'pg';
import {
  benchDatabase,
  benchTenant,
  benchVariables,
  cpuSeconds,
  json,
  median,
  RUNTIME,
  roleEnv,
  rssMb,
  startChild,
  startRole,
  stopChild,
  summary,
} from './lib.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SCRIPT = fileURLToPath(import.meta.url);

/** The baseline: a bare Fastify process whose route does one INSERT … RETURNING (pool of 10). */
async function serveBare(databaseUrl: string) {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
  await pool.query(
    'CREATE TABLE IF NOT EXISTS bare_sends (id bigserial PRIMARY KEY, body jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())',
  );
  const app = Fastify();
  app.post('/send', async (req, reply) => {
    const { rows } = await pool.query('INSERT INTO bare_sends (body) VALUES ($1) RETURNING id', [req.body]);
    return reply.code(202).send({ email_id: rows[0].id, status: 'queued' });
  });
  process.stdout.write(`${await app.listen({ host: '127.0.0.1', port: 0 })}\n`);
}

async function load(url: string, body: (i: number) => string, key = '') {
  let next = 0;
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: SECONDS,
    requests: [
      {
        method: 'POST',
        path: '/send',
        setupRequest: (req) => ({ ...req, body: body(next++) }),
      },
    ],
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
  });
  return {
    perSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    ok: result['2xx'],
    bad: result.non2xx + result.errors + result.timeouts,
  };
}

async function main() {
  const db = await benchDatabase('send');
  const children: ChildProcess[] = [];
  const count = async (sql: string) => {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      return (await c.query<{ n: number }>(sql)).rows[0]?.n ?? 0;
    } finally {
      await c.end();
    }
  };
  try {
    // The API role alone: nothing is delivered, so it needs no relay.
    const systemEnv = roleEnv(db, null);
    const setup = await startRole('api', systemEnv);
    children.push(setup.child);
    const { key, templateId } = await benchTenant(setup.url);
    const sendBody = (i: number) =>
      JSON.stringify({
        template_id: templateId,
        recipient: { email: `r${i}@example.com`, name: `Reader ${i}` },
        variables: benchVariables(i),
        tags: ['bench'],
      });
    // One request first: a bench that measures refusals measures nothing.
    await json(setup.url, '/send', JSON.parse(sendBody(0)), key);
    await stopChild(setup.child);

    const bare: (Awaited<ReturnType<typeof load>> & { cpuMs: number })[] = [];
    const system: (Awaited<ReturnType<typeof load>> & { rss: number; stored: number; cpuMs: number })[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const b = await startChild(SCRIPT, ['bare', db.url]);
      children.push(b.child);
      const bareCpu = cpuSeconds(b.child.pid);
      const br = await load(b.line, sendBody);
      bare.push({ ...br, cpuMs: (1000 * (cpuSeconds(b.child.pid) - bareCpu)) / Math.max(1, br.ok) });
      await stopChild(b.child);

      const before = await count('SELECT count(*)::int AS n FROM emails');
      const s = await startRole('api', systemEnv);
      children.push(s.child);
      const cpu = cpuSeconds(s.child.pid);
      const r = await load(s.url, sendBody, key);
      const cpuMs = (1000 * (cpuSeconds(s.child.pid) - cpu)) / Math.max(1, r.ok);
      const rss = rssMb(s.child.pid);
      await stopChild(s.child);
      const stored = (await count('SELECT count(*)::int AS n FROM emails')) - before;
      system.push({ ...r, rss, stored, cpuMs });
      console.log(
        `round ${round}: bare ${bare.at(-1)?.perSecond.toFixed(0)}/s, /send ${r.perSecond.toFixed(0)}/s, CPU/request ${bare.at(-1)?.cpuMs.toFixed(2)} vs ${cpuMs.toFixed(2)} ms ` +
          `(p99 ${r.p99} ms, ${r.ok} × 2xx, ${r.bad} other, ${stored} rows stored, RSS ${rss.toFixed(0)} MB)`,
      );
    }
    const ratio = median(system.map((s) => s.perSecond)) / median(bare.map((b) => b.perSecond));
    console.log(
      `\nPOST /send (${RUNTIME}), ${SECONDS} s per run, ${CONNECTIONS} connections, ${ROUNDS} rounds (median (range))`,
    );
    console.log(
      `  bare insert (baseline)  ${summary(bare.map((b) => b.perSecond))}/s  p50 ${summary(bare.map((b) => b.p50))} ms  p99 ${summary(bare.map((b) => b.p99))} ms`,
    );
    console.log(
      `  POST /send (API role)   ${summary(system.map((s) => s.perSecond))}/s  p50 ${summary(system.map((s) => s.p50))} ms  p99 ${summary(system.map((s) => s.p99))} ms`,
    );
    console.log(
      `  ratio ${ratio.toFixed(2)}×; API RSS after the load ${summary(system.map((s) => s.rss))} MB`,
    );
    // CPU per answered request, of the server process only (not PostgreSQL's or Redis's): steadier
    // than requests per second when the machine is shared.
    console.log(
      `  server CPU per request: bare ${summary(
        bare.map((b) => b.cpuMs),
        2,
      )} ms, API role ${summary(
        system.map((s) => s.cpuMs),
        2,
      )} ms`,
    );
    const lost = system.filter((s) => s.stored < s.ok || s.bad > 0);
    console.log(
      `  every request 202 and stored: ${lost.length === 0 ? 'yes' : `NO (${lost.length} rounds not)`}`,
    );
  } finally {
    for (const c of children) c.kill('SIGKILL');
    await db.drop();
  }
}

if (process.argv[2] === '--serve') {
  await serveBare(process.argv[4] as string);
} else {
  await main();
  process.exit(0);
}

/**
 * Memory over time: the API and worker roles (compiled, as in production) under a steady mix of
 * POST /send, the deliveries they cause (into a local SMTP sink) and signed provider webhooks for
 * the emails sent (20 % of them replays), for BENCH_SOAK_SECONDS (default 600). Each role's RSS is
 * sampled every BENCH_SOAK_SAMPLE_SECONDS (default 5); the bench prints RSS at the start, after the
 * warm-up (median of the samples from 10 % to 20 % of the run), at the end (median of the last
 * 10 %) and at its highest, and the drift from after the warm-up to the end. It prints; it judges nothing (docs/performance.md has
 * the targets and what each role holds).
 *
 *   npm run bench:soak       (BENCH_SOAK_SECONDS=600 BENCH_SOAK_SEND_RATE=40 BENCH_SOAK_WEBHOOK_RATE=150;
 *                            BENCH_SOAK_NODE_ARGS="--max-semi-space-size=4" passes node flags to both roles)
 *
 * Needs PostgreSQL and Redis as the tests do; it creates and drops its own database and Redis prefix.
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { CaptureSmtpServer } from '../src/dev/capture-server.js';
import { signStandardWebhook, standardWebhooksKey } from '../src/providers/standard-webhooks/signature.js';
import {
  benchDatabase,
  benchTenant,
  benchVariables,
  json,
  median,
  RUNTIME,
  roleEnv,
  rssMb,
  sleep,
  startRole,
  stopChild,
} from './lib.js';

const SECONDS = Number(process.env.BENCH_SOAK_SECONDS ?? 600);
const SAMPLE_SECONDS = Number(process.env.BENCH_SOAK_SAMPLE_SECONDS ?? 5);
const SEND_RATE = Number(process.env.BENCH_SOAK_SEND_RATE ?? 40);
const WEBHOOK_RATE = Number(process.env.BENCH_SOAK_WEBHOOK_RATE ?? 150);
/** Requests of one kind in flight at most: past it the mix waits instead of piling up. */
const MAX_IN_FLIGHT = 32;
const SECRET = 'bench-soak-webhook-secret-0123456789';
const TARGET_MB = { api: 150, worker: 200 };

/** Calls `op` `perSecond` times a second (in ticks of 100 ms), at most MAX_IN_FLIGHT at once. */
function steady(perSecond: number, until: number, op: () => Promise<void>): Promise<void> {
  let inFlight = 0;
  let owed = 0;
  return new Promise((resolve) => {
    const tick = setInterval(() => {
      if (Date.now() >= until) {
        clearInterval(tick);
        const drain = setInterval(() => {
          if (inFlight === 0) {
            clearInterval(drain);
            resolve();
          }
        }, 50);
        return;
      }
      owed += perSecond / 10;
      while (owed >= 1 && inFlight < MAX_IN_FLIGHT) {
        owed -= 1;
        inFlight++;
        void op().finally(() => inFlight--);
      }
      owed = Math.min(owed, perSecond);
    }, 100);
  });
}

async function main() {
  const db = await benchDatabase('soak');
  const sink = new CaptureSmtpServer({ port: 0, keep: 1 });
  const { port } = await sink.start();
  let delivered = 0;
  sink.on('message', () => delivered++);
  const children: ChildProcess[] = [];
  try {
    const env = roleEnv(db, port, { WEBHOOK_SECRET_SMTP: SECRET });
    // BENCH_SOAK_NODE_ARGS: node flags for both roles (e.g. "--max-semi-space-size=4"), to compare.
    const nodeArgs = (process.env.BENCH_SOAK_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const api = await startRole('api', env, nodeArgs);
    children.push(api.child);
    const worker = await startRole('worker', env, nodeArgs);
    children.push(worker.child);
    const { key, templateId } = await benchTenant(api.url);

    const started = Date.now();
    const until = started + SECONDS * 1000;
    const samples: { t: number; api: number; worker: number }[] = [];
    const sample = () =>
      samples.push({
        t: (Date.now() - started) / 1000,
        api: rssMb(api.child.pid),
        worker: rssMb(worker.child.pid),
      });
    sample();
    const sampler = setInterval(sample, SAMPLE_SECONDS * 1000);

    const counts = { sent: 0, sendFailed: 0, webhooks: 0, webhookFailed: 0 };
    const emailIds: string[] = [];
    let n = 0;
    const send = steady(SEND_RATE, until, async () => {
      const i = n++;
      try {
        const r = await json(
          api.url,
          '/send',
          {
            template_id: templateId,
            recipient: { email: `soak-${i}@example.com`, name: `Reader ${i}` },
            variables: benchVariables(i),
          },
          key,
        );
        counts.sent++;
        // The most recent emails are the ones providers report on; older ids are forgotten.
        emailIds.push(r.email_id as string);
        if (emailIds.length > 5000) emailIds.splice(0, 1000);
      } catch {
        counts.sendFailed++;
      }
    });

    const hmacKey = standardWebhooksKey(SECRET) as Buffer;
    const recent: { body: string; headers: Record<string, string> }[] = [];
    const types = ['delivered', 'opened', 'clicked', 'delivered'];
    let w = 0;
    const webhooks = steady(WEBHOOK_RATE, until, async () => {
      let req =
        recent.length > 100 && Math.random() < 0.2 ? recent[Math.floor(Math.random() * 100)] : undefined;
      if (!req) {
        const emailId = emailIds[Math.floor(Math.random() * emailIds.length)];
        const body = JSON.stringify({
          event_id: `evt_${randomUUID()}`,
          type: types[w % types.length],
          ...(emailId ? { email_id: emailId } : {}),
          occurred_at: new Date().toISOString(),
          data: { smtp_response: '250 2.0.0 OK' },
        });
        const id = `msg_${w++}`;
        const ts = Math.floor(Date.now() / 1000);
        req = {
          body,
          headers: {
            'content-type': 'application/json',
            'webhook-id': id,
            'webhook-timestamp': String(ts),
            'webhook-signature': signStandardWebhook(hmacKey, id, ts, body),
          },
        };
        recent.push(req);
        if (recent.length > 200) recent.splice(0, 100);
      }
      try {
        const res = await fetch(`${api.url}/webhooks/smtp`, {
          method: 'POST',
          headers: req.headers,
          body: req.body,
        });
        await res.arrayBuffer();
        if (res.ok) counts.webhooks++;
        else counts.webhookFailed++;
      } catch {
        counts.webhookFailed++;
      }
    });

    const progress = setInterval(() => {
      const last = samples.at(-1);
      console.log(
        `${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s: ${counts.sent} sent, ${delivered} delivered, ` +
          `${counts.webhooks} webhooks; RSS api ${last?.api.toFixed(0)} MB, worker ${last?.worker.toFixed(0)} MB`,
      );
    }, 60_000);
    await Promise.all([send, webhooks]);
    // The deliveries still queued when the load stopped.
    const drainUntil = Date.now() + 10_000;
    while (delivered < counts.sent && Date.now() < drainUntil) await sleep(200);
    clearInterval(progress);
    clearInterval(sampler);
    sample();

    // One sample can catch a collection halfway: "after warm-up" is the median of the samples
    // from 10 % to 20 % of the run, "end" the median of its last 10 %.
    const tenth = Math.max(1, Math.floor(samples.length / 10));
    const row = (role: 'api' | 'worker') => {
      const values = samples.map((s) => s[role]);
      const afterWarmup = median(values.slice(tenth, 2 * tenth));
      const end = median(values.slice(-tenth));
      const f = (v: number) => `${v.toFixed(0).padStart(5)} MB`;
      const drift = ((end - afterWarmup) / afterWarmup) * 100;
      return (
        `  ${role.padEnd(6)} ${f(values[0] as number)}   ${f(afterWarmup)}   ${f(end)}   ${f(Math.max(...values))}` +
        `   ${drift >= 0 ? '+' : ''}${drift.toFixed(1).padStart(5)} %     ≤ ${TARGET_MB[role]} MB, ±10 %`
      );
    };
    const elapsed = (Date.now() - started) / 1000;
    console.log(
      `\nsoak (${RUNTIME}), ${SECONDS} s of ${SEND_RATE} sends/s and ${WEBHOOK_RATE} webhooks/s ` +
        `(20 % replays), RSS sampled every ${SAMPLE_SECONDS} s (${samples.length} samples)`,
    );
    console.log(
      `  ${counts.sent} sends accepted (${counts.sendFailed} failed), ${delivered} delivered, ` +
        `${counts.webhooks} webhooks answered 2xx (${counts.webhookFailed} not) in ${elapsed.toFixed(0)} s`,
    );
    console.log('  role       start   after warm-up       end       max   drift (warm-up → end)   target');
    console.log(row('api'));
    console.log(row('worker'));
  } finally {
    for (const c of children) await stopChild(c);
    await sink.stop();
    await db.drop();
  }
}

await main();
process.exit(0);

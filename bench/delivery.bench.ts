/**
 * Delivery: the worker role alone draining BENCH_EMAILS queued emails (the 1.2 KB template,
 * accepted beforehand through POST /send by the API role) into a real SMTP server (smtp-server in
 * this process), beside a baseline measured in the same run: a bare pooled nodemailer loop
 * (5 connections, 20 sends in flight) sending messages of the same size to the same server.
 * Baseline and system alternate BENCH_ROUNDS times; medians and ranges are printed, with the
 * worker's RSS after the drain and a check that every email arrived exactly once.
 *
 *   npm run bench:delivery      (BENCH_EMAILS=5000 BENCH_ROUNDS=3 by default)
 *
 * Needs PostgreSQL and Redis as the tests do; creates and drops its own database and key prefix.
 */
import type { ChildProcess } from 'node:child_process';
import nodemailer from 'nodemailer';
import { CaptureSmtpServer } from '../src/dev/capture-server.js';
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
  summary,
} from './lib.js';

const EMAILS = Number(process.env.BENCH_EMAILS ?? 5000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const POOL = 5;
const IN_FLIGHT = 20;

async function main() {
  const db = await benchDatabase('delivery');
  const sink = new CaptureSmtpServer({ port: 0, keep: 1 });
  const { port } = await sink.start();
  const seen = new Map<string, number>();
  let first = 0;
  let last = 0;
  sink.on('message', (m) => {
    const to = m.envelope.to[0] ?? '';
    seen.set(to, (seen.get(to) ?? 0) + 1);
    last = performance.now();
    first ||= last;
  });
  const children: ChildProcess[] = [];
  try {
    const env = roleEnv(db, port, {
      SMTP_POOL_SIZE: String(POOL),
      WORKER_CONCURRENCY: String(IN_FLIGHT),
    });
    const api = await startRole('api', env);
    children.push(api.child);
    const { key, templateId } = await benchTenant(api.url);
    const preview = await json(
      api.url,
      `/templates/${templateId}/preview`,
      { variables: benchVariables(0) },
      key,
    );

    const baseline: number[] = [];
    const system: { rate: number; rss: number; duplicates: number; missing: number }[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      // --- baseline: a bare pooled nodemailer loop --------------------------------------------
      seen.clear();
      const transport = nodemailer.createTransport({
        host: '127.0.0.1',
        port,
        pool: true,
        maxConnections: POOL,
      });
      let next = 0;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: IN_FLIGHT }, async () => {
          while (next < EMAILS) {
            const i = next++;
            await transport.sendMail({
              from: 'Mailsystem <no-reply@mailsystem.local>',
              to: { name: `Reader ${i}`, address: `base${round}-${i}@example.com` },
              subject: String(preview.subject),
              html: String(preview.html),
              text: String(preview.text ?? ''),
            });
          }
        }),
      );
      baseline.push(EMAILS / ((performance.now() - t0) / 1000));
      transport.close();

      // --- Mailsystem: accept EMAILS first, then start a worker and time the drain ----------------
      seen.clear();
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
                recipient: { email: `r${round}-${i}@example.com`, name: `Reader ${i}` },
                variables: benchVariables(i),
              },
              key,
            );
          }
        }),
      );
      first = 0;
      const worker = await startRole('worker', env);
      children.push(worker.child);
      const deadline = Date.now() + 600_000;
      while (seen.size < EMAILS && Date.now() < deadline) await sleep(20);
      // The drain rate, from the first message to arrive to the last (the worker's start-up is not in it).
      const rate = (seen.size - 1) / ((last - first) / 1000);
      await sleep(500);
      const rss = rssMb(worker.child.pid);
      await stopChild(worker.child);
      const duplicates = [...seen.values()].filter((n) => n > 1).length;
      system.push({ rate, rss, duplicates, missing: EMAILS - seen.size });
      console.log(
        `round ${round}: nodemailer loop ${baseline.at(-1)?.toFixed(0)}/s, worker ${rate.toFixed(0)}/s ` +
          `(${seen.size}/${EMAILS} arrived, ${duplicates} twice, RSS ${rss.toFixed(0)} MB)`,
      );
    }
    const ratio = median(system.map((s) => s.rate)) / median(baseline);
    console.log(`\ndelivery of ${EMAILS} queued emails (${RUNTIME}), ${ROUNDS} rounds (median (range))`);
    console.log(`  bare nodemailer loop (baseline)  ${summary(baseline)}/s`);
    console.log(`  worker role, first to last      ${summary(system.map((s) => s.rate))}/s`);
    console.log(
      `  ratio ${ratio.toFixed(2)}×; worker RSS after the drain ${summary(system.map((s) => s.rss))} MB`,
    );
    const wrong = system.filter((s) => s.duplicates > 0 || s.missing > 0);
    console.log(`  every email arrived exactly once: ${wrong.length === 0 ? 'yes' : 'NO'}`);
  } finally {
    for (const c of children) c.kill('SIGKILL');
    await sink.stop();
    await db.drop();
  }
}

await main();
process.exit(0);

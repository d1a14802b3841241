import { afterEach, describe, expect, it } from 'vitest';
import type { System } from '../../src/main/system.js';
import { BULK_JOB_EMAILS } from '../../src/queue/jobs.js';
import { eventually, type Harness, startHarness } from '../support/harness.js';

/**
 * A bulk fan-out hands its emails to the queue BULK_JOB_EMAILS at a time. A worker holds the
 * emails of the jobs it runs; transactional mail still goes out before the bulk emails it holds,
 * and a worker that stops leaves the ones it has not begun to the job's next run.
 */
describe('bulk mail in shared jobs', () => {
  let h: Harness | null = null;
  const workers: System[] = [];
  afterEach(async () => {
    for (const w of workers.splice(0)) await w.stop();
    await h?.close();
    h = null;
  });

  const start = async (latencyMs: number) => {
    // A slow relay and two deliveries at a time: a job of BULK_JOB_EMAILS takes a visible while.
    const harness = await startHarness({
      roles: { api: true, worker: false },
      sink: { latencyMs, keep: 5000 },
      env: { WORKER_CONCURRENCY: '2' },
    });
    h = harness;
    const tenant = await harness.createTenant();
    const templateId = await harness.createTemplate(tenant.key);
    const bulk = async (n: number) => {
      const r = await harness.request('POST', '/send/bulk', {
        key: tenant.key,
        body: {
          template_id: templateId,
          recipients: Array.from({ length: n }, (_, i) => ({
            email: `bulk-${i}@example.com`,
            variables: { name: `B${i}` },
          })),
        },
      });
      expect(r.status).toBe(202);
      return r.body.bulk_job_id as string;
    };
    const worker = async () => {
      const w = await harness.startPeer({ roles: { api: false, worker: true } });
      workers.push(w);
      return w;
    };
    return { h: harness, tenant, templateId, bulk, worker };
  };

  it('sends a transactional email ahead of the bulk emails the worker already holds', async () => {
    const s = await start(25);
    await s.bulk(200);
    await s.worker();
    await eventually(async () => (await s.h.sink.messages()).length >= 3, 30_000, 10);
    const tx = await s.h.request('POST', '/send', {
      key: s.tenant.key,
      body: {
        recipient: { email: 'urgent@example.com' },
        template_id: s.templateId,
        variables: { name: 'U' },
      },
    });
    expect(tx.status).toBe(202);
    await s.h.sink.waitFor(201, 60_000);
    const order = (await s.h.sink.messages()).map((m) => m.envelope.to[0]);
    const at = order.indexOf('urgent@example.com');
    // The worker held two bulk jobs (its two job slots) when it came. It waits for the first of
    // them to end, then goes out before what is left of the second, not after it.
    expect(at).toBeGreaterThan(0);
    expect(at).toBeLessThan(2 * BULK_JOB_EMAILS);
    const perRecipient = s.h.sink.perRecipient('bulk-');
    expect(perRecipient.size).toBe(200);
    expect([...perRecipient.values()].filter((n) => n !== 1)).toEqual([]);
  }, 120_000);

  it('leaves the emails a stopping worker has not begun to their job, which the next worker sends once', async () => {
    const s = await start(40);
    const jobId = await s.bulk(60);
    const first = await s.worker();
    await eventually(async () => (await s.h.sink.messages()).length >= 2, 30_000, 10);
    await first.stop();
    // It finished the deliveries it had begun, not the jobs it held.
    const delivered = (await s.h.sink.messages()).length;
    expect(delivered).toBeLessThan(60);
    const left = await s.h.sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM emails WHERE bulk_job_id = $1 AND status = 'queued'`,
      [jobId],
    );
    expect(left[0]?.n).toBe(60 - delivered);

    await s.worker();
    await s.h.sink.waitFor(60, 60_000);
    await eventually(
      async () =>
        (
          await s.h.sql(`SELECT count(*)::int AS n FROM emails WHERE bulk_job_id = $1 AND status = 'sent'`, [
            jobId,
          ])
        )[0].n === 60,
      30_000,
      100,
    );
    const perRecipient = s.h.sink.perRecipient('bulk-');
    expect(perRecipient.size).toBe(60);
    expect([...perRecipient.values()].filter((n) => n !== 1)).toEqual([]);
  }, 120_000);
});

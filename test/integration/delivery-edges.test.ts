import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockProvider } from '../../src/providers/mock/mock.provider.js';
import { eventually, type Harness, startHarness } from '../support/harness.js';

describe('a provider pace slower than the lease', () => {
  let h: Harness;
  let t: { id: string; key: string };
  let templateId: string;

  beforeAll(async () => {
    // 20 deliveries in flight, 4 sends a second: the last waits ~5 s for its slot, past its lease.
    h = await startHarness({
      env: {
        SMTP_MAX_PER_SECOND: '4',
        LEASE_SECONDS: '2',
        WORKER_CONCURRENCY: '20',
        RECOVERY_GRACE_SECONDS: '2',
      },
    });
    t = await h.createTenant();
    templateId = await h.createTemplate(t.key);
  });
  afterAll(() => h?.close());

  it('still sends each email once: a delivery whose claim lapsed while waiting does not send', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 16; i++) {
      const r = await h.request('POST', '/send', {
        key: t.key,
        body: {
          recipient: { email: `paced-${i}@example.com` },
          template_id: templateId,
          variables: { name: 'P' },
        },
      });
      ids.push(r.body.email_id);
    }
    await eventually(
      async () =>
        (
          await h.sql(
            `SELECT count(*)::int AS n FROM emails WHERE id = ANY($1::uuid[]) AND status = 'sent'`,
            [ids],
          )
        )[0].n === 16,
      60_000,
      200,
    );
    await new Promise((r) => setTimeout(r, 500));
    const perRecipient = h.sink.perRecipient();
    expect(perRecipient.size).toBe(16);
    expect([...perRecipient.entries()].filter(([, n]) => n > 1)).toEqual([]);
  });
});

describe('cancelling a bulk job while some of its emails are being sent', () => {
  let h: Harness;
  let t: { id: string; key: string };
  let templateId: string;
  const mock = new MockProvider({ latencyMs: 800 });

  beforeAll(async () => {
    // Every first attempt fails for a passing reason, after a while.
    mock.script((_msg, attempt) =>
      attempt === 1 ? { kind: 'transient', error: '451 try later', code: '451' } : undefined,
    );
    h = await startHarness({
      providers: [mock],
      env: { DEFAULT_PROVIDER: 'mock', RETRY_BASE_SECONDS: '0.05' },
    });
    t = await h.createTenant();
    templateId = await h.createTemplate(t.key);
  });
  afterAll(() => h?.close());

  it('does not try them again once the job is cancelled', async () => {
    const r = await h.request('POST', '/send/bulk', {
      key: t.key,
      body: {
        template_id: templateId,
        recipients: [{ email: 'c1@example.com' }, { email: 'c2@example.com' }, { email: 'c3@example.com' }],
        shared_variables: { name: 'C' },
      },
    });
    const jobId = r.body.bulk_job_id as string;
    await eventually(async () => {
      const rows = await h.sql(
        `SELECT count(*)::int AS n FROM emails WHERE bulk_job_id = $1 AND status = 'processing'`,
        [jobId],
      );
      return rows[0].n === 3;
    });
    const c = await h.request('POST', `/bulk/${jobId}/cancel`, { key: t.key });
    expect(c.status).toBe(200);
    const statuses = await eventually(async () => {
      const rows = await h.sql(`SELECT status FROM emails WHERE bulk_job_id = $1`, [jobId]);
      return rows.every((x) => x.status === 'cancelled') ? rows : null;
    });
    expect(statuses).toHaveLength(3);
    await new Promise((res) => setTimeout(res, 1500));
    expect(mock.messages).toEqual([]);
    for (const email of ['c1@example.com', 'c2@example.com', 'c3@example.com'])
      expect(mock.attempts(email)).toBe(1);
    expect((await h.request('GET', `/bulk/${jobId}`, { key: t.key })).body).toMatchObject({
      status: 'cancelled',
      sent: 0,
    });
  });
});

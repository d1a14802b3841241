import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Harness, startHarness } from '../support/harness.js';
import { parseCaptured } from '../support/smtp.js';

describe('bulk sending', () => {
  let h: Harness;
  let t: { id: string; key: string };
  let other: { id: string; key: string };
  let templateId: string;

  beforeAll(async () => {
    h = await startHarness({ sink: { keep: 30_000 }, env: { WORKER_CONCURRENCY: '20' } });
    t = await h.createTenant();
    other = await h.createTenant();
    templateId = await h.createTemplate(t.key, {
      subject_template: 'Hello {{ name }}',
      html_template: '<p>Dear {{ name }}, your code is {{ code }} ({{ campaign }})</p>',
    });
  });
  afterAll(() => h?.close());

  const bulk = (body: Record<string, unknown>, key = t.key) => h.request('POST', '/send/bulk', { key, body });
  const job = (id: string, key = t.key) => h.request('GET', `/bulk/${id}`, { key });
  const waitCompleted = (id: string) =>
    eventually(
      async () => {
        const r = await job(id);
        return r.body.status === 'completed' ? r.body : null;
      },
      60_000,
      200,
    );

  it('delivers 1,000 recipients once each with their own variables, reporting duplicates and invalid addresses', async () => {
    h.sink.clear();
    const recipients = Array.from({ length: 1000 }, (_, i) => ({
      email: `user${i}@example.com`,
      name: `User ${i}`,
      variables: { name: `User ${i}`, code: `C${i}` },
    }));
    recipients.push({ email: 'USER7@example.com', name: 'Dup', variables: { name: 'Dup', code: 'X' } });
    recipients.push({ email: 'not-an-address', name: 'Bad', variables: { name: 'Bad', code: 'X' } });
    const body = {
      tenant_id: t.id,
      template_id: templateId,
      recipients,
      shared_variables: { campaign: 'spring', code: 'shared' },
      metadata: { campaign: 'spring' },
      idempotency_key: 'bulk-1000',
    };
    const r = await bulk(body);
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({
      status: 'queued',
      total: 1002,
      accepted: 1000,
      invalid: 1,
      duplicates: 1,
      idempotency_reused: false,
    });

    const replay = await bulk(body);
    expect(replay.status).toBe(202);
    expect(replay.body).toMatchObject({ bulk_job_id: r.body.bulk_job_id, idempotency_reused: true });
    const changed = await bulk({ ...body, shared_variables: { campaign: 'autumn' } });
    expect(changed.status).toBe(422);
    expect(changed.body.error.code).toBe('idempotency_key_reused');

    const done = await waitCompleted(r.body.bulk_job_id);
    expect(done).toMatchObject({
      total: 1002,
      accepted: 1000,
      queued: 0,
      sent: 1000,
      failed: 0,
      skipped: 0,
      invalid: 1,
      duplicates: 1,
    });
    expect(done.completed_at).not.toBeNull();
    expect(done.invalid_recipients).toEqual([
      { index: 1000, email: 'USER7@example.com', reason: 'duplicate' },
      { index: 1001, email: 'not-an-address', reason: 'invalid_address' },
    ]);

    const raw = await h.sink.server.waitFor(1000);
    const byRecipient = new Map<string, number>();
    for (const m of raw)
      byRecipient.set(m.envelope.to[0] as string, (byRecipient.get(m.envelope.to[0] as string) ?? 0) + 1);
    expect(byRecipient.size).toBe(1000);
    expect([...byRecipient.values()].every((n) => n === 1)).toBe(true);
    const found = raw.find((m) => m.envelope.to[0] === 'user42@example.com');
    const m42 = found ? await parseCaptured(found) : undefined;
    expect(m42?.subject).toBe('Hello User 42');
    expect(m42?.html).toContain('Dear User 42, your code is C42 (spring)');
    expect(m42?.to).toEqual([{ name: 'User 42', address: 'user42@example.com' }]);
    // Every bulk message offers one-click unsubscribe (RFC 8058).
    const unfolded = m42?.raw.replace(/\r\n[ \t]+/g, ' ') ?? '';
    expect(unfolded).toMatch(/^List-Unsubscribe: <http:\/\/localhost:8000\/unsubscribe\/v1\.[\w.-]+>\r$/m);
    expect(unfolded).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r$/m);
    await new Promise((r) => setTimeout(r, 300));
    expect(h.sink.server.messages().length).toBe(1000);
  });

  it('reports recipients missing template variables instead of failing the job', async () => {
    const r = await bulk({
      template_id: templateId,
      recipients: [
        { email: 'full@example.com', variables: { name: 'A', code: '1' } },
        { email: 'partial@example.com', variables: { name: 'B' } },
      ],
      shared_variables: { campaign: 'c' },
    });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ accepted: 1, invalid: 1 });
    const done = await waitCompleted(r.body.bulk_job_id);
    expect(done.invalid_recipients).toEqual([
      { index: 1, email: 'partial@example.com', reason: 'missing_variables: code' },
    ]);
  });

  it('completes at once a job whose every recipient was refused', async () => {
    const r = await bulk({
      template_id: templateId,
      recipients: [{ email: 'not-an-address' }, { email: 'also bad' }],
      shared_variables: { campaign: 'c', name: 'n', code: 'x' },
    });
    expect(r.body).toMatchObject({ accepted: 0, invalid: 2 });
    expect((await job(r.body.bulk_job_id)).body).toMatchObject({
      status: 'completed',
      queued: 0,
      invalid: 2,
    });
  });

  it('skips and counts suppressed recipients', async () => {
    await h.request('POST', '/suppressions', { key: t.key, body: { email: 'blocked@example.com' } });
    await h.sql(
      `INSERT INTO suppressions (tenant_id, email, reason) VALUES ($1, 'blocked@example.com', 'manual') ON CONFLICT DO NOTHING`,
      [t.id],
    );
    const r = await bulk({
      template_id: templateId,
      recipients: [{ email: 'blocked@example.com' }, { email: 'open@example.com' }],
      shared_variables: { campaign: 'c', name: 'n', code: 'x' },
    });
    const done = await waitCompleted(r.body.bulk_job_id);
    expect(done).toMatchObject({ accepted: 2, sent: 1, skipped: 1 });
    const rows = await h.sql(`SELECT recipient_email FROM emails WHERE bulk_job_id = $1`, [
      r.body.bulk_job_id,
    ]);
    expect(rows.map((x) => x.recipient_email)).toEqual(['open@example.com']);
  });

  it('answers 400 naming the fields of a malformed request, and stores nothing', async () => {
    const before = (await h.sql('SELECT count(*)::int AS n FROM bulk_jobs'))[0].n;
    const r = await bulk({
      template_id: templateId,
      recipients: [{ mail: 'x@example.com' }],
      send_at: 'soon',
    });
    expect(r.status).toBe(400);
    expect(r.body.error.details.map((d: { field: string }) => d.field)).toEqual(
      expect.arrayContaining(['recipients.0.email', 'recipients.0.mail', 'send_at']),
    );
    const empty = await bulk({ template_id: templateId, recipients: [] });
    expect(empty.status).toBe(400);
    const unknown = await bulk({
      template_id: '00000000-0000-4000-8000-000000000000',
      recipients: [{ email: 'a@example.com' }],
    });
    expect(unknown.status).toBe(422);
    expect((await h.sql('SELECT count(*)::int AS n FROM bulk_jobs'))[0].n).toBe(before);
  });

  it("answers 404 for another tenant's bulk job, on read and on cancel", async () => {
    const r = await bulk({
      template_id: templateId,
      recipients: [{ email: 'mine@example.com' }],
      shared_variables: { campaign: 'c', name: 'n', code: 'x' },
      send_at: new Date(Date.now() + 3600_000).toISOString(),
    });
    expect((await job(r.body.bulk_job_id, other.key)).status).toBe(404);
    expect((await h.request('POST', `/bulk/${r.body.bulk_job_id}/cancel`, { key: other.key })).status).toBe(
      404,
    );
    expect((await job(r.body.bulk_job_id)).body.status).toBe('queued');
    expect((await job('not-a-uuid')).status).toBe(404);
  });

  it('cancels a scheduled bulk job: nothing is sent, and a second cancel is a 409', async () => {
    h.sink.clear();
    const r = await bulk({
      template_id: templateId,
      recipients: [{ email: 'later1@example.com' }, { email: 'later2@example.com' }],
      shared_variables: { campaign: 'c', name: 'n', code: 'x' },
      send_at: new Date(Date.now() + 1500).toISOString(),
    });
    const c = await h.request('POST', `/bulk/${r.body.bulk_job_id}/cancel`, { key: t.key });
    expect(c.status).toBe(200);
    expect(c.body).toMatchObject({ status: 'cancelled', queued: 0 });
    await new Promise((res) => setTimeout(res, 2500));
    expect(h.sink.server.messages().filter((m) => m.envelope.to[0]?.startsWith('later'))).toEqual([]);
    expect((await h.request('POST', `/bulk/${r.body.bulk_job_id}/cancel`, { key: t.key })).status).toBe(409);
  });

  it('sends a transactional email ahead of a running 20,000-recipient bulk', async () => {
    h.sink.clear();
    const recipients = Array.from({ length: 20_000 }, (_, i) => ({ email: `big${i}@example.com` }));
    const r = await bulk({
      template_id: templateId,
      recipients,
      shared_variables: { campaign: 'c', name: 'n', code: 'x' },
    });
    expect(r.status).toBe(202);
    // Wait until the bulk is delivering, then send one transactional email.
    await eventually(async () => h.sink.server.messages().length >= 200, 30_000, 20);
    const tx = await h.request('POST', '/send', {
      key: t.key,
      body: {
        recipient: { email: 'urgent@example.com' },
        template_id: templateId,
        variables: { name: 'U', code: '1', campaign: 'tx' },
      },
    });
    expect(tx.status).toBe(202);
    await eventually(
      async () => h.sink.server.messages().some((m) => m.envelope.to[0] === 'urgent@example.com'),
      30_000,
      10,
    );
    const deliveredBulk = h.sink.server.messages().filter((m) => m.envelope.to[0]?.startsWith('big')).length;
    // It did not wait its turn behind the bulk: most of the bulk was still waiting.
    expect(deliveredBulk).toBeLessThan(15_000);
    const cancelled = await h.request('POST', `/bulk/${r.body.bulk_job_id}/cancel`, { key: t.key });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.cancelled).toBeGreaterThan(0);
  });
});

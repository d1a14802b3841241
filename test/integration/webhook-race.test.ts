import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Harness, startHarness } from '../support/harness.js';
import { standardHeaders } from '../support/webhooks.js';

const SECRET = 'race-secret-0123456789abcdef';

/** A provider's webhook can arrive before the worker has written down that the send succeeded. */
describe('a delivery webhook that overtakes the worker', () => {
  let h: Harness;
  let t: { id: string; key: string };
  let templateId: string;

  beforeAll(async () => {
    // The relay holds each message a while before its 250, as a slow one would.
    h = await startHarness({ sink: { latencyMs: 1500 }, env: { WEBHOOK_SECRET_SMTP: SECRET } });
    t = await h.createTenant();
    templateId = await h.createTemplate(t.key);
  });
  afterAll(() => h?.close());

  it('keeps the later status and still records the send', async () => {
    const r = await h.request('POST', '/send', {
      key: t.key,
      body: { recipient: { email: 'fast@example.com' }, template_id: templateId, variables: { name: 'F' } },
    });
    const id = r.body.email_id as string;
    await eventually(
      async () => (await h.sql('SELECT status FROM emails WHERE id = $1', [id]))[0]?.status === 'processing',
    );
    const body = JSON.stringify({
      event_id: randomUUID(),
      type: 'delivered',
      email_id: id,
      occurred_at: new Date().toISOString(),
    });
    const w = await h.request('POST', '/webhooks/smtp', {
      rawBody: body,
      headers: standardHeaders(SECRET, body),
    });
    expect(w.status).toBe(202);

    const email = await eventually(async () => {
      const e = await h.request('GET', `/emails/${id}`, { key: t.key });
      return e.body.provider_message_id ? e.body : null;
    });
    expect(email.status).toBe('delivered');
    expect(email.sent_at).not.toBeNull();
    expect(email.events.map((e: { type: string }) => e.type)).toEqual([
      'queued',
      'processing',
      'delivered',
      'sent',
    ]);
    expect(h.sink.server.messages()).toHaveLength(1);
  });
});

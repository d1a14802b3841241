import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.js';

describe('POST /send idempotency', () => {
  let h: Harness;
  let tenant: { id: string; key: string };
  let other: { id: string; key: string };
  let templateId: string;
  const body = (extra: Record<string, unknown> = {}) => ({
    recipient: { email: 'idem@example.com', name: 'Idem' },
    template_id: templateId,
    variables: { name: 'Idem' },
    metadata: { order: 42 },
    ...extra,
  });
  const count = async (key: string) =>
    Number((await h.sql('SELECT count(*) AS n FROM emails WHERE idempotency_key = $1', [key]))[0].n);

  beforeAll(async () => {
    h = await startHarness();
    tenant = await h.createTenant();
    other = await h.createTenant();
    templateId = await h.createTemplate(tenant.key);
  });
  afterAll(() => h?.close());

  it('returns the first email_id with idempotency_reused for the same key and body', async () => {
    const first = await h.request('POST', '/send', {
      key: tenant.key,
      body: body({ idempotency_key: 'same-1' }),
    });
    expect(first.status).toBe(202);
    expect(first.body.idempotency_reused).toBe(false);
    const again = await h.request('POST', '/send', {
      key: tenant.key,
      body: body({ idempotency_key: 'same-1' }),
    });
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ email_id: first.body.email_id, idempotency_reused: true });
    expect(await count('same-1')).toBe(1);
  });

  it('treats the Idempotency-Key header like the body field: same content, same email', async () => {
    const viaBody = await h.request('POST', '/send', {
      key: tenant.key,
      body: body({ idempotency_key: 'hdr-1' }),
    });
    const viaHeader = await h.request('POST', '/send', {
      key: tenant.key,
      body: body(),
      headers: { 'idempotency-key': 'hdr-1' },
    });
    expect(viaHeader.status).toBe(202);
    expect(viaHeader.body).toMatchObject({ email_id: viaBody.body.email_id, idempotency_reused: true });
  });

  it('answers 422 idempotency_key_reused when the same key comes with another body, storing nothing', async () => {
    const first = await h.request('POST', '/send', {
      key: tenant.key,
      body: body({ idempotency_key: 'conflict-1' }),
    });
    expect(first.status).toBe(202);
    const changed = await h.request('POST', '/send', {
      key: tenant.key,
      body: body({ idempotency_key: 'conflict-1', variables: { name: 'Someone else' } }),
    });
    expect(changed.status).toBe(422);
    expect(changed.body.error.code).toBe('idempotency_key_reused');
    expect(await count('conflict-1')).toBe(1);
  });

  it('keeps keys per tenant: another tenant may use the same key', async () => {
    const otherTemplate = await h.createTemplate(other.key);
    const a = await h.request('POST', '/send', {
      key: tenant.key,
      body: body({ idempotency_key: 'shared-key' }),
    });
    const b = await h.request('POST', '/send', {
      key: other.key,
      body: body({ idempotency_key: 'shared-key', template_id: otherTemplate }),
    });
    expect(a.status).toBe(202);
    expect(b.status).toBe(202);
    expect(b.body.idempotency_reused).toBe(false);
    expect(b.body.email_id).not.toBe(a.body.email_id);
  });

  it('returns one email_id to 40 racing requests with the same key, and stores one email and one queued event', async () => {
    h.sink.clear();
    const responses = await Promise.all(
      Array.from({ length: 40 }, () =>
        h.request('POST', '/send', { key: tenant.key, body: body({ idempotency_key: 'race-40' }) }),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(40).fill(202));
    const ids = new Set(responses.map((r) => r.body.email_id));
    expect(ids.size).toBe(1);
    expect(responses.filter((r) => r.body.idempotency_reused === false)).toHaveLength(1);
    expect(await count('race-40')).toBe(1);
    const [id] = [...ids];
    const queued = await h.sql(
      `SELECT count(*)::int AS n FROM email_events WHERE email_id = $1 AND type = 'queued'`,
      [id],
    );
    expect(queued[0].n).toBe(1);
    // …and it is delivered once.
    const msgs = await h.sink.waitFor(1);
    await new Promise((r) => setTimeout(r, 300));
    expect((await h.sink.messages()).filter((m) => m.messageId === `<${id}@mailsystem.local>`)).toHaveLength(
      1,
    );
    expect(msgs.length).toBeGreaterThanOrEqual(1);
  });

  it('answers 400 when the body key and the header key differ', async () => {
    const r = await h.request('POST', '/send', {
      key: tenant.key,
      body: body({ idempotency_key: 'a' }),
      headers: { 'idempotency-key': 'b' },
    });
    expect(r.status).toBe(400);
    expect(r.body.error.details).toEqual([
      { field: 'idempotency_key', message: 'differs from the Idempotency-Key header' },
    ]);
  });
});

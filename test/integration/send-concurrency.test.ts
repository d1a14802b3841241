import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Harness, startHarness } from '../support/harness.js';

/**
 * POST /send under concurrency: requests in flight together share their look-ups and their insert
 * (src/services/send-batcher.ts). What a client sees must not change: each accepted email stored
 * with its event and delivered once, idempotency keys race-safe, a bad request refused alone.
 */
describe.each([
  ['PostgreSQL and BullMQ', false],
  ['the embedded mode', true],
])('POST /send, many at once, on %s', (_name, embedded) => {
  let h: Harness;
  let tenant: { id: string; key: string };
  let templateId: string;

  beforeAll(async () => {
    h = await startHarness({
      embedded,
      env: { RATE_LIMIT_PER_SECOND: '100000', RATE_LIMIT_BURST: '100000' },
    });
    tenant = await h.createTenant('Concurrent');
    templateId = await h.createTemplate(tenant.key, {
      subject_template: 'Order {{ order }}',
      html_template: '<p>Hello {{ name }}, order {{ order }}</p>',
    });
  });
  afterAll(() => h?.close());

  const send = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
    h.request('POST', '/send', { key: tenant.key, body, headers });

  it('accepts 200 concurrent sends: 200 × 202, each row with its queued event, each delivered once', async () => {
    h.sink.clear();
    const n = 200;
    const responses = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        send({
          recipient: { email: `many${i}@example.com` },
          template_id: templateId,
          variables: { name: `N${i}`, order: `O-${i}` },
        }),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(n).fill(202));
    const ids = responses.map((r) => r.body.email_id as string);
    expect(new Set(ids).size).toBe(n);
    for (const r of responses) expect(r.body).toMatchObject({ status: 'queued', idempotency_reused: false });

    const rows = await h.sql<{ id: string; subject: string; recipient_email: string; queued: number }>(
      `SELECT e.id, e.subject, e.recipient_email,
              (SELECT count(*)::int FROM email_events v WHERE v.email_id = e.id AND v.type = 'queued') AS queued
         FROM emails e WHERE e.id = ANY($1::uuid[])`,
      [ids],
    );
    expect(rows).toHaveLength(n);
    for (const row of rows) {
      expect(row.queued).toBe(1);
      const i = Number(row.recipient_email.replace(/\D/g, ''));
      expect(row.subject).toBe(`Order O-${i}`);
    }

    const messages = await h.sink.waitFor(n, 60_000);
    const recipients = messages.map((m) => m.envelope.to[0]);
    expect(new Set(recipients).size).toBe(n);
    expect(recipients).toHaveLength(n);
    await eventually(async () => {
      const [r] = await h.sql<{ sent: number }>(
        `SELECT count(*)::int AS sent FROM emails WHERE id = ANY($1::uuid[]) AND status = 'sent'`,
        [ids],
      );
      return r?.sent === n;
    });
    // Nothing more arrives later (a second delivery of any of them).
    await new Promise((r) => setTimeout(r, 500));
    expect(await h.sink.messages()).toHaveLength(n);
  }, 120_000);

  it('gives concurrent requests with one idempotency key one email, and a different body its 422', async () => {
    const body = {
      recipient: { email: 'same@example.com' },
      template_id: templateId,
      variables: { name: 'Same', order: 'S-1' },
    };
    const others = Array.from({ length: 20 }, (_, i) =>
      send({
        recipient: { email: `other${i}@example.com` },
        template_id: templateId,
        variables: { name: 'O', order: `${i}` },
      }),
    );
    const same = Array.from({ length: 10 }, (_, i) =>
      i % 2 === 0
        ? send({ ...body, idempotency_key: 'race-1' })
        : send(body, { 'idempotency-key': 'race-1' }),
    );
    const conflicting = send({
      ...body,
      variables: { name: 'Else', order: 'S-2' },
      idempotency_key: 'race-1',
    });
    const [sameRes, otherRes, conflictRes] = await Promise.all([
      Promise.all(same),
      Promise.all(others),
      conflicting,
    ]);
    expect(otherRes.map((r) => r.status)).toEqual(Array(20).fill(202));
    const accepted = sameRes.filter((r) => r.status === 202);
    // The conflicting body may win the key; then each same-body request is the one refused.
    const rows = await h.sql<{ id: string; request_fingerprint: string }>(
      `SELECT id, request_fingerprint FROM emails WHERE tenant_id = $1 AND idempotency_key = 'race-1'`,
      [tenant.id],
    );
    expect(rows).toHaveLength(1);
    const winner = rows[0]?.id;
    if (conflictRes.status === 202) {
      expect(conflictRes.body.email_id).toBe(winner);
      expect(accepted).toHaveLength(0);
      for (const r of sameRes) {
        expect(r.status).toBe(422);
        expect(r.body.error.code).toBe('idempotency_key_reused');
      }
    } else {
      expect(conflictRes.status).toBe(422);
      expect(conflictRes.body.error.code).toBe('idempotency_key_reused');
      expect(conflictRes.body.error.details).toEqual({ email_id: winner });
      expect(accepted).toHaveLength(10);
      for (const r of accepted) expect(r.body.email_id).toBe(winner);
      expect(accepted.filter((r) => r.body.idempotency_reused === false)).toHaveLength(1);
    }
    const [events] = await h.sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM email_events WHERE email_id = $1 AND type = 'queued'`,
      [winner],
    );
    expect(events?.n).toBe(1);
  });

  it('refuses a bad request among busy ones with its own 4xx, storing nothing for it', async () => {
    const added = await h.request('POST', '/suppressions', {
      key: tenant.key,
      body: { email: 'blocked@example.com' },
    });
    expect(added.status).toBe(201);
    const good = (i: number) =>
      send({
        recipient: { email: `busy${i}@example.com` },
        template_id: templateId,
        variables: { name: `B${i}`, order: `B-${i}` },
      });
    const bad = [
      // a variable the template needs is missing
      send({
        recipient: { email: 'missing@example.com' },
        template_id: templateId,
        variables: { name: 'M' },
      }),
      // a template that does not exist
      send({
        recipient: { email: 'unknown@example.com' },
        template_id: '00000000-0000-4000-8000-000000000000',
        variables: { name: 'U', order: '1' },
      }),
      // a suppressed recipient
      send({
        recipient: { email: 'blocked@example.com' },
        template_id: templateId,
        variables: { name: 'S', order: '1' },
      }),
      // a malformed address
      send({
        recipient: { email: 'not an address' },
        template_id: templateId,
        variables: { name: 'X', order: '1' },
      }),
    ];
    const results = await Promise.all([
      ...Array.from({ length: 30 }, (_, i) => good(i)),
      ...bad,
      ...Array.from({ length: 30 }, (_, i) => good(30 + i)),
    ]);
    const goods = [...results.slice(0, 30), ...results.slice(34)];
    expect(goods.map((r) => r.status)).toEqual(Array(60).fill(202));
    const [missing, unknown, suppressed, malformed] = results.slice(30, 34);
    expect([missing?.status, missing?.body.error.code]).toEqual([422, 'missing_variables']);
    expect(missing?.body.error.details).toEqual({ missing: ['order'] });
    expect([unknown?.status, unknown?.body.error.code]).toEqual([422, 'unknown_template']);
    expect([suppressed?.status, suppressed?.body.error.code]).toEqual([422, 'recipient_suppressed']);
    expect(malformed?.status).toBe(400);
    const stored = await h.sql<{ recipient_email: string }>(
      `SELECT recipient_email FROM emails
        WHERE tenant_id = $1 AND recipient_email IN ('missing@example.com', 'unknown@example.com', 'blocked@example.com', 'not an address')`,
      [tenant.id],
    );
    expect(stored).toEqual([]);
    const [busy] = await h.sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM emails WHERE tenant_id = $1 AND recipient_email LIKE 'busy%'`,
      [tenant.id],
    );
    expect(busy?.n).toBe(60);
  });
});

import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.js';
import { nowSeconds, ourEvent, sendAndWaitSent, standardHeaders } from '../support/webhooks.js';

const SMTP_SECRET = 'plain-smtp-webhook-secret-0123456789';
const MOCK_SECRET = `whsec_${randomBytes(24).toString('base64')}`;

describe('POST /webhooks/{provider} (Standard Webhooks: smtp, mock)', () => {
  let h: Harness;
  let tenant: { id: string; key: string };
  let templateId: string;

  beforeAll(async () => {
    h = await startHarness({ env: { WEBHOOK_SECRET_SMTP: SMTP_SECRET, WEBHOOK_SECRET_MOCK: MOCK_SECRET } });
    tenant = await h.createTenant('Webhooks');
    templateId = await h.createTemplate(tenant.key);
  });
  afterAll(() => h?.close());

  const post = (provider: string, raw: string, headers: Record<string, string>) =>
    h.request('POST', `/webhooks/${provider}`, { rawBody: raw, headers });
  const signed = (body: unknown, opts: Parameters<typeof standardHeaders>[2] & { secret?: string } = {}) => {
    const raw = JSON.stringify(body);
    return post('smtp', raw, standardHeaders(opts.secret ?? SMTP_SECRET, raw, opts));
  };
  const stored = async () => {
    const [row] = await h.sql(
      `SELECT (SELECT count(*) FROM provider_webhook_events)::int AS webhooks,
              (SELECT count(*) FROM email_events)::int AS events,
              (SELECT count(*) FROM suppressions)::int AS suppressions`,
    );
    return row;
  };
  const email = async (id: string, key = tenant.key) =>
    (await h.request('GET', `/emails/${id}`, { key })).body;
  const sent = (address = `u-${randomUUID()}@example.com`, extra = {}) =>
    sendAndWaitSent(h, tenant.key, templateId, address, extra);

  describe('refuses what it cannot authenticate, storing nothing', () => {
    const body = { events: [ourEvent({ type: 'delivered', email_id: randomUUID() })] };
    const raw = JSON.stringify(body);
    const cases: [string, () => Record<string, string>, string?][] = [
      ['no signature headers', () => ({ 'content-type': 'application/json' })],
      ['a signature made with another secret', () => standardHeaders('another-secret-entirely', raw)],
      [
        'a body changed by one byte after signing',
        () => standardHeaders(SMTP_SECRET, raw),
        raw.replace('delivered', 'delivereD'),
      ],
      [
        'a timestamp six minutes old',
        () => standardHeaders(SMTP_SECRET, raw, { timestamp: nowSeconds() - 360 }),
      ],
      [
        'a timestamp six minutes ahead',
        () => standardHeaders(SMTP_SECRET, raw, { timestamp: nowSeconds() + 360 }),
      ],
      [
        'a timestamp that is not unix seconds',
        () => ({ ...standardHeaders(SMTP_SECRET, raw), 'webhook-timestamp': `${nowSeconds()}abc` }),
      ],
      [
        'a signature of an unknown version',
        () => {
          const hd = standardHeaders(SMTP_SECRET, raw);
          return { ...hd, 'webhook-signature': hd['webhook-signature']!.replace('v1,', 'v2,') };
        },
      ],
      [
        'a signature for another webhook-id',
        () => ({ ...standardHeaders(SMTP_SECRET, raw), 'webhook-id': 'msg_other' }),
      ],
    ];
    for (const [name, headers, sentBody] of cases) {
      it(`answers 401 to ${name}`, async () => {
        const before = await stored();
        const res = await post('smtp', sentBody ?? raw, headers());
        expect(res.status).toBe(401);
        expect(res.body.error.code).toBe('invalid_signature');
        expect(await stored()).toEqual(before);
      });
    }

    it('answers 401 for a known provider whose secret is not configured', async () => {
      const before = await stored();
      const res = await post('postmark', raw, standardHeaders(SMTP_SECRET, raw));
      expect(res.status).toBe(401);
      expect(await stored()).toEqual(before);
    });

    it('answers 404 for an unknown provider, signed or not', async () => {
      const res = await post('carrier-pigeon', raw, standardHeaders(SMTP_SECRET, raw));
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('unknown_provider');
    });
  });

  describe('refuses a correctly signed body that breaks the schema with 400, storing nothing', () => {
    const cases: [string, unknown, string][] = [
      ['an unknown type', { events: [ourEvent({ type: 'exploded' })] }, 'events.0.type'],
      [
        'a missing event_id',
        { events: [{ type: 'delivered', occurred_at: new Date().toISOString() }] },
        'events.0.event_id',
      ],
      ['a bounce without bounce_type', ourEvent({ type: 'bounced' }), 'data.bounce_type'],
      [
        'an occurred_at that is not a time',
        ourEvent({ type: 'opened', occurred_at: 'yesterday' }),
        'occurred_at',
      ],
      ['an unknown field', ourEvent({ type: 'opened', emailId: randomUUID() }), 'emailId'],
      ['events that are not an array', { events: 'many' }, 'events'],
    ];
    for (const [name, body, field] of cases) {
      it(`names the field for ${name}`, async () => {
        const before = await stored();
        const res = await signed(body);
        expect(res.status).toBe(400);
        expect(res.body.error.details).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
        expect(await stored()).toEqual(before);
      });
    }

    it('answers malformed_json to a signed body that is not JSON', async () => {
      const before = await stored();
      const res = await post('smtp', '{"events": [', standardHeaders(SMTP_SECRET, '{"events": ['));
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('malformed_json');
      expect(await stored()).toEqual(before);
    });

    it('refuses text PostgreSQL cannot store instead of failing', async () => {
      const res = await signed(ourEvent({ type: 'opened', data: { ua: 'bad\u0000text' } }));
      expect(res.status).toBe(400);
    });
  });

  it('stores an event for an unknown email and answers 202, linked to no email', async () => {
    const ev = ourEvent({ type: 'delivered', email_id: randomUUID(), data: { smtp: '250 ok' } });
    const res = await signed({ events: [ev] });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({
      received: 1,
      duplicates: 0,
      results: [{ event_id: ev.event_id, duplicate: false, email_id: null }],
    });
    const rows = await h.sql(
      'SELECT tenant_id, email_id, type, payload FROM provider_webhook_events WHERE provider_event_id = $1',
      [ev.event_id],
    );
    expect(rows).toEqual([{ tenant_id: null, email_id: null, type: 'delivered', payload: ev }]);
  });

  it('accepts a single event, text/plain bodies and several signatures of which one matches', async () => {
    const e = await sent();
    const ev = ourEvent({ type: 'delivered', email_id: e.email_id });
    const raw = JSON.stringify(ev);
    const hd = standardHeaders(SMTP_SECRET, raw);
    const res = await post('smtp', raw, {
      ...hd,
      'content-type': 'text/plain; charset=utf-8',
      'webhook-signature': `v1,${randomBytes(32).toString('base64')} ${hd['webhook-signature']}`,
    });
    expect(res.status).toBe(202);
    expect(res.body.results).toEqual([{ event_id: ev.event_id, duplicate: false, email_id: e.email_id }]);
    expect((await email(e.email_id)).status).toBe('delivered');
  });

  it('verifies a whsec_ secret as base64 bytes (mock provider)', async () => {
    const e = await sent();
    const ev = ourEvent({ type: 'delivered', email_id: e.email_id });
    const raw = JSON.stringify(ev);
    expect((await post('mock', raw, standardHeaders(MOCK_SECRET, raw))).status).toBe(202);
    // The same secret used as UTF-8 text is a different key.
    const asText = standardHeaders(`x${MOCK_SECRET}`, raw);
    expect((await post('mock', raw, asText)).status).toBe(401);
  });

  it('records the event with the provider data, the email metadata and tags, and moves the status', async () => {
    const e = await sent(undefined, { metadata: { order: 'A-1' }, tags: ['welcome', 'eu'] });
    const ev = ourEvent({ type: 'delivered', email_id: e.email_id, data: { smtp_response: '250 2.0.0 OK' } });
    expect((await signed({ events: [ev] })).status).toBe(202);
    const got = await email(e.email_id);
    expect(got.status).toBe('delivered');
    expect(got.events.at(-1)).toEqual({
      type: 'delivered',
      at: ev.occurred_at,
      data: {
        smtp_response: '250 2.0.0 OK',
        provider: 'smtp',
        provider_event_id: ev.event_id,
        metadata: { order: 'A-1' },
        tags: ['welcome', 'eu'],
      },
    });
  });

  it('files an event dated far in the future at its arrival instead', async () => {
    const e = await sent();
    const future = new Date(Date.now() + 2 * 365 * 86_400_000).toISOString();
    await signed(ourEvent({ type: 'opened', email_id: e.email_id, occurred_at: future }));
    const opened = (await email(e.email_id)).events.find((x: { type: string }) => x.type === 'opened');
    expect(Date.parse(opened.at)).toBeLessThan(Date.now() + 60_000);
  });

  it("finds the email by the provider's message id when the event carries no email_id", async () => {
    const e = await sent();
    const ev = ourEvent({ type: 'opened', provider_message_id: e.provider_message_id });
    const res = await signed(ev);
    expect(res.body.results[0].email_id).toBe(e.email_id);
    expect((await email(e.email_id)).status).toBe('opened');
  });

  it('answers a replay 200 with duplicate: true and applies it once', async () => {
    const e = await sent();
    const ev = ourEvent({ type: 'opened', email_id: e.email_id });
    expect((await signed({ events: [ev] })).status).toBe(202);
    const again = await signed({ events: [ev] });
    expect(again.status).toBe(200);
    expect(again.body).toEqual({
      received: 1,
      duplicates: 1,
      results: [{ event_id: ev.event_id, duplicate: true, email_id: e.email_id }],
    });
    const types = (await email(e.email_id)).events.map((x: { type: string }) => x.type);
    expect(types.filter((t: string) => t === 'opened')).toHaveLength(1);
  });

  it('stores 50 concurrent copies of one hard bounce once, with one effect', async () => {
    const address = `racer-${randomUUID()}@example.com`;
    const e = await sent(address);
    const ev = ourEvent({ type: 'bounced', email_id: e.email_id, data: { bounce_type: 'hard' } });
    const raw = JSON.stringify({ events: [ev] });
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => post('smtp', raw, standardHeaders(SMTP_SECRET, raw))),
    );
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 202)).toHaveLength(1);
    expect(statuses.filter((s) => s === 200)).toHaveLength(49);
    expect(responses.every((r) => r.body.results[0].email_id === e.email_id)).toBe(true);
    expect(
      await h.sql('SELECT 1 FROM provider_webhook_events WHERE provider_event_id = $1', [ev.event_id]),
    ).toHaveLength(1);
    expect(
      await h.sql(`SELECT 1 FROM email_events WHERE email_id = $1 AND type = 'bounced'`, [e.email_id]),
    ).toHaveLength(1);
    expect(await h.sql('SELECT reason FROM suppressions WHERE email = $1', [address])).toEqual([
      { reason: 'hard_bounce' },
    ]);
    expect((await email(e.email_id)).status).toBe('bounced');
  });

  it('applies precedence to different events racing for one email', async () => {
    const e = await sent();
    const types = [
      'delivered',
      'opened',
      'clicked',
      'delivered',
      'opened',
      'complained',
      'delivered',
      'opened',
    ];
    const events = types.map((type) => ourEvent({ type, email_id: e.email_id }));
    const responses = await Promise.all(events.map((ev) => signed(ev)));
    expect(responses.map((r) => r.status)).toEqual(types.map(() => 202));
    const got = await email(e.email_id);
    expect(got.status).toBe('complained');
    expect(got.events.filter((x: { type: string }) => types.includes(x.type))).toHaveLength(types.length);
  });

  it('keeps a batch event that repeats inside the batch once', async () => {
    const e = await sent();
    const ev = ourEvent({ type: 'clicked', email_id: e.email_id, data: { url: 'https://example.com' } });
    const res = await signed({ events: [ev, ev] });
    expect(res.status).toBe(202);
    expect(res.body.duplicates).toBe(1);
  });

  describe('status precedence', () => {
    it('keeps opened when delivered arrives late, and lists both events', async () => {
      const e = await sent();
      const t = Date.now();
      const delivered = ourEvent({
        type: 'delivered',
        email_id: e.email_id,
        occurred_at: new Date(t).toISOString(),
      });
      const opened = ourEvent({
        type: 'opened',
        email_id: e.email_id,
        occurred_at: new Date(t + 1000).toISOString(),
      });
      expect((await signed(opened)).status).toBe(202);
      expect((await signed(delivered)).status).toBe(202);
      const got = await email(e.email_id);
      expect(got.status).toBe('opened');
      expect(got.events.map((x: { type: string }) => x.type)).toEqual([
        'queued',
        'processing',
        'sent',
        'delivered',
        'opened',
      ]);
    });

    it('never leaves a final status: bounced stays bounced, failed stays failed', async () => {
      const a = await sent();
      await signed(ourEvent({ type: 'bounced', email_id: a.email_id, data: { bounce_type: 'hard' } }));
      await signed(ourEvent({ type: 'opened', email_id: a.email_id }));
      await signed(ourEvent({ type: 'delivered', email_id: a.email_id }));
      expect((await email(a.email_id)).status).toBe('bounced');

      const b = await sent();
      await signed(ourEvent({ type: 'failed', email_id: b.email_id, data: { reason: 'rejected' } }));
      await signed(ourEvent({ type: 'delivered', email_id: b.email_id }));
      const got = await email(b.email_id);
      expect(got.status).toBe('failed');
      expect(got.events.map((x: { type: string }) => x.type)).toContain('delivered');
    });

    it('moves a delivered email to bounced on a later hard bounce', async () => {
      const e = await sent();
      await signed(ourEvent({ type: 'delivered', email_id: e.email_id }));
      await signed(ourEvent({ type: 'bounced', email_id: e.email_id, data: { bounce_type: 'hard' } }));
      expect((await email(e.email_id)).status).toBe('bounced');
    });

    it('records a click without changing the status', async () => {
      const e = await sent();
      await signed(
        ourEvent({ type: 'clicked', email_id: e.email_id, data: { url: 'https://example.com/a' } }),
      );
      const got = await email(e.email_id);
      expect(got.status).toBe('sent');
      expect(got.events.at(-1)).toMatchObject({ type: 'clicked', data: { url: 'https://example.com/a' } });
    });
  });

  describe('suppression', () => {
    it('suppresses the address on a hard bounce, and the next /send answers 422', async () => {
      const address = `gone-${randomUUID()}@example.com`;
      const e = await sent(address);
      await signed(ourEvent({ type: 'bounced', email_id: e.email_id, data: { bounce_type: 'hard' } }));
      const s = await h.request('GET', `/suppressions/${address}`, { key: tenant.key });
      expect(s.status).toBe(200);
      expect(s.body).toMatchObject({ email: address, reason: 'hard_bounce' });
      const again = await h.request('POST', '/send', {
        key: tenant.key,
        body: { recipient: { email: address }, template_id: templateId, variables: { name: 'X' } },
      });
      expect(again.status).toBe(422);
      expect(again.body.error.code).toBe('recipient_suppressed');
    });

    it('suppresses on a complaint', async () => {
      const address = `angry-${randomUUID()}@example.com`;
      const e = await sent(address);
      await signed(ourEvent({ type: 'complained', email_id: e.email_id }));
      expect((await email(e.email_id)).status).toBe('complained');
      const s = await h.request('GET', `/suppressions/${address}`, { key: tenant.key });
      expect(s.body.reason).toBe('complaint');
    });

    it('does not suppress on a soft bounce, nor change the status', async () => {
      const address = `full-${randomUUID()}@example.com`;
      const e = await sent(address);
      await signed(ourEvent({ type: 'bounced', email_id: e.email_id, data: { bounce_type: 'soft' } }));
      const got = await email(e.email_id);
      expect(got.status).toBe('sent');
      expect(got.events.at(-1)).toMatchObject({ type: 'bounced', data: { bounce_type: 'soft' } });
      expect((await h.request('GET', `/suppressions/${address}`, { key: tenant.key })).status).toBe(404);
      const again = await h.request('POST', '/send', {
        key: tenant.key,
        body: { recipient: { email: address }, template_id: templateId, variables: { name: 'X' } },
      });
      expect(again.status).toBe(202);
    });

    it("keeps one tenant's webhook-driven suppression away from another tenant", async () => {
      const other = await h.createTenant('Other');
      const otherTemplate = await h.createTemplate(other.key);
      const address = `shared-${randomUUID()}@example.com`;
      const b = await sendAndWaitSent(h, other.key, otherTemplate, address);
      await signed(ourEvent({ type: 'bounced', email_id: b.email_id, data: { bounce_type: 'hard' } }));
      expect((await h.request('GET', `/suppressions/${address}`, { key: other.key })).status).toBe(200);

      expect((await h.request('GET', `/suppressions/${address}`, { key: tenant.key })).status).toBe(404);
      const list = await h.request('GET', '/suppressions?limit=200', { key: tenant.key });
      expect(list.body.items.map((s: { email: string }) => s.email)).not.toContain(address);
      const a = await h.request('POST', '/send', {
        key: tenant.key,
        body: { recipient: { email: address }, template_id: templateId, variables: { name: 'X' } },
      });
      expect(a.status).toBe(202);
      // The other tenant's email is not visible through this tenant's key.
      expect((await h.request('GET', `/emails/${b.email_id}`, { key: tenant.key })).status).toBe(404);
    });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Harness, startHarness } from '../support/harness.js';
import { ourEvent, standardHeaders } from '../support/webhooks.js';

const SECRET = 'analytics-webhook-secret';

const COUNTERS = ['queued', 'sent', 'delivered', 'opened', 'clicked', 'bounced', 'complained', 'failed'];
const zeros = Object.fromEntries(COUNTERS.map((c) => [c, 0]));

describe('GET /analytics', () => {
  let h: Harness;
  let tenant: { id: string; key: string };
  let other: { id: string; key: string };
  let welcome: string;
  let receipt: string;

  const analytics = (query: string, key = tenant.key) => h.request('GET', `/analytics?${query}`, { key });
  /** Appends an event as the webhook path does: a row in email_events with the time it happened. */
  const addEvent = (emailId: string, type: string, at: string) =>
    h.sql(
      'INSERT INTO email_events (email_id, tenant_id, type, at) SELECT id, tenant_id, $2, $3 FROM emails WHERE id = $1',
      [emailId, type, at],
    );
  const send = async (templateId: string, email: string) => {
    const r = await h.request('POST', '/send', {
      key: tenant.key,
      body: { recipient: { email }, template_id: templateId, variables: { name: 'x' } },
    });
    expect(r.status).toBe(202);
    return r.body.email_id as string;
  };
  /** Reports provider events through the real webhook path. */
  const webhook = async (events: Array<{ email_id: string; type: string }>) => {
    const raw = JSON.stringify({ events: events.map((e) => ourEvent(e)) });
    const r = await h.request('POST', '/webhooks/smtp', {
      rawBody: raw,
      headers: standardHeaders(SECRET, raw),
    });
    expect(r.status).toBe(202);
  };
  /** Waits until the aggregator has folded every committed event. */
  const folded = () =>
    eventually(async () => (await h.sql('SELECT count(*)::int AS n FROM analytics_pending'))[0].n === 0);

  beforeAll(async () => {
    h = await startHarness({
      env: { ANALYTICS_INTERVAL_SECONDS: '0.2', WEBHOOK_SECRET_SMTP: SECRET },
      sink: {
        reply: (rcpt) => (rcpt.startsWith('bad') ? { code: 550, message: 'no such user' } : undefined),
      },
    });
    tenant = await h.createTenant('Analytics');
    other = await h.createTenant('Other');
    welcome = await h.createTemplate(tenant.key, { name: 'welcome' });
    receipt = await h.createTemplate(tenant.key, { name: 'receipt' });
  });
  afterAll(() => h?.close());

  it('counts what was accepted, sent, delivered, opened and failed in the current hour and day', async () => {
    const ok = [await send(welcome, 'a@example.com'), await send(welcome, 'b@example.com')];
    const r1 = await send(receipt, 'c@example.com');
    const bad = await send(welcome, 'bad@example.com');
    await eventually(async () => {
      const rows = await h.sql("SELECT count(*)::int AS n FROM emails WHERE status IN ('sent', 'failed')");
      return rows[0].n === 4;
    });
    const now = new Date().toISOString();
    await webhook([
      { email_id: ok[0] as string, type: 'delivered' },
      { email_id: ok[1] as string, type: 'delivered' },
      { email_id: ok[0] as string, type: 'opened' },
      { email_id: r1, type: 'clicked' },
    ]);
    await folded();

    const hourly = await analytics('group_by=hour');
    expect(hourly.status).toBe(200);
    expect(hourly.body.buckets).toHaveLength(24);
    const current = hourly.body.buckets[23];
    expect(current.start).toBe(`${now.slice(0, 13)}:00:00.000Z`);
    const expected = { ...zeros, queued: 4, sent: 3, delivered: 2, opened: 1, clicked: 1, failed: 1 };
    expect(current).toEqual({ start: current.start, ...expected });
    expect(hourly.body.totals).toEqual(expected);
    for (const b of hourly.body.buckets.slice(0, 23)) expect(b).toEqual({ start: b.start, ...zeros });

    const daily = await analytics('group_by=day');
    expect(daily.body.buckets).toHaveLength(30);
    expect(daily.body.buckets[29]).toEqual({ start: `${now.slice(0, 10)}T00:00:00.000Z`, ...expected });

    // Per template: the receipt's one email, the welcome template's three.
    const onlyReceipt = await analytics(`group_by=day&template_id=${receipt}`);
    expect(onlyReceipt.body.totals).toEqual({ ...zeros, queued: 1, sent: 1, clicked: 1 });
    const onlyWelcome = await analytics(`group_by=day&template_id=${welcome}`);
    expect(onlyWelcome.body.totals).toEqual({
      ...zeros,
      queued: 3,
      sent: 2,
      delivered: 2,
      opened: 1,
      failed: 1,
    });
    expect(bad).toBeTruthy();

    // The rollups agree with the events themselves.
    const direct = await h.sql(
      `SELECT type, count(*)::int AS n FROM email_events WHERE tenant_id = $1 GROUP BY type`,
      [tenant.id],
    );
    const byType = Object.fromEntries(direct.map((r) => [r.type, r.n]));
    for (const c of ['sent', 'delivered', 'opened', 'clicked', 'failed']) {
      expect({ c, n: daily.body.totals[c] }).toEqual({ c, n: byType[c] ?? 0 });
    }
  });

  it('counts a scheduled email once, when it is accepted, not again when it comes due', async () => {
    const day = new Date().toISOString().slice(0, 10);
    const window = `group_by=day&from=${day}&to=${day}`;
    const before = (await analytics(window)).body.totals;
    const r = await h.request('POST', '/send', {
      key: tenant.key,
      body: {
        recipient: { email: 'soon@example.com' },
        template_id: welcome,
        variables: { name: 'x' },
        send_at: new Date(Date.now() + 1000).toISOString(),
      },
    });
    expect(r.body.status).toBe('scheduled');
    await eventually(
      async () =>
        (await h.sql('SELECT status FROM emails WHERE id = $1', [r.body.email_id]))[0].status === 'sent',
    );
    await folded();
    const after = (await analytics(window)).body.totals;
    expect({ queued: after.queued - before.queued, sent: after.sent - before.sent }).toEqual({
      queued: 1,
      sent: 1,
    });
  });

  it('puts events in the UTC bucket of the time they happened, across a day boundary', async () => {
    const id = await send(welcome, 'late@example.com');
    await addEvent(id, 'sent', '2024-03-09T23:30:00Z');
    await addEvent(id, 'delivered', '2024-03-09T23:59:59.999Z');
    await addEvent(id, 'opened', '2024-03-10T00:00:00Z');
    await addEvent(id, 'opened', '2024-03-10T00:45:00+00:00');
    await addEvent(id, 'bounced', '2024-03-10T01:10:00+01:00'); // 00:10 UTC
    await addEvent(id, 'complained', '2024-03-11T12:00:00Z');
    await folded();

    const daily = await analytics('group_by=day&from=2024-03-08&to=2024-03-11');
    expect(daily.status).toBe(200);
    expect(daily.body).toMatchObject({
      group_by: 'day',
      template_id: null,
      from: '2024-03-08T00:00:00.000Z',
      to: '2024-03-12T00:00:00.000Z',
    });
    expect(daily.body.buckets).toEqual([
      { start: '2024-03-08T00:00:00.000Z', ...zeros },
      { start: '2024-03-09T00:00:00.000Z', ...zeros, sent: 1, delivered: 1 },
      { start: '2024-03-10T00:00:00.000Z', ...zeros, opened: 2, bounced: 1 },
      { start: '2024-03-11T00:00:00.000Z', ...zeros, complained: 1 },
    ]);
    expect(daily.body.totals).toEqual({
      ...zeros,
      sent: 1,
      delivered: 1,
      opened: 2,
      bounced: 1,
      complained: 1,
    });

    const hourly = await analytics('group_by=hour&from=2024-03-09T23:00:00Z&to=2024-03-10T01:59:00Z');
    expect(hourly.body.buckets).toEqual([
      { start: '2024-03-09T23:00:00.000Z', ...zeros, sent: 1, delivered: 1 },
      { start: '2024-03-10T00:00:00.000Z', ...zeros, opened: 2, bounced: 1 },
      { start: '2024-03-10T01:00:00.000Z', ...zeros },
    ]);
  });

  it("shows a tenant only its own counts, and answers 404 for another tenant's template", async () => {
    const mine = await analytics('group_by=day&from=2024-03-01&to=2024-03-31', other.key);
    expect(mine.status).toBe(200);
    expect(mine.body.totals).toEqual(zeros);
    expect(mine.body.buckets).toHaveLength(31);
    const theirs = await analytics(`template_id=${welcome}`, other.key);
    const unknown = await analytics('template_id=00000000-0000-4000-8000-000000000000', other.key);
    expect(theirs.status).toBe(404);
    expect(theirs.body).toEqual(unknown.body);
    const mismatch = await analytics(`tenant_id=${tenant.id}`, other.key);
    expect(mismatch.status).toBe(403);
    expect(mismatch.body.error.code).toBe('tenant_mismatch');
  });

  it('refuses bad parameters with 400 naming the field', async () => {
    const cases: [string, string][] = [
      ['from=2024-03-10&to=2024-03-09', 'from'],
      ['group_by=hour&from=2024-01-01&to=2024-03-01', 'to'],
      ['group_by=day&from=2020-01-01&to=2024-01-01', 'to'],
      ['group_by=week', 'group_by'],
      ['template_id=not-a-uuid', 'template_id'],
      ['from=yesterday', 'from'],
      ['to=2024-02-30', 'to'],
      ['from=2024-03-01T25:00:00Z', 'from'],
      ['colour=blue', 'colour'],
    ];
    for (const [query, field] of cases) {
      const r = await analytics(query);
      expect({ query, status: r.status }).toEqual({ query, status: 400 });
      expect(r.body.error.code).toBe('validation_failed');
      expect(r.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
    }
    expect((await analytics('group_by=hour&from=2024-01-01T00:00:00Z&to=2024-01-31T23:59:59Z')).status).toBe(
      200,
    );
    expect((await analytics('group_by=day&from=2024-01-01&to=2025-02-03')).status).toBe(200);
  });

  it('needs an API key', async () => {
    expect((await h.request('GET', '/analytics')).status).toBe(401);
  });
});

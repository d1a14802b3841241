import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emailsRepository } from '../../src/db/emails.repository.js';
import { trackingRepository } from '../../src/db/tracking.repository.js';
import { newId } from '../../src/lib/ids.js';
import { trackingService } from '../../src/services/tracking.service.js';
import { codeOf, insertEmail, type ServiceDb, seedTenant, serviceDb } from '../support/services.js';

const BASE = 'https://mail.example.com';
const LINK = 'https://example.com/offer?x=1';
const BROWSER =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36';
const HTML = `<html><body><p>Hi</p><a href="${LINK}">Offer</a></body></html>`;

/** Opens and clicks recorded through the tracking service, with tokens of its own making. */
describe('tracking service', () => {
  let s: ServiceDb;
  let seed: { tenantId: string; templateId: string };
  const secret = randomBytes(32);
  let tracking: ReturnType<typeof trackingService>;

  beforeAll(async () => {
    s = await serviceDb();
    seed = await seedTenant(s.db);
    tracking = trackingService({
      repo: trackingRepository(s.db),
      secret: async () => secret,
      publicBaseUrl: BASE,
    });
  });
  afterAll(async () => {
    await s?.close();
  });

  /** An email sent `secondsAgo` seconds ago, with the tokens of its tracked HTML part. */
  const sentEmail = async (secondsAgo = 60) => {
    const id = await insertEmail(emailsRepository(s.db), seed);
    await s.sql(
      `UPDATE emails SET status = 'sent', sent_at = now() - make_interval(secs => $2) WHERE id = $1`,
      [id, secondsAgo],
    );
    const html = await tracking.transformHtml(
      { id, tenant_id: seed.tenantId, bulk_job_id: null, track_opens: true, track_clicks: true },
      HTML,
    );
    const token = (kind: 'o' | 'c') =>
      new RegExp(`${BASE}/t/${kind}/([A-Za-z0-9_.-]+)`).exec(html)?.[1] ?? '';
    return { id, html, open: token('o'), click: token('c') };
  };
  const statusOf = async (id: string) =>
    (await s.sql<{ status: string }>('SELECT status FROM emails WHERE id = $1', [id]))[0]?.status;
  const events = (id: string, type: string) =>
    s.sql<{ data: Record<string, unknown> }>(
      'SELECT data FROM email_events WHERE email_id = $1 AND type = $2 ORDER BY id',
      [id, type],
    );
  const browser = { method: 'GET', userAgent: BROWSER };

  it("records a person's first open as unique and makes the email opened; a second open is not unique", async () => {
    const e = await sentEmail();
    expect(e.open).not.toBe('');
    expect(await tracking.hit('open', e.open, browser)).toEqual({ kind: 'open' });
    expect(await statusOf(e.id)).toBe('opened');
    await tracking.hit('open', e.open, browser);
    const opens = await events(e.id, 'opened');
    expect(opens.map((o) => [o.data.machine, o.data.unique])).toEqual([
      [false, true],
      [false, false],
    ]);
  });

  it('records a click and answers the URL the email carried', async () => {
    const e = await sentEmail();
    expect(e.html).not.toContain(LINK);
    expect(await tracking.hit('click', e.click, browser)).toEqual({ kind: 'click', url: LINK });
    expect(await statusOf(e.id)).toBe('opened');
    expect((await events(e.id, 'clicked')).map((c) => c.data)).toEqual([
      expect.objectContaining({ url: LINK, machine: false, unique: true, user_agent: BROWSER }),
    ]);
  });

  it("flags machines' opens and clicks, which leave the status and the unique count alone", async () => {
    const e = await sentEmail();
    await tracking.hit('open', e.open, { method: 'HEAD', userAgent: BROWSER });
    await tracking.hit('open', e.open, { method: 'GET', userAgent: 'curl/8.5.0' });
    await tracking.hit('open', e.open, { method: 'GET', userAgent: null });
    expect(await statusOf(e.id)).toBe('sent');
    expect((await events(e.id, 'opened')).map((o) => [o.data.machine_reason, o.data.unique])).toEqual([
      ['head_request', false],
      ['user_agent', false],
      ['user_agent', false],
    ]);

    const fresh = await sentEmail(0);
    await tracking.hit('click', fresh.click, browser);
    expect(await statusOf(fresh.id)).toBe('sent');
    expect((await events(fresh.id, 'clicked')).map((c) => c.data.machine_reason)).toEqual([
      'soon_after_sending',
    ]);
  });

  it('answers not found for forged, foreign and misused tokens, and records nothing', async () => {
    const e = await sentEmail();
    const [payload, mac] = e.open.split('.') as [string, string];
    const otherSecret = trackingService({
      repo: trackingRepository(s.db),
      secret: async () => randomBytes(32),
      publicBaseUrl: BASE,
    });
    const foreignHtml = await otherSecret.transformHtml(
      { id: e.id, tenant_id: seed.tenantId, bulk_job_id: null, track_opens: true, track_clicks: false },
      HTML,
    );
    const foreign = /\/t\/o\/([A-Za-z0-9_.-]+)/.exec(foreignHtml)?.[1] ?? '';
    const neverSentHtml = await tracking.transformHtml(
      { id: newId(), tenant_id: seed.tenantId, bulk_job_id: null, track_opens: true, track_clicks: false },
      HTML,
    );
    const neverSent = /\/t\/o\/([A-Za-z0-9_.-]+)/.exec(neverSentHtml)?.[1] ?? '';
    const forgedPayload = `${Buffer.from(JSON.stringify([newId()])).toString('base64url')}.${mac}`;

    for (const [kind, token] of [
      ['open', foreign],
      ['open', neverSent],
      ['open', forgedPayload],
      ['open', `${payload}.${Buffer.alloc(16).toString('base64url')}`],
      ['open', payload],
      ['open', 'garbage'],
      ['click', e.open],
      ['open', e.click],
    ] as const) {
      expect(await codeOf(tracking.hit(kind, token, browser)), `${kind} ${token}`).toBe(
        'tracking_token_not_found',
      );
    }
    expect(await statusOf(e.id)).toBe('sent');
    expect(
      await s.sql("SELECT id FROM email_events WHERE type IN ('opened', 'clicked') AND email_id = $1", [
        e.id,
      ]),
    ).toEqual([]);
  });

  it("follows the tenant's defaults when the email does not choose, and adds nothing when they are off", async () => {
    const id = newId();
    const email = { id, tenant_id: seed.tenantId, bulk_job_id: null };
    expect(await tracking.defaultsOf(seed.tenantId)).toEqual({ track_opens: false, track_clicks: false });
    expect(await tracking.transformHtml(email, HTML)).toBe(HTML);

    expect(await tracking.setDefaults(seed.tenantId, { track_clicks: true })).toEqual({
      track_opens: false,
      track_clicks: true,
    });
    const html = await tracking.transformHtml(email, HTML);
    expect(html).toContain(`${BASE}/t/c/`);
    expect(html).not.toContain(`${BASE}/t/o/`);
    expect(await codeOf(tracking.setDefaults('no_such_tenant', { track_opens: true }))).toBe(
      'tenant_not_found',
    );
    await tracking.setDefaults(seed.tenantId, { track_clicks: false });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Harness, startHarness } from '../support/harness.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

const LINK = 'https://example.com/a?x=1&y=2#frag';
const BROWSER =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36';

describe('open and click tracking', () => {
  let h: Harness;
  let receiver: WebhookReceiver;
  let tenant: { id: string; key: string };
  let templateId: string;
  let base: string;

  const pathOf = (url: string) => new URL(url).pathname;
  const deliver = async (email: string, extra: Record<string, unknown>) => {
    h.sink.clear();
    const r = await h.request('POST', '/send', {
      key: tenant.key,
      body: { recipient: { email }, template_id: templateId, variables: { name: 'Ann' }, ...extra },
    });
    expect(r.status).toBe(202);
    const [msg] = await h.sink.waitFor(1, 30_000);
    // The worker records the send just after the relay's answer: wait for it, as a reader would.
    await eventually(async () => {
      const e = await h.request('GET', `/emails/${r.body.email_id}`, { key: tenant.key });
      return e.body.status === 'processing' ? null : e;
    });
    return { id: r.body.email_id as string, html: msg?.html ?? '', text: msg?.text ?? '' };
  };
  const trackedUrls = (html: string, kind: 'o' | 'c') =>
    [...html.matchAll(new RegExp(`${base}/t/${kind}/[A-Za-z0-9_.-]+`, 'g'))].map((m) => m[0]);
  const events = (emailId: string, type: string) =>
    h.sql<{ data: Record<string, unknown> }>(
      'SELECT data FROM email_events WHERE email_id = $1 AND type = $2 ORDER BY id',
      [emailId, type],
    );

  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
    h = await startHarness({
      env: { OUTBOUND_WEBHOOKS_ALLOW_PRIVATE: 'true', OUTBOUND_WEBHOOKS_RELAY_INTERVAL_MS: '200' },
    });
    base = h.config.http.publicBaseUrl;
    tenant = await h.createTenant();
    templateId = await h.createTemplate(tenant.key, {
      html_template: `<html><body><p>Hi {{ name }}</p><a href="${LINK.replace('&', '&amp;')}">Read</a>
<a href="mailto:help@example.com">Mail us</a> <a data-track="false" href="https://example.com/private">Private</a>
<a href="${base}/unsubscribe/abc">Unsubscribe</a></body></html>`,
      text_template: `Hi {{ name }}, read ${LINK}`,
    });
    const ep = await h.request('POST', '/webhook-endpoints', {
      key: tenant.key,
      body: { url: receiver.url('/t'), events: ['email.opened', 'email.clicked'] },
    });
    expect(ep.status).toBe(201);
  });
  afterAll(async () => {
    await h?.close();
    await receiver?.close();
  });

  it('adds the pixel and rewrites http(s) links in the HTML part only, leaving the others alone', async () => {
    const { html, text } = await deliver('tracked@example.com', { track_opens: true, track_clicks: true });
    expect(trackedUrls(html, 'o')).toHaveLength(1);
    expect(trackedUrls(html, 'c')).toHaveLength(1);
    expect(html).not.toContain('https://example.com/a');
    expect(html).toContain('href="mailto:help@example.com"');
    expect(html).toContain('href="https://example.com/private"');
    expect(html).toContain(`href="${base}/unsubscribe/abc"`);
    expect(html.indexOf('/t/o/')).toBeLessThan(html.indexOf('</body>'));
    expect(text).toContain(LINK);
    expect(text).not.toContain('/t/');
  });

  it('leaves an untracked email as rendered', async () => {
    const { html } = await deliver('untracked@example.com', {});
    expect(html).not.toContain('/t/');
    expect(html).toContain('https://example.com/a?x=1&amp;y=2#frag');
  });

  it('records a pixel fetch as an open, moves the email to opened and fires email.opened', async () => {
    const { id, html } = await deliver('opener@example.com', { track_opens: true });
    const pixel = pathOf(trackedUrls(html, 'o')[0] as string);
    const r = await h.request('GET', pixel, { key: null, headers: { 'user-agent': BROWSER } });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('image/gif');
    expect(r.headers['cache-control']).toContain('no-store');
    const email = await h.request('GET', `/emails/${id}`, { key: tenant.key });
    expect(email.body.status).toBe('opened');
    const hook = await eventually(async () =>
      receiver.at('/t').find((x) => x.json.type === 'email.opened' && x.json.data.email_id === id),
    );
    expect(hook.json.data).toMatchObject({ machine: false, unique: true, user_agent: BROWSER });

    // A second open and a HEAD (a machine) are recorded, and neither counts as unique.
    await h.request('GET', pixel, { key: null, headers: { 'user-agent': BROWSER } });
    const head = await h.request('HEAD', pixel, { key: null, headers: { 'user-agent': BROWSER } });
    expect(head.status).toBe(200);
    const opens = await events(id, 'opened');
    expect(opens.map((e) => [e.data.unique, e.data.machine, e.data.machine_reason ?? null])).toEqual([
      [true, false, null],
      [false, false, null],
      [false, true, 'head_request'],
    ]);
    const report = await eventually(async () => {
      const a = await h.request('GET', '/analytics?group_by=hour', { key: tenant.key });
      return a.body.totals.opened >= 1 ? a.body : null;
    });
    expect(report.totals.opened).toBe(1);
  });

  it('flags a scanner by its user agent and does not move the status for it', async () => {
    const { id, html } = await deliver('scanned@example.com', { track_opens: true });
    const pixel = pathOf(trackedUrls(html, 'o')[0] as string);
    await h.request('GET', pixel, { key: null, headers: { 'user-agent': 'Barracuda Sentinel (EE)' } });
    const [open] = await events(id, 'opened');
    expect(open?.data).toMatchObject({ machine: true, machine_reason: 'user_agent', unique: false });
    expect((await h.request('GET', `/emails/${id}`, { key: tenant.key })).body.status).toBe('sent');
  });

  it('redirects a click to the exact original URL and fires email.clicked', async () => {
    const { id, html } = await deliver('clicker@example.com', { track_clicks: true });
    const link = pathOf(trackedUrls(html, 'c')[0] as string);
    // A click within 2 s of sending is a scanner's; wait past it.
    await new Promise((r) => setTimeout(r, 2200));
    const r = await h.request('GET', link, { key: null, headers: { 'user-agent': BROWSER } });
    expect(r.status).toBe(302);
    expect(r.headers.location).toBe(LINK);
    const hook = await eventually(async () =>
      receiver.at('/t').find((x) => x.json.type === 'email.clicked' && x.json.data.email_id === id),
    );
    expect(hook.json.data).toMatchObject({ url: LINK, machine: false, unique: true });
    expect((await h.request('GET', `/emails/${id}`, { key: tenant.key })).body.status).toBe('opened');
  });

  it('still redirects a click right after sending, but flags it as a machine', async () => {
    const { id, html } = await deliver('prefetch@example.com', { track_clicks: true });
    const r = await h.request('GET', pathOf(trackedUrls(html, 'c')[0] as string), {
      key: null,
      headers: { 'user-agent': BROWSER },
    });
    expect(r.status).toBe(302);
    expect(r.headers.location).toBe(LINK);
    const [click] = await events(id, 'clicked');
    expect(click?.data).toMatchObject({
      url: LINK,
      machine: true,
      machine_reason: 'soon_after_sending',
      unique: false,
    });
  });

  it('answers 404 without a Location for a tampered, swapped or unknown token', async () => {
    const { id, html } = await deliver('tamper@example.com', { track_opens: true, track_clicks: true });
    const link = pathOf(trackedUrls(html, 'c')[0] as string);
    const pixel = pathOf(trackedUrls(html, 'o')[0] as string);
    const token = link.slice('/t/c/'.length);
    const [payload = '', mac = ''] = token.split('.');
    const forged = Buffer.from(JSON.stringify([id, 'https://evil.example/'])).toString('base64url');
    for (const path of [
      `/t/c/${payload}.${mac.slice(0, -2)}${mac.endsWith('AA') ? 'BB' : 'AA'}`,
      `/t/c/${forged}.${mac}`,
      `/t/c/${pixel.slice('/t/o/'.length)}`, // an open token is not a click token
      '/t/c/nonsense',
      `/t/o/${token}`,
    ]) {
      const r = await h.request('GET', path, { key: null, headers: { 'user-agent': BROWSER } });
      expect(r.status, path).toBe(404);
      expect(r.headers.location, path).toBeUndefined();
    }
    expect(await events(id, 'clicked')).toEqual([]);
    expect(await events(id, 'opened')).toEqual([]);
  });

  it('tracks by the tenant default when a send does not say', async () => {
    const set = await h.admin('PUT', `/admin/tenants/${tenant.id}/tracking`, { track_opens: true });
    expect(set.status).toBe(200);
    expect(set.body).toEqual({ track_opens: true, track_clicks: false });
    const { html } = await deliver('default@example.com', {});
    expect(trackedUrls(html, 'o')).toHaveLength(1);
    expect(trackedUrls(html, 'c')).toHaveLength(0);
    const off = await deliver('optout@example.com', { track_opens: false });
    expect(trackedUrls(off.html, 'o')).toHaveLength(0);
    expect((await h.admin('PUT', '/admin/tenants/nobody/tracking', { track_opens: true })).status).toBe(404);
  });
});

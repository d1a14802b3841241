import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Harness, startHarness } from '../support/harness.js';
import { parseCaptured } from '../support/smtp.js';

describe('one-click unsubscribe (RFC 8058)', () => {
  let h: Harness;
  let t: { id: string; key: string };
  let other: { id: string; key: string };
  let templateId: string;
  let otherTemplate: string;

  beforeAll(async () => {
    h = await startHarness({ env: { UNSUBSCRIBE_MAILTO: 'unsubscribe@mail.example.com' } });
    t = await h.createTenant();
    other = await h.createTenant();
    templateId = await h.createTemplate(t.key);
    otherTemplate = await h.createTemplate(other.key);
  });
  afterAll(() => h?.close());

  /** Sends a bulk email to `email` and returns the unsubscribe path from its List-Unsubscribe header. */
  const linkFor = async (email: string, key = t.key, template = templateId) => {
    const r = await h.request('POST', '/send/bulk', {
      key,
      body: { template_id: template, recipients: [{ email, variables: { name: 'N' } }] },
    });
    expect(r.status).toBe(202);
    const raw = await eventually(async () =>
      h.sink.server.messages().find((m) => m.envelope.to[0] === email),
    );
    const msg = await parseCaptured(raw);
    const header = msg.raw.replace(/\r\n[ \t]+/g, ' ').match(/^List-Unsubscribe: (.*)\r$/m)?.[1] ?? '';
    const url = /<(http[^>]+)>/.exec(header)?.[1] ?? '';
    expect(header).toContain('<mailto:unsubscribe@mail.example.com?subject=unsubscribe%20v1.');
    return {
      path: new URL(url).pathname,
      emailId: (await h.sql('SELECT id FROM emails WHERE recipient_email = $1', [email]))[0].id,
    };
  };
  const suppressed = async (tenantId: string, email: string) =>
    (await h.sql('SELECT reason FROM suppressions WHERE tenant_id = $1 AND email = $2', [tenantId, email]))[0]
      ?.reason;

  it('suppresses the address on the one-click POST, and the next send to it answers 422', async () => {
    const { path, emailId } = await linkFor('reader@example.com');
    const r = await h.request('POST', path, {
      rawBody: 'List-Unsubscribe=One-Click',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ unsubscribed: true, email: 'reader@example.com', already: false });
    expect(await suppressed(t.id, 'reader@example.com')).toBe('unsubscribe');
    const events = await h.request('GET', `/emails/${emailId}`, { key: t.key });
    expect(events.body.events.map((e: { type: string }) => e.type)).toContain('unsubscribed');

    const next = await h.request('POST', '/send', {
      key: t.key,
      body: { recipient: { email: 'reader@example.com' }, template_id: templateId, variables: { name: 'N' } },
    });
    expect(next.status).toBe(422);
    expect(next.body.error.code).toBe('recipient_suppressed');

    const again = await h.request('POST', path, {
      rawBody: 'List-Unsubscribe=One-Click',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(again.body.already).toBe(true);
  });

  it('shows a confirmation page on GET without unsubscribing anyone', async () => {
    const { path } = await linkFor('looker@example.com');
    const page = await h.request('GET', path, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.raw).toContain('looker@example.com');
    expect(page.raw).toContain('<form method="post">');
    expect(await suppressed(t.id, 'looker@example.com')).toBeUndefined();
  });

  it('refuses a tampered or forged token and records nothing', async () => {
    const { path } = await linkFor('victim@example.com');
    const token = path.split('/').pop() as string;
    const [v, payload, sig] = token.split('.') as [string, string, string];
    const forgedPayload = Buffer.from(JSON.stringify([t.id, 'someone-else@example.com', null])).toString(
      'base64url',
    );
    const flip = (s: string) => (s[0] === 'A' ? `B${s.slice(1)}` : `A${s.slice(1)}`);
    for (const bad of [
      `${v}.${forgedPayload}.${sig}`,
      `${v}.${payload}.${flip(sig)}`,
      `${v}.${payload}`,
      'garbage',
      `v2.${payload}.${sig}`,
    ]) {
      const r = await h.request('POST', `/unsubscribe/${bad}`, {
        rawBody: 'List-Unsubscribe=One-Click',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('invalid_token');
      const page = await h.request('GET', `/unsubscribe/${bad}`, { headers: { accept: 'text/html' } });
      expect(page.status).toBe(400);
    }
    expect(await suppressed(t.id, 'victim@example.com')).toBeUndefined();
    expect(await suppressed(t.id, 'someone-else@example.com')).toBeUndefined();
    expect(
      await h.sql(
        `SELECT id FROM email_events WHERE type = 'unsubscribed' AND data->>'email' = 'victim@example.com'`,
      ),
    ).toEqual([]);
  });

  it('unsubscribes only from the tenant that sent the email', async () => {
    const { path } = await linkFor('shared@example.com', other.key, otherTemplate);
    await h.request('POST', path, {
      rawBody: 'List-Unsubscribe=One-Click',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(await suppressed(other.id, 'shared@example.com')).toBe('unsubscribe');
    expect(await suppressed(t.id, 'shared@example.com')).toBeUndefined();
    const r = await h.request('POST', '/send', {
      key: t.key,
      body: { recipient: { email: 'shared@example.com' }, template_id: templateId, variables: { name: 'N' } },
    });
    expect(r.status).toBe(202);
  });

  it('adds List-Unsubscribe to a transactional email only when it asks for it', async () => {
    for (const [email, flag] of [
      ['tx-plain@example.com', false],
      ['tx-list@example.com', true],
    ] as const) {
      await h.request('POST', '/send', {
        key: t.key,
        body: {
          recipient: { email },
          template_id: templateId,
          variables: { name: 'N' },
          list_unsubscribe: flag,
        },
      });
    }
    const plain = await eventually(async () =>
      h.sink.server.messages().find((m) => m.envelope.to[0] === 'tx-plain@example.com'),
    );
    const listed = await eventually(async () =>
      h.sink.server.messages().find((m) => m.envelope.to[0] === 'tx-list@example.com'),
    );
    expect(plain.raw).not.toMatch(/^List-Unsubscribe/im);
    expect(listed.raw).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r$/m);
  });
});

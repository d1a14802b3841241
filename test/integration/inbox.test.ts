import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Harness, startHarness } from '../support/harness.js';

describe('test-mode keys and the inbox', () => {
  let h: Harness;
  let tenant: { id: string; key: string };
  let testKey: string;
  let templateId: string;

  beforeAll(async () => {
    h = await startHarness();
    tenant = await h.createTenant('Inbox');
    const k = await h.admin('POST', `/admin/tenants/${tenant.id}/api-keys`, { name: 'dev', mode: 'test' });
    expect(k.status).toBe(201);
    expect(k.body.mode).toBe('test');
    expect(k.body.key).toMatch(/^ms_test_/);
    expect(k.body.prefix).toMatch(/^ms_test_/);
    testKey = k.body.key;
    templateId = await h.createTemplate(tenant.key, {
      subject_template: 'Order {{ n }}',
      html_template: '<h1>Order {{ n }}</h1><img src="cid:logo">',
    });
  });
  afterAll(() => h?.close());

  it('captures test-mode mail in the inbox and sends nothing to the relay; live mail is not in the inbox', async () => {
    h.sink.clear();
    const live = await h.request('POST', '/send', {
      key: tenant.key,
      body: { recipient: { email: 'live@example.com' }, template_id: templateId, variables: { n: 1 } },
    });
    expect(live.status).toBe(202);
    await h.sink.waitFor(1);
    await eventually(
      async () =>
        (await h.request('GET', `/emails/${live.body.email_id}`, { key: tenant.key })).body.status === 'sent',
    );

    const res = await h.request('POST', '/send', {
      key: testKey,
      body: {
        recipient: { email: 'dev@example.com', name: 'Dev' },
        template_id: templateId,
        variables: { n: 42 },
        attachments: [
          { filename: 'logo.png', content: 'iVBORw0KGgo=', content_type: 'image/png', content_id: 'logo' },
        ],
      },
    });
    expect(res.status).toBe(202);
    const email = await eventually(async () => {
      const r = await h.request('GET', `/emails/${res.body.email_id}`, { key: testKey });
      return r.body.status === 'sent' ? r.body : null;
    });
    expect(email).toMatchObject({ test: true, provider: 'inbox' });
    // Test-mode mail is left out of analytics unless asked for; the live email is counted.
    const totals = async (query: string) =>
      (await h.request('GET', `/analytics?template_id=${templateId}${query}`, { key: tenant.key })).body
        .totals;
    await eventually(async () => (await totals('&include_test=true'))?.sent === 2);
    expect(await totals('&include_test=true')).toMatchObject({ queued: 2, sent: 2 });
    expect(await totals('')).toMatchObject({ queued: 1, sent: 1 });

    const list = await h.request('GET', '/inbox', { key: testKey });
    expect(list.status).toBe(200);
    expect(list.body.items).toHaveLength(1);
    const item = list.body.items[0];
    expect(item).toMatchObject({ email_id: res.body.email_id, to: 'dev@example.com', subject: 'Order 42' });
    expect(email.provider_message_id).toBe(item.id);

    const one = await h.request('GET', `/inbox/${item.id}`, { key: tenant.key });
    expect(one.status).toBe(200);
    expect(one.body.html).toContain('<h1>Order 42</h1>');
    expect(one.body.text).toContain('Order 42');
    expect(one.body.attachments).toEqual([
      { filename: 'logo.png', content_type: 'image/png', content_id: 'logo', size: 8 },
    ]);
    expect(one.body.headers).toContainEqual({
      name: 'Message-ID',
      value: `<${res.body.email_id}@mailsystem.local>`,
    });

    const raw = await h.request('GET', `/inbox/${item.id}/raw`, { key: tenant.key });
    expect(raw.status).toBe(200);
    expect(raw.headers['content-type']).toMatch(/^message\/rfc822/);
    expect(raw.raw).toContain('Subject: Order 42');

    // Nothing more reached the relay than the live email.
    await new Promise((r) => setTimeout(r, 500));
    expect((await h.sink.messages()).map((m) => m.to[0]?.address)).toEqual(['live@example.com']);

    const search = await h.request('GET', '/inbox?q=DEV@', { key: tenant.key });
    expect(search.body.items).toHaveLength(1);
    expect((await h.request('GET', '/inbox?q=live', { key: tenant.key })).body.items).toHaveLength(0);
    expect((await h.request('GET', '/inbox?q=order%2042', { key: tenant.key })).body.items).toHaveLength(1);
  });

  it("answers 404 for another tenant's inbox message and deletes its own", async () => {
    const other = await h.createTenant('Other');
    const [item] = (await h.request('GET', '/inbox', { key: tenant.key })).body.items;
    for (const path of [`/inbox/${item.id}`, `/inbox/${item.id}/raw`]) {
      expect((await h.request('GET', path, { key: other.key })).status).toBe(404);
    }
    expect((await h.request('DELETE', `/inbox/${item.id}`, { key: other.key })).status).toBe(404);
    expect((await h.request('GET', '/inbox', { key: other.key })).body.items).toEqual([]);
    expect((await h.request('GET', '/inbox/not-a-uuid', { key: tenant.key })).status).toBe(404);

    expect((await h.request('DELETE', `/inbox/${item.id}`, { key: tenant.key })).status).toBe(204);
    expect((await h.request('GET', `/inbox/${item.id}`, { key: tenant.key })).status).toBe(404);
  });

  it('captures every email of a bulk job sent with a test key, and keeps at most INBOX_MAX_MESSAGES', async () => {
    h.sink.clear();
    const res = await h.request('POST', '/send/bulk', {
      key: testKey,
      body: {
        template_id: templateId,
        shared_variables: { n: 7 },
        recipients: Array.from({ length: 5 }, (_, i) => ({ email: `b${i}@example.com` })),
      },
    });
    expect(res.status).toBe(202);
    await eventually(
      async () => (await h.request('GET', '/inbox', { key: tenant.key })).body.items.length === 5,
    );
    expect(await h.sink.messages()).toEqual([]);
    const rows = await h.sql('SELECT test FROM emails WHERE bulk_job_id = $1', [res.body.bulk_job_id]);
    expect(rows.every((r) => r.test === true)).toBe(true);

    expect(await h.system.services.inbox.trim(2)).toBe(3);
    expect((await h.request('GET', '/inbox', { key: tenant.key })).body.items).toHaveLength(2);
  });

  it("keeps what the local capture server takes in its tenant's inbox (npm start without a relay)", async () => {
    const t = await h.createTenant('Captured');
    const tpl = await h.createTemplate(t.key, { subject_template: 'Héllo {{ name }}' });
    h.sink.clear();
    const res = await h.request('POST', '/send', {
      key: t.key,
      body: { recipient: { email: 'cap@example.com' }, template_id: tpl, variables: { name: 'Cap' } },
    });
    const [captured] = await h.sink.server.waitFor(1);
    if (!captured) throw new Error('nothing captured');
    const id = await h.system.services.inbox.captureRaw(Buffer.from(captured.raw, 'utf8'), captured.envelope);
    expect(id).toEqual(expect.any(String));
    const list = await h.request('GET', '/inbox', { key: t.key });
    expect(list.body.items).toMatchObject([
      { id, email_id: res.body.email_id, subject: 'Héllo Cap', to: 'cap@example.com' },
    ]);
    // Another tenant's inbox does not see it; a message that is not ours is not kept.
    expect((await h.request('GET', '/inbox?q=cap@', { key: tenant.key })).body.items).toEqual([]);
    const foreign = Buffer.from('Message-ID: <x@elsewhere.example>\r\nSubject: hi\r\n\r\nbody\r\n');
    expect(await h.system.services.inbox.captureRaw(foreign, { from: 'a@b.c', to: ['d@e.f'] })).toBeNull();
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Harness, startHarness } from '../support/harness.js';

describe('POST /send end to end', () => {
  let h: Harness;
  let tenant: { id: string; key: string };
  let templateId: string;

  beforeAll(async () => {
    h = await startHarness();
    tenant = await h.createTenant('Tenant 1');
    templateId = await h.createTemplate(tenant.key, {
      subject_template: 'Welcome {{name}}',
      html_template: '<h1>Hello {{name}}</h1><p>Your plan: <b>{{ plan | upcase }}</b></p>',
    });
  });
  afterAll(() => h?.close());

  it("delivers the seed's example to the SMTP server with subject, HTML, derived text and Message-ID", async () => {
    const res = await h.request('POST', '/send', {
      key: tenant.key,
      body: {
        tenant_id: tenant.id,
        recipient: { email: 'alice@example.com', name: 'Alice' },
        template_id: templateId,
        variables: { name: 'Alice', plan: 'pro' },
        metadata: { source: 'api' },
        idempotency_key: 'mail-001',
      },
    });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ email_id: expect.any(String), status: 'queued', idempotency_reused: false });

    const [msg] = await h.sink.waitFor(1);
    expect(msg?.subject).toBe('Welcome Alice');
    expect(msg?.html).toContain('<h1>Hello Alice</h1>');
    expect(msg?.html).toContain('<b>PRO</b>');
    expect(msg?.text).toContain('Hello Alice');
    expect(msg?.text).toContain('Your plan: PRO');
    expect(msg?.text).not.toContain('<');
    expect(msg?.messageId).toBe(`<${res.body.email_id}@mailsystem.local>`);
    expect(msg?.to).toEqual([{ name: 'Alice', address: 'alice@example.com' }]);
    expect(msg?.envelope.to).toEqual(['alice@example.com']);

    const email = await eventually(async () => {
      const r = await h.request('GET', `/emails/${res.body.email_id}?tenant_id=${tenant.id}`, {
        key: tenant.key,
      });
      return r.body.status === 'sent' ? r.body : null;
    });
    expect(email).toMatchObject({
      email_id: res.body.email_id,
      status: 'sent',
      recipient: { email: 'alice@example.com', name: 'Alice' },
      template_id: templateId,
      template_version: 1,
      subject: 'Welcome Alice',
      metadata: { source: 'api' },
      attempts: 1,
      last_error: null,
      provider: 'smtp',
      provider_message_id: msg?.id,
    });
    expect(email.events.map((e: { type: string }) => e.type)).toEqual(['queued', 'processing', 'sent']);
  });

  it('gives every email its own Message-ID', async () => {
    h.sink.clear();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await h.request('POST', '/send', {
        key: tenant.key,
        body: {
          recipient: { email: `u${i}@example.com` },
          template_id: templateId,
          variables: { name: `U${i}`, plan: 'x' },
        },
      });
      ids.push(r.body.email_id);
    }
    const msgs = await h.sink.waitFor(3);
    const messageIds = new Set(msgs.map((m) => m.messageId));
    expect(messageIds.size).toBe(3);
    for (const id of ids) expect(messageIds.has(`<${id}@mailsystem.local>`)).toBe(true);
  });

  it('uses text_template for the text part when the template has one', async () => {
    h.sink.clear();
    const tpl = await h.createTemplate(tenant.key, {
      subject_template: 'Hi {{ name }}',
      html_template: '<p>HTML {{ name }}</p>',
      text_template: 'Plain text for {{ name }}',
    });
    const r = await h.request('POST', '/send', {
      key: tenant.key,
      body: { recipient: { email: 'text@example.com' }, template_id: tpl, variables: { name: 'Bob' } },
    });
    expect(r.status).toBe(202);
    const [msg] = await h.sink.waitFor(1);
    expect(msg?.text?.trim()).toBe('Plain text for Bob');
    expect(msg?.html).toContain('<p>HTML Bob</p>');
  });

  it('escapes variables in the HTML part but not in the subject or text', async () => {
    h.sink.clear();
    const r = await h.request('POST', '/send', {
      key: tenant.key,
      body: {
        recipient: { email: 'esc@example.com' },
        template_id: templateId,
        variables: { name: '<script>alert(1)</script>', plan: 'x' },
      },
    });
    expect(r.status).toBe(202);
    const [msg] = await h.sink.waitFor(1);
    expect(msg?.html).not.toContain('<script>');
    expect(msg?.html).toContain('&lt;script&gt;');
    expect(msg?.subject).toBe('Welcome <script>alert(1)</script>');
  });
});

import { randomBytes } from 'node:crypto';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Harness, startHarness } from '../support/harness.js';

// The zero-setup mode (PGlite, in-process queue) stores files and captured mail the same way.
describe('attachments and the inbox on the embedded database', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ embedded: true });
  });
  afterAll(() => h?.close());

  it('delivers an attachment byte for byte and captures test-mode mail', async () => {
    const t = await h.createTenant('Embedded');
    const tpl = await h.createTemplate(t.key);
    const file = randomBytes(50_000);
    const sent = await h.request('POST', '/send', {
      key: t.key,
      body: {
        recipient: { email: 'e@example.com' },
        template_id: tpl,
        variables: { name: 'E' },
        attachments: [{ filename: 'f.dat', content: file.toString('base64') }],
      },
    });
    expect(sent.status).toBe(202);
    const [msg] = await h.sink.waitFor(1, 30_000);
    const mail = await simpleParser(msg?.raw ?? '');
    expect(Buffer.compare(mail.attachments[0]?.content ?? Buffer.alloc(0), file)).toBe(0);

    const k = await h.admin('POST', `/admin/tenants/${t.id}/api-keys`, { name: 'dev', mode: 'test' });
    await h.request('POST', '/send', {
      key: k.body.key,
      body: { recipient: { email: 'dev@example.com' }, template_id: tpl, variables: { name: 'T' } },
    });
    const items = await eventually(async () => {
      const r = await h.request('GET', '/inbox', { key: t.key });
      return r.body.items.length === 1 ? r.body.items : null;
    }, 30_000);
    const one = await h.request('GET', `/inbox/${items[0].id}`, { key: t.key });
    expect(one.body.html).toContain('Hello T');
    expect(await h.sink.messages()).toHaveLength(1);
  });
});

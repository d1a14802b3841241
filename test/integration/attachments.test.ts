import { createHash, randomBytes } from 'node:crypto';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Harness, startHarness } from '../support/harness.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A PDF-sized file: a PDF header and 400 KB of bytes of every value (binary safety). */
const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1'), randomBytes(400 * 1024)]);
/** A 1×1 PNG. */
const png = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

describe('attachments', () => {
  let h: Harness;
  let tenant: { id: string; key: string };
  let templateId: string;

  const send = (body: Record<string, unknown>, key = tenant.key) =>
    h.request('POST', '/send', {
      key,
      body: {
        recipient: { email: 'alice@example.com' },
        template_id: templateId,
        variables: { name: 'A' },
        ...body,
      },
    });
  const counts = async (tenantId: string) => {
    const [c] = await h.sql<{ contents: number; refs: number; emails: number }>(
      `SELECT (SELECT count(*)::int FROM attachment_contents WHERE tenant_id = $1) AS contents,
              (SELECT count(*)::int FROM email_attachments WHERE tenant_id = $1) AS refs,
              (SELECT count(*)::int FROM emails WHERE tenant_id = $1) AS emails`,
      [tenantId],
    );
    return c;
  };

  beforeAll(async () => {
    h = await startHarness();
    tenant = await h.createTenant('Attachments');
    templateId = await h.createTemplate(tenant.key, {
      html_template: '<p>Hello {{ name }}</p><img src="cid:logo@example">',
    });
  });
  afterAll(() => h?.close());

  it('delivers a PDF-sized file and an inline image byte for byte, and the lookup shows names, sizes and hashes only', async () => {
    h.sink.clear();
    const res = await send({
      attachments: [
        {
          filename: 'invoice 2026-001.pdf',
          content: pdf.toString('base64'),
          content_type: 'application/pdf',
        },
        {
          filename: 'logo.png',
          content: png.toString('base64'),
          content_type: 'image/png',
          content_id: 'logo@example',
        },
      ],
    });
    expect(res.status).toBe(202);
    const [msg] = await h.sink.waitFor(1, 30_000);
    const mail = await simpleParser(msg?.raw ?? '');
    expect(mail.attachments).toHaveLength(2);
    const file = mail.attachments.find((a) => a.filename === 'invoice 2026-001.pdf');
    const image = mail.attachments.find((a) => a.filename === 'logo.png');
    expect(file?.filename).toBe('invoice 2026-001.pdf');
    expect(file?.contentType).toBe('application/pdf');
    expect(Buffer.compare(file?.content ?? Buffer.alloc(0), pdf)).toBe(0);
    expect(image?.filename).toBe('logo.png');
    expect(image?.contentType).toBe('image/png');
    expect(image?.cid).toBe('logo@example');
    expect(image?.contentDisposition).toBe('inline');
    expect(Buffer.compare(image?.content ?? Buffer.alloc(0), png)).toBe(0);
    // mailparser inlines cid: images as data: URLs, so the reference is checked in the raw message.
    expect(msg?.raw).toContain('src="cid:logo@example"');
    expect(msg?.raw).toMatch(/^Content-ID: <logo@example>\r?$/m);

    const email = await eventually(async () => {
      const r = await h.request('GET', `/emails/${res.body.email_id}`, { key: tenant.key });
      return r.body.status === 'sent' ? r : null;
    });
    expect(email.body.attachments).toEqual([
      {
        filename: 'invoice 2026-001.pdf',
        content_type: 'application/pdf',
        content_id: null,
        size: pdf.length,
        sha256: sha256(pdf),
      },
      {
        filename: 'logo.png',
        content_type: 'image/png',
        content_id: 'logo@example',
        size: png.length,
        sha256: sha256(png),
      },
    ]);
    expect(email.raw).not.toContain(pdf.toString('base64').slice(0, 100));
  });

  it('refuses an executable, 11 MB, bad base64 and a filename with CR/LF, naming the field, with nothing stored', async () => {
    const other = await h.createTenant('Refused');
    const tpl = await h.createTemplate(other.key);
    const attempt = (attachments: unknown[]) =>
      h.request('POST', '/send', {
        key: other.key,
        body: {
          recipient: { email: 'bob@example.com' },
          template_id: tpl,
          variables: { name: 'B' },
          attachments,
        },
      });

    const exe = await attempt([{ filename: 'setup.EXE', content: 'TVqQAAMAAAAEAAAA' }]);
    expect(exe.status).toBe(422);
    expect(exe.body.error.code).toBe('attachment_type_refused');
    expect(exe.body.error.details).toEqual([
      { field: 'attachments[0].filename', message: expect.stringContaining('.exe') },
    ]);
    for (const name of ['run.js', 'x.vbs', 'a.scr', 'p.ps1', 'i.msi', 'b.bat', 'trailing.exe.']) {
      expect((await attempt([{ filename: name, content: 'AAAA' }])).status).toBe(422);
    }

    const big = await attempt([
      { filename: 'big.bin.pdf', content: Buffer.alloc(11 * 1024 * 1024, 7).toString('base64') },
    ]);
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('attachments_too_large');
    expect(big.body.error.details[0].field).toBe('attachments');

    const bad = await attempt([{ filename: 'a.txt', content: 'not base64!!' }]);
    expect(bad.status).toBe(400);
    expect(bad.body.error.details).toEqual([
      { field: 'attachments[0].content', message: 'is not valid base64' },
    ]);

    const crlf = await attempt([{ filename: 'a\r\nBcc: x@evil.example.txt', content: 'AAAA' }]);
    expect(crlf.status).toBe(400);
    expect(crlf.body.error.details[0].field).toBe('attachments[0].filename');

    const path = await attempt([{ filename: '../etc/passwd', content: 'AAAA' }]);
    expect(path.status).toBe(400);
    expect(path.body.error.details[0].field).toBe('attachments[0].filename');

    const eleven = await attempt(
      Array.from({ length: 11 }, (_, i) => ({ filename: `f${i}.txt`, content: 'AAAA' })),
    );
    expect(eleven.status).toBe(400);

    expect(await counts(other.id)).toEqual({ contents: 0, refs: 0, emails: 0 });
  });

  it('fingerprints attachments by content: the same key with another file is refused', async () => {
    const body = (content: Buffer) => ({
      idempotency_key: 'att-idem-1',
      attachments: [{ filename: 'a.txt', content: content.toString('base64'), content_type: 'text/plain' }],
    });
    const first = await send(body(Buffer.from('one')));
    const again = await send(body(Buffer.from('one')));
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ email_id: first.body.email_id, idempotency_reused: true });
    const other = await send(body(Buffer.from('two')));
    expect(other.status).toBe(422);
    expect(other.body.error.code).toBe('idempotency_key_reused');
  });

  it('stores a file shared by 1,000 bulk recipients once, and every email carries it', async () => {
    const t = await h.createTenant('Bulk attachments');
    const tpl = await h.createTemplate(t.key);
    h.sink.clear();
    const ticket = randomBytes(20_000);
    const res = await h.request('POST', '/send/bulk', {
      key: t.key,
      body: {
        template_id: tpl,
        shared_variables: { name: 'friend' },
        recipients: Array.from({ length: 1000 }, (_, i) => ({ email: `r${i}@example.com` })),
        shared_attachments: [
          { filename: 'ticket.pdf', content: ticket.toString('base64'), content_type: 'application/pdf' },
        ],
      },
    });
    expect(res.status).toBe(202);
    // Only this job's mail (an earlier test's may still be arriving).
    const delivered = await eventually(async () => {
      const mine = (await h.sink.messages()).filter((m) =>
        /^r\d+@example\.com$/.test(m.envelope.to[0] ?? ''),
      );
      return mine.length >= 3 ? mine.slice(0, 3) : null;
    }, 60_000);
    for (const m of delivered) {
      const mail = await simpleParser(m.raw);
      expect(mail.attachments.map((a) => [a.filename, Buffer.compare(a.content, ticket)])).toEqual([
        ['ticket.pdf', 0],
      ]);
    }
    await eventually(async () => (await counts(t.id))?.emails === 1000, 60_000);
    expect(await counts(t.id)).toEqual({ contents: 1, refs: 1, emails: 1000 });
    const [one] = await h.sql<{ id: string }>('SELECT id FROM emails WHERE tenant_id = $1 LIMIT 1', [t.id]);
    const lookup = await h.request('GET', `/emails/${one?.id}`, { key: t.key });
    expect(lookup.body.attachments).toEqual([
      {
        filename: 'ticket.pdf',
        content_type: 'application/pdf',
        content_id: null,
        size: ticket.length,
        sha256: sha256(ticket),
      },
    ]);
  });

  it('removes content after the retention period once the email is final; the lookup keeps names', async () => {
    const t = await h.createTenant('Retention');
    const tpl = await h.createTemplate(t.key);
    const file = randomBytes(1000);
    h.sink.clear();
    const res = await h.request('POST', '/send', {
      key: t.key,
      body: {
        recipient: { email: 'old@example.com' },
        template_id: tpl,
        variables: { name: 'O' },
        attachments: [{ filename: 'old.txt', content: file.toString('base64') }],
      },
    });
    const id = res.body.email_id;
    await eventually(
      async () => (await h.request('GET', `/emails/${id}`, { key: t.key })).body.status === 'sent',
    );
    // Nothing is removed while the retention period runs.
    expect(await h.system.services.attachments.purge(7)).toBe(0);
    await h.sql(`UPDATE emails SET updated_at = now() - interval '8 days' WHERE id = $1`, [id]);
    await h.sql(
      `UPDATE attachment_contents SET last_used_at = now() - interval '8 days' WHERE tenant_id = $1`,
      [t.id],
    );
    expect(await h.system.services.attachments.purge(7)).toBe(1);
    expect((await counts(t.id))?.contents).toBe(0);
    const lookup = await h.request('GET', `/emails/${id}`, { key: t.key });
    expect(lookup.body.attachments).toEqual([
      {
        filename: 'old.txt',
        content_type: 'application/octet-stream',
        content_id: null,
        size: 1000,
        sha256: sha256(file),
      },
    ]);
  });

  it("answers 404 for another tenant's email, attachments included", async () => {
    const res = await send({ attachments: [{ filename: 'a.txt', content: 'AAAA' }] });
    const stranger = await h.createTenant('Stranger');
    const r = await h.request('GET', `/emails/${res.body.email_id}`, { key: stranger.key });
    expect(r.status).toBe(404);
  });
});

import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Harness, startHarness } from '../support/harness.js';
import {
  CREDENTIALS,
  DOCUMENTED,
  type ProviderDoubles,
  type ProviderName,
  type RecordedRequest,
  startProviderDoubles,
} from '../support/provider-doubles.js';

const PROVIDERS: ProviderName[] = ['sendgrid', 'postmark', 'mailgun', 'resend', 'ses'];
const PDF = Buffer.from('%PDF-1.4\n\u00ff\u00fe binary \u0000 bytes', 'latin1');

/** What each provider's request must carry, per its documented shape. */
async function expectRequestShape(provider: ProviderName, req: RecordedRequest, emailId: string) {
  const b = req.body;
  switch (provider) {
    case 'sendgrid':
      expect(req.headers.authorization).toBe(`Bearer ${CREDENTIALS.sendgrid}`);
      expect(b.personalizations).toEqual([
        { to: [{ email: 'carol@example.com', name: 'Carol' }], custom_args: { email_id: emailId } },
      ]);
      expect(b.from).toEqual({ email: 'no-reply@mailsystem.local', name: 'Mailsystem' });
      expect(b.subject).toBe('Invoice 7');
      expect(b.content).toEqual([
        { type: 'text/plain', value: expect.stringContaining('Invoice 7') },
        { type: 'text/html', value: '<p>Invoice 7</p>' },
      ]);
      expect(b.headers['Message-ID']).toBe(`<${emailId}@mailsystem.local>`);
      expect(b.attachments).toEqual([
        {
          content: PDF.toString('base64'),
          filename: 'invoice.pdf',
          type: 'application/pdf',
          disposition: 'attachment',
        },
      ]);
      break;
    case 'postmark':
      expect(req.headers['x-postmark-server-token']).toBe(CREDENTIALS.postmark);
      expect(b).toMatchObject({
        From: 'Mailsystem <no-reply@mailsystem.local>',
        To: '"Carol" <carol@example.com>',
        Subject: 'Invoice 7',
        HtmlBody: '<p>Invoice 7</p>',
        Metadata: { email_id: emailId },
        Attachments: [
          { Name: 'invoice.pdf', Content: PDF.toString('base64'), ContentType: 'application/pdf' },
        ],
      });
      expect(b.Headers).toContainEqual({ Name: 'Message-ID', Value: `<${emailId}@mailsystem.local>` });
      break;
    case 'resend':
      expect(req.headers.authorization).toBe(`Bearer ${CREDENTIALS.resend}`);
      expect(req.headers['idempotency-key']).toBe(emailId);
      expect(b).toMatchObject({
        from: 'Mailsystem <no-reply@mailsystem.local>',
        to: ['"Carol" <carol@example.com>'],
        subject: 'Invoice 7',
        html: '<p>Invoice 7</p>',
        tags: [{ name: 'email_id', value: emailId }],
        attachments: [
          { filename: 'invoice.pdf', content: PDF.toString('base64'), content_type: 'application/pdf' },
        ],
      });
      break;
    case 'mailgun': {
      expect(req.path).toBe(`/v3/${CREDENTIALS.mailgunDomain}/messages.mime`);
      expect(b.to).toBe('carol@example.com');
      expect(b['v:email_id']).toBe(emailId);
      const mail = await simpleParser(b.message);
      expect(mail.messageId).toBe(`<${emailId}@mailsystem.local>`);
      expect(mail.subject).toBe('Invoice 7');
      expect(Buffer.compare(mail.attachments[0]?.content ?? Buffer.alloc(0), PDF)).toBe(0);
      break;
    }
    case 'ses': {
      expect(req.headers.authorization).toMatch(
        /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/ses\/aws4_request/,
      );
      expect(b.Destination).toEqual({ ToAddresses: ['carol@example.com'] });
      expect(b.EmailTags).toEqual([{ Name: 'email_id', Value: emailId }]);
      const mail = await simpleParser(Buffer.from(b.Content.Raw.Data, 'base64'));
      expect(mail.messageId).toBe(`<${emailId}@mailsystem.local>`);
      expect(mail.subject).toBe('Invoice 7');
      expect(Buffer.compare(mail.attachments[0]?.content ?? Buffer.alloc(0), PDF)).toBe(0);
      break;
    }
  }
}

describe('HTTP providers against local doubles of their APIs', () => {
  let h: Harness;
  let doubles: ProviderDoubles;
  const tenants = new Map<ProviderName, { id: string; key: string; template: string }>();
  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };

  beforeAll(async () => {
    doubles = await startProviderDoubles();
    // The AWS SDK's default credential chain reads these (as on a real install).
    process.env.AWS_ACCESS_KEY_ID = CREDENTIALS.awsAccessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    h = await startHarness({
      env: {
        SENDGRID_API_KEY: CREDENTIALS.sendgrid,
        SENDGRID_API_URL: doubles.url,
        POSTMARK_SERVER_TOKEN: CREDENTIALS.postmark,
        POSTMARK_API_URL: doubles.url,
        MAILGUN_API_KEY: CREDENTIALS.mailgun,
        MAILGUN_DOMAIN: CREDENTIALS.mailgunDomain,
        MAILGUN_API_URL: doubles.url,
        RESEND_API_KEY: CREDENTIALS.resend,
        RESEND_API_URL: doubles.url,
        SES_REGION: 'eu-west-1',
        SES_ENDPOINT: doubles.url,
        MAX_RETRIES: '3',
        WEBHOOK_SECRET_POSTMARK: 'postmark-hooks:s3cret-pass',
      },
    });
    for (const p of PROVIDERS) {
      const t = await h.createTenant(`Via ${p}`);
      const patched = await h.admin('PATCH', `/admin/tenants/${t.id}`, { provider: p });
      expect(patched.status).toBe(200);
      expect(patched.body.provider).toBe(p);
      const template = await h.createTemplate(t.key, {
        subject_template: 'Invoice {{ n }}',
        html_template: '<p>Invoice {{ n }}</p>',
      });
      tenants.set(p, { ...t, template });
    }
  });
  afterAll(async () => {
    await h?.close();
    await doubles?.stop();
    process.env.AWS_ACCESS_KEY_ID = saved.id;
    process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
    if (saved.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
    if (saved.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
  });

  const send = (p: ProviderName, email = 'carol@example.com') => {
    const t = tenants.get(p);
    if (!t) throw new Error('no tenant');
    return h.request('POST', '/send', {
      key: t.key,
      body: {
        recipient: { email, name: 'Carol' },
        template_id: t.template,
        variables: { n: 7 },
        attachments: [
          { filename: 'invoice.pdf', content: PDF.toString('base64'), content_type: 'application/pdf' },
        ],
      },
    });
  };
  const settled = (p: ProviderName, id: string, status: string) =>
    eventually(async () => {
      const r = await h.request('GET', `/emails/${id}`, { key: tenants.get(p)?.key ?? '' });
      return r.body.status === status ? r.body : null;
    }, 30_000);

  it('refuses a provider that is not configured, naming the field', async () => {
    const t = await h.createTenant('Bad provider');
    const r = await h.admin('PATCH', `/admin/tenants/${t.id}`, {
      provider: 'sparkpost',
      fallback_providers: ['smtp', 'smtp'],
    });
    expect(r.status).toBe(422);
    expect(r.body.error.details.map((d: { field: string }) => d.field)).toEqual([
      'provider',
      'fallback_providers[1]',
    ]);
  });

  it("lets the provider's webhook find the email by the message id it answered (no metadata needed)", async () => {
    doubles.clear();
    const res = await send('postmark', 'hooked@example.com');
    const email = await settled('postmark', res.body.email_id, 'sent');
    const delivery = {
      RecordType: 'Delivery',
      MessageID: email.provider_message_id,
      Recipient: 'hooked@example.com',
      DeliveredAt: new Date().toISOString(),
      Details: '250 OK',
    };
    const hook = await h.request('POST', '/webhooks/postmark', {
      rawBody: JSON.stringify(delivery),
      headers: { 'content-type': 'application/json', 'x-webhook-secret': 'postmark-hooks:s3cret-pass' },
    });
    expect(hook.status).toBe(202);
    await settled('postmark', res.body.email_id, 'delivered');
  });

  for (const p of PROVIDERS) {
    describe(p, () => {
      it("sends in the documented shape and stores the provider's message id", async () => {
        doubles.clear();
        const res = await send(p);
        expect(res.status).toBe(202);
        const email = await settled(p, res.body.email_id, 'sent');
        const [req] = doubles.of(p);
        expect(req).toBeDefined();
        await expectRequestShape(p, req as RecordedRequest, res.body.email_id);
        expect(email).toMatchObject({ provider: p, provider_message_id: req?.acceptedId, attempts: 1 });
        expect(await h.sink.messages()).toEqual([]);
      });

      it('retries after a 429 and a 5xx, then sends', async () => {
        doubles.clear();
        doubles.answerNext(p, DOCUMENTED[p].rateLimited, DOCUMENTED[p].serverError);
        const res = await send(p, 'retry@example.com');
        const email = await settled(p, res.body.email_id, 'sent');
        expect(doubles.of(p)).toHaveLength(3);
        expect(email.attempts).toBe(3);
        expect(email.provider_message_id).toBe(doubles.of(p)[2]?.acceptedId);
        expect(email.events.filter((e: { type: string }) => e.type === 'deferred')).toHaveLength(2);
      });

      it('fails a documented permanent error at once, with a dead letter', async () => {
        doubles.clear();
        doubles.answerNext(p, DOCUMENTED[p].permanent);
        const res = await send(p, 'bad@example.com');
        const email = await settled(p, res.body.email_id, 'failed');
        expect(email.attempts).toBe(1);
        expect(doubles.of(p)).toHaveLength(1);
        const dl = await h.sql('SELECT reason, attempts FROM dead_letters WHERE email_id = $1', [
          res.body.email_id,
        ]);
        expect(dl).toEqual([{ reason: 'permanent', attempts: 1 }]);
      });
    });
  }
});

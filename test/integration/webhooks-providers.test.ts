import { createHmac, generateKeyPairSync, randomBytes, randomUUID, sign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.js';
import { nowSeconds, sendAndWaitSent, standardHeaders } from '../support/webhooks.js';

// Keys made here, as each provider would make them; nothing reaches a real provider.
const sendgridKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const sendgridPublic = sendgridKeys.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
const otherSendgridKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const MAILGUN_KEY = `key-${randomBytes(16).toString('hex')}`;
const POSTMARK_CREDENTIALS = 'postmark-hooks:s3cret-pass';
const RESEND_SECRET = `whsec_${randomBytes(24).toString('base64')}`;

describe('provider webhook formats', () => {
  let h: Harness;
  let tenant: { id: string; key: string };
  let templateId: string;

  beforeAll(async () => {
    h = await startHarness({
      env: {
        WEBHOOK_SECRET_SENDGRID: sendgridPublic,
        WEBHOOK_SECRET_MAILGUN: MAILGUN_KEY,
        WEBHOOK_SECRET_POSTMARK: POSTMARK_CREDENTIALS,
        WEBHOOK_SECRET_RESEND: RESEND_SECRET,
      },
    });
    tenant = await h.createTenant('Providers');
    templateId = await h.createTemplate(tenant.key);
  });
  afterAll(() => h?.close());

  const post = (provider: string, raw: string, headers: Record<string, string>) =>
    h.request('POST', `/webhooks/${provider}`, {
      rawBody: raw,
      headers: { 'content-type': 'application/json', ...headers },
    });
  const sent = (address = `p-${randomUUID()}@example.com`) =>
    sendAndWaitSent(h, tenant.key, templateId, address);
  const email = async (id: string) => (await h.request('GET', `/emails/${id}`, { key: tenant.key })).body;
  const webhookRows = async (provider: string) =>
    (await h.sql('SELECT count(*)::int AS n FROM provider_webhook_events WHERE provider = $1', [provider]))[0]
      .n;
  const suppressed = async (address: string) =>
    (await h.request('GET', `/suppressions/${address}`, { key: tenant.key })).status === 200;

  describe('SendGrid (ECDSA P-256 over timestamp + body)', () => {
    const signSendgrid = (raw: string, ts = nowSeconds(), key = sendgridKeys.privateKey) => ({
      'x-twilio-email-event-webhook-timestamp': String(ts),
      'x-twilio-email-event-webhook-signature': sign('sha256', Buffer.from(`${ts}${raw}`), key).toString(
        'base64',
      ),
    });
    const events = (emailId: string, address: string) => [
      {
        email: address,
        timestamp: nowSeconds(),
        event: 'delivered',
        'smtp-id': `<${emailId}@mailsystem.local>`,
        sg_event_id: `sg-${randomUUID()}`,
        sg_message_id: '14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0',
        response: '250 OK',
      },
      {
        email: address,
        timestamp: nowSeconds(),
        event: 'bounce',
        type: 'bounce',
        reason: '550 5.1.1 unknown user',
        status: '5.1.1',
        email_id: emailId,
        sg_event_id: `sg-${randomUUID()}`,
        sg_message_id: '14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0',
      },
    ];

    it('accepts a signed batch: delivered then a hard bounce, which suppresses the address', async () => {
      const address = `sg-${randomUUID()}@example.com`;
      const e = await sent(address);
      const raw = JSON.stringify(events(e.email_id, address));
      const res = await post('sendgrid', raw, signSendgrid(raw));
      expect(res.status).toBe(202);
      expect(res.body.results.map((r: { email_id: string }) => r.email_id)).toEqual([e.email_id, e.email_id]);
      const got = await email(e.email_id);
      expect(got.status).toBe('bounced');
      // SendGrid times events in whole seconds, so they may sort before our own `sent`.
      expect(got.events.find((x: { type: string }) => x.type === 'bounced')).toMatchObject({
        type: 'bounced',
        data: { bounce_type: 'hard', reason: '550 5.1.1 unknown user', provider: 'sendgrid' },
      });
      expect(await suppressed(address)).toBe(true);
      // Replayed by SendGrid: deduplicated on sg_event_id.
      const again = await post('sendgrid', raw, signSendgrid(raw));
      expect(again.status).toBe(200);
      expect(again.body.duplicates).toBe(2);
    });

    it('treats a blocked bounce as soft', async () => {
      const address = `sgb-${randomUUID()}@example.com`;
      const e = await sent(address);
      const raw = JSON.stringify([
        {
          email: address,
          timestamp: nowSeconds(),
          event: 'bounce',
          type: 'blocked',
          email_id: e.email_id,
          sg_event_id: `sg-${randomUUID()}`,
        },
      ]);
      expect((await post('sendgrid', raw, signSendgrid(raw))).status).toBe(202);
      expect((await email(e.email_id)).status).toBe('sent');
      expect(await suppressed(address)).toBe(false);
    });

    it('refuses a changed byte, another key and a stale timestamp, storing nothing', async () => {
      const raw = JSON.stringify(events(randomUUID(), 'x@example.com'));
      const before = await webhookRows('sendgrid');
      const forgeries = [
        post('sendgrid', raw.replace('delivered', 'Delivered'), signSendgrid(raw)),
        post('sendgrid', raw, signSendgrid(raw, nowSeconds(), otherSendgridKeys.privateKey)),
        post('sendgrid', raw, signSendgrid(raw, nowSeconds() - 600)),
        post('sendgrid', raw, {}),
      ];
      for (const res of await Promise.all(forgeries)) expect(res.status).toBe(401);
      expect(await webhookRows('sendgrid')).toBe(before);
    });
  });

  describe('Mailgun (HMAC of timestamp + token in the body)', () => {
    const mailgunBody = (
      eventData: Record<string, unknown>,
      opts: { ts?: number; token?: string; key?: string } = {},
    ) => {
      const timestamp = String(opts.ts ?? nowSeconds());
      const token = opts.token ?? randomBytes(25).toString('hex');
      const signature = createHmac('sha256', opts.key ?? MAILGUN_KEY)
        .update(timestamp + token)
        .digest('hex');
      return JSON.stringify({ signature: { timestamp, token, signature }, 'event-data': eventData });
    };
    const failed = (emailId: string, severity: 'permanent' | 'temporary') => ({
      id: randomBytes(11).toString('base64url'),
      event: 'failed',
      severity,
      reason: 'bounce',
      timestamp: Date.now() / 1000,
      recipient: 'r@example.com',
      message: { headers: { 'message-id': `${emailId}@mailsystem.local` } },
      'delivery-status': { code: 550, message: '5.1.1 No such user' },
    });

    it('accepts a signed permanent failure as a hard bounce, found by our Message-ID', async () => {
      const address = `mg-${randomUUID()}@example.com`;
      const e = await sent(address);
      const res = await post('mailgun', mailgunBody(failed(e.email_id, 'permanent')), {});
      expect(res.status).toBe(202);
      expect(res.body.results[0].email_id).toBe(e.email_id);
      expect((await email(e.email_id)).status).toBe('bounced');
      expect(await suppressed(address)).toBe(true);
    });

    it('treats a temporary failure as a soft bounce', async () => {
      const address = `mgt-${randomUUID()}@example.com`;
      const e = await sent(address);
      expect((await post('mailgun', mailgunBody(failed(e.email_id, 'temporary')), {})).status).toBe(202);
      expect((await email(e.email_id)).status).toBe('sent');
      expect(await suppressed(address)).toBe(false);
    });

    it('refuses a replayed token with another body, and answers the identical retry as a duplicate', async () => {
      const e = await sent();
      const token = randomBytes(25).toString('hex');
      const ts = nowSeconds();
      const first = mailgunBody(
        {
          id: randomUUID(),
          event: 'delivered',
          message: { headers: { 'message-id': `${e.email_id}@x.test` } },
        },
        { token, ts },
      );
      expect((await post('mailgun', first, {})).status).toBe(202);
      expect((await post('mailgun', first, {})).status).toBe(200);
      const before = await webhookRows('mailgun');
      const replay = mailgunBody(
        {
          id: randomUUID(),
          event: 'complained',
          message: { headers: { 'message-id': `${e.email_id}@x.test` } },
        },
        { token, ts },
      );
      const res = await post('mailgun', replay, {});
      expect(res.status).toBe(401);
      expect(await webhookRows('mailgun')).toBe(before);
      expect((await email(e.email_id)).status).toBe('delivered');
    });

    it('refuses another key, a stale timestamp, a changed signature and a missing signature', async () => {
      const ev = { id: randomUUID(), event: 'delivered' };
      const before = await webhookRows('mailgun');
      const good = JSON.parse(mailgunBody(ev));
      good.signature.signature = good.signature.signature.replace(/^./, (c: string) =>
        c === 'a' ? 'b' : 'a',
      );
      for (const raw of [
        mailgunBody(ev, { key: 'key-wrong' }),
        mailgunBody(ev, { ts: nowSeconds() - 3600 }),
        JSON.stringify(good),
        JSON.stringify({ 'event-data': ev }),
      ]) {
        expect((await post('mailgun', raw, {})).status).toBe(401);
      }
      expect(await webhookRows('mailgun')).toBe(before);
    });
  });

  describe('Postmark (Basic auth or a shared header)', () => {
    const basic = (credentials: string) => ({
      authorization: `Basic ${Buffer.from(credentials).toString('base64')}`,
    });
    const bounce = (emailId: string, type: string) => ({
      RecordType: 'Bounce',
      ID: Math.floor(Math.random() * 1e12),
      Type: type,
      TypeCode: 1,
      MessageID: randomUUID(),
      Email: 'r@example.com',
      BouncedAt: new Date().toISOString(),
      Description: 'The server was unable to deliver your message',
      Details: 'smtp;550 5.1.1 unknown user',
      Metadata: { email_id: emailId },
    });

    it('accepts a HardBounce with Basic credentials and suppresses the address', async () => {
      const address = `pm-${randomUUID()}@example.com`;
      const e = await sent(address);
      const raw = JSON.stringify(bounce(e.email_id, 'HardBounce'));
      const res = await post('postmark', raw, basic(POSTMARK_CREDENTIALS));
      expect(res.status).toBe(202);
      expect((await email(e.email_id)).status).toBe('bounced');
      expect(await suppressed(address)).toBe(true);
      expect((await post('postmark', raw, basic(POSTMARK_CREDENTIALS))).status).toBe(200);
    });

    it('accepts the shared header, maps Delivery and Open, and keeps a SoftBounce soft', async () => {
      const address = `pm2-${randomUUID()}@example.com`;
      const e = await sent(address);
      const header = { 'x-webhook-secret': POSTMARK_CREDENTIALS };
      const messageId = randomUUID();
      const delivery = {
        RecordType: 'Delivery',
        MessageID: messageId,
        Recipient: address,
        DeliveredAt: new Date().toISOString(),
        Details: '250 OK',
        Metadata: { email_id: e.email_id },
      };
      const open = {
        RecordType: 'Open',
        MessageID: messageId,
        Recipient: address,
        ReceivedAt: new Date().toISOString(),
        FirstOpen: true,
        Metadata: { email_id: e.email_id },
      };
      expect((await post('postmark', JSON.stringify(delivery), header)).status).toBe(202);
      expect((await post('postmark', JSON.stringify(open), header)).status).toBe(202);
      expect((await post('postmark', JSON.stringify(bounce(e.email_id, 'SoftBounce')), header)).status).toBe(
        202,
      );
      expect((await email(e.email_id)).status).toBe('opened');
      expect(await suppressed(address)).toBe(false);
    });

    it('refuses wrong or missing credentials, storing nothing', async () => {
      const raw = JSON.stringify(bounce(randomUUID(), 'HardBounce'));
      const before = await webhookRows('postmark');
      for (const headers of [basic('postmark-hooks:wrong'), { 'x-webhook-secret': 'nope' }, {}] as Record<
        string,
        string
      >[]) {
        expect((await post('postmark', raw, headers)).status).toBe(401);
      }
      expect(await webhookRows('postmark')).toBe(before);
    });
  });

  describe('Resend (Svix headers)', () => {
    const resendEvent = (type: string, emailId: string, extra: Record<string, unknown> = {}) => ({
      type,
      created_at: new Date().toISOString(),
      data: {
        created_at: new Date().toISOString(),
        email_id: `re_${randomUUID()}`,
        from: 'Acme <onboarding@resend.dev>',
        to: ['r@example.com'],
        subject: 'Hi',
        tags: { email_id: emailId },
        ...extra,
      },
    });
    const svix = (raw: string, opts: { timestamp?: number; id?: string } = {}) =>
      standardHeaders(RESEND_SECRET, raw, { ...opts, prefix: 'svix' });

    it('accepts email.delivered and email.bounced (Permanent = hard), deduplicated on svix-id', async () => {
      const address = `rs-${randomUUID()}@example.com`;
      const e = await sent(address);
      const delivered = JSON.stringify(resendEvent('email.delivered', e.email_id));
      const headers = svix(delivered);
      expect((await post('resend', delivered, headers)).status).toBe(202);
      expect((await post('resend', delivered, headers)).status).toBe(200);
      const bounced = JSON.stringify(
        resendEvent('email.bounced', e.email_id, {
          bounce: { type: 'Permanent', subType: 'General', message: 'gone' },
        }),
      );
      expect((await post('resend', bounced, svix(bounced))).status).toBe(202);
      const got = await email(e.email_id);
      expect(got.status).toBe('bounced');
      expect(got.events.at(-1).data).toMatchObject({ bounce_type: 'hard', provider: 'resend' });
      expect(await suppressed(address)).toBe(true);
    });

    it('records email.clicked without a status change', async () => {
      const e = await sent();
      const raw = JSON.stringify(
        resendEvent('email.clicked', e.email_id, { click: { link: 'https://example.com/x' } }),
      );
      expect((await post('resend', raw, svix(raw))).status).toBe(202);
      const got = await email(e.email_id);
      expect(got.status).toBe('sent');
      expect(got.events.at(-1)).toMatchObject({ type: 'clicked', data: { url: 'https://example.com/x' } });
    });

    it('refuses a changed byte, another secret, a stale timestamp and webhook-* names', async () => {
      const raw = JSON.stringify(resendEvent('email.delivered', randomUUID()));
      const before = await webhookRows('resend');
      const other = `whsec_${randomBytes(24).toString('base64')}`;
      for (const [body, headers] of [
        [raw.replace('delivered', 'Delivered'), svix(raw)],
        [raw, standardHeaders(other, raw, { prefix: 'svix' })],
        [raw, svix(raw, { timestamp: nowSeconds() - 600 })],
        [raw, standardHeaders(RESEND_SECRET, raw)],
      ] as const) {
        expect((await post('resend', body, headers)).status).toBe(401);
      }
      expect(await webhookRows('resend')).toBe(before);
    });
  });
});

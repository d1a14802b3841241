import { execFileSync } from 'node:child_process';
import { createSign, generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSystem, type System } from '../../src/main/system.js';
import { type Harness, startHarness } from '../support/harness.js';
import { sendAndWaitSent } from '../support/webhooks.js';

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:ses-events';
const CERT_URL = 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem';

/** A self-signed certificate made at test time, standing in for the one SNS serves. */
function makeCertificate(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sns-cert-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=sns.amazonaws.com',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    return {
      key: readFileSync(join(dir, 'key.pem'), 'utf8'),
      cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Signs an SNS envelope as AWS documents it: "Name\nvalue\n" per signed field, in order. */
function signEnvelope<T extends Record<string, string>>(
  env: T,
  privateKey: string,
  version: '1' | '2' = '2',
) {
  const fields =
    env.Type === 'Notification'
      ? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']
      : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
  const text = fields
    .filter((f) => env[f] !== undefined)
    .map((f) => `${f}\n${env[f]}\n`)
    .join('');
  const signature = createSign(version === '1' ? 'RSA-SHA1' : 'RSA-SHA256')
    .update(text)
    .sign(privateKey, 'base64');
  return { ...env, SignatureVersion: version, Signature: signature };
}

describe('POST /webhooks/ses (Amazon SES through SNS)', () => {
  let h: Harness;
  let api: System;
  let tenant: { id: string; key: string };
  let templateId: string;
  const { key, cert } = makeCertificate();
  const strangerKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
    type: 'pkcs8',
    format: 'pem',
  }) as string;
  const fetched: string[] = [];

  beforeAll(async () => {
    h = await startHarness({ env: { SES_SNS_TOPIC_ARNS: TOPIC } });
    // A second API process on the same database, whose network access is the fake SNS below.
    api = await createSystem({
      config: h.config,
      roles: { api: true, worker: false },
      webhookHttpGet: async (url) => {
        fetched.push(url.toString());
        if (url.toString() === CERT_URL) return { status: 200, body: cert };
        if (url.searchParams.get('Action') === 'ConfirmSubscription')
          return { status: 200, body: '<ConfirmSubscriptionResponse/>' };
        return { status: 404, body: '' };
      },
    });
    tenant = await h.createTenant('SES');
    templateId = await h.createTemplate(tenant.key);
  });
  afterAll(async () => {
    await api?.stop();
    await h?.close();
  });

  const post = async (body: unknown, raw?: string) => {
    const res = await api.app!.inject({
      method: 'POST',
      url: '/webhooks/ses',
      headers: { 'content-type': 'text/plain; charset=UTF-8', 'x-amz-sns-message-type': 'Notification' },
      payload: raw ?? JSON.stringify(body),
    });
    return { status: res.statusCode, body: res.json() };
  };
  const notification = (message: unknown, over: Record<string, string> = {}) => ({
    Type: 'Notification',
    MessageId: randomUUID(),
    TopicArn: TOPIC,
    Message: JSON.stringify(message),
    Timestamp: new Date().toISOString(),
    SigningCertURL: CERT_URL,
    UnsubscribeURL: 'https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=x',
    ...over,
  });
  const bounceFor = (emailId: string, bounceType = 'Permanent') => ({
    eventType: 'Bounce',
    bounce: {
      bounceType,
      bounceSubType: 'General',
      bouncedRecipients: [{ emailAddress: 'r@example.com', diagnosticCode: 'smtp; 550 5.1.1 user unknown' }],
      timestamp: new Date().toISOString(),
      feedbackId: randomUUID(),
    },
    mail: {
      timestamp: new Date().toISOString(),
      messageId: `0100${randomUUID()}`,
      headers: [{ name: 'Message-ID', value: `<${emailId}@mailsystem.local>` }],
      tags: {},
    },
  });
  const stored = async () =>
    (await h.sql(`SELECT count(*)::int AS n FROM provider_webhook_events WHERE provider = 'ses'`))[0].n;
  const email = async (id: string) => (await h.request('GET', `/emails/${id}`, { key: tenant.key })).body;

  it('accepts a SignatureVersion 1 bounce, found by our Message-ID, and suppresses the address', async () => {
    const address = `ses-${randomUUID()}@example.com`;
    const e = await sendAndWaitSent(h, tenant.key, templateId, address);
    const env = signEnvelope(notification(bounceFor(e.email_id)), key, '1');
    const res = await post(env);
    expect(res.status).toBe(202);
    expect(res.body.results).toEqual([{ event_id: env.MessageId, duplicate: false, email_id: e.email_id }]);
    expect((await email(e.email_id)).status).toBe('bounced');
    expect((await h.request('GET', `/suppressions/${address}`, { key: tenant.key })).body.reason).toBe(
      'hard_bounce',
    );
    // SNS retries with the same MessageId.
    const again = await post(env);
    expect(again.status).toBe(200);
    expect(again.body.results[0].duplicate).toBe(true);
  });

  it('accepts a SignatureVersion 2 delivery found by an email_id message tag, and a transient bounce as soft', async () => {
    const address = `ses2-${randomUUID()}@example.com`;
    const e = await sendAndWaitSent(h, tenant.key, templateId, address);
    const delivery = {
      eventType: 'Delivery',
      mail: { timestamp: new Date().toISOString(), messageId: 'ses-1', tags: { email_id: [e.email_id] } },
      delivery: { timestamp: new Date().toISOString(), smtpResponse: '250 2.6.0 Message received' },
    };
    expect((await post(signEnvelope(notification(delivery), key, '2'))).status).toBe(202);
    expect((await post(signEnvelope(notification(bounceFor(e.email_id, 'Transient')), key))).status).toBe(
      202,
    );
    const got = await email(e.email_id);
    expect(got.status).toBe('delivered');
    expect(got.events.find((x: { type: string }) => x.type === 'delivered').data).toMatchObject({
      smtp_response: '250 2.6.0 Message received',
      provider: 'ses',
    });
    expect((await h.request('GET', `/suppressions/${address}`, { key: tenant.key })).status).toBe(404);
  });

  it('confirms a subscription only after its signature checked out', async () => {
    const subscribeUrl = `https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${TOPIC}&Token=tok-${randomUUID()}`;
    const confirmation = {
      Type: 'SubscriptionConfirmation',
      MessageId: randomUUID(),
      Token: 'tok',
      TopicArn: TOPIC,
      Message: 'You have chosen to subscribe to the topic.',
      SubscribeURL: subscribeUrl,
      Timestamp: new Date().toISOString(),
      SigningCertURL: CERT_URL,
    };
    const forged = signEnvelope(confirmation, strangerKey);
    expect((await post(forged)).status).toBe(401);
    expect(fetched).not.toContain(subscribeUrl);

    const res = await post(signEnvelope(confirmation, key));
    expect(res.status).toBe(200);
    expect(fetched).toContain(subscribeUrl);

    // A correctly signed confirmation pointing somewhere other than SNS is not followed.
    const elsewhere = 'https://attacker.example.com/?Action=ConfirmSubscription';
    expect((await post(signEnvelope({ ...confirmation, SubscribeURL: elsewhere }, key))).status).toBe(401);
    expect(fetched).not.toContain(elsewhere);
  });

  describe('refuses forgeries, storing nothing', () => {
    const message = () => bounceFor(randomUUID());
    const cases: [string, () => { body?: unknown; raw?: string }][] = [
      [
        'a changed byte in the message',
        () => {
          const env = signEnvelope(notification(message()), key);
          return { body: { ...env, Message: env.Message.replace('Permanent', 'Permanenu') } };
        },
      ],
      ['a signature by another key', () => ({ body: signEnvelope(notification(message()), strangerKey) })],
      [
        'a topic not in SES_SNS_TOPIC_ARNS',
        () => ({
          body: signEnvelope(
            notification(message(), { TopicArn: 'arn:aws:sns:us-east-1:123456789012:other' }),
            key,
          ),
        }),
      ],
      [
        'a certificate host that only looks like SNS',
        () => ({
          body: signEnvelope(
            notification(message(), {
              SigningCertURL: 'https://sns.us-east-1.amazonaws.com.evil.example/cert.pem',
            }),
            key,
          ),
        }),
      ],
      [
        'a certificate over plain http',
        () => ({
          body: signEnvelope(
            notification(message(), { SigningCertURL: CERT_URL.replace('https:', 'http:') }),
            key,
          ),
        }),
      ],
      [
        'a certificate the host does not have',
        () => ({
          body: signEnvelope(
            notification(message(), { SigningCertURL: 'https://sns.us-east-1.amazonaws.com/missing.pem' }),
            key,
          ),
        }),
      ],
      [
        'a message signed two hours ago',
        () => ({
          body: signEnvelope(
            notification(message(), { Timestamp: new Date(Date.now() - 7_200_000).toISOString() }),
            key,
          ),
        }),
      ],
      ['an unsigned message', () => ({ body: notification(message()) })],
      ['a body that is not an SNS message', () => ({ raw: '{"hello": "world"}' })],
    ];
    for (const [name, make] of cases) {
      it(`answers 401 to ${name}`, async () => {
        const before = await stored();
        const fetchesBefore = fetched.length;
        const { body, raw } = make();
        const res = await post(body, raw);
        expect(res.status).toBe(401);
        expect(await stored()).toBe(before);
        if (name.includes('topic') || name.includes('looks like') || name.includes('http')) {
          expect(fetched.length).toBe(fetchesBefore);
        }
      });
    }
  });

  it('refuses every SES message when no topic is configured', async () => {
    const closed = await createSystem({
      config: { ...h.config, sesSnsTopicArns: [] },
      roles: { api: true, worker: false },
      webhookHttpGet: async () => ({ status: 200, body: cert }),
    });
    try {
      const res = await closed.app!.inject({
        method: 'POST',
        url: '/webhooks/ses',
        headers: { 'content-type': 'text/plain' },
        payload: JSON.stringify(signEnvelope(notification(bounceFor(randomUUID())), key)),
      });
      expect(res.statusCode).toBe(401);
    } finally {
      await closed.stop();
    }
  });
});

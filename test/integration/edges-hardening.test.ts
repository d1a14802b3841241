import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.js';

describe('request edges', () => {
  let h: Harness;
  let t: { id: string; key: string };
  let template: string;

  beforeAll(async () => {
    h = await startHarness({
      roles: { api: true, worker: false },
      env: { WEBHOOK_SECRET_SMTP: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
    });
    t = await h.createTenant();
    template = await h.createTemplate(t.key);
  });
  afterAll(() => h?.close());

  it.each([
    ['POST', '/send'],
    ['POST', '/send/bulk'],
    ['POST', '/templates'],
    ['POST', '/templates/preview'],
    ['POST', '/suppressions'],
  ])('answers %s %s with a text/plain body 415, storing nothing', async (method, url) => {
    const before = await h.sql('SELECT count(*)::int AS n FROM emails');
    const r = await h.request(method, url, {
      key: t.key,
      rawBody: JSON.stringify({ recipient: { email: 'x@example.com' }, template_id: template }),
      headers: { 'content-type': 'text/plain' },
    });
    expect(r.status).toBe(415);
    expect(r.body.error.code).toBe('unsupported_media_type');
    expect(await h.sql('SELECT count(*)::int AS n FROM emails')).toEqual(before);
  });

  it('still takes text/plain where a provider sends it (SNS posts JSON as text/plain)', async () => {
    const r = await h.request('POST', '/webhooks/ses', {
      rawBody: JSON.stringify({ Type: 'Notification' }),
      headers: { 'content-type': 'text/plain; charset=UTF-8' },
    });
    // Refused for its missing signature, not for its media type.
    expect(r.status).toBe(401);
  });

  it('answers every refused webhook with one generic 401 body that names no secret or topic', async () => {
    const refusals = await Promise.all([
      // No signature at all.
      h.request('POST', '/webhooks/smtp', {
        rawBody: '{"events":[]}',
        headers: { 'content-type': 'application/json' },
      }),
      // A wrong signature.
      h.request('POST', '/webhooks/smtp', {
        rawBody: '{"events":[]}',
        headers: {
          'content-type': 'application/json',
          'webhook-id': 'msg_1',
          'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
          'webhook-signature': 'v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
        },
      }),
      // A provider whose secret is not configured.
      h.request('POST', '/webhooks/postmark', {
        rawBody: '{}',
        headers: { 'content-type': 'application/json' },
      }),
      // SES with no topic allowed.
      h.request('POST', '/webhooks/ses', { rawBody: '{}', headers: { 'content-type': 'text/plain' } }),
    ]);
    for (const r of refusals) {
      expect(r.status).toBe(401);
      expect(r.body).toEqual({
        error: { code: 'invalid_signature', message: 'The webhook signature is missing, stale or wrong' },
      });
      expect(r.raw).not.toMatch(/WEBHOOK_SECRET|TopicArn|SES_SNS|secret|topic/i);
    }
  });
});

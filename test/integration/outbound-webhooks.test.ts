import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WEBHOOK_EVENT_TYPES } from '../../src/domain/webhook-events.js';
import type { System } from '../../src/main/system.js';
import { eventually, type Harness, startHarness } from '../support/harness.js';
import { TestRedisServer } from '../support/redis-server.js';
import { verifySignature as verify, WebhookReceiver } from '../support/webhook-receiver.js';

const FAST = {
  OUTBOUND_WEBHOOKS_ALLOW_PRIVATE: 'true',
  OUTBOUND_WEBHOOKS_RETRY_SCHEDULE: '0,1,1,1',
  OUTBOUND_WEBHOOKS_RELAY_INTERVAL_MS: '200',
  OUTBOUND_WEBHOOKS_TIMEOUT_MS: '1500',
  RECOVERY_GRACE_SECONDS: '3',
};

describe('tenant event webhooks', () => {
  let redis: TestRedisServer;
  let h: Harness;
  let worker: System | null = null;
  let receiver: WebhookReceiver;
  let tenant: { id: string; key: string };
  let other: { id: string; key: string };
  let templateId: string;

  const createEndpoint = async (key: string, path: string, events: string[] = ['*']) => {
    const r = await h.request('POST', '/webhook-endpoints', {
      key,
      body: { url: receiver.url(path), events, description: path },
    });
    expect(r.status).toBe(201);
    return r.body as { id: string; secret: string; enabled: boolean };
  };
  const send = async (email: string, extra: Record<string, unknown> = {}) => {
    const r = await h.request('POST', '/send', {
      key: tenant.key,
      body: { recipient: { email }, template_id: templateId, variables: { name: 'Ann' }, ...extra },
    });
    expect(r.status).toBe(202);
    return r.body.email_id as string;
  };

  beforeAll(async () => {
    redis = await TestRedisServer.start();
    receiver = await WebhookReceiver.start();
    h = await startHarness({ redisUrl: redis.url, roles: { api: true, worker: false }, env: FAST });
    worker = await h.startPeer({ roles: { api: false, worker: true } });
    tenant = await h.createTenant();
    other = await h.createTenant();
    templateId = await h.createTemplate(tenant.key);
  });
  afterAll(async () => {
    await worker?.stop();
    await h?.close();
    await receiver?.close();
    await redis?.stop();
  });

  it('sends email.queued then email.sent for a send, signed with the secret shown at creation', async () => {
    const ep = await createEndpoint(tenant.key, '/all');
    expect(ep.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    const shown = await h.request('GET', `/webhook-endpoints/${ep.id}`, { key: tenant.key });
    expect(shown.status).toBe(200);
    expect(shown.body).not.toHaveProperty('secret');
    // Sealed at rest: the database does not hold the secret.
    const [stored] = await h.sql('SELECT secret FROM webhook_endpoints WHERE id = $1', [ep.id]);
    expect(stored.secret).toMatch(/^sealed:db:/);
    expect(stored.secret).not.toContain(ep.secret.slice('whsec_'.length));

    const emailId = await send('first@example.com', { metadata: { order: '42' }, tags: ['welcome'] });
    const got = await eventually(async () => {
      const mine = receiver.at('/all').filter((r) => r.json.data.email_id === emailId);
      return mine.length >= 2 ? mine : null;
    }, 30_000);
    expect(got.map((r) => r.json.type)).toEqual(['email.queued', 'email.sent']);
    for (const r of got) {
      expect(verify(ep.secret, r)).toMatchObject({ type: r.json.type });
      expect(r.headers['content-type']).toBe('application/json');
    }
    expect(got[1]?.json.data).toMatchObject({
      email_id: emailId,
      recipient: 'first@example.com',
      template_id: templateId,
      metadata: { order: '42' },
      tags: ['welcome'],
      attempt: 1,
    });
    expect(() => verify('whsec_dGhpcyBpcyBub3QgdGhlIHNlY3JldCBhdCBhbGwh', got[0] as never)).toThrow();

    // The receiver has answered; the outcome is recorded a moment later.
    const sent = await eventually(async () => {
      const log = await h.request('GET', `/webhook-endpoints/${ep.id}/deliveries`, { key: tenant.key });
      const d = log.body.items.find((x: any) => x.type === 'email.sent' && x.email_id === emailId);
      return d?.status === 'succeeded' ? d : null;
    });
    expect(sent).toMatchObject({ status: 'succeeded', attempts: 1, last_status: 200, next_attempt_at: null });
    expect(sent.id).toBe(got[1]?.headers['webhook-id']);
    await h.request('DELETE', `/webhook-endpoints/${ep.id}`, { key: tenant.key });
  });

  it("sends nothing to another tenant's endpoint, and answers 404 for another tenant's ids", async () => {
    const mine = await createEndpoint(tenant.key, '/mine');
    const theirs = await createEndpoint(other.key, '/theirs');
    const emailId = await send('isolated@example.com');
    await eventually(
      async () =>
        receiver.at('/mine').some((r) => r.json.data.email_id === emailId && r.json.type === 'email.sent'),
      30_000,
    );
    expect(receiver.at('/theirs')).toEqual([]);

    for (const [method, path] of [
      ['GET', `/webhook-endpoints/${theirs.id}`],
      ['PATCH', `/webhook-endpoints/${theirs.id}`],
      ['DELETE', `/webhook-endpoints/${theirs.id}`],
      ['POST', `/webhook-endpoints/${theirs.id}/rotate-secret`],
      ['POST', `/webhook-endpoints/${theirs.id}/test`],
      ['GET', `/webhook-endpoints/${theirs.id}/deliveries`],
    ] as const) {
      const r = await h.request(method, path, {
        key: tenant.key,
        ...(method === 'PATCH' ? { body: { enabled: false } } : {}),
      });
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(r.body.error.code).toBe('webhook_endpoint_not_found');
    }
    const list = await h.request('GET', '/webhook-endpoints', { key: tenant.key });
    expect(list.body.items.map((e: any) => e.id)).not.toContain(theirs.id);
    const theirLog = await h.request('GET', `/webhook-endpoints/${theirs.id}/deliveries`, { key: other.key });
    expect(theirLog.body.items).toEqual([]);
    // The other tenant's endpoint is intact.
    expect((await h.request('GET', `/webhook-endpoints/${theirs.id}`, { key: other.key })).body.enabled).toBe(
      true,
    );
    await h.request('DELETE', `/webhook-endpoints/${mine.id}`, { key: tenant.key });
  });

  it('sends an event again with the same webhook-id after a 500 and after a timeout', async () => {
    const ep = await createEndpoint(tenant.key, '/flaky', ['email.sent']);
    receiver.plans['/flaky'] = [500, 'hang'];
    const emailId = await send('flaky@example.com');
    const got = await eventually(async () => {
      const mine = receiver.at('/flaky').filter((r) => r.json.data.email_id === emailId);
      return mine.length >= 3 ? mine : null;
    }, 40_000);
    const ids = new Set(got.map((r) => r.headers['webhook-id']));
    expect(ids.size).toBe(1);
    for (const r of got) verify(ep.secret, r);
    const log = await eventually(async () => {
      const r = await h.request('GET', `/webhook-endpoints/${ep.id}/deliveries`, { key: tenant.key });
      const d = r.body.items.find((x: any) => x.email_id === emailId);
      return d?.status === 'succeeded' ? d : null;
    });
    expect(log).toMatchObject({ attempts: 3, last_status: 200, last_error: null });
    expect(receiver.at('/flaky').filter((r) => r.json.type !== 'email.sent')).toEqual([]);
    await h.request('DELETE', `/webhook-endpoints/${ep.id}`, { key: tenant.key });
  });

  it('gives up after the schedule, logs why, and sends it again on a manual retry', async () => {
    const ep = await createEndpoint(tenant.key, '/down', ['email.failed']);
    receiver.plans['/down'] = [503, 503, 503, 503];
    const test = await h.request('POST', `/webhook-endpoints/${ep.id}/test`, { key: tenant.key });
    expect(test.status).toBe(202);
    const failed = await eventually(async () => {
      const r = await h.request('GET', `/webhook-endpoints/${ep.id}/deliveries`, { key: tenant.key });
      const d = r.body.items.find((x: any) => x.id === test.body.id);
      return d?.status === 'failed' ? d : null;
    }, 30_000);
    expect(failed).toMatchObject({
      attempts: 4,
      last_status: 503,
      last_error: 'HTTP 503',
      last_response: 'not today',
    });
    expect(receiver.at('/down')).toHaveLength(4);
    const endpoint = await h.request('GET', `/webhook-endpoints/${ep.id}`, { key: tenant.key });
    expect(endpoint.body.failing_since).not.toBeNull();

    const retry = await h.request('POST', `/webhook-endpoints/${ep.id}/deliveries/${test.body.id}/retry`, {
      key: tenant.key,
    });
    expect(retry.status).toBe(202);
    await eventually(async () => receiver.at('/down').length === 5, 20_000);
    expect(receiver.at('/down')[4]?.headers['webhook-id']).toBe(test.body.id);
    await eventually(async () => {
      const r = await h.request('GET', `/webhook-endpoints/${ep.id}`, { key: tenant.key });
      return r.body.failing_since === null;
    });
    const unknown = await h.request(
      'POST',
      `/webhook-endpoints/${ep.id}/deliveries/00000000-0000-4000-8000-000000000000/retry`,
      { key: tenant.key },
    );
    expect(unknown.status).toBe(404);
    await h.request('DELETE', `/webhook-endpoints/${ep.id}`, { key: tenant.key });
  });

  it('follows no redirect and fails a 3xx or 4xx at once, without retrying', async () => {
    const ep = await createEndpoint(tenant.key, '/moved', ['email.sent']);
    receiver.plans['/moved'] = [302];
    const test = await h.request('POST', `/webhook-endpoints/${ep.id}/test`, { key: tenant.key });
    const d = await eventually(async () => {
      const r = await h.request('GET', `/webhook-endpoints/${ep.id}/deliveries`, { key: tenant.key });
      const x = r.body.items.find((i: any) => i.id === test.body.id);
      return x?.status === 'failed' ? x : null;
    });
    expect(d).toMatchObject({ attempts: 1, last_status: 302, next_attempt_at: null });
    expect(receiver.at('/moved')).toHaveLength(1);
    await h.request('DELETE', `/webhook-endpoints/${ep.id}`, { key: tenant.key });
  });

  it('sends bulk.completed when every email of a bulk job is final', async () => {
    const ep = await createEndpoint(tenant.key, '/bulk', ['bulk.completed']);
    const r = await h.request('POST', '/send/bulk', {
      key: tenant.key,
      body: {
        template_id: templateId,
        recipients: [{ email: 'b1@example.com' }, { email: 'b2@example.com' }, { email: 'not an address' }],
        shared_variables: { name: 'All' },
        metadata: { campaign: 'winter' },
      },
    });
    expect(r.status).toBe(202);
    const [got] = await eventually(
      async () => (receiver.at('/bulk').length > 0 ? receiver.at('/bulk') : null),
      40_000,
    );
    verify(ep.secret, got as never);
    expect(got?.json).toMatchObject({
      type: 'bulk.completed',
      data: {
        bulk_job_id: r.body.bulk_job_id,
        total: 3,
        accepted: 2,
        invalid: 1,
        metadata: { campaign: 'winter' },
      },
    });
    await h.request('DELETE', `/webhook-endpoints/${ep.id}`, { key: tenant.key });
  });

  it('sends nothing to a disabled endpoint', async () => {
    const on = await createEndpoint(tenant.key, '/on');
    const off = await createEndpoint(tenant.key, '/off');
    const patched = await h.request('PATCH', `/webhook-endpoints/${off.id}`, {
      key: tenant.key,
      body: { enabled: false },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ enabled: false, disabled_reason: 'disabled by the tenant' });
    const emailId = await send('quiet@example.com');
    await eventually(
      async () =>
        receiver.at('/on').some((r) => r.json.data.email_id === emailId && r.json.type === 'email.sent'),
      30_000,
    );
    expect(receiver.at('/off')).toEqual([]);
    const rows = await h.sql('SELECT count(*)::int AS n FROM webhook_deliveries WHERE endpoint_id = $1', [
      off.id,
    ]);
    expect(rows[0].n).toBe(0);
    for (const id of [on.id, off.id])
      await h.request('DELETE', `/webhook-endpoints/${id}`, { key: tenant.key });
  });

  it('signs with the old and the new secret for a day after a rotation', async () => {
    const ep = await createEndpoint(tenant.key, '/rotate');
    const rotated = await h.request('POST', `/webhook-endpoints/${ep.id}/rotate-secret`, { key: tenant.key });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).not.toBe(ep.secret);
    const until = Date.parse(rotated.body.previous_secret_expires_at);
    expect(until - Date.now()).toBeGreaterThan(23 * 3600_000);
    expect(until - Date.now()).toBeLessThanOrEqual(24 * 3600_000);
    await h.request('POST', `/webhook-endpoints/${ep.id}/test`, { key: tenant.key });
    const [got] = await eventually(async () =>
      receiver.at('/rotate').length > 0 ? receiver.at('/rotate') : null,
    );
    expect(got?.json.type).toBe('webhook.test');
    expect(String(got?.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verify(ep.secret, got as never)).toBeTruthy();
    expect(verify(rotated.body.secret, got as never)).toBeTruthy();
    await h.request('DELETE', `/webhook-endpoints/${ep.id}`, { key: tenant.key });
  });

  it('documents every event type with a JSON Schema in the OpenAPI webhooks section', async () => {
    const doc = await h.request('GET', '/openapi.json', { key: null });
    expect(Object.keys(doc.body.webhooks).sort()).toEqual([...WEBHOOK_EVENT_TYPES].sort());
    const sent = doc.body.webhooks['email.sent'].post.requestBody.content['application/json'].schema;
    expect(sent.properties.type.const).toBe('email.sent');
    expect(sent.properties.data.required).toEqual(
      expect.arrayContaining(['email_id', 'recipient', 'attempt']),
    );
  });

  it('refuses unknown event types and malformed ids', async () => {
    const bad = await h.request('POST', '/webhook-endpoints', {
      key: tenant.key,
      body: { url: receiver.url('/x'), events: ['email.nope'] },
    });
    expect(bad.status).toBe(400);
    expect((await h.request('GET', '/webhook-endpoints/not-a-uuid', { key: tenant.key })).status).toBe(404);
    const none = await h.sql('SELECT count(*)::int AS n FROM webhook_endpoints WHERE url = $1', [
      receiver.url('/x'),
    ]);
    expect(none[0].n).toBe(0);
  });

  it('loses no outgoing event when Redis is flushed between the event and its delivery', async () => {
    await worker?.stop();
    worker = null;
    const ep = await createEndpoint(tenant.key, '/flush');
    // Dispatched by the API at once (a test event), and written by the outbox (a send's queued).
    const test = await h.request('POST', `/webhook-endpoints/${ep.id}/test`, { key: tenant.key });
    const emailId = await send('flushed@example.com');
    await redis.command('FLUSHALL');
    worker = await h.startPeer({ roles: { api: false, worker: true } });
    const got = await eventually(async () => {
      const r = receiver.at('/flush');
      return r.some((x) => x.json.type === 'webhook.test') &&
        r.some((x) => x.json.type === 'email.sent' && x.json.data.email_id === emailId)
        ? r
        : null;
    }, 40_000);
    expect(got.find((x) => x.json.type === 'webhook.test')?.headers['webhook-id']).toBe(test.body.id);
    const types = got.filter((x) => x.json.data.email_id === emailId).map((x) => x.json.type);
    expect(types).toEqual(['email.queued', 'email.sent']);
    await h.request('DELETE', `/webhook-endpoints/${ep.id}`, { key: tenant.key });
  });
});

describe('tenant event webhooks without OUTBOUND_WEBHOOKS_ALLOW_PRIVATE', () => {
  let h: Harness;
  let receiver: WebhookReceiver;
  let tenant: { id: string; key: string };

  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
    h = await startHarness({
      env: { OUTBOUND_WEBHOOKS_RELAY_INTERVAL_MS: '200', OUTBOUND_WEBHOOKS_TIMEOUT_MS: '1500' },
    });
    tenant = await h.createTenant();
  });
  afterAll(async () => {
    await h?.close();
    await receiver?.close();
  });

  it('refuses loopback, private, link-local and metadata addresses, and plain http', async () => {
    for (const url of [
      'http://127.0.0.1/hook',
      'https://127.0.0.1/hook',
      'http://169.254.169.254/latest/meta-data',
      'https://169.254.169.254/latest/meta-data',
      'https://10.0.0.1/hook',
      'https://[::1]/hook',
      'https://[::ffff:127.0.0.1]/hook',
      'https://localhost/hook',
      `https://localhost:${receiver.port}/hook`,
      'ftp://example.com/hook',
    ]) {
      const r = await h.request('POST', '/webhook-endpoints', {
        key: tenant.key,
        body: { url, events: ['*'] },
      });
      expect(r.status, url).toBe(422);
      expect(r.body.error.code).toBe('invalid_webhook_url');
    }
    const rows = await h.sql('SELECT count(*)::int AS n FROM webhook_endpoints');
    expect(rows[0].n).toBe(0);
  });

  it('refuses at send time an address that turned private (a name resolving to loopback)', async () => {
    // As if the name had resolved to a public address when the endpoint was saved.
    const id = '11111111-1111-4111-8111-111111111111';
    await h.sql(
      `INSERT INTO webhook_endpoints (id, tenant_id, url, events, secret)
       VALUES ($1, $2, $3, '{*}', 'whsec_dGhpcyBpcyBub3QgdGhlIHNlY3JldCBhdCBhbGwh')`,
      [id, tenant.id, `https://localhost:${receiver.port}/rebound`],
    );
    const test = await h.request('POST', `/webhook-endpoints/${id}/test`, { key: tenant.key });
    expect(test.status).toBe(202);
    const d = await eventually(async () => {
      const r = await h.request('GET', `/webhook-endpoints/${id}/deliveries`, { key: tenant.key });
      return r.body.items[0]?.status === 'failed' ? r.body.items[0] : null;
    }, 20_000);
    expect(d.last_error).toMatch(/^refused: .*not allowed/);
    expect(d.attempts).toBe(1);
    expect(receiver.received).toEqual([]);
  });
});

describe('tenant event webhooks in the embedded mode (PGlite and the in-process queue)', () => {
  let h: Harness;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
    h = await startHarness({ embedded: true, env: FAST });
  });
  afterAll(async () => {
    await h?.close();
    await receiver?.close();
  });

  it('delivers events in order and disables an endpoint that has failed for 5 days', async () => {
    const tenant = await h.createTenant();
    const templateId = await h.createTemplate(tenant.key);
    const ep = await h.request('POST', '/webhook-endpoints', {
      key: tenant.key,
      body: { url: receiver.url('/embedded'), events: ['email.queued', 'email.sent'] },
    });
    expect(ep.status).toBe(201);
    const sent = await h.request('POST', '/send', {
      key: tenant.key,
      body: {
        recipient: { email: 'embedded@example.com' },
        template_id: templateId,
        variables: { name: 'E' },
      },
    });
    const got = await eventually(
      async () => (receiver.at('/embedded').length >= 2 ? receiver.at('/embedded') : null),
      30_000,
    );
    expect(got.map((r) => [r.json.type, r.json.data.email_id])).toEqual([
      ['email.queued', sent.body.email_id],
      ['email.sent', sent.body.email_id],
    ]);
    for (const r of got) verify(ep.body.secret, r);

    // Both deliveries recorded as succeeded first (the receiver sees a request before its outcome
    // is written), so no success recorded late ends the failing run set up next.
    await eventually(async () => {
      const r = await h.request('GET', `/webhook-endpoints/${ep.body.id}/deliveries`, { key: tenant.key });
      const items = r.body.items as { status: string }[];
      return items.length >= 2 && items.every((d) => d.status === 'succeeded') ? items : null;
    }, 30_000);
    // Failing since six days: the next failure disables it, and says why.
    await h.sql(`UPDATE webhook_endpoints SET failing_since = now() - interval '6 days' WHERE id = $1`, [
      ep.body.id,
    ]);
    // Every answer from now on fails, so that no late redelivery of an earlier event (the relay
    // dispatches again what stayed pending on a busy machine) can succeed and end the failing run.
    receiver.plans['/embedded'] = Array(50).fill(500);
    await h.request('POST', `/webhook-endpoints/${ep.body.id}/test`, { key: tenant.key });
    const disabled = await eventually(async () => {
      const r = await h.request('GET', `/webhook-endpoints/${ep.body.id}`, { key: tenant.key });
      return r.body.enabled === false ? r.body : null;
    }, 45_000);
    expect(disabled.disabled_reason).toMatch(/^every attempt failed since .*; last: HTTP 500$/);
    const log = await h.request('GET', `/webhook-endpoints/${ep.body.id}/deliveries`, { key: tenant.key });
    expect(log.body.items[0]).toMatchObject({ type: 'webhook.test', status: 'failed', last_status: 500 });
    const retry = await h.request(
      'POST',
      `/webhook-endpoints/${ep.body.id}/deliveries/${log.body.items[0].id}/retry`,
      { key: tenant.key },
    );
    expect(retry.status).toBe(409);
  }, 120_000);
});

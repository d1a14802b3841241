import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Harness, startHarness } from '../support/harness.js';

describe('tenant rate limits', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ roles: { api: true, worker: false } });
  });
  afterAll(() => h?.close());

  const limit = async (tenantId: string, perSecond: number | null, burst: number | null) => {
    const r = await h.admin('PATCH', `/admin/tenants/${tenantId}`, {
      rate_limit_per_second: perSecond,
      rate_limit_burst: burst,
    });
    expect(r.status).toBe(200);
  };

  it('answers 429 rate_limited with Retry-After once the burst is spent, and lets the tenant back in', async () => {
    const t = await h.createTenant();
    // One token every 100 s: nothing refills while the test runs, however slow the machine.
    await limit(t.id, 0.01, 3);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await h.request('GET', '/emails', { key: t.key });
      statuses.push(r.status);
      expect(r.headers['x-ratelimit-limit']).toBe('3');
      expect(r.headers['x-ratelimit-remaining']).toBe(String(2 - i));
    }
    expect(statuses).toEqual([200, 200, 200]);
    const refused = await h.request('GET', '/emails', { key: t.key });
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('rate_limited');
    // The next token is at most 100 seconds away, in whole seconds rounded up.
    const retryAfter = Number(refused.headers['retry-after']);
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 100).toBe(true);
    expect(refused.headers['x-ratelimit-remaining']).toBe('0');
    // Refusals spend nothing, and a changed limit applies at once.
    await limit(t.id, 1000, 10);
    await eventually(
      async () => (await h.request('GET', '/emails', { key: t.key })).status === 200,
      3000,
      50,
    );
  });

  it("never limits one tenant because of another's burst", async () => {
    const noisy = await h.createTenant();
    const quiet = await h.createTenant();
    await limit(noisy.id, 0.1, 2);
    await limit(quiet.id, 0.1, 2);
    const noisyStatuses = [];
    for (let i = 0; i < 5; i++)
      noisyStatuses.push((await h.request('GET', '/templates', { key: noisy.key })).status);
    expect(noisyStatuses).toEqual([200, 200, 429, 429, 429]);
    expect((await h.request('GET', '/templates', { key: quiet.key })).status).toBe(200);
    expect((await h.request('GET', '/templates', { key: quiet.key })).status).toBe(200);
  });

  it('shares one bucket between API processes', async () => {
    const t = await h.createTenant();
    await limit(t.id, 0.1, 4);
    const peer = await h.startPeer({ roles: { api: true, worker: false } });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const app = i % 2 === 0 ? h.app : peer.app;
      const r = await app?.inject({
        method: 'GET',
        url: '/emails',
        headers: { authorization: `Bearer ${t.key}` },
      });
      statuses.push(r?.statusCode ?? 0);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
  });

  it('uses RATE_LIMIT_PER_SECOND and RATE_LIMIT_BURST when the tenant has no limits of its own', async () => {
    const peer = await h.startPeer({
      roles: { api: true, worker: false },
      env: { RATE_LIMIT_PER_SECOND: '0.1', RATE_LIMIT_BURST: '2' },
    });
    const t = await h.createTenant();
    const get = async () =>
      (
        await peer.app?.inject({
          method: 'GET',
          url: '/emails',
          headers: { authorization: `Bearer ${t.key}` },
        })
      )?.statusCode;
    expect([await get(), await get(), await get()]).toEqual([200, 200, 429]);
    // A tenant's own limit wins over the defaults; 0 means no limit.
    await limit(t.id, 0, null);
    await eventually(async () => (await get()) === 200, 3000, 50);
  });

  it('limits paths that match no route per client address', async () => {
    const statuses = new Set<number>();
    for (let i = 0; i < 60; i++) {
      const r = await h.request('GET', `/no-such-path-${i}`);
      statuses.add(r.status);
      if (r.status === 429) {
        expect(r.body.error.code).toBe('rate_limited');
        expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      }
    }
    expect([...statuses].sort()).toEqual([404, 429]);
    // Routes that exist are not affected.
    expect((await h.request('GET', '/health/live')).status).toBe(200);
  });
});

describe('rate limits while Redis is away', () => {
  let h: Harness;

  beforeAll(async () => {
    // Nothing listens on port 1: every Redis call fails at once.
    h = await startHarness({ roles: { api: true, worker: false }, redisUrl: 'redis://127.0.0.1:1/0' });
  });
  afterAll(() => h?.close());

  it('keeps serving, limiting each process on its own', async () => {
    const t = await h.createTenant();
    await h.admin('PATCH', `/admin/tenants/${t.id}`, { rate_limit_per_second: 0.1, rate_limit_burst: 2 });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await h.request('GET', '/emails', { key: t.key })).status);
    expect(statuses).toEqual([200, 200, 429]);
  });
});

describe('provider send rate', () => {
  let h: Harness;
  let attempts = 0;

  beforeAll(async () => {
    h = await startHarness({
      env: { SMTP_MAX_PER_SECOND: '20', RATE_LIMIT_PER_SECOND: '0' },
      sink: {
        reply: (rcpt) => {
          if (!rcpt.startsWith('throttled')) return undefined;
          attempts++;
          return attempts === 1 ? { code: 454, message: '4.7.0 Throttled, try again later' } : undefined;
        },
      },
    });
  });
  afterAll(() => h?.close());

  it('makes a burst wait for the provider rather than fail: every email is sent on its first attempt', async () => {
    const t = await h.createTenant();
    const tpl = await h.createTemplate(t.key);
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      const r = await h.request('POST', '/send', {
        key: t.key,
        body: { recipient: { email: `burst${i}@example.com` }, template_id: tpl, variables: { name: 'x' } },
      });
      ids.push(r.body.email_id);
    }
    await h.sink.waitFor(30, 20_000);
    const rows = await eventually(async () => {
      const r = await h.sql(`SELECT status, attempts FROM emails WHERE id = ANY($1::uuid[])`, [ids]);
      return r.every((x) => x.status === 'sent') ? r : undefined;
    });
    expect(rows?.every((r) => r.attempts === 1)).toBe(true);
    const deferred = await h.sql(
      `SELECT count(*)::int AS n FROM email_events WHERE type = 'deferred' AND email_id = ANY($1::uuid[])`,
      [ids],
    );
    expect(deferred[0].n).toBe(0);
  });

  it('backs off and retries when the provider answers 454 (throttled)', async () => {
    const t = await h.createTenant();
    const tpl = await h.createTemplate(t.key);
    const r = await h.request('POST', '/send', {
      key: t.key,
      body: { recipient: { email: 'throttled@example.com' }, template_id: tpl, variables: { name: 'x' } },
    });
    const email = await eventually(async () => {
      const e = await h.request('GET', `/emails/${r.body.email_id}`, { key: t.key });
      return e.body.status === 'sent' ? e.body : null;
    });
    expect(email.attempts).toBe(2);
    const types = email.events.map((e: { type: string }) => e.type);
    expect(types).toEqual(['queued', 'processing', 'deferred', 'processing', 'sent']);
    const deferred = email.events.find((e: { type: string }) => e.type === 'deferred');
    expect(deferred.data.error).toContain('454');
  });
});

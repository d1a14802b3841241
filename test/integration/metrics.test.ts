import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/lib/logger.js';
import { createSystem, type System } from '../../src/main/system.js';
import { TEST_REDIS_URL } from '../support/env.js';
import {
  createTestDatabase,
  deleteRedisPrefix,
  eventually,
  type Harness,
  startHarness,
  testEnv,
} from '../support/harness.js';
import { ourEvent, standardHeaders } from '../support/webhooks.js';

/** The value of one sample (`name{labels} value`) in Prometheus text, 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const open = line.indexOf('{');
    const labelText =
      open >= 0 && open < line.indexOf(' ') ? line.slice(open + 1, line.lastIndexOf('}')) : '';
    if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) {
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return 0;
}

describe('GET /metrics', () => {
  let h: Harness;
  let tenant: { id: string; key: string };
  let templateId: string;
  const scrape = async () => {
    const r = await h.request('GET', '/metrics');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/plain/);
    return r.raw;
  };

  beforeAll(async () => {
    h = await startHarness({
      env: { WEBHOOK_SECRET_SMTP: 'metrics-webhook-secret' },
      sink: {
        reply: (rcpt) => (rcpt.startsWith('bad') ? { code: 550, message: 'no such user' } : undefined),
      },
    });
    tenant = await h.createTenant();
    templateId = await h.createTemplate(tenant.key);
  });
  afterAll(() => h?.close());

  it('moves when mail is sent: outcomes, latency, dead letters, requests by route pattern', async () => {
    const before = await scrape();
    const send = (email: string) =>
      h.request('POST', '/send', {
        key: tenant.key,
        body: { recipient: { email }, template_id: templateId, variables: { name: 'x' } },
      });
    const ok = await send('a@example.com');
    await send('b@example.com');
    await send('bad@example.com');
    await eventually(async () => {
      const rows = await h.sql("SELECT count(*)::int AS n FROM emails WHERE status IN ('sent', 'failed')");
      return rows[0].n === 3;
    });
    await h.request('GET', `/emails/${ok.body.email_id}`, { key: tenant.key });

    const after = await eventually(async () => {
      const text = await scrape();
      return sample(text, 'mailsystem_dead_letters_total', { reason: 'permanent' }) >= 1 ? text : '';
    });
    const delta = (name: string, labels: Record<string, string> = {}) =>
      sample(after, name, labels) - sample(before, name, labels);
    expect(delta('mailsystem_delivery_outcomes_total', { provider: 'smtp', status: 'sent' })).toBe(2);
    expect(delta('mailsystem_delivery_outcomes_total', { provider: 'smtp', status: 'failed' })).toBe(1);
    expect(delta('mailsystem_dead_letters_total', { reason: 'permanent' })).toBe(1);
    expect(delta('mailsystem_delivery_latency_seconds_count', { provider: 'smtp' })).toBe(2);
    expect(delta('mailsystem_http_requests_total', { method: 'POST', route: '/send', status: '202' })).toBe(
      3,
    );
    // The route pattern, never the raw URL with an id in it.
    expect(sample(after, 'mailsystem_http_requests_total', { route: '/emails/:id', status: '200' })).toBe(1);
    expect(after).not.toContain(ok.body.email_id);
    // Gauges read when scraped: queues and emails waiting.
    expect(after).toMatch(/mailsystem_queue_jobs\{queue="mail.send",state="waiting"\} \d+/);
    expect(after).toMatch(/mailsystem_queue_oldest_waiting_seconds\{queue="mail.send"\} [\d.]+/);
    expect(after).toMatch(/mailsystem_emails\{status="queued"\} \d+/);
    expect(after).toContain('mailsystem_delivery_retries_total');
  });

  it('counts provider webhook events by type, and replays apart', async () => {
    const before = await scrape();
    const sent = await h.request('POST', '/send', {
      key: tenant.key,
      body: { recipient: { email: 'hooked@example.com' }, template_id: templateId, variables: { name: 'x' } },
    });
    const event = ourEvent({ email_id: sent.body.email_id, type: 'delivered' });
    const raw = JSON.stringify(event);
    for (let i = 0; i < 2; i++) {
      const r = await h.request('POST', '/webhooks/smtp', {
        rawBody: raw,
        headers: standardHeaders('metrics-webhook-secret', raw),
      });
      expect(r.status).toBeLessThan(300);
    }
    const after = await scrape();
    const delta = (duplicate: string) =>
      sample(after, 'mailsystem_webhook_events_total', { provider: 'smtp', type: 'delivered', duplicate }) -
      sample(before, 'mailsystem_webhook_events_total', { provider: 'smtp', type: 'delivered', duplicate });
    expect([delta('false'), delta('true')]).toEqual([1, 1]);
  });

  it('counts 429s and unmatched routes without their raw paths', async () => {
    const before = await scrape();
    await h.request('GET', '/definitely/not/here');
    const after = await scrape();
    expect(
      sample(after, 'mailsystem_http_requests_total', { route: '(unmatched)', status: '404' }) -
        sample(before, 'mailsystem_http_requests_total', { route: '(unmatched)', status: '404' }),
    ).toBe(1);
    expect(after).not.toContain('/definitely/not/here');
  });
});

describe('metrics token, and what the logs say', () => {
  let system: System;
  let drop: () => Promise<void>;
  let prefix: string;
  const lines: string[] = [];
  const TOKEN = 'metrics-token-0123456789';

  beforeAll(async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    prefix = `mstest-metrics-${Date.now()}`;
    const config = loadConfig(
      testEnv({
        DATABASE_URL: db.url,
        REDIS_URL: TEST_REDIS_URL,
        QUEUE_PREFIX: prefix,
        METRICS_TOKEN: TOKEN,
        LOG_LEVEL: 'info',
      }),
    );
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    });
    system = await createSystem({
      config,
      logger: createLogger('info', { destination: sink }),
      roles: { api: true, worker: false },
    });
  });
  afterAll(async () => {
    await system?.stop();
    await deleteRedisPrefix(TEST_REDIS_URL, prefix);
    await drop?.();
  });

  const inject = (url: string, auth?: string, method: 'GET' | 'POST' = 'GET', body?: unknown) =>
    system.app?.inject({
      method,
      url,
      headers: auth ? { authorization: auth } : {},
      ...(body === undefined ? {} : { payload: body as object }),
    });

  it('asks for METRICS_TOKEN when it is set', async () => {
    expect((await inject('/metrics'))?.statusCode).toBe(401);
    expect((await inject('/metrics', 'Bearer wrong-token-0123456789'))?.statusCode).toBe(401);
    const ok = await inject('/metrics', `Bearer ${TOKEN}`);
    expect(ok?.statusCode).toBe(200);
    expect(ok?.body).toContain('mailsystem_http_requests_total');
  });

  it('logs JSON lines with the request id and tenant id, never a key or token', async () => {
    const admin = `Bearer ${system.config.adminApiToken}`;
    const t = await inject('/admin/tenants', admin, 'POST', { name: 'Logs' });
    const tenantId = t?.json().id as string;
    const k = await inject(`/admin/tenants/${tenantId}/api-keys`, admin, 'POST', { name: 'k' });
    const key = k?.json().key as string;
    const res = await system.app?.inject({
      method: 'GET',
      url: '/emails/00000000-0000-4000-8000-000000000000',
      headers: { authorization: `Bearer ${key}`, 'x-request-id': 'req-logs-1' },
    });
    expect(res?.statusCode).toBe(404);
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const mine = entries.filter((e) => e.reqId === 'req-logs-1');
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.some((e) => e.tenantId === tenantId)).toBe(true);
    const all = lines.join('\n');
    expect(all).not.toContain(key);
    expect(all).not.toContain(key.slice(3, 20));
    expect(all).not.toContain(system.config.adminApiToken as string);
    expect(all).not.toContain(TOKEN);
  });
});

import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/lib/logger.js';
import { chooseBackends } from '../../src/main/backends.js';
import { TEST_PG_URL } from '../support/env.js';
import { eventually, type Harness, startHarness } from '../support/harness.js';

/**
 * The zero-setup mode `npm start` falls back to without PostgreSQL and Redis: an embedded
 * PostgreSQL (PGlite) and an in-process queue. The same services run on it; these tests walk the
 * paths where the two backends differ most (transactions, locks, set-based SQL, delays).
 */
describe('the embedded mode (PGlite and an in-process queue)', () => {
  let h: Harness;
  let t: { id: string; key: string };
  let templateId: string;
  const seen = new Map<string, number>();

  beforeAll(async () => {
    h = await startHarness({
      embedded: true,
      sink: {
        reply: (rcpt) => {
          const n = (seen.get(rcpt) ?? 0) + 1;
          seen.set(rcpt, n);
          if (rcpt === 'flaky@example.com' && n === 1) return { code: 451, message: '4.7.1 Try again' };
          if (rcpt === 'nobody@example.com') return { code: 550, message: '5.1.1 No such user' };
          return undefined;
        },
      },
    });
    t = await h.createTenant();
    templateId = await h.createTemplate(t.key);
  });
  afterAll(() => h?.close());

  const send = (email: string, extra: Record<string, unknown> = {}) =>
    h.request('POST', '/send', {
      key: t.key,
      body: { recipient: { email }, template_id: templateId, variables: { name: 'E' }, ...extra },
    });
  const statusOf = (id: string, status: string) =>
    eventually(async () => {
      const r = await h.request('GET', `/emails/${id}`, { key: t.key });
      return r.body.status === status ? r.body : null;
    });

  it('reports itself ready', async () => {
    const r = await h.request('GET', '/health/ready');
    expect(r.status).toBe(200);
    expect(r.body.checks).toEqual({ postgres: 'up', dispatcher: 'up' });
  });

  it('delivers a send, retries a 451 and dead-letters a 550', async () => {
    const ok = await send('someone@example.com');
    const flaky = await send('flaky@example.com');
    const dead = await send('nobody@example.com');
    expect((await statusOf(ok.body.email_id, 'sent')).attempts).toBe(1);
    expect((await statusOf(flaky.body.email_id, 'sent')).attempts).toBe(2);
    expect((await statusOf(dead.body.email_id, 'failed')).attempts).toBe(1);
    const dl = await h.request('GET', '/dead-letters', { key: t.key });
    expect(dl.body.items.map((d: { email_id: string }) => d.email_id)).toEqual([dead.body.email_id]);
  });

  it('answers 40 racing requests with one email', async () => {
    const rs = await Promise.all(
      Array.from({ length: 40 }, () => send('race@example.com', { idempotency_key: 'embedded-race' })),
    );
    expect(new Set(rs.map((r) => r.body.email_id)).size).toBe(1);
    expect(
      (await h.sql(`SELECT count(*)::int AS n FROM emails WHERE idempotency_key = 'embedded-race'`))[0].n,
    ).toBe(1);
  });

  it('fans out and completes a bulk job', async () => {
    const recipients = Array.from({ length: 300 }, (_, i) => ({ email: `b${i}@example.com` }));
    const r = await h.request('POST', '/send/bulk', {
      key: t.key,
      body: { template_id: templateId, recipients, shared_variables: { name: 'B' } },
    });
    expect(r.status).toBe(202);
    const done = await eventually(async () => {
      const j = await h.request('GET', `/bulk/${r.body.bulk_job_id}`, { key: t.key });
      return j.body.status === 'completed' ? j.body : null;
    }, 30_000);
    expect(done).toMatchObject({ sent: 300, queued: 0, failed: 0 });
  });

  it('holds a scheduled email until send_at', async () => {
    const at = new Date(Date.now() + 800);
    const r = await send('later@example.com', { send_at: at.toISOString() });
    expect(r.body.status).toBe('scheduled');
    const msg = await eventually(async () =>
      h.sink.server.messages().find((m) => m.envelope.to[0] === 'later@example.com'),
    );
    expect(msg.receivedAt.getTime()).toBeGreaterThanOrEqual(at.getTime());
  });
});

describe('npm start chooses its backends', () => {
  const logger = createLogger('silent');

  it('falls back to the embedded mode when neither URL is set and no local server answers', async () => {
    const base = loadConfig({ DATA_DIR: `${tmpdir()}/mailsystem-embedded-${process.pid}` });
    const config = {
      ...base,
      databaseUrl: 'postgres://postgres@127.0.0.1:1/mailsystem',
      redisUrl: 'redis://127.0.0.1:1',
    };
    const b = await chooseBackends(config, logger);
    try {
      expect(b.mode).toBe('embedded');
      if (b.mode === 'embedded') await b.db.ping();
    } finally {
      if (b.mode === 'embedded') await b.db.close();
    }
  });

  it('never falls back when DATABASE_URL or REDIS_URL is set', async () => {
    const config = loadConfig({
      REDIS_URL: 'redis://127.0.0.1:6379/11',
      DATABASE_URL: `${TEST_PG_URL}/postgres`,
    });
    expect((await chooseBackends(config, logger)).mode).toBe('servers');
    const forced = loadConfig({
      EMBEDDED: 'on',
      DATA_DIR: `${tmpdir()}/mailsystem-embedded-on-${process.pid}`,
    });
    const b = await chooseBackends(forced, logger);
    expect(b.mode).toBe('embedded');
    if (b.mode === 'embedded') await b.db.close();
  });
});

import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TEST_REDIS_URL } from '../support/env.js';
import { createTestDatabase, deleteRedisPrefix, testEnv } from '../support/harness.js';
import { type SmtpSink, startSmtpSink } from '../support/smtp.js';
import { type SystemProcess, startSystemProcess } from '../support/system-process.js';

/** `npm start` as a process: what a production start creates and prints, and what a demo start does. */
describe('npm start', () => {
  let sink: SmtpSink;
  let running: SystemProcess | null = null;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    sink = await startSmtpSink();
  });
  afterEach(async () => {
    await running?.kill('SIGKILL');
    running = null;
  });
  afterAll(async () => {
    for (const c of cleanups) await c();
    await sink?.stop();
  });

  async function freshDatabase() {
    const database = await createTestDatabase();
    const prefix = `mstest-start-${Math.random().toString(36).slice(2, 8)}`;
    cleanups.push(async () => {
      await deleteRedisPrefix(TEST_REDIS_URL, prefix);
      await database.drop();
    });
    const env = testEnv({
      DATABASE_URL: database.url,
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: prefix,
      SMTP_PORT: String(sink.port),
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
    });
    const rows = async (sql: string) => {
      const c = new pg.Client({ connectionString: database.url });
      await c.connect();
      try {
        return (await c.query(sql)).rows;
      } finally {
        await c.end();
      }
    };
    return { env, rows };
  }

  it('in production creates no tenant, prints no key and leaves the admin API off without a token', async () => {
    const { env, rows } = await freshDatabase();
    running = await startSystemProcess({ ...env, NODE_ENV: 'production', ADMIN_API_TOKEN: '' }, 60_000, {
      demo: false,
    });
    // Let anything that would seed after listening happen.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const out = running.output();
    expect(out).not.toMatch(/ms_[A-Za-z0-9_-]{8,}/);
    expect(out).not.toContain('Demo API key');
    expect(out).not.toContain('Admin token:');
    expect(out).toContain('ADMIN_API_TOKEN is not set');
    expect(await rows('SELECT id FROM tenants')).toEqual([]);
    expect(await rows('SELECT id FROM api_keys')).toEqual([]);
    const admin = await fetch(`${running.baseUrl}/admin/tenants`, { headers: { authorization: 'Bearer x' } });
    expect(admin.status).toBe(403);
    expect(((await admin.json()) as { error: { code: string } }).error.code).toBe('admin_disabled');
  }, 90_000);

  it('on a development database seeds the demo once, and a restart prints the same key, adding none', async () => {
    const { env, rows } = await freshDatabase();
    running = await startSystemProcess({ ...env, NODE_ENV: 'development', ADMIN_API_TOKEN: '' }, 60_000);
    const first = running.apiKey;
    expect(first).toMatch(/^ms_/);
    expect(running.output()).toContain('Admin token:');
    await running.kill('SIGKILL');
    running = await startSystemProcess({ ...env, NODE_ENV: 'development', ADMIN_API_TOKEN: '' }, 60_000);
    // The same key: a client using it keeps working across restarts, and no key is added.
    expect(running.apiKey).toBe(first);
    expect(await rows(`SELECT id FROM api_keys WHERE tenant_id = 'demo'`)).toHaveLength(1);
    expect(await rows('SELECT id FROM tenants')).toEqual([{ id: 'demo' }]);
    const me = await fetch(`${running.baseUrl}/me`, { headers: { authorization: `Bearer ${first}` } });
    expect(me.status).toBe(200);
  }, 150_000);

  it('with DEMO=1 seeds the demo even in production, and with DEMO=0 never', async () => {
    const { env, rows } = await freshDatabase();
    running = await startSystemProcess({ ...env, NODE_ENV: 'production', DEMO: '1' }, 60_000);
    expect(running.apiKey).toMatch(/^ms_/);
    await running.kill('SIGKILL');
    const other = await freshDatabase();
    running = await startSystemProcess({ ...other.env, NODE_ENV: 'development', DEMO: '0' }, 60_000, {
      demo: false,
    });
    expect(running.output()).not.toMatch(/ms_[A-Za-z0-9_-]{8,}/);
    expect(await other.rows('SELECT id FROM tenants')).toEqual([]);
    expect(await rows(`SELECT id FROM tenants`)).toEqual([{ id: 'demo' }]);
  }, 150_000);
});

import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import pg from 'pg';
import { inject } from 'vitest';
import { type Config, loadConfig } from '../../src/config/config.js';
import { migrate } from '../../src/db/migrator.js';
import { createPgliteDatabase } from '../../src/db/pglite.database.js';
import type { CaptureSmtpServerOptions } from '../../src/dev/capture-server.js';
import type { Logger } from '../../src/lib/logger.js';
import { createSystem, type System } from '../../src/main/system.js';
import type { EmailProvider } from '../../src/providers/email-provider.js';
import { createInProcessDispatcher } from '../../src/queue/in-process.dispatcher.js';
import { createLocalRateLimiter } from '../../src/ratelimit/rate-limiter.js';
import { ADMIN_TOKEN, dbUrl, TEST_REDIS_URL } from './env.js';
import { type SmtpSink, startSmtpSink } from './smtp.js';

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Record<string, string | number | string[] | undefined>;
  raw: string;
}

export interface RequestOptions {
  body?: unknown;
  key?: string | null;
  headers?: Record<string, string>;
  rawBody?: string;
}

/** A fresh database cloned from the migrated template; dropped by the returned function. */
export async function createTestDatabase(): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const template = inject('templateDatabase');
  const name = `${template}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: dbUrl('postgres') });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
  } finally {
    await admin.end();
  }
  return {
    name,
    url: dbUrl(name),
    async drop() {
      const c = new pg.Client({ connectionString: dbUrl('postgres') });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** Deletes every Redis key under `prefix` (never anything else). */
export async function deleteRedisPrefix(redisUrl: string, prefix: string) {
  const r = new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true, retryStrategy: () => null });
  r.on('error', () => {});
  try {
    await r.connect();
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await r.del(...keys);
    } while (cursor !== '0');
  } catch {
    // Redis may be the one a test stopped; nothing to clean then.
  } finally {
    r.disconnect();
  }
}

/** Test environment defaults: fast retries, fast recovery, quiet logs. */
export function testEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ADMIN_API_TOKEN: ADMIN_TOKEN,
    DEFAULT_PROVIDER: 'smtp',
    SMTP_HOST: '127.0.0.1',
    SMTP_TIMEOUT_MS: '5000',
    MAX_RETRIES: '5',
    RETRY_BASE_SECONDS: '0.05',
    RETRY_MAX_SECONDS: '0.5',
    LEASE_SECONDS: '10',
    JOB_LOCK_SECONDS: '4',
    RECOVERY_INTERVAL_SECONDS: '0.5',
    RECOVERY_GRACE_SECONDS: '5',
    WORKER_CONCURRENCY: '20',
    ...overrides,
  };
}

export interface HarnessOptions {
  env?: Record<string, string>;
  roles?: { api: boolean; worker: boolean };
  sink?: Omit<CaptureSmtpServerOptions, 'port'> | false;
  providers?: EmailProvider[];
  redisUrl?: string;
  /** The zero-setup mode: an embedded PostgreSQL (PGlite, in memory) and an in-process queue. */
  embedded?: boolean;
  /** Where the system logs (e.g. captured by a test); the config's level to stdout by default. */
  logger?: Logger;
}

export interface Harness {
  system: System;
  app: FastifyInstance;
  config: Config;
  sink: SmtpSink;
  db: { name: string; url: string };
  prefix: string;
  request<T = any>(method: string, url: string, opts?: RequestOptions): Promise<ApiResponse<T>>;
  admin<T = any>(method: string, url: string, body?: unknown): Promise<ApiResponse<T>>;
  createTenant(name?: string): Promise<{ id: string; key: string }>;
  createTemplate(
    key: string,
    t?: Partial<{
      name: string;
      subject_template: string;
      html_template: string;
      text_template: string | null;
    }>,
  ): Promise<string>;
  sql<R = any>(text: string, params?: unknown[]): Promise<R[]>;
  /** Starts a second system (e.g. workers only) on the same database, Redis prefix and SMTP sink. */
  startPeer(opts?: {
    roles?: { api: boolean; worker: boolean };
    env?: Record<string, string>;
  }): Promise<System>;
  close(): Promise<void>;
}

/**
 * A whole Mailsystem (API and workers in this process by default) on its own database clone, its
 * own Redis key prefix and a real SMTP server on a random port.
 */
export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const database = opts.embedded
    ? { name: 'embedded', url: 'postgres://embedded.invalid/embedded', drop: async () => {} }
    : await createTestDatabase();
  const embedded = opts.embedded ? await embeddedBackends() : null;
  const sink = await startSmtpSink(opts.sink === false ? {} : (opts.sink ?? {}));
  const prefix = `mstest-${randomBytes(4).toString('hex')}`;
  const redisUrl = opts.redisUrl ?? TEST_REDIS_URL;
  const envFor = (extra: Record<string, string> = {}) =>
    testEnv({
      DATABASE_URL: database.url,
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: prefix,
      SMTP_PORT: String(sink.port),
      ...opts.env,
      ...extra,
    });
  const config = loadConfig(envFor());
  const peers: System[] = [];
  const system = await createSystem({
    config,
    roles: opts.roles ?? { api: true, worker: true },
    ...(opts.providers ? { providers: opts.providers } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
    ...(embedded ?? {}),
  });
  if (!system.app) throw new Error('the harness needs the api role');
  const app = system.app;
  const pool = embedded ? null : new pg.Pool({ connectionString: database.url, max: 3 });
  pool?.on('error', () => {});

  const request = async <T>(method: string, url: string, o: RequestOptions = {}): Promise<ApiResponse<T>> => {
    const headers: Record<string, string> = { ...o.headers };
    if (o.key) headers.authorization = `Bearer ${o.key}`;
    let payload: string | undefined;
    if (o.rawBody !== undefined) payload = o.rawBody;
    else if (o.body !== undefined) {
      payload = JSON.stringify(o.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await app.inject({
      method: method as 'GET',
      url,
      headers,
      ...(payload !== undefined ? { payload } : {}),
    });
    let body: unknown = res.body;
    try {
      body = res.body ? JSON.parse(res.body) : null;
    } catch {
      // not JSON
    }
    return { status: res.statusCode, body: body as T, headers: res.headers, raw: res.body };
  };

  const harness: Harness = {
    system,
    app,
    config,
    sink,
    db: database,
    prefix,
    request,
    admin: (method, url, body) =>
      request(method, url, {
        ...(body === undefined ? {} : { body }),
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      }),
    async createTenant(name = 'Tenant') {
      const t = await harness.admin('POST', '/admin/tenants', { name });
      if (t.status !== 201) throw new Error(`tenant: ${t.status} ${t.raw}`);
      const k = await harness.admin('POST', `/admin/tenants/${t.body.id}/api-keys`, { name: 'test' });
      if (k.status !== 201) throw new Error(`key: ${k.status} ${k.raw}`);
      return { id: t.body.id as string, key: k.body.key as string };
    },
    async createTemplate(key, t = {}) {
      const res = await request<{ id: string }>('POST', '/templates', {
        key,
        body: {
          name: 'welcome',
          subject_template: 'Welcome {{ name }}',
          html_template: '<h1>Hello {{ name }}</h1>',
          ...t,
        },
      });
      if (res.status !== 201) throw new Error(`template: ${res.status} ${res.raw}`);
      return res.body.id;
    },
    async sql(text, params) {
      return pool ? (await pool.query(text, params)).rows : (await system.db.query(text, params ?? [])).rows;
    },
    async startPeer(p = {}) {
      if (embedded) throw new Error('the embedded mode runs in one process: it has no peers');
      const peer = await createSystem({
        config: loadConfig(envFor(p.env)),
        roles: p.roles ?? { api: false, worker: true },
        ...(opts.providers ? { providers: opts.providers } : {}),
      });
      peers.push(peer);
      return peer;
    },
    async close() {
      await Promise.allSettled(peers.map((p) => p.stop()));
      await system.stop();
      await pool?.end();
      await embedded?.db.close();
      await sink.stop();
      await deleteRedisPrefix(redisUrl, prefix);
      await database.drop();
    },
  };
  return harness;
}

async function embeddedBackends() {
  const db = await createPgliteDatabase('memory://');
  await migrate(db);
  return { db, dispatcher: createInProcessDispatcher(), rateLimiter: createLocalRateLimiter() };
}

/** Polls `check` until it returns a truthy value or the time is up. */
export async function eventually<T>(
  check: () => Promise<T>,
  timeoutMs = 15_000,
  everyMs = 50,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `condition not met in ${timeoutMs} ms (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`,
      );
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

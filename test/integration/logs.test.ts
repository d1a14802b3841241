import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/lib/logger.js';
import { createSystem, type System } from '../../src/main/system.js';
import { TEST_REDIS_URL } from '../support/env.js';
import { createTestDatabase, deleteRedisPrefix, testEnv } from '../support/harness.js';

/** An API whose logs go to an array, as JSON lines, with LOG_FORMAT as given. */
async function apiLogging(format: 'json' | 'pretty', level: 'info' | 'debug', url: string, prefix: string) {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  const config = loadConfig(
    testEnv({ DATABASE_URL: url, REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix, LOG_FORMAT: format }),
  );
  const system = await createSystem({
    config,
    logger: createLogger(level, { destination: sink }),
    roles: { api: true, worker: false },
  });
  return { system, lines };
}

describe('request logs', () => {
  const prefix = `mstest-logs-${randomBytes(3).toString('hex')}`;
  let drop: () => Promise<void>;
  const systems: System[] = [];
  let url: string;

  beforeAll(async () => {
    const db = await createTestDatabase();
    url = db.url;
    drop = db.drop;
  });
  afterAll(async () => {
    await Promise.all(systems.map((s) => s.stop()));
    await deleteRedisPrefix(TEST_REDIS_URL, prefix);
    await drop?.();
  });

  it("keeps Fastify's request lines at info in JSON logs", async () => {
    const { system, lines } = await apiLogging('json', 'info', url, prefix);
    systems.push(system);
    await system.app?.inject({ method: 'GET', url: '/health/live' });
    expect(lines.map((l) => l.msg)).toEqual(
      expect.arrayContaining(['incoming request', 'request completed']),
    );
  });

  it('never writes an unsubscribe token to the logs', async () => {
    const token = `tok${randomBytes(48).toString('base64url')}`;
    for (const [format, level] of [
      ['json', 'info'],
      ['pretty', 'debug'],
    ] as const) {
      const { system, lines } = await apiLogging(format, level, url, prefix);
      systems.push(system);
      await system.app?.inject({ method: 'GET', url: `/unsubscribe/${token}` });
      await system.app?.inject({
        method: 'POST',
        url: `/unsubscribe/${token}?x=1`,
        payload: 'List-Unsubscribe=One-Click',
      });
      const logged = JSON.stringify(lines);
      expect(logged).toContain('/unsubscribe/[redacted]');
      expect(logged).not.toContain(token);
    }
  });

  it('writes readable logs with one request line at debug, none at info', async () => {
    const quiet = await apiLogging('pretty', 'info', url, prefix);
    systems.push(quiet.system);
    await quiet.system.app?.inject({ method: 'GET', url: '/health/live' });
    expect(quiet.lines.filter((l) => String(l.msg).includes('/health/live'))).toEqual([]);
    expect(quiet.lines.map((l) => l.msg)).not.toContain('incoming request');

    const verbose = await apiLogging('pretty', 'debug', url, prefix);
    systems.push(verbose.system);
    await verbose.system.app?.inject({ method: 'GET', url: '/health/live' });
    const requests = verbose.lines.filter((l) => String(l.msg).startsWith('GET /health/live'));
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({
      level: 20,
      msg: expect.stringMatching(/^GET \/health\/live 200 \d+ ms$/),
    });
  });
});

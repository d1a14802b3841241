import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { createSystem, type System } from '../../src/main/system.js';
import { TEST_REDIS_URL } from '../support/env.js';
import { testEnv } from '../support/harness.js';
import { freePort } from '../support/redis-server.js';

/** PostgreSQL unreachable: the API answers 503 (come back later), never 500. */
describe('the API while PostgreSQL is unreachable', () => {
  let system: System;

  beforeAll(async () => {
    const port = await freePort(); // nothing listens there
    system = await createSystem({
      config: loadConfig(
        testEnv({
          DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/nowhere`,
          REDIS_URL: TEST_REDIS_URL,
          QUEUE_PREFIX: 'mstest-dbdown',
        }),
      ),
      roles: { api: true, worker: false },
    });
  });
  afterAll(() => system?.stop());

  it('answers 503 with Retry-After on tenant routes, and readiness names PostgreSQL', async () => {
    const app = system.app!;
    const r = await app.inject({
      method: 'GET',
      url: '/emails',
      // Well formed (ms_ and 43 base64url characters), so it is looked up rather than refused at once.
      headers: { authorization: `Bearer ms_${'0'.repeat(43)}` },
    });
    expect(r.statusCode).toBe(503);
    expect(r.json().error.code).toBe('service_unavailable');
    expect(r.headers['retry-after']).toBe('5');
    const ready = await app.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json().error.details.checks.postgres).toBe('down');
    expect((await app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
  });
});

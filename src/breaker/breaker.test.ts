import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_REDIS_URL } from '../../test/support/env.js';
import { deleteRedisPrefix } from '../../test/support/harness.js';
import { TestRedisServer } from '../../test/support/redis-server.js';
import { type BreakerOptions, createMemoryBreaker, type ProviderBreaker } from './provider-breaker.js';
import { createRedisBreaker } from './redis.breaker.js';

const opts: BreakerOptions = { threshold: 3, pauseMs: 100, maxPauseMs: 300, probeMs: 1000 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The same behaviour from both adapters. */
function behaves(name: string, make: () => ProviderBreaker) {
  describe(name, () => {
    it('opens after `threshold` consecutive failures; a success in between resets the count', async () => {
      const b = make();
      await b.record('smtp', 'failure');
      await b.record('smtp', 'failure');
      await b.record('smtp', 'success');
      await b.record('smtp', 'failure');
      await b.record('smtp', 'failure');
      expect(await b.allows('smtp')).toBe(true);
      await b.record('smtp', 'failure');
      expect(await b.allows('smtp')).toBe(false);
      const s = await b.state('smtp');
      expect(s).toMatchObject({ state: 'open', opens: 1, pauseMs: 100 });
      expect(s.retryAt).toBeGreaterThan(s.openedAt ?? 0);
      expect(await b.allows('other')).toBe(true);
      await b.close();
    });

    it('after the pause lets exactly one probe through; a failed probe doubles the pause up to the cap', async () => {
      const b = make();
      for (let i = 0; i < 3; i++) await b.record('smtp', 'failure');
      await sleep(130);
      const answers = await Promise.all(Array.from({ length: 5 }, () => b.allows('smtp')));
      expect(answers.filter(Boolean)).toHaveLength(1);
      expect((await b.state('smtp')).state).toBe('half_open');
      await b.record('smtp', 'failure');
      expect(await b.state('smtp')).toMatchObject({ state: 'open', pauseMs: 200 });
      await sleep(230);
      expect(await b.allows('smtp')).toBe(true);
      await b.record('smtp', 'failure');
      expect(await b.state('smtp')).toMatchObject({ state: 'open', pauseMs: 300 });
      await sleep(330);
      expect(await b.allows('smtp')).toBe(true);
      await b.record('smtp', 'failure');
      expect((await b.state('smtp')).pauseMs).toBe(300);
      await sleep(330);
      expect(await b.allows('smtp')).toBe(true);
      await b.record('smtp', 'success');
      const closed = await b.state('smtp');
      expect(closed).toMatchObject({ state: 'closed', failures: 0, openedAt: null, retryAt: null, opens: 1 });
      expect(closed.openMsTotal).toBeGreaterThanOrEqual(900);
      expect(await b.allows('smtp')).toBe(true);
      await b.close();
    });
  });
}

behaves('memory breaker', () => createMemoryBreaker(opts));

const prefixes: string[] = [];
behaves('Redis breaker', () => {
  const prefix = `mstest-breaker-${randomBytes(4).toString('hex')}`;
  prefixes.push(prefix);
  return createRedisBreaker({ ...opts, redisUrl: TEST_REDIS_URL, prefix, cacheMs: 0 });
});
afterAll(async () => {
  for (const p of prefixes) await deleteRedisPrefix(TEST_REDIS_URL, p);
});

describe('Redis breaker across processes and outages', () => {
  it('two instances (two worker processes) see one breaker', async () => {
    const prefix = `mstest-breaker-${randomBytes(4).toString('hex')}`;
    prefixes.push(prefix);
    const a = createRedisBreaker({ ...opts, redisUrl: TEST_REDIS_URL, prefix, cacheMs: 0 });
    const b = createRedisBreaker({ ...opts, redisUrl: TEST_REDIS_URL, prefix, cacheMs: 0 });
    await a.record('smtp', 'failure');
    await b.record('smtp', 'failure');
    await a.record('smtp', 'failure');
    expect(await b.allows('smtp')).toBe(false);
    await sleep(130);
    expect([await a.allows('smtp'), await b.allows('smtp')]).toEqual([true, false]);
    await b.record('smtp', 'success');
    expect(await a.allows('smtp')).toBe(true);
    await a.close();
    await b.close();
  });

  it('keeps deciding in memory while Redis is down, and starts closed after a flush', async () => {
    const server = await TestRedisServer.start();
    const b = createRedisBreaker({ ...opts, redisUrl: server.url, prefix: 'x', cacheMs: 0, timeoutMs: 200 });
    for (let i = 0; i < 3; i++) await b.record('smtp', 'failure');
    expect(await b.allows('smtp')).toBe(false);
    await server.command('FLUSHALL');
    expect(await b.allows('smtp')).toBe(true);
    await server.stop();
    for (let i = 0; i < 3; i++) await b.record('smtp', 'failure');
    expect(await b.allows('smtp')).toBe(false);
    expect(b.shared).toBe(false);
    await b.close();
  });
});

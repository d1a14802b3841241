import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_REDIS_URL } from '../../test/support/env.js';
import { createRedisRateLimiter } from './rate-limiter.js';

describe('Redis rate limiter', () => {
  const prefix = `ms-rl-test-${randomUUID()}`;
  const limiter = createRedisRateLimiter({ redisUrl: TEST_REDIS_URL, prefix, timeoutMs: 2000 });
  afterAll(async () => {
    await limiter.close();
    const redis = new Redis(TEST_REDIS_URL);
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  // Decisions fall back to this process's memory until the connection is up.
  beforeAll(async () => {
    for (let i = 0; i < 100; i++) {
      await limiter.take('warm-up', 1000, 1000);
      if (limiter.shared) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('Redis did not answer');
  });

  it('decides concurrent calls of one cell in arrival order, exactly as one at a time would', async () => {
    // One token every 100 s: nothing refills while the test runs.
    const decisions = await Promise.all(Array.from({ length: 20 }, () => limiter.take('tenant:a', 0.01, 5)));
    expect(decisions.map((d) => d.allowed)).toEqual([...Array(5).fill(true), ...Array(15).fill(false)]);
    expect(decisions.slice(0, 5).map((d) => d.remaining)).toEqual([4, 3, 2, 1, 0]);
    for (const d of decisions.slice(5)) {
      expect(d.remaining).toBe(0);
      expect(d.waitMs).toBeGreaterThan(90_000);
      expect(d.waitMs).toBeLessThanOrEqual(100_000);
    }
    // Refusals spent nothing, and the cell is shared: a later call is refused too.
    expect((await limiter.take('tenant:a', 0.01, 5)).allowed).toBe(false);
    // Another cell in the same batch is its own.
    const [other, again] = await Promise.all([
      limiter.take('tenant:b', 0.01, 1),
      limiter.take('tenant:a', 0.01, 5),
    ]);
    expect(other).toMatchObject({ allowed: true, remaining: 0 });
    expect(again?.allowed).toBe(false);
    expect(limiter.shared).toBe(true);
  });

  it('books concurrent reservations one slot apart', async () => {
    const decisions = await Promise.all(
      Array.from({ length: 4 }, () => limiter.reserve('provider:p', 10, 1)),
    );
    expect(limiter.shared).toBe(true);
    const waits = decisions.map((d) => d.waitMs);
    expect(waits[0]).toBe(0);
    // 100 ms apart, give or take the time between the calls' arrival at Redis (one script call).
    for (let i = 1; i < 4; i++) {
      expect(waits[i] as number).toBeGreaterThan(100 * i - 5);
      expect(waits[i] as number).toBeLessThanOrEqual(100 * i);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { createMemoryBreaker } from '../breaker/provider-breaker.js';
import { breakerHealth } from './failover.js';

describe('breakerHealth (failover asks the shared circuit breaker)', () => {
  const options = { threshold: 2, pauseMs: 1000, maxPauseMs: 4000, probeMs: 5000 };

  it('counts a provider available while closed, not while open, and again once a probe may go', async () => {
    let t = 1_000_000;
    const breaker = createMemoryBreaker(options, () => t);
    const health = breakerHealth(breaker, () => t);
    expect(await health.isAvailable('p')).toBe(true);
    await breaker.record('p', 'failure');
    await breaker.record('p', 'failure');
    expect(await health.isAvailable('p')).toBe(false);
    expect(await health.isAvailable('other')).toBe(true);
    t += 1000;
    expect(await health.isAvailable('p')).toBe(true);
    // Asking took no probe: the delivery that sends still gets it.
    expect(await breaker.allows('p')).toBe(true);
    expect(await health.isAvailable('p')).toBe(false);
    await breaker.record('p', 'success');
    expect(await health.isAvailable('p')).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { localProviderHealth } from './failover.js';

describe('localProviderHealth (the default circuit breaker)', () => {
  const unavailable = { kind: 'unavailable', error: '503' } as const;
  const transient = { kind: 'transient', error: '451' } as const;
  const sent = { kind: 'sent', providerMessageId: 'x' } as const;

  it('opens after consecutive unavailable outcomes, not after message trouble', () => {
    let t = 0;
    const h = localProviderHealth({ failureThreshold: 3, pauseMs: 1000, now: () => t });
    h.record('p', unavailable);
    h.record('p', transient);
    h.record('p', { kind: 'permanent', error: '550' });
    h.record('p', unavailable);
    expect(h.state('p')).toBe('closed');
    h.record('p', unavailable);
    expect(h.state('p')).toBe('open');
    expect(h.isAvailable('p')).toBe(false);
    expect(h.isAvailable('other')).toBe(true);
    t = 999;
    expect(h.isAvailable('p')).toBe(false);
  });

  it('lets one trial through after the pause; success closes it, failure opens it again', () => {
    let t = 0;
    const h = localProviderHealth({ failureThreshold: 1, pauseMs: 1000, now: () => t });
    h.record('p', unavailable);
    t = 1000;
    expect(h.state('p')).toBe('half_open');
    expect(h.isAvailable('p')).toBe(true);
    expect(h.isAvailable('p')).toBe(false);
    h.record('p', unavailable);
    expect(h.state('p')).toBe('open');
    t = 2000;
    expect(h.isAvailable('p')).toBe(true);
    h.record('p', sent);
    expect(h.state('p')).toBe('closed');
    expect(h.states()).toEqual({ p: 'closed' });
  });
});

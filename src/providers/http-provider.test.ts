import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { defaultHttpOutcome, emailIdOf, post, retryAfterMs } from './http-provider.js';

describe('HTTP provider helpers', () => {
  it('answers unavailable (never throws) when nothing listens or nothing answers in time', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const refused = await post(`http://127.0.0.1:${port}/x`, { headers: {}, body: '{}' }, 2000);
    expect(refused).toMatchObject({ kind: 'unavailable', code: 'ECONNREFUSED' });

    // A server that accepts the connection and never answers.
    const silent = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const silentPort = (silent.address() as { port: number }).port;
    const timedOut = await post(`http://127.0.0.1:${silentPort}/x`, { headers: {}, body: '{}' }, 200);
    expect(timedOut).toMatchObject({ kind: 'unavailable', code: 'ETIMEDOUT' });
    silent.close();
  });

  it('reads Retry-After in seconds or as a date', () => {
    expect(retryAfterMs(new Headers({ 'retry-after': '3' }))).toBe(3000);
    const at = new Date(Date.now() + 60_000).toUTCString();
    expect(retryAfterMs(new Headers({ 'retry-after': at }))).toBeGreaterThan(50_000);
    expect(retryAfterMs(new Headers({ 'retry-after': 'soon' }))).toBeUndefined();
    expect(retryAfterMs(new Headers())).toBeUndefined();
  });

  it('maps statuses: 408 transient; 401, 403, 429, 5xx unavailable; other 4xx permanent', () => {
    const kind = (status: number) =>
      defaultHttpOutcome({ status, headers: new Headers(), body: '' }, 'x').kind;
    expect(kind(408)).toBe('transient');
    for (const s of [401, 403, 429, 500, 502, 503]) expect(kind(s)).toBe('unavailable');
    for (const s of [400, 404, 413, 422]) expect(kind(s)).toBe('permanent');
    expect(
      defaultHttpOutcome({ status: 429, headers: new Headers({ 'retry-after': '2' }), body: '' }, 'x'),
    ).toMatchObject({ retryAfterMs: 2000 });
  });

  it('finds our email id in the Message-ID we set', () => {
    expect(emailIdOf('<0B6C5E2A-1111-4222-8333-444455556666@mailsystem.local>')).toBe(
      '0b6c5e2a-1111-4222-8333-444455556666',
    );
    expect(emailIdOf('<other@example.com>')).toBeNull();
  });
});

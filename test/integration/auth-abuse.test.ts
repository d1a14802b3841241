import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.js';

const madeUpKey = () => `ms_${randomBytes(32).toString('base64url')}`;

describe('failed authentications', () => {
  let h: Harness;
  let t: { id: string; key: string };
  let template: string;

  beforeAll(async () => {
    h = await startHarness({
      env: { TRUST_PROXY: 'true', AUTH_FAILURES_PER_SECOND: '0.5', AUTH_FAILURE_BURST: '20' },
    });
    t = await h.createTenant();
    template = await h.createTemplate(t.key);
  });
  afterAll(() => h?.close());

  const from = (address: string, key: string, method = 'GET', url = '/me', body?: unknown) =>
    h.request(method, url, { key, headers: { 'x-forwarded-for': address }, ...(body ? { body } : {}) });

  it('answers 300 made-up keys with 401 then 429 + Retry-After, while a real key still sends', async () => {
    const attacker = '203.0.113.7';
    const statuses: number[] = [];
    let retryAfter: string | undefined;
    let sends = 0;
    for (let i = 0; i < 300; i++) {
      const r = await from(attacker, madeUpKey());
      statuses.push(r.status);
      if (r.status === 429) {
        retryAfter ??= String(r.headers['retry-after']);
        expect(r.body.error.code).toBe('rate_limited');
      }
      if (i % 50 === 0) {
        // A real client (another address) sends throughout the flood.
        const s = await from('198.51.100.20', t.key, 'POST', '/send', {
          recipient: { email: `real${i}@example.com` },
          template_id: template,
          variables: { name: 'Real' },
        });
        expect(s.status).toBe(202);
        sends++;
      }
    }
    expect(sends).toBe(6);
    expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(250);
    expect(statuses.every((s) => s === 401 || s === 429)).toBe(true);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    // The address named by X-Forwarded-For (TRUST_PROXY) is what was limited: the proxy's own
    // address, with a real key, is untouched.
    expect((await h.request('GET', '/me', { key: t.key })).status).toBe(200);
    // And a real key seen before keeps working from the refused address itself.
    expect((await from(attacker, t.key)).status).toBe(200);
    expect((await from(attacker, madeUpKey())).status).toBe(429);
  }, 120_000);

  it('refuses a malformed key with 401 and counts it as a failure', async () => {
    const address = '203.0.113.99';
    for (const key of [
      'ms_short',
      `ms_${'A'.repeat(44)}`,
      `xx_${randomBytes(32).toString('base64url')}`,
      `ms_${'!'.repeat(43)}`,
    ]) {
      const r = await from(address, key);
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe('unauthorized');
    }
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await from(address, 'ms_nope')).status);
    expect(statuses).toContain(429);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockProvider } from '../../src/providers/mock/mock.provider.js';
import { eventually, type Harness, startHarness } from '../support/harness.js';

/**
 * The provider's budget is time, not attempts: with MAX_RETRIES=1 an email waiting on a provider
 * that is down is not failed for its attempts, but once MAX_RETRY_AGE_SECONDS has passed since it
 * was accepted, with a dead letter that says so.
 */
describe('MAX_RETRY_AGE_SECONDS', () => {
  const mock = new MockProvider();
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({
      providers: [mock],
      env: {
        DEFAULT_PROVIDER: 'mock',
        MAX_RETRIES: '1',
        MAX_RETRY_AGE_SECONDS: '4',
        BREAKER_THRESHOLD: '2',
        BREAKER_PAUSE_SECONDS: '0.3',
        BREAKER_MAX_PAUSE_SECONDS: '1',
      },
    });
  });
  afterAll(() => h?.close());

  it('fails mail waiting on a down provider after the age, not after MAX_RETRIES, with a dead letter saying so', async () => {
    const tenant = await h.createTenant();
    const templateId = await h.createTemplate(tenant.key);
    mock.down = true;
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await h.request('POST', '/send', {
        key: tenant.key,
        body: {
          recipient: { email: `age${i}@example.com` },
          template_id: templateId,
          variables: { name: 'X' },
        },
      });
      expect(r.status).toBe(202);
      ids.push(r.body.email_id);
    }
    const acceptedAt = Date.now();
    // Past MAX_RETRIES' worth of attempts and well before the age: still waiting.
    await eventually(async () => mock.calls.length >= 3, 10_000);
    await new Promise((r) => setTimeout(r, 1500));
    for (const id of ids) {
      const e = await h.request('GET', `/emails/${id}`, { key: tenant.key });
      expect(['queued', 'processing']).toContain(e.body.status);
    }

    for (const id of ids) {
      const failed = await eventually(async () => {
        const r = await h.request('GET', `/emails/${id}`, { key: tenant.key });
        return r.body.status === 'failed' ? r.body : null;
      }, 30_000);
      expect(failed.last_error).toContain('MAX_RETRY_AGE_SECONDS');
    }
    expect(Date.now() - acceptedAt).toBeGreaterThanOrEqual(3500);
    const dl = await h.request('GET', '/dead-letters', { key: tenant.key });
    const mine = dl.body.items.filter((d: { email_id: string }) => ids.includes(d.email_id));
    expect(mine).toHaveLength(3);
    for (const d of mine) expect(d.reason).toBe('provider_unavailable');
    expect(mock.messages).toHaveLength(0);
  }, 60_000);
});

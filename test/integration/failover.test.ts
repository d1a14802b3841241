import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Harness, startHarness } from '../support/harness.js';
import {
  CREDENTIALS,
  DOCUMENTED,
  type ProviderDoubles,
  startProviderDoubles,
} from '../support/provider-doubles.js';

describe('a tenant provider with a fallback', () => {
  let h: Harness;
  let doubles: ProviderDoubles;
  let tenant: { id: string; key: string };
  let template: string;

  beforeAll(async () => {
    doubles = await startProviderDoubles();
    h = await startHarness({
      env: {
        POSTMARK_SERVER_TOKEN: CREDENTIALS.postmark,
        POSTMARK_API_URL: doubles.url,
        RESEND_API_KEY: CREDENTIALS.resend,
        RESEND_API_URL: doubles.url,
        BREAKER_THRESHOLD: '2',
        // Long enough that the retry through the fallback comes well before the primary's probe,
        // however busy the machine.
        BREAKER_PAUSE_SECONDS: '10',
        BREAKER_MAX_PAUSE_SECONDS: '10',
        MAX_RETRIES: '6',
      },
    });
    tenant = await h.createTenant('Failover');
    const r = await h.admin('PATCH', `/admin/tenants/${tenant.id}`, {
      provider: 'postmark',
      fallback_providers: ['resend'],
    });
    expect(r.body).toMatchObject({ provider: 'postmark', fallback_providers: ['resend'] });
    template = await h.createTemplate(tenant.key);
  });
  afterAll(async () => {
    await h?.close();
    await doubles?.stop();
  });

  const send = async (email: string) => {
    const r = await h.request('POST', '/send', {
      key: tenant.key,
      body: { recipient: { email }, template_id: template, variables: { name: 'X' } },
    });
    expect(r.status).toBe(202);
    return r.body.email_id as string;
  };
  const settled = (id: string, status: string) =>
    eventually(async () => {
      const r = await h.request('GET', `/emails/${id}`, { key: tenant.key });
      return r.body.status === status ? r.body : null;
    }, 30_000);
  const to = (provider: 'postmark' | 'resend', address: string) =>
    doubles.of(provider).filter((r) => JSON.stringify(r.body).includes(address));
  /** The shared breaker's state for a provider; `due` once its pause is over (a probe may go). */
  const breaker = async (provider: string) => {
    const s = await h.system.services.breaker.state(provider);
    return s.state === 'open' && Date.now() >= (s.retryAt ?? 0) ? 'due' : s.state;
  };

  it('goes through the fallback while the primary is failing, recording the provider of each attempt', async () => {
    doubles.answerNext('postmark', DOCUMENTED.postmark.serverError, DOCUMENTED.postmark.serverError);
    const id = await send('a@example.com');
    const email = await settled(id, 'sent');
    expect(to('postmark', 'a@example.com')).toHaveLength(2);
    const [viaResend] = to('resend', 'a@example.com');
    expect(email).toMatchObject({
      provider: 'resend',
      provider_message_id: viaResend?.acceptedId,
      attempts: 3,
    });
    const rerouted = email.events.filter((e: { type: string }) => e.type === 'rerouted');
    expect(rerouted.map((e: { data: unknown }) => e.data)).toEqual([
      { from: 'postmark', to: 'resend', attempt: 3 },
    ]);
    expect(email.events.find((e: { type: string }) => e.type === 'sent').data.provider).toBe('resend');

    // The breaker is open: the next email skips the primary altogether.
    expect(await breaker('postmark')).toBe('open');
    const next = await settled(await send('b@example.com'), 'sent');
    expect(next).toMatchObject({ provider: 'resend', attempts: 1 });
    expect(to('postmark', 'b@example.com')).toHaveLength(0);
  });

  it('goes back to the primary once its breaker closes', async () => {
    await eventually(async () => (await breaker('postmark')) === 'due', 30_000, 100);
    const email = await settled(await send('c@example.com'), 'sent');
    expect(email.provider).toBe('postmark');
    expect(to('postmark', 'c@example.com')).toHaveLength(1);
    expect(to('resend', 'c@example.com')).toHaveLength(0);
    expect(await breaker('postmark')).toBe('closed');
  });

  it('never fails over on a permanent error', async () => {
    doubles.answerNext('postmark', DOCUMENTED.postmark.permanent);
    const email = await settled(await send('d@example.com'), 'failed');
    expect(email).toMatchObject({ provider: 'postmark', attempts: 1 });
    expect(to('resend', 'd@example.com')).toHaveLength(0);
    expect(await breaker('postmark')).toBe('closed');
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockProvider } from '../../src/providers/mock/mock.provider.js';
import {
  type Browser,
  type ConsoleFixture,
  screenshot,
  signIn,
  startConsole,
  UI_WAIT,
} from '../support/browser.js';
import { eventually, type Harness } from '../support/harness.js';

/** The console while a provider is down: a banner, and the email's page says it waits on it. */
describe('the console: a provider outage', () => {
  const mock = new MockProvider();
  let c: ConsoleFixture;
  let h: Harness;
  let base: string;
  let browser: Browser;

  beforeAll(async () => {
    c = await startConsole({
      providers: [mock],
      env: { DEFAULT_PROVIDER: 'mock', BREAKER_THRESHOLD: '2', BREAKER_PAUSE_SECONDS: '30' },
    });
    ({ h, base, browser } = c);
  });
  afterAll(() => c?.close());

  it('shows the banner while the breaker is open and the email waiting on the provider', async () => {
    const tenant = await h.createTenant('Outage tenant');
    const templateId = await h.createTemplate(tenant.key);
    mock.down = true;
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await h.request('POST', '/send', {
        key: tenant.key,
        body: {
          recipient: { email: `o${i}@example.com` },
          template_id: templateId,
          variables: { name: 'X' },
        },
      });
      ids.push(r.body.email_id);
    }
    await eventually(
      async () => (await h.request('GET', '/health/ready')).body.providers?.mock?.state === 'open',
    );

    const { page } = browser;
    await signIn(page, base, tenant.key);
    const banner = page.getByTestId('provider-banner');
    await expect.poll(() => banner.textContent(), UI_WAIT).toContain('Provider "mock" is unavailable');
    expect(await banner.textContent()).toMatch(/4 emails wait/);
    await page.goto(`${base}/#/emails/${ids[3]}`);
    await expect
      .poll(() => page.getByTestId('waiting-on-provider').textContent(), UI_WAIT)
      .toContain('waiting on provider mock');
    await screenshot(page, 'provider-outage');
    expect(mock.messages).toHaveLength(0);
  }, 90_000);
});

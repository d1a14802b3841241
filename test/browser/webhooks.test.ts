import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleFixture, screenshot, signIn, startConsole, UI_WAIT } from '../support/browser.js';
import { verifySignature, WebhookReceiver } from '../support/webhook-receiver.js';

describe('the console: webhooks', () => {
  let c: ConsoleFixture;
  let receiver: WebhookReceiver;
  let tenant: { id: string; key: string };

  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
    c = await startConsole({
      env: {
        OUTBOUND_WEBHOOKS_ALLOW_PRIVATE: 'true',
        OUTBOUND_WEBHOOKS_RELAY_INTERVAL_MS: '200',
        OUTBOUND_WEBHOOKS_RETRY_SCHEDULE: '0,1,1',
      },
    });
    tenant = await c.h.createTenant('Webhooks tenant');
  });
  afterAll(async () => {
    await c?.close();
    await receiver?.close();
  });

  it('creates an endpoint showing its secret once, sends a test, retries a failed delivery, disables it', async () => {
    const { page } = c.browser;
    await signIn(page, c.base, tenant.key);
    await page.getByRole('heading', { name: 'Send an email' }).waitFor();
    await page.getByRole('link', { name: 'Webhooks' }).click();
    await page.getByLabel('Endpoint URL').fill(receiver.url('/console'));
    await page.getByLabel('Description (optional)').fill('Orders service');
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    const secret = (await page.getByTestId('webhook-secret').textContent()) ?? '';
    expect(secret).toMatch(/^whsec_/);
    await screenshot(page, 'webhooks-created');

    // Every attempt of the test event fails (3 in the schedule); the log shows it failed.
    receiver.plans['/console'] = [500, 500, 500];
    await page.getByRole('link', { name: receiver.url('/console') }).click();
    await page.getByRole('heading', { name: 'Webhook endpoint' }).waitFor();
    await page.getByRole('button', { name: 'Send test event' }).click();
    const row = page.getByRole('row').filter({ hasText: 'webhook.test' });
    await expect.poll(() => row.textContent(), { ...UI_WAIT, timeout: 30_000 }).toContain('failed');
    expect(await row.textContent()).toContain('500');

    await page.getByRole('button', { name: 'Retry the webhook.test delivery' }).click();
    await expect.poll(() => row.textContent(), { ...UI_WAIT, timeout: 30_000 }).toContain('succeeded');
    const got = receiver.at('/console');
    expect(got).toHaveLength(4);
    // The secret the page showed is the one that signs.
    const last = got[3] as (typeof got)[number];
    expect(verifySignature(secret, last)).toMatchObject({ type: 'webhook.test' });
    await screenshot(page, 'webhook-deliveries');

    // Edit: a description of its own; the URL and events stay.
    await page.getByLabel('Description (optional)').fill('Orders service v2');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await expect
      .poll(
        async () =>
          (await c.h.request('GET', '/webhook-endpoints', { key: tenant.key })).body.items[0].description,
        UI_WAIT,
      )
      .toBe('Orders service v2');

    await page.getByRole('button', { name: 'Disable' }).click();
    await expect.poll(() => page.getByTestId('endpoint-state').textContent(), UI_WAIT).toContain('disabled');
    const [endpoint] = (await c.h.request('GET', '/webhook-endpoints', { key: tenant.key })).body.items;
    expect(endpoint).toMatchObject({ enabled: false, description: 'Orders service v2', events: ['*'] });
    expect(endpoint).not.toHaveProperty('secret');
  });

  it('sends a tracked email from the Send page: its HTML carries the open pixel', async () => {
    const { page } = c.browser;
    const templateId = await c.h.createTemplate(tenant.key, { html_template: '<p>Hello {{ name }}</p>' });
    await page.goto(`${c.base}/#/send`);
    await page.getByLabel('Template').selectOption(templateId);
    await page.getByLabel('name', { exact: true }).fill('Ann');
    await page.getByLabel('Recipient email').fill('tracked@example.com');
    await page.getByLabel('Track opens').selectOption('on');
    await page.getByLabel('Track clicks').selectOption('off');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByRole('link', { name: 'Open the email' }).waitFor();
    const [msg] = await c.h.sink.waitFor(1);
    expect(msg?.html).toContain('/t/o/');
    const [row] = await c.h.sql('SELECT track_opens, track_clicks FROM emails WHERE recipient_email = $1', [
      'tracked@example.com',
    ]);
    expect(row).toEqual({ track_opens: true, track_clicks: false });
  });
});

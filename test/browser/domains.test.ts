import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Browser,
  type ConsoleFixture,
  screenshot,
  signIn,
  startConsole,
  UI_WAIT,
} from '../support/browser.js';
import { type DnsZone, startDnsServer } from '../support/dns-server.js';
import type { Harness } from '../support/harness.js';

describe('the console: sending domains', () => {
  let dns: DnsZone;
  let c: ConsoleFixture;
  let h: Harness;
  let base: string;
  let browser: Browser;
  let tenant: { id: string; key: string };
  let templateId: string;

  beforeAll(async () => {
    dns = await startDnsServer();
    c = await startConsole({
      env: { DNS_SERVERS: dns.address, DNS_TIMEOUT_MS: '1000', SPF_INCLUDE: 'spf.relay.example' },
    });
    ({ h, base, browser } = c);
    tenant = await h.createTenant('Domains tenant');
    templateId = await h.createTemplate(tenant.key);
    await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  });
  afterAll(async () => {
    await c?.close();
    await dns?.close();
  });

  it('adds a domain, copies its records, and shows it verified once they are published', async () => {
    const { page } = browser;
    await signIn(page, base, tenant.key);
    await page.getByRole('heading', { name: 'Send an email' }).waitFor();
    await page.getByRole('link', { name: 'Domains' }).click();
    await page.getByLabel('Domain name').fill('console.example');
    await page.getByRole('button', { name: 'Add domain' }).click();
    await page.getByRole('heading', { name: 'Domain console.example' }).waitFor();
    const status = page.getByTestId('domain-status');
    await expect.poll(() => status.textContent(), UI_WAIT).toContain('pending');

    // What the page asks for is what the API stored; copy the DKIM value as a person would.
    const [domain] = (await h.request('GET', '/domains', { key: tenant.key })).body.items;
    const dkim = domain.records.find((r: { purpose: string }) => r.purpose === 'dkim');
    await page.getByRole('button', { name: 'Copy the value of the DKIM key record' }).click();
    await expect.poll(() => page.evaluate('navigator.clipboard.readText()'), UI_WAIT).toBe(dkim.value);
    await page.getByRole('button', { name: 'Copy the name of the DKIM key record' }).click();
    await expect.poll(() => page.evaluate('navigator.clipboard.readText()'), UI_WAIT).toBe(dkim.name);
    await screenshot(page, 'domain-pending');

    for (const r of domain.records) dns.setTxt(r.name, [r.value]);
    await page.getByRole('button', { name: 'Verify now' }).click();
    await expect.poll(() => status.textContent(), UI_WAIT).toContain('verified');
    await expect
      .poll(() => page.getByText('verified', { exact: true }).count(), UI_WAIT)
      .toBeGreaterThanOrEqual(4);
    await screenshot(page, 'domain-verified');

    await page.getByRole('link', { name: '← All domains' }).click();
    await page.getByRole('link', { name: 'console.example' }).waitFor();
    await page.getByLabel('Default From').fill('Console <hello@console.example>');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').getByText('Saved.').waitFor();
    const defaults = await h.request('GET', '/sending-defaults', { key: tenant.key });
    expect(defaults.body.from).toEqual({ email: 'hello@console.example', name: 'Console' });
  });

  it('sends from the Send page with From and Reply-To, and refuses an unverified From', async () => {
    const { page } = browser;
    await page.goto(`${base}/#/send`);
    await page.getByLabel('Template').selectOption(templateId);
    await page.getByLabel('name', { exact: true }).fill('Ann');
    await page.getByLabel('Recipient email').fill('ann@example.com');
    await page.getByLabel('From (optional)').fill('Billing <billing@console.example>');
    await page.getByLabel('Reply-To (optional)').fill('support@console.example');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByRole('link', { name: 'Open the email' }).waitFor();
    const [msg] = await h.sink.waitFor(1);
    expect(msg?.from).toEqual({ name: 'Billing', address: 'billing@console.example' });
    expect(msg?.raw).toMatch(/^DKIM-Signature: .*d=console\.example/m);

    await page.getByLabel('Recipient email').fill('bob@example.com');
    await page.getByLabel('From (optional)').fill('billing@not-mine.example');
    await page.getByRole('button', { name: 'Send' }).click();
    await expect.poll(() => page.getByRole('alert').textContent(), UI_WAIT).toContain('not-mine.example');
  });

  it('keeps a default From with a template version in the editor', async () => {
    const { page } = browser;
    await page.goto(`${base}/#/templates/${templateId}`);
    await page.getByLabel('Default From (optional)').fill('News <news@console.example>');
    await page.getByRole('button', { name: 'Save as a new version' }).click();
    await expect
      .poll(
        async () => (await h.request('GET', `/templates/${templateId}`, { key: tenant.key })).body,
        UI_WAIT,
      )
      .toMatchObject({ version: 2, from: { email: 'news@console.example', name: 'News' } });
    await page.reload();
    await expect
      .poll(() => page.getByLabel('Default From (optional)').inputValue(), UI_WAIT)
      .toBe('News <news@console.example>');
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Browser,
  type ConsoleFixture,
  screenshot,
  signIn,
  startConsole,
  UI_WAIT,
} from '../support/browser.js';
import { ADMIN_TOKEN } from '../support/env.js';
import type { Harness } from '../support/harness.js';

describe('the console in a browser', () => {
  let c: ConsoleFixture;
  let h: Harness;
  let base: string;
  let browser: Browser;
  let tenant: { id: string; key: string };
  let templateId: string;

  beforeAll(async () => {
    c = await startConsole({
      // One address the SMTP server refuses for good, to make a dead letter.
      sink: {
        reply: (rcpt) =>
          rcpt.startsWith('nobody@') ? { code: 550, message: '5.1.1 No such user' } : undefined,
      },
    });
    ({ h, base, browser } = c);
    tenant = await h.createTenant('Browser tenant');
    templateId = await h.createTemplate(tenant.key, {
      name: 'welcome',
      subject_template: 'Welcome {{ name }}',
      html_template: '<h1>Hello {{ name }}</h1><p>Your plan: <b>{{ plan | upcase }}</b></p>',
    });
  });
  afterAll(() => c?.close());

  const sendByApi = (email: string) =>
    h.request('POST', '/send', {
      key: tenant.key,
      body: { recipient: { email }, template_id: templateId, variables: { name: 'N', plan: 'p' } },
    });

  it('serves the console at / and keeps JSON 404s for unknown API paths', async () => {
    const page = await fetch(`${base}/`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('<div id="root">');

    const deepLink = await fetch(`${base}/some/page`, { headers: { accept: 'text/html' } });
    expect(deepLink.status).toBe(200);
    expect(await deepLink.text()).toContain('<div id="root">');

    for (const path of ['/emails/x/y', '/templatez', '/assets/missing.js']) {
      const api = await fetch(`${base}${path}`, { headers: { accept: 'application/json' } });
      expect(api.status, path).toBe(404);
      expect(((await api.json()) as any).error.code).toBe('route_not_found');
    }
    const html404 = await fetch(`${base}/emails/x/y`, { headers: { accept: 'text/html' } });
    expect(html404.status).toBe(404);
    expect(((await html404.json()) as any).error.code).toBe('route_not_found');

    const health = await fetch(`${base}/health/live`, { headers: { accept: 'text/html' } });
    expect(await health.json()).toEqual({ status: 'ok' });
  });

  it('refuses a wrong key with the API message, then signs in with the right one', async () => {
    const { page } = browser;
    await signIn(page, base, 'ms_not_a_real_key');
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.textContent(), UI_WAIT).toContain('A valid API key is required');
    await screenshot(page, 'sign-in-error');

    await signIn(page, base, tenant.key);
    await page.getByRole('heading', { name: 'Send an email' }).waitFor();
    expect(await page.evaluate('sessionStorage.length')).toBe(1);
  });

  it('sends an email from the form and shows it reach sent in its timeline', async () => {
    const { page } = browser;
    await page.goto(`${base}/#/send`);
    await page.getByLabel('Template').selectOption(templateId);
    // The form asks the template engine which variables the template needs.
    await page.getByLabel('name', { exact: true }).fill('Alice');
    await page.getByLabel('plan', { exact: true }).fill('pro');
    await page.getByLabel('Recipient email').fill('alice@example.com');
    await page.getByLabel('Recipient name').fill('Alice');
    await page.getByLabel('Metadata (JSON)').fill('{"source": "console"}');
    await page.getByLabel('Idempotency key').fill('console-1');
    await screenshot(page, 'send-form');
    await page.getByRole('button', { name: 'Send', exact: true }).click();

    await page.getByRole('link', { name: 'Open the email' }).click();
    const timeline = page.getByRole('list', { name: 'Events' });
    await timeline.getByText('sent', { exact: true }).waitFor();
    expect(await timeline.locator('li .badge').allTextContents()).toEqual(['queued', 'processing', 'sent']);
    expect(await page.getByText('Welcome Alice').count()).toBe(1);
    await screenshot(page, 'email');

    const [msg] = await h.sink.waitFor(1);
    expect(msg?.subject).toBe('Welcome Alice');
    expect(msg?.html).toContain('<b>PRO</b>');
  });

  it('shows the API error for a send the API refuses', async () => {
    const { page } = browser;
    await page.goto(`${base}/#/send`);
    await page.getByLabel('Template').selectOption(templateId);
    await page.getByLabel('name', { exact: true }).fill('Bob');
    await page.getByLabel('plan', { exact: true }).fill('basic');
    await page.getByLabel('Recipient email').fill('bob@example.com');
    // Same idempotency key as before with another body.
    await page.getByLabel('Idempotency key').fill('console-1');
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.textContent(), UI_WAIT).toContain('idempotency_key_reused');
  });

  it('lists emails with a status filter and looks one up by id', async () => {
    const { page } = browser;
    await page.goto(`${base}/#/emails`);
    await page.getByLabel('Status').selectOption('sent');
    await page.getByRole('button', { name: 'Apply' }).click();
    const row = page.getByRole('row', { name: /alice@example\.com/ });
    await row.waitFor();
    await screenshot(page, 'emails');

    await page.getByLabel('Status').selectOption('failed');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByText('No emails match.').waitFor();

    await page.getByLabel('Email id').fill('00000000-0000-4000-8000-000000000000');
    await page.getByRole('button', { name: 'Look up' }).click();
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.textContent(), UI_WAIT).toContain('Email not found');
  });

  it('previews a template in a sandboxed frame and names missing variables', async () => {
    const { page } = browser;
    await page.goto(`${base}/#/templates`);
    await page.getByRole('link', { name: 'welcome' }).click();
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.textContent(), UI_WAIT).toContain('Missing variables:');
    expect(await alert.textContent()).toContain('name');
    expect(await alert.textContent()).toContain('plan');

    await page.getByLabel('Preview variables (JSON)').fill('{"name": "Carol", "plan": "team"}');
    const frame = page.locator('iframe[title="HTML preview"]');
    expect(await frame.getAttribute('sandbox')).toBe('');
    await page
      .frameLocator('iframe[title="HTML preview"]')
      .getByRole('heading', { name: 'Hello Carol' })
      .waitFor();
    expect(await page.getByTestId('preview-subject').textContent()).toBe('Welcome Carol');
    await screenshot(page, 'template');
  });

  it('saves a new template version and lists it', async () => {
    const { page } = browser;
    await page.goto(`${base}/#/templates/${templateId}`);
    await page.getByLabel('Subject template').fill('Welcome aboard {{ name }}');
    await page.getByRole('button', { name: 'Save as a new version' }).click();
    await page.getByRole('link', { name: 'v2' }).waitFor();
    await page.getByLabel('Preview variables (JSON)').fill('{"name": "Dan", "plan": "x"}');
    await expect
      .poll(() => page.getByTestId('preview-subject').textContent(), UI_WAIT)
      .toBe('Welcome aboard Dan');
  });

  it('shows dead letters and retries one', async () => {
    expect((await sendByApi('nobody@example.com')).status).toBe(202);
    const { page } = browser;
    await page.goto(`${base}/#/dead-letters`);
    const row = page.getByRole('row', { name: /nobody@example\.com/ });
    await expect
      .poll(async () => {
        await page.reload();
        return row.count();
      }, UI_WAIT)
      .toBe(1);
    expect(await row.textContent()).toContain('No such user');
    await screenshot(page, 'dead-letters');
    await row.getByRole('button', { name: 'Retry' }).click();
    await page.getByRole('status').getByText('Queued again').waitFor();
  });

  it('adds and removes a suppressed address', async () => {
    const { page } = browser;
    await page.goto(`${base}/#/suppressions`);
    await page.getByLabel('Email address').fill('Blocked@Example.com');
    await page.getByLabel('Reason').selectOption('unsubscribe');
    await page.getByRole('button', { name: 'Suppress' }).click();
    const row = page.getByRole('row', { name: /blocked@example\.com/i });
    await row.waitFor();
    expect(await row.textContent()).toContain('unsubscribe');
    await screenshot(page, 'suppressions');

    const refused = await sendByApi('blocked@example.com');
    expect(refused.body.error.code).toBe('recipient_suppressed');

    await row.getByRole('button', { name: /^Remove / }).click();
    await page.getByText('No suppressed addresses.').waitFor();
  });

  it('lets an admin create a tenant, a key shown once, suspend and revoke', async () => {
    const { page } = browser;
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(page, base, 'wrong-admin-token', 'admin');
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.textContent(), UI_WAIT).toContain('A valid admin token is required');

    await signIn(page, base, ADMIN_TOKEN, 'admin');
    await page.getByRole('heading', { name: 'Tenants', exact: true }).waitFor();
    await page.getByLabel('Tenant name').fill('Acme');
    await page.getByLabel('Tenant id (optional)').fill('acme');
    await page.getByRole('button', { name: 'Create tenant' }).click();
    await page.getByRole('status').getByRole('link', { name: 'Acme' }).click();

    await page.getByLabel('Key name').fill('production');
    await page.getByRole('button', { name: 'Create key' }).click();
    const key = await page.getByTestId('new-key').textContent();
    expect(key).toMatch(/^ms_/);
    const templates = await h.request('GET', '/templates', { key });
    expect(templates.status).toBe(200);
    await screenshot(page, 'tenant');

    page.on('dialog', (d) => d.accept());
    await page.getByRole('button', { name: 'Suspend Acme' }).click();
    await page.getByRole('button', { name: 'Reactivate Acme' }).waitFor();
    expect((await h.request('GET', '/templates', { key })).status).toBe(403);
    await page.getByRole('button', { name: 'Reactivate Acme' }).click();
    await page.getByRole('button', { name: 'Revoke key production' }).click();
    await page.getByText(/^revoked /).waitFor();
    expect((await h.request('GET', '/templates', { key })).status).toBe(401);

    await page.getByRole('link', { name: 'Tenants and keys' }).click();
    await page.getByRole('row', { name: /Browser tenant/ }).waitFor();
    await screenshot(page, 'tenants');
  });
});

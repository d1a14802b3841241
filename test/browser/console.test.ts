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
    // The header names the tenant and the key's prefix, never the secret.
    const me = (await h.request('GET', '/me', { key: tenant.key })).body;
    const who = page.getByRole('region', { name: 'Signed in as' });
    await expect.poll(() => page.getByTestId('tenant-name').textContent(), UI_WAIT).toBe('Browser tenant');
    expect(await page.getByTestId('key-prefix').textContent()).toBe(`${me.api_key.prefix}…`);
    expect(await who.textContent()).not.toContain(tenant.key);

    // A reload keeps the session and asks the API again who the key is.
    await page.reload();
    await expect.poll(() => page.getByTestId('tenant-name').textContent(), UI_WAIT).toBe('Browser tenant');
  });

  it('sends an email from the form and shows it reach sent in its timeline', async () => {
    const { page } = browser;
    await page.goto(`${base}/#/send`);
    await page.getByLabel('Template').selectOption(templateId);
    // The form is built from the variables the API lists with the template.
    const inputs = page.getByRole('group', { name: 'Template variables' }).getByRole('textbox');
    await expect.poll(() => inputs.count(), UI_WAIT).toBe(2);
    const inputNames = await Promise.all((await inputs.all()).map((i) => i.getAttribute('name')));
    expect(inputNames).toEqual(['var-name', 'var-plan']);
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

  it('adds the variables a send is refused for when the template changed meanwhile', async () => {
    const id = await h.createTemplate(tenant.key, {
      name: 'receipt',
      subject_template: 'Receipt for {{ name }}',
      html_template: '<p>{{ name }}</p>',
    });
    const { page } = browser;
    await page.goto(`${base}/#/send`);
    await page.reload(); // the template list loaded before this template existed
    await page.getByLabel('Template').selectOption(id);
    await page.getByLabel('name', { exact: true }).fill('Fay');
    await page.getByLabel('Recipient email').fill('fay@example.com');
    const v2 = await h.request('PUT', `/templates/${id}`, {
      key: tenant.key,
      body: { subject_template: 'Receipt {{ number }} for {{ name }}', html_template: '<p>{{ name }}</p>' },
    });
    expect(v2.body.variables).toEqual(['name', 'number']);

    await page.getByRole('button', { name: 'Send', exact: true }).click();
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.textContent(), UI_WAIT).toContain('missing_variables');
    await page.getByLabel('number', { exact: true }).fill('7');
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    await page.getByRole('link', { name: 'Open the email' }).waitFor();
    const sent = await h.request('GET', '/emails?recipient=fay@example.com', { key: tenant.key });
    expect(sent.body.items.map((e: { subject: string }) => e.subject)).toEqual(['Receipt 7 for Fay']);
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

  it('previews the text being edited, live, in a sandboxed frame', async () => {
    const { page } = browser;
    await page.goto(`${base}/#/templates`);
    await page.getByRole('link', { name: 'welcome' }).click();
    const frame = page.frameLocator('iframe[title="HTML preview"]');
    const heading = () => frame.getByRole('heading').textContent();
    const subject = () => page.getByTestId('preview-subject').textContent();
    // The variables come from the template; empty ones preview as their names.
    const vars = page.getByRole('group', { name: 'Preview variables' });
    await vars.getByLabel('plan', { exact: true }).waitFor();
    await expect.poll(heading, UI_WAIT).toBe('Hello [name]');
    expect(await page.locator('iframe[title="HTML preview"]').getAttribute('sandbox')).toBe('');

    await vars.getByLabel('name', { exact: true }).fill('Carol');
    await vars.getByLabel('plan', { exact: true }).fill('team');
    await expect.poll(heading, UI_WAIT).toBe('Hello Carol');
    expect(await subject()).toBe('Welcome Carol');
    expect(await frame.locator('b').textContent()).toBe('TEAM');

    // Typing changes the preview without saving anything.
    const html = page.getByLabel('HTML template');
    await html.fill('<h1>Hi {{ name }}, welcome to {{ team }}</h1>');
    await page.getByLabel('Subject template').fill('Draft for {{ name }}');
    // {{ team }} is new: the API's 422 names it and the form gains an input for it.
    await expect.poll(heading, UI_WAIT).toBe('Hi Carol, welcome to [team]');
    await vars.getByLabel('team', { exact: true }).fill('Blue');
    await expect.poll(heading, UI_WAIT).toBe('Hi Carol, welcome to Blue');
    expect(await subject()).toBe('Draft for Carol');
    await page.getByRole('region', { name: 'Preview (unsaved changes)' }).waitFor();
    await screenshot(page, 'template');

    // Text that does not parse names the field; the last rendering stays.
    await html.fill('<h1>Hi {{ name </h1>');
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.textContent(), UI_WAIT).toContain('template_invalid');
    expect(await alert.textContent()).toContain('html_template');
    expect(await heading()).toBe('Hi Carol, welcome to Blue');

    const stored = await h.request('GET', `/templates/${templateId}`, { key: tenant.key });
    expect(stored.body.latest_version).toBe(1);
    expect(stored.body.html_template).toContain('Hello {{ name }}');
  });

  it('saves a new template version and lists it', async () => {
    const { page } = browser;
    // A reload: the editor still holds the previous test's unsaved draft.
    await page.goto(`${base}/#/templates/${templateId}`);
    await page.reload();
    await page.getByLabel('Subject template').fill('Welcome aboard {{ name }}');
    await page.getByRole('button', { name: 'Save as a new version' }).click();
    await page.getByRole('link', { name: 'v2' }).waitFor();
    await page.getByRole('region', { name: 'Preview', exact: true }).waitFor();
    await page.getByLabel('name', { exact: true }).fill('Dan');
    await expect
      .poll(() => page.getByTestId('preview-subject').textContent(), UI_WAIT)
      .toBe('Welcome aboard Dan');
  });

  it('previews a new template before it is created', async () => {
    const { page } = browser;
    await page.goto(`${base}/#/templates/new`);
    await page.getByLabel('HTML template').fill('<h1>Order {{ order }}</h1>');
    const frame = page.frameLocator('iframe[title="HTML preview"]');
    const heading = () => frame.getByRole('heading').textContent();
    await expect.poll(heading, UI_WAIT).toBe('Order [order]');
    await page.getByLabel('order', { exact: true }).fill('#42');
    await expect.poll(heading, UI_WAIT).toBe('Order #42');
    expect(await page.getByTestId('preview-subject').textContent()).toBe('Hello [name]');

    // A nested field needs its variable as JSON; until then the API's 422 names the field.
    await page.getByLabel('HTML template').fill('<h1>Order {{ order }}</h1><p>{{ user.email }}</p>');
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.textContent(), UI_WAIT).toContain('user.email');
    await page.getByLabel('user', { exact: true }).fill('{"email": "erin@example.com"}');
    await expect.poll(() => frame.locator('p').textContent(), UI_WAIT).toBe('erin@example.com');
    expect(await alert.count()).toBe(0);
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
    await page.getByLabel('Reason').selectOption('manual');
    await page.getByRole('button', { name: 'Suppress' }).click();
    const row = page.getByRole('row', { name: /blocked@example\.com/i });
    await row.waitFor();
    expect(await row.textContent()).toContain('manual');
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

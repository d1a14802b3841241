import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleFixture, screenshot, signIn, startConsole, UI_WAIT } from '../support/browser.js';
import { eventually } from '../support/harness.js';

describe('the Inbox page', () => {
  let c: ConsoleFixture;
  let testKey: string;
  let emailId: string;

  beforeAll(async () => {
    c = await startConsole();
    const tenant = await c.h.createTenant('Inbox tenant');
    const k = await c.h.admin('POST', `/admin/tenants/${tenant.id}/api-keys`, { name: 'dev', mode: 'test' });
    testKey = k.body.key;
    const template = await c.h.createTemplate(tenant.key, {
      subject_template: 'Receipt {{ n }}',
      // A script in tenant HTML must not run in the console.
      html_template: '<h1 id="title">Receipt {{ n }}</h1><script>parent.document.title = "pwned"</script>',
    });
    const res = await c.h.request('POST', '/send', {
      key: testKey,
      body: {
        recipient: { email: 'dev@example.com' },
        template_id: template,
        variables: { n: 9 },
        attachments: [{ filename: 'receipt.pdf', content: 'JVBERi0xLjQK', content_type: 'application/pdf' }],
      },
    });
    emailId = res.body.email_id;
    await eventually(
      async () => (await c.h.request('GET', '/inbox', { key: testKey })).body.items.length === 1,
    );
    await signIn(c.browser.page, c.base, testKey);
    await c.browser.page.getByRole('heading', { name: 'Send an email' }).waitFor();
  });
  afterAll(() => c?.close());

  it('lists captured mail and shows its HTML in a sandboxed frame beside the text and headers', async () => {
    const { page } = c.browser;
    await page.getByRole('link', { name: 'Inbox' }).click();
    await page.getByRole('link', { name: 'Receipt 9' }).click();
    const frame = page.frameLocator('iframe[title="HTML part"]');
    await expect.poll(() => frame.locator('#title').textContent(), UI_WAIT).toBe('Receipt 9');
    expect(await page.locator('iframe[title="HTML part"]').getAttribute('sandbox')).toBe('');
    expect(await page.title()).not.toBe('pwned');
    expect(await page.locator('pre.text-part').textContent()).toContain('Receipt 9');
    expect(await page.getByRole('list', { name: 'Attachments' }).textContent()).toContain('receipt.pdf');
    expect(await page.locator('.facts.headers').textContent()).toContain(`<${emailId}@mailsystem.local>`);
    await screenshot(page, 'inbox-message');

    await page.getByRole('button', { name: 'Delete this message' }).click();
    await page.getByText('Nothing captured yet').waitFor();
    expect((await c.h.request('GET', '/inbox', { key: testKey })).body.items).toEqual([]);
    expect(await c.h.sink.messages()).toEqual([]);
  });
});

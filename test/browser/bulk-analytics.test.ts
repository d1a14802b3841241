import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ARTIFACTS,
  type ConsoleFixture,
  screenshot,
  signIn,
  startConsole,
  UI_WAIT,
} from '../support/browser.js';

describe('bulk sends and analytics in the console', () => {
  let c: ConsoleFixture;
  let templateId: string;

  beforeAll(async () => {
    c = await startConsole();
    const tenant = await c.h.createTenant('Bulk tenant');
    templateId = await c.h.createTemplate(tenant.key, {
      name: 'newsletter',
      subject_template: 'News for {{ name }}',
      html_template: '<p>Hi {{ name }}, your code is {{ code }}</p>',
    });
    await signIn(c.browser.page, c.base, tenant.key);
    await c.browser.page.getByRole('heading', { name: 'Send an email' }).waitFor();
  });
  afterAll(() => c?.close());

  it('uploads a CSV of 50 recipients, flags bad rows, and shows the job reach completed', async () => {
    const lines = ['email,name,code'];
    for (let i = 1; i <= 49; i++) lines.push(`user${i}@example.com,User ${i},C${i}`);
    // Quoted cells may hold commas, quotes and line breaks.
    lines.push('user50@example.com,"Doe, ""J""","C\n50"');
    lines.push('not-an-address,Broken,X', 'USER7@example.com,Again,Y');
    const file = join(ARTIFACTS, 'bulk-50.csv');
    await writeFile(file, `${lines.join('\n')}\n`);

    const { page } = c.browser;
    await page.getByRole('link', { name: 'Bulk' }).click();
    await page.getByLabel('Template').selectOption(templateId);
    await page.getByLabel('CSV file').setInputFiles(file);
    const summary = page.getByTestId('csv-summary');
    await expect.poll(() => summary.textContent(), UI_WAIT).toContain('50 to send · 1 invalid · 1 duplicate');
    expect(await page.locator('tr.row-invalid').textContent()).toContain('not-an-address');
    expect(await page.locator('tr.row-duplicate').textContent()).toContain('USER7@example.com');
    await screenshot(page, 'bulk-preview');

    await page.getByRole('button', { name: 'Send to 50 recipients' }).click();
    const bar = page.getByRole('progressbar', { name: 'Bulk progress' });
    await expect.poll(() => bar.getAttribute('aria-valuenow'), { timeout: 30_000 }).toBe('100');
    await page.locator('.badge', { hasText: 'completed' }).waitFor();
    expect(await page.getByTestId('bulk-total').textContent()).toBe('50');
    expect(await page.getByTestId('bulk-sent').textContent()).toBe('50');
    await screenshot(page, 'bulk-progress');

    const received = await c.h.sink.waitFor(50);
    expect(new Set(received.map((m) => m.envelope.to[0])).size).toBe(50);
    expect(received.find((m) => m.envelope.to[0] === 'user7@example.com')?.subject).toBe('News for User 7');
    const fifty = received.find((m) => m.envelope.to[0] === 'user50@example.com');
    expect(fifty?.subject).toBe('News for Doe, "J"');
    expect(fifty?.html).toContain('your code is C\n50');
  });

  it('charts the bulk send in analytics, accepted beside its outcomes, with totals', async () => {
    const { page } = c.browser;
    // The rollups follow the events within a second or so; Refresh asks again.
    const sentTotal = async () => {
      await page.getByRole('button', { name: 'Refresh' }).click();
      return page.getByTestId('total-sent').textContent();
    };
    await page.getByRole('link', { name: 'Analytics' }).click();
    await expect.poll(sentTotal, { timeout: 20_000, interval: 500 }).toBe('50');
    expect(await page.getByTestId('total-queued').textContent()).toBe('50');
    // Accepted is drawn as bars and each outcome as its own line: events are never stacked.
    const chart = page.getByRole('figure', { name: 'Events per day' });
    await expect.poll(() => chart.locator('.recharts-bar-rectangle').count(), UI_WAIT).toBe(1);
    expect(await chart.locator('.recharts-line').count()).toBe(1);
    expect(await chart.locator('.recharts-legend-item-text').allTextContents()).toEqual(['accepted', 'sent']);
    expect(await page.getByTestId('chart-caption').textContent()).toContain('Counts are events per UTC day');
    await screenshot(page, 'analytics');

    await page.getByLabel('Template').selectOption(templateId);
    await expect.poll(sentTotal, { timeout: 20_000, interval: 500 }).toBe('50');
    await page.getByLabel('Group by').selectOption('hour');
    await page.getByRole('figure', { name: 'Events per hour' }).waitFor();
    await expect.poll(sentTotal, { timeout: 20_000, interval: 500 }).toBe('50');
  });
});

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { dkimVerify } from 'mailauth';
import { simpleParser } from 'mailparser';
import { afterAll, describe, expect, it } from 'vitest';
import { AppError } from '../domain/errors.js';
import type { OutgoingMessage } from '../providers/email-provider.js';
import { RenderPool } from './render-pool.js';

describe('RenderPool', () => {
  // LiquidJS's own time limit is set out of reach, so only ending the thread can stop the render.
  const pool = new RenderPool({ threads: 1, deadlineMs: 500, renderer: { renderTimeLimitMs: 600_000 } });
  afterAll(() => pool.close());

  const loop =
    '{% for a in (1..3000) %}{% for b in (1..3000) %}{% for c in (1..3000) %}{% endfor %}{% endfor %}{% endfor %}';

  it('ends the thread of a render past its deadline, answers template_render_limit, and renders on', async () => {
    const started = Date.now();
    const err = await pool
      .render({ cacheKey: 'loop@1', subject: 'S', html: loop, text: null, tenantId: 't' }, {})
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('template_render_limit');
    expect((err as AppError).details).toEqual({ error: 'the render ran past its 500 ms deadline' });
    expect(Date.now() - started).toBeLessThan(30_000);
    // A new thread takes over; its start-up does not count against the next render's deadline.
    const ok = await pool.render(
      { cacheKey: 'hi@1', subject: 'Hi {{ n }}', html: '<b>{{ n }}</b>', text: null, tenantId: 't' },
      { n: 'Ann' },
    );
    expect(ok).toEqual({ subject: 'Hi Ann', html: '<b>Ann</b>', text: 'Ann' });
  }, 60_000);

  it('checks concurrent sends of a tenant together; one past the deadline is refused alone', async () => {
    const hi = { cacheKey: 'hi@1', subject: 'Hi {{ n }}', html: '<b>{{ n }}</b>', text: null, tenantId: 't' };
    const slow = { cacheKey: 'loop@1', subject: 'S', html: loop, text: null, tenantId: 't' };
    const settle = (p: Promise<{ subject: string }>) =>
      p.then(
        (v) => v.subject,
        (e: unknown) => (e instanceof AppError ? e.code : String(e)),
      );
    const results = await Promise.all([
      ...Array.from({ length: 5 }, (_, i) => settle(pool.check(hi, { n: `A${i}` }))),
      settle(pool.check(slow, {})),
      settle(pool.check(hi, {})),
      ...Array.from({ length: 5 }, (_, i) => settle(pool.check(hi, { n: `B${i}` }))),
    ]);
    expect(results).toEqual([
      ...Array.from({ length: 5 }, (_, i) => `Hi A${i}`),
      'template_render_limit',
      'missing_variables',
      ...Array.from({ length: 5 }, (_, i) => `Hi B${i}`),
    ]);
  }, 60_000);

  it('renders concurrent emails of a tenant, checks among them, each with its own variables', async () => {
    const hi = { cacheKey: 'hi@1', subject: 'Hi {{ n }}', html: '<b>{{ n }}</b>', text: null, tenantId: 't' };
    const slow = { cacheKey: 'loop@1', subject: 'S', html: loop, text: null, tenantId: 't' };
    const settle = (p: Promise<unknown>) =>
      p.then(
        (v) => v,
        (e: unknown) => (e instanceof AppError ? e.code : String(e)),
      );
    // More whole emails than one task carries, a check and a render past its deadline among them.
    const results = await Promise.all([
      ...Array.from({ length: 12 }, (_, i) => settle(pool.render(hi, { n: `A${i}` }))),
      settle(pool.check(hi, { n: 'C' })),
      settle(pool.render(slow, {})),
      ...Array.from({ length: 12 }, (_, i) => settle(pool.render(hi, { n: `B${i}` }))),
    ]);
    const email = (n: string) => ({ subject: `Hi ${n}`, html: `<b>${n}</b>`, text: n });
    expect(results).toEqual([
      ...Array.from({ length: 12 }, (_, i) => email(`A${i}`)),
      { subject: 'Hi C' },
      'template_render_limit',
      ...Array.from({ length: 12 }, (_, i) => email(`B${i}`)),
    ]);
  }, 60_000);

  it('brings validation errors across the thread boundary as the catalogue error', async () => {
    await expect(
      pool.validate({ subject: 'ok', html: '{% include "/etc/passwd" %}', text: null }),
    ).rejects.toMatchObject({
      code: 'template_invalid',
      status: 400,
    });
    expect(
      await pool.requiredVariables({ cacheKey: 'v@1', subject: '{{ a }}', html: '{{ b.c }}', text: null }),
    ).toEqual(['a', 'b']);
  }, 60_000);
});

describe('RenderPool.mime', () => {
  const pool = new RenderPool({ threads: 2 });
  afterAll(() => pool.close());

  it('builds messages in the threads as buildMime does: parts, headers, attachment bytes, a valid DKIM signature', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const publicDer = publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    const file = randomBytes(3000);
    const message = (i: number): OutgoingMessage => ({
      messageId: `<m${i}@mailsystem.test>`,
      from: '"Acme Billing" <billing@acme.test>',
      to: { email: `r${i}@example.com`, name: `Recipient ${i}` },
      subject: `Rechnung ${i} — fällig ✓`,
      html: `<p>Total ${i}: 10&nbsp;€</p>`,
      text: `Total ${i}: 10 €`,
      headers: { 'X-Tenant-Id': 'tenant-123', 'List-Unsubscribe': '<https://acme.test/u/abc>' },
      dkim: { domainName: 'acme.test', keySelector: 'ms1', privateKey },
      ...(i === 0
        ? { attachments: [{ filename: 'a.bin', contentType: 'application/octet-stream', content: file }] }
        : {}),
    });
    const built = await Promise.all(Array.from({ length: 12 }, (_, i) => pool.mime(message(i), 't')));
    for (const [i, raw] of built.entries()) {
      const parsed = await simpleParser(raw);
      expect(parsed.messageId).toBe(`<m${i}@mailsystem.test>`);
      expect(parsed.subject).toBe(`Rechnung ${i} — fällig ✓`);
      expect(parsed.to).toMatchObject({ value: [{ address: `r${i}@example.com`, name: `Recipient ${i}` }] });
      expect(parsed.html).toBe(`<p>Total ${i}: 10&nbsp;€</p>`);
      expect(parsed.text?.trim()).toBe(`Total ${i}: 10 €`);
      expect(raw.toString('latin1')).toContain('\r\nX-Tenant-Id: tenant-123\r\n');
      expect(parsed.attachments.map((a) => a.content)).toEqual(i === 0 ? [file] : []);
      const { results } = await dkimVerify(raw, {
        resolver: async (name: string) => {
          if (name !== 'ms1._domainkey.acme.test')
            throw Object.assign(new Error('none'), { code: 'ENOTFOUND' });
          return [[`v=DKIM1; k=rsa; p=${publicDer}`]];
        },
      });
      expect(results.map((r: { status: { result: string } }) => r.status.result)).toEqual(['pass']);
    }
  }, 60_000);
});

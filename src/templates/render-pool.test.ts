import { afterAll, describe, expect, it } from 'vitest';
import { AppError } from '../domain/errors.js';
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

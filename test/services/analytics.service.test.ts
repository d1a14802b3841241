import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyticsRepository } from '../../src/db/analytics.repository.js';
import { emailsRepository } from '../../src/db/emails.repository.js';
import { templatesRepository } from '../../src/db/templates.repository.js';
import { newId } from '../../src/lib/ids.js';
import { type AnalyticsQuery, analyticsService } from '../../src/services/analytics.service.js';
import {
  codeOf,
  insertEmail,
  refusalOf,
  type ServiceDb,
  seedTenant,
  serviceDb,
  type TenantSeed,
} from '../support/services.js';

const NOW = Date.parse('2024-05-10T15:20:00Z');
const ZERO = {
  queued: 0,
  sent: 0,
  delivered: 0,
  opened: 0,
  clicked: 0,
  bounced: 0,
  complained: 0,
  failed: 0,
};

/** GET /analytics: counts per UTC day or hour from the rollups the aggregator folds events into. */
describe('analytics service', () => {
  let s: ServiceDb;
  let analytics: ReturnType<typeof analyticsService>;
  let repo: ReturnType<typeof emailsRepository>;
  let seed: TenantSeed;

  beforeAll(async () => {
    s = await serviceDb();
    seed = await seedTenant(s.db);
    repo = emailsRepository(s.db);
    analytics = analyticsService({ analytics: analyticsRepository(s.db), now: () => NOW });
  });
  afterAll(async () => {
    await s?.close();
  });

  /** An email whose life is the events given (type, time, data), as delivery and webhooks write them. */
  const emailWith = async (
    seed: TenantSeed,
    events: [string, string, Record<string, unknown>?][],
    test = false,
  ) => {
    const id = await insertEmail(repo, seed, { test });
    // Accepted at its first event, like the mail it stands for.
    await s.sql('DELETE FROM email_events WHERE email_id = $1', [id]);
    await s.sql('UPDATE emails SET created_at = $2 WHERE id = $1', [id, events[0]?.[1]]);
    for (const [type, at, data] of events) {
      await s.sql(
        `INSERT INTO email_events (email_id, tenant_id, template_id, type, at, data)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [id, seed.tenantId, seed.templateId, type, at, data ?? {}],
      );
    }
    return id;
  };
  const fold = async () => expect(await analytics.fold()).not.toBeNull();
  const days = (from: string, to: string, extra: Partial<AnalyticsQuery> = {}) =>
    analytics.report(seed.tenantId, { from, to, groupBy: 'day', ...extra });

  it('counts each event in its UTC day and hour once folded, zero-filled, with totals', async () => {
    await emailWith(seed, [
      ['queued', '2024-05-01T10:15:00Z'],
      ['sent', '2024-05-01T10:16:00Z'],
      ['delivered', '2024-05-02T08:00:00Z'],
      ['opened', '2024-05-02T23:59:59Z', { unique: true }],
      ['clicked', '2024-05-03T00:00:00Z', { unique: true }],
      // Repeats (and machines) are recorded but not counted: opens and clicks count once per email.
      ['opened', '2024-05-03T01:00:00Z', { unique: false }],
      ['clicked', '2024-05-03T01:00:00Z', { unique: false }],
    ]);
    await emailWith(seed, [
      ['queued', '2024-05-01T11:00:00Z'],
      ['bounced', '2024-05-01T11:05:00Z'],
    ]);
    // Scheduled mail counts once, at acceptance: its later 'queued' is not counted again.
    await emailWith(seed, [
      ['scheduled', '2024-05-01T12:00:00Z'],
      ['queued', '2024-05-03T12:00:00Z', { from: 'scheduled' }],
      ['failed', '2024-05-03T12:01:00Z'],
    ]);
    // Reports read the rollups only: nothing shows before the aggregator folded the events.
    expect((await days('2024-05-01', '2024-05-03')).totals).toEqual(ZERO);
    await fold();

    const report = await days('2024-05-01', '2024-05-03');
    expect(report).toEqual({
      group_by: 'day',
      template_id: null,
      from: '2024-05-01T00:00:00.000Z',
      to: '2024-05-04T00:00:00.000Z',
      buckets: [
        { start: '2024-05-01T00:00:00.000Z', ...ZERO, queued: 3, sent: 1, bounced: 1 },
        { start: '2024-05-02T00:00:00.000Z', ...ZERO, delivered: 1, opened: 1 },
        { start: '2024-05-03T00:00:00.000Z', ...ZERO, clicked: 1, failed: 1 },
      ],
      totals: {
        queued: 3,
        sent: 1,
        delivered: 1,
        opened: 1,
        clicked: 1,
        bounced: 1,
        complained: 0,
        failed: 1,
      },
    });

    const hours = await analytics.report(seed.tenantId, {
      from: '2024-05-01T10:30:00Z',
      to: '2024-05-01T12:00:00Z',
      groupBy: 'hour',
    });
    expect(hours.buckets.map((b) => [b.start.slice(11, 13), b.queued, b.sent, b.bounced])).toEqual([
      ['10', 1, 1, 0],
      ['11', 1, 0, 1],
      ['12', 1, 0, 0],
    ]);
    // Folding again adds nothing.
    await fold();
    expect((await days('2024-05-01', '2024-05-03')).totals).toEqual(report.totals);
  });

  it("counts one template on its own, and answers not found for another tenant's template", async () => {
    const other = newId();
    await templatesRepository(s.db).create(seed.tenantId, other, 'other', {
      subject_template: 'Other',
      html_template: '<p>Other</p>',
      text_template: null,
    });
    await emailWith({ tenantId: seed.tenantId, templateId: other }, [['queued', '2024-05-04T09:00:00Z']]);
    await emailWith(seed, [['queued', '2024-05-04T10:00:00Z']]);
    await fold();
    expect((await days('2024-05-04', '2024-05-04')).totals.queued).toBe(2);
    const one = await days('2024-05-04', '2024-05-04', { templateId: other });
    expect(one).toMatchObject({ template_id: other, totals: { ...ZERO, queued: 1 } });

    const theirs = await seedTenant(s.db);
    expect(await codeOf(days('2024-05-04', '2024-05-04', { templateId: theirs.templateId }))).toBe(
      'template_not_found',
    );
    expect(await codeOf(days('2024-05-04', '2024-05-04', { templateId: newId() }))).toBe(
      'template_not_found',
    );
  });

  it("never counts another tenant's mail, and leaves test-mode mail out unless asked", async () => {
    const theirs = await seedTenant(s.db);
    await emailWith(theirs, [
      ['queued', '2024-05-05T09:00:00Z'],
      ['sent', '2024-05-05T09:01:00Z'],
    ]);
    await emailWith(seed, [['queued', '2024-05-05T10:00:00Z']]);
    await emailWith(
      seed,
      [
        ['queued', '2024-05-05T11:00:00Z'],
        ['sent', '2024-05-05T11:01:00Z'],
      ],
      true,
    );
    await fold();
    expect((await days('2024-05-05', '2024-05-05')).totals).toEqual({ ...ZERO, queued: 1 });
    expect((await days('2024-05-05', '2024-05-05', { includeTest: true })).totals).toEqual({
      ...ZERO,
      queued: 2,
      sent: 1,
    });
    expect(
      (await analytics.report(theirs.tenantId, { from: '2024-05-05', to: '2024-05-05', groupBy: 'day' }))
        .totals,
    ).toEqual({ ...ZERO, queued: 1, sent: 1 });
  });

  it("does not take a real open out for a test-mode email's repeated open", async () => {
    // Outside the default range, so that the test of the defaults below counts as before.
    const day = '2024-03-01';
    await emailWith(seed, [
      ['queued', `${day}T08:00:00Z`],
      ['sent', `${day}T08:01:00Z`],
      ['opened', `${day}T09:00:00Z`, { unique: true }],
    ]);
    await emailWith(
      seed,
      [
        ['queued', `${day}T10:00:00Z`],
        ['sent', `${day}T10:01:00Z`],
        ['opened', `${day}T10:05:00Z`, { unique: true }],
        ['opened', `${day}T10:06:00Z`, { unique: false }],
        ['clicked', `${day}T10:07:00Z`, { unique: true }],
        ['clicked', `${day}T10:08:00Z`, { unique: false }],
      ],
      true,
    );
    await fold();
    expect((await days(day, day)).totals).toEqual({ ...ZERO, queued: 1, sent: 1, opened: 1 });
    expect((await days(day, day, { includeTest: true })).totals).toEqual({
      ...ZERO,
      queued: 2,
      sent: 2,
      opened: 2,
      clicked: 1,
    });
  });

  it('covers the last 30 days or 24 hours by default, and a date as `to` means the end of that day', async () => {
    const byDay = await analytics.report(seed.tenantId, { groupBy: 'day' });
    expect(byDay.buckets).toHaveLength(30);
    expect([byDay.from, byDay.to]).toEqual(['2024-04-11T00:00:00.000Z', '2024-05-11T00:00:00.000Z']);
    // The defaults include the days counted above.
    expect(byDay.totals.queued).toBe(6);
    const byHour = await analytics.report(seed.tenantId, { groupBy: 'hour' });
    expect([byHour.buckets.length, byHour.from, byHour.to]).toEqual([
      24,
      '2024-05-09T16:00:00.000Z',
      '2024-05-10T16:00:00.000Z',
    ]);
    const wholeDay = await analytics.report(seed.tenantId, {
      from: '2024-05-01',
      to: '2024-05-01',
      groupBy: 'hour',
    });
    expect(wholeDay.buckets).toHaveLength(24);
    expect(wholeDay.totals.queued).toBe(3);
  });

  it('refuses times it cannot read, a range backwards and a range too long, naming the field', async () => {
    const refusal = async (q: AnalyticsQuery) => {
      const r = await refusalOf(analytics.report(seed.tenantId, q));
      return [r?.code, (r?.details as { field: string }[] | undefined)?.[0]?.field];
    };
    expect(await refusal({ from: 'yesterday', groupBy: 'day' })).toEqual(['validation_failed', 'from']);
    expect(await refusal({ to: '2024-02-30', groupBy: 'day' })).toEqual(['validation_failed', 'to']);
    // Times the calendar does not have, which Date.parse would roll over into the next day or month.
    for (const to of [
      '2024-13-01T10:00:00Z',
      '2024-05-01T24:00:00Z',
      '2024-02-30T10:00:00Z',
      '2024-05-01T10:60:00Z',
      '2024-05-01T10:00:60Z',
    ]) {
      expect({ to, refused: await refusal({ to, groupBy: 'hour' }) }).toEqual({
        to,
        refused: ['validation_failed', 'to'],
      });
    }
    // With an offset or fractional seconds, a real time is read as it says.
    const offset = await analytics.report(seed.tenantId, {
      from: '2024-05-09T23:30:00.5+02:00',
      to: '2024-05-10T01:00:00-00:00',
      groupBy: 'hour',
    });
    // `to` is reported as the end of its hour, as every range is.
    expect([offset.from, offset.to]).toEqual(['2024-05-09T21:00:00.000Z', '2024-05-10T02:00:00.000Z']);
    expect(await refusal({ from: '2024-05-02', to: '2024-05-01', groupBy: 'day' })).toEqual([
      'validation_failed',
      'from',
    ]);
    expect(await refusal({ from: '2023-01-01', to: '2024-05-01', groupBy: 'day' })).toEqual([
      'validation_failed',
      'to',
    ]);
    expect(await refusal({ from: '2024-03-31', to: '2024-05-01', groupBy: 'hour' })).toEqual([
      'validation_failed',
      'to',
    ]);
    // At the limits: 400 days, 744 hours.
    expect((await days('2023-04-07', '2024-05-10')).buckets).toHaveLength(400);
    const month = await analytics.report(seed.tenantId, {
      from: '2024-04-10',
      to: '2024-05-10T23:00:00Z',
      groupBy: 'hour',
    });
    expect(month.buckets).toHaveLength(744);
  });
});

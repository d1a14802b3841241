import {
  ANALYTICS_COUNTERS,
  type AnalyticsCounts,
  type AnalyticsGranularity,
  type AnalyticsRepository,
} from '../db/analytics.repository.js';
import { AppError } from '../domain/errors.js';
import { parseTimeParam } from '../lib/time.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const BUCKET_MS: Record<AnalyticsGranularity, number> = { hour: HOUR_MS, day: DAY_MS };
/** Longest ranges, in buckets: a bit more than a year by day, a month by hour. */
export const MAX_BUCKETS: Record<AnalyticsGranularity, number> = { day: 400, hour: 31 * 24 };
/** Buckets in the default range (no `from`): 30 days, or 24 hours. */
const DEFAULT_BUCKETS: Record<AnalyticsGranularity, number> = { day: 30, hour: 24 };

export interface AnalyticsQuery {
  from?: string | undefined;
  to?: string | undefined;
  groupBy: AnalyticsGranularity;
  templateId?: string | undefined;
  /** Count test-mode mail too (left out by default). */
  includeTest?: boolean | undefined;
}

export interface AnalyticsReport {
  group_by: AnalyticsGranularity;
  template_id: string | null;
  from: string;
  to: string;
  buckets: Array<{ start: string } & AnalyticsCounts>;
  totals: AnalyticsCounts;
}

const zero = (): AnalyticsCounts =>
  Object.fromEntries(ANALYTICS_COUNTERS.map((c) => [c, 0])) as AnalyticsCounts;

const floorTo = (ms: number, size: number) => Math.floor(ms / size) * size;

const badField = (field: string, message: string) =>
  new AppError('validation_failed', undefined, [{ field, message }]);

/**
 * A time from the query: an RFC 3339 date-time, or a date (UTC). A date as `to` means the end of
 * that day, so `from=2024-05-01&to=2024-05-31` covers the whole of May.
 */
function parseTime(field: 'from' | 'to', value: string): number {
  const ms = parseTimeParam(value, { endOfDay: field === 'to' });
  if (ms === null) throw badField(field, 'must be an RFC 3339 date-time or a YYYY-MM-DD date');
  return ms;
}

/**
 * Counts per UTC hour or day, read from the rollups the aggregator keeps (never from
 * email_events), zero-filled, with totals.
 */
export function analyticsService(deps: { analytics: AnalyticsRepository; now?: () => number }) {
  const now = deps.now ?? Date.now;
  return {
    async report(tenantId: string, q: AnalyticsQuery): Promise<AnalyticsReport> {
      const size = BUCKET_MS[q.groupBy];
      const toMs = q.to === undefined ? now() : parseTime('to', q.to);
      const lastBucket = floorTo(toMs, size);
      const firstBucket =
        q.from === undefined
          ? lastBucket - (DEFAULT_BUCKETS[q.groupBy] - 1) * size
          : floorTo(parseTime('from', q.from), size);
      if (firstBucket > lastBucket) throw badField('from', 'must not be after to');
      const count = (lastBucket - firstBucket) / size + 1;
      if (count > MAX_BUCKETS[q.groupBy]) {
        throw badField(
          'to',
          `the range may span at most ${MAX_BUCKETS[q.groupBy]} ${q.groupBy === 'day' ? 'days' : 'hours'} when grouped by ${q.groupBy}`,
        );
      }
      if (q.templateId !== undefined && !(await deps.analytics.templateExists(tenantId, q.templateId))) {
        // Another tenant's template answers exactly like an unknown one.
        throw new AppError('template_not_found');
      }

      const rows = await deps.analytics.buckets(
        tenantId,
        q.templateId ?? null,
        q.groupBy,
        new Date(firstBucket),
        new Date(lastBucket),
      );
      // The rollups count test-mode mail too; it is taken out unless asked for. Its events are
      // read as they are now while the rollups trail them by the aggregator's interval, so a
      // bucket is floored at zero rather than shown below it for that moment.
      const testRows = q.includeTest
        ? []
        : await deps.analytics.testBuckets(
            tenantId,
            q.templateId ?? null,
            q.groupBy,
            new Date(firstBucket),
            new Date(lastBucket),
          );
      const byStart = new Map(rows.map((r) => [r.bucket.getTime(), r]));
      const testByStart = new Map(testRows.map((r) => [r.bucket.getTime(), r]));
      const totals = zero();
      const buckets: AnalyticsReport['buckets'] = [];
      for (let t = firstBucket; t <= lastBucket; t += size) {
        const row = byStart.get(t);
        const counts = zero();
        for (const c of ANALYTICS_COUNTERS) {
          const test = testByStart.get(t);
          counts[c] = Math.max(0, (row ? Number(row[c]) : 0) - (test ? Number(test[c]) : 0));
          totals[c] += counts[c];
        }
        buckets.push({ start: new Date(t).toISOString(), ...counts });
      }
      return {
        group_by: q.groupBy,
        template_id: q.templateId ?? null,
        from: new Date(firstBucket).toISOString(),
        to: new Date(lastBucket + size).toISOString(),
        buckets,
        totals,
      };
    },

    /** One aggregation pass (worker role); null when another process is folding. */
    fold: () => deps.analytics.fold(5000, 100),
  };
}
export type AnalyticsService = ReturnType<typeof analyticsService>;

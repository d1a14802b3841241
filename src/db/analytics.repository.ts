import type { Database } from './database.js';

/** The counters GET /analytics reports, in response order. */
export const ANALYTICS_COUNTERS = [
  'queued',
  'sent',
  'delivered',
  'opened',
  'clicked',
  'bounced',
  'complained',
  'failed',
] as const;
export type AnalyticsCounter = (typeof ANALYTICS_COUNTERS)[number];
export type AnalyticsCounts = Record<AnalyticsCounter, number>;
export type AnalyticsGranularity = 'hour' | 'day';

/** The template id of the rollup rows that count every template of a tenant together. */
export const ALL_TEMPLATES = '00000000-0000-0000-0000-000000000000';
/** Any fixed number shared by every worker process: one aggregator folds at a time. */
export const AGGREGATOR_LOCK_KEY = 4_242_004;

const COLS = ANALYTICS_COUNTERS.join(', ');
const sums = ANALYTICS_COUNTERS.map((c) => `sum(${c})::bigint AS ${c}`).join(', ');
const adds = ANALYTICS_COUNTERS.map((c) => `${c} = r.${c} + EXCLUDED.${c}`).join(', ');
const TABLE: Record<AnalyticsGranularity, string> = { hour: 'analytics_hourly', day: 'analytics_daily' };

// One statement: drain a batch of committed pending counts, add them to the per-template and the
// all-templates rows of both rollups. Only committed pending rows are visible to the DELETE, so an
// event is folded exactly once, when its transaction has committed.
const FOLD_SQL = `
  WITH moved AS (
    DELETE FROM analytics_pending
     WHERE ctid = ANY (ARRAY(SELECT ctid FROM analytics_pending LIMIT $1))
    RETURNING *
  ), per_template AS (
    SELECT tenant_id, template_id, hour, ${sums} FROM moved GROUP BY tenant_id, template_id, hour
  ), hourly AS (
    SELECT * FROM per_template
    UNION ALL
    SELECT tenant_id, '${ALL_TEMPLATES}'::uuid, hour, ${sums} FROM per_template GROUP BY tenant_id, hour
  ), h AS (
    INSERT INTO analytics_hourly AS r (tenant_id, template_id, bucket, ${COLS})
    SELECT * FROM hourly
    ON CONFLICT (tenant_id, template_id, bucket) DO UPDATE SET ${adds}
  ), d AS (
    INSERT INTO analytics_daily AS r (tenant_id, template_id, bucket, ${COLS})
    SELECT tenant_id, template_id, date_trunc('day', hour, 'UTC'), ${sums}
      FROM hourly GROUP BY tenant_id, template_id, date_trunc('day', hour, 'UTC')
    ON CONFLICT (tenant_id, template_id, bucket) DO UPDATE SET ${adds}
  )
  SELECT count(*)::int AS rows FROM moved`;

export interface RollupRow extends AnalyticsCounts {
  bucket: Date;
}

export function analyticsRepository(db: Database) {
  return {
    /**
     * Folds committed pending counts into the rollups, `batch` pending rows per statement, while
     * holding the aggregator lock. Returns null when another process holds the lock.
     */
    async fold(batch: number, maxBatches: number): Promise<{ rows: number } | null> {
      // Each batch is one statement, atomic on its own; the lock keeps folders from queueing
      // behind each other's row locks.
      return db.withLock(AGGREGATOR_LOCK_KEY, async () => {
        let total = 0;
        for (let i = 0; i < maxBatches; i++) {
          const r = await db.query<{ rows: number }>(FOLD_SQL, [batch]);
          const n = r.rows[0]?.rows ?? 0;
          total += n;
          if (n < batch) break;
        }
        return { rows: total };
      });
    },

    /** Rollup rows in [from, to] (bucket starts), ascending; buckets without events are absent. */
    async buckets(
      tenantId: string,
      templateId: string | null,
      granularity: AnalyticsGranularity,
      from: Date,
      to: Date,
    ): Promise<RollupRow[]> {
      const { rows } = await db.query<RollupRow>(
        `SELECT bucket, ${COLS} FROM ${TABLE[granularity]}
          WHERE tenant_id = $1 AND template_id = $2 AND bucket BETWEEN $3 AND $4
          ORDER BY bucket`,
        [tenantId, templateId ?? ALL_TEMPLATES, from, to],
      );
      return rows;
    },

    /**
     * The same counters for test-mode mail alone, from its events (the rollups count every
     * email; the report takes these out unless asked to keep them). Starts from the tenant's test
     * emails (a partial index), so a tenant that never sent test mail costs one empty index probe.
     */
    async testBuckets(
      tenantId: string,
      templateId: string | null,
      granularity: AnalyticsGranularity,
      from: Date,
      to: Date,
    ): Promise<RollupRow[]> {
      const { rows } = await db.query<RollupRow>(
        `SELECT date_trunc($5, n.at, 'UTC') AS bucket,
                count(*) FILTER (WHERE n.type IN ('queued', 'scheduled')
                                   AND (n.type <> 'queued' OR n.data->>'from' IS DISTINCT FROM 'scheduled'))::int AS queued,
                count(*) FILTER (WHERE n.type = 'sent')::int AS sent,
                count(*) FILTER (WHERE n.type = 'delivered')::int AS delivered,
                -- As the rollups count them: repeats and machine hits ("unique": false) are not opens.
                count(*) FILTER (WHERE n.type = 'opened' AND n.data->>'unique' IS DISTINCT FROM 'false')::int AS opened,
                count(*) FILTER (WHERE n.type = 'clicked' AND n.data->>'unique' IS DISTINCT FROM 'false')::int AS clicked,
                count(*) FILTER (WHERE n.type = 'bounced')::int AS bounced,
                count(*) FILTER (WHERE n.type = 'complained')::int AS complained,
                count(*) FILTER (WHERE n.type = 'failed')::int AS failed
           FROM emails e JOIN email_events n ON n.email_id = e.id
          WHERE e.tenant_id = $1 AND e.test AND ($2::uuid IS NULL OR e.template_id = $2)
            AND e.created_at < $4::timestamptz + CASE WHEN $5 = 'day' THEN interval '1 day' ELSE interval '1 hour' END
            AND n.at >= $3 AND n.at < $4::timestamptz + CASE WHEN $5 = 'day' THEN interval '1 day' ELSE interval '1 hour' END
          GROUP BY 1`,
        [tenantId, templateId, from, to, granularity],
      );
      return rows;
    },

    async templateExists(tenantId: string, templateId: string): Promise<boolean> {
      const { rows } = await db.query('SELECT 1 FROM templates WHERE tenant_id = $1 AND id = $2', [
        tenantId,
        templateId,
      ]);
      return rows.length > 0;
    },

    /** Pending counts not folded yet: the aggregator's backlog (a metric). */
    async backlog(): Promise<number> {
      const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM analytics_pending');
      return rows[0]?.n ?? 0;
    },
  };
}
export type AnalyticsRepository = ReturnType<typeof analyticsRepository>;

-- Analytics rollups (docs/analytics.md). GET /analytics reads these tables only, never email_events.
--
-- How events reach them: a statement-level trigger on email_events counts the rows each INSERT
-- statement adds, grouped by (tenant, template, UTC hour), into analytics_pending, inside the
-- inserting transaction. The aggregator (worker role, about once a second) moves committed pending
-- rows into the hourly and daily rollups with one DELETE … RETURNING statement. A pending row
-- becomes visible exactly when the events it counts commit, so events that commit out of id
-- order are neither skipped nor counted twice, which a watermark over email_events.id cannot
-- promise without extra bookkeeping.

-- Counts waiting to be folded. Append-only for writers (no upsert, so no row contention on the
-- send path); drained by the aggregator.
CREATE TABLE analytics_pending (
  tenant_id   text NOT NULL,
  template_id uuid NOT NULL,
  hour        timestamptz NOT NULL,
  queued      integer NOT NULL DEFAULT 0,
  sent        integer NOT NULL DEFAULT 0,
  delivered   integer NOT NULL DEFAULT 0,
  opened      integer NOT NULL DEFAULT 0,
  clicked     integer NOT NULL DEFAULT 0,
  bounced     integer NOT NULL DEFAULT 0,
  complained  integer NOT NULL DEFAULT 0,
  failed      integer NOT NULL DEFAULT 0
);

-- One row per (tenant, template, bucket). The nil uuid stands for "every template", so a query
-- without template_id reads one row per bucket however many templates the tenant has.
CREATE TABLE analytics_hourly (
  tenant_id   text NOT NULL,
  template_id uuid NOT NULL,
  bucket      timestamptz NOT NULL,
  queued      bigint NOT NULL DEFAULT 0,
  sent        bigint NOT NULL DEFAULT 0,
  delivered   bigint NOT NULL DEFAULT 0,
  opened      bigint NOT NULL DEFAULT 0,
  clicked     bigint NOT NULL DEFAULT 0,
  bounced     bigint NOT NULL DEFAULT 0,
  complained  bigint NOT NULL DEFAULT 0,
  failed      bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, template_id, bucket)
);

CREATE TABLE analytics_daily (LIKE analytics_hourly INCLUDING ALL);

-- `queued` counts accepted emails: the first event of each email (queued, or scheduled for a
-- future send_at). A scheduled email that comes due logs a second `queued` event marked
-- {"from": "scheduled"}, which is not counted again.
CREATE FUNCTION analytics_capture_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO analytics_pending
    (tenant_id, template_id, hour, queued, sent, delivered, opened, clicked, bounced, complained, failed)
  SELECT n.tenant_id, e.template_id, date_trunc('hour', n.at, 'UTC'),
         count(*) FILTER (WHERE n.type IN ('queued', 'scheduled')),
         count(*) FILTER (WHERE n.type = 'sent'),
         count(*) FILTER (WHERE n.type = 'delivered'),
         count(*) FILTER (WHERE n.type = 'opened'),
         count(*) FILTER (WHERE n.type = 'clicked'),
         count(*) FILTER (WHERE n.type = 'bounced'),
         count(*) FILTER (WHERE n.type = 'complained'),
         count(*) FILTER (WHERE n.type = 'failed')
    FROM analytics_new_events n
    JOIN emails e ON e.id = n.email_id AND e.tenant_id = n.tenant_id
   WHERE n.type IN ('queued', 'scheduled', 'sent', 'delivered', 'opened', 'clicked', 'bounced',
                    'complained', 'failed')
     AND (n.type <> 'queued' OR n.data->>'from' IS DISTINCT FROM 'scheduled')
   GROUP BY 1, 2, 3;
  RETURN NULL;
END
$$;

CREATE TRIGGER email_events_analytics
  AFTER INSERT ON email_events
  REFERENCING NEW TABLE AS analytics_new_events
  FOR EACH STATEMENT EXECUTE FUNCTION analytics_capture_events();

-- Events stored before this migration are counted once, through the same path.
INSERT INTO analytics_pending
  (tenant_id, template_id, hour, queued, sent, delivered, opened, clicked, bounced, complained, failed)
SELECT n.tenant_id, e.template_id, date_trunc('hour', n.at, 'UTC'),
       count(*) FILTER (WHERE n.type IN ('queued', 'scheduled')),
       count(*) FILTER (WHERE n.type = 'sent'),
       count(*) FILTER (WHERE n.type = 'delivered'),
       count(*) FILTER (WHERE n.type = 'opened'),
       count(*) FILTER (WHERE n.type = 'clicked'),
       count(*) FILTER (WHERE n.type = 'bounced'),
       count(*) FILTER (WHERE n.type = 'complained'),
       count(*) FILTER (WHERE n.type = 'failed')
  FROM email_events n
  JOIN emails e ON e.id = n.email_id AND e.tenant_id = n.tenant_id
 WHERE n.type IN ('queued', 'scheduled', 'sent', 'delivered', 'opened', 'clicked', 'bounced',
                  'complained', 'failed')
   AND (n.type <> 'queued' OR n.data->>'from' IS DISTINCT FROM 'scheduled')
 GROUP BY 1, 2, 3;

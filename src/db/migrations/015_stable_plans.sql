-- Plans that stay good whatever the statistics say (docs/performance.md, "Stale statistics").
--
-- PL/pgSQL keeps the plan of each SQL statement in a function for the life of the connection.
-- The analytics trigger's statement has no parameters, so it is planned once, when it first runs
-- on a connection, from what `emails` looked like then. It joined the statement's new events back
-- to `emails` for their template: planned while `emails` was small (a fresh install, or a table
-- never analyzed because autovacuum is off or has not run yet), that join became a scan of
-- `emails` per event, and a 5,000-recipient bulk fan-out statement spent minutes of CPU once the
-- table held a few hundred thousand rows.
--
-- Now each event carries its email's template (every writer sets it from the email row it has in
-- hand), so the trigger reads only the statement's own new rows. An event written without it (a
-- writer outside the application) is still counted: its template is looked up by primary key, and
-- the function forbids sequential scans so that lookup cannot be planned as one.
ALTER TABLE email_events ADD COLUMN template_id uuid;

CREATE OR REPLACE FUNCTION analytics_capture_events() RETURNS trigger LANGUAGE plpgsql
SET enable_seqscan = off
AS $$
BEGIN
  INSERT INTO analytics_pending
    (tenant_id, template_id, hour, queued, sent, delivered, opened, clicked, bounced, complained, failed)
  SELECT n.tenant_id,
         coalesce(n.template_id, (SELECT e.template_id FROM emails e WHERE e.id = n.email_id)),
         date_trunc('hour', n.at, 'UTC'),
         count(*) FILTER (WHERE n.type IN ('queued', 'scheduled')),
         count(*) FILTER (WHERE n.type = 'sent'),
         count(*) FILTER (WHERE n.type = 'delivered'),
         count(*) FILTER (WHERE n.type = 'opened'),
         count(*) FILTER (WHERE n.type = 'clicked'),
         count(*) FILTER (WHERE n.type = 'bounced'),
         count(*) FILTER (WHERE n.type = 'complained'),
         count(*) FILTER (WHERE n.type = 'failed')
    FROM analytics_new_events n
   WHERE n.type IN ('queued', 'scheduled', 'sent', 'delivered', 'opened', 'clicked', 'bounced',
                    'complained', 'failed')
     AND (n.type <> 'queued' OR n.data->>'from' IS DISTINCT FROM 'scheduled')
   GROUP BY 1, 2, 3;
  RETURN NULL;
END
$$;

-- record_webhook_event looks emails up by parameters (our id, the provider's message id). Its
-- cached generic plan would be made from the table's size when a connection first ran it; a custom
-- plan per call is made from the table's current size (PostgreSQL scales the last known density
-- by the current number of pages even when the table was never analyzed) and costs far less than
-- a scan of `emails`.
DO $$
DECLARE f regprocedure;
BEGIN
  FOR f IN SELECT oid::regprocedure FROM pg_proc WHERE proname = 'record_webhook_event' LOOP
    EXECUTE format('ALTER FUNCTION %s SET plan_cache_mode = force_custom_plan', f);
  END LOOP;
END
$$;

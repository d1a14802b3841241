-- Tenant event webhooks (an outbox beside email_events) and open/click tracking settings.
-- docs/webhooks.md ("Outbound webhooks") and docs/tracking.md explain the design.

CREATE TABLE webhook_endpoints (
  id                         uuid PRIMARY KEY,
  tenant_id                  text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  url                        text NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
  description                text CHECK (length(description) <= 500),
  -- Event types ("email.sent", …) or '*' for all of them.
  events                     text[] NOT NULL CHECK (cardinality(events) >= 1),
  enabled                    boolean NOT NULL DEFAULT true,
  disabled_reason            text,
  -- whsec_… (Standard Webhooks). The previous secret keeps signing beside the new one until it
  -- expires, so a receiver can roll over without missing an event.
  secret                     text NOT NULL,
  previous_secret            text,
  previous_secret_expires_at timestamptz,
  -- Start of the current run of failed attempts (null after a success): 5 days of it disables.
  failing_since              timestamptz,
  created_at                 timestamptz NOT NULL DEFAULT now(),
  updated_at                 timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_tenant_idx ON webhook_endpoints (tenant_id, created_at DESC, id DESC);
-- The outbox trigger's only probe for tenants without endpoints.
CREATE INDEX webhook_endpoints_enabled_idx ON webhook_endpoints (tenant_id) WHERE enabled;

-- The outbox and the delivery log in one: one row per (event, endpoint). Its id is the
-- `webhook-id` header, the same on every attempt.
CREATE TABLE webhook_deliveries (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id       text NOT NULL,
  endpoint_id     uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
  -- email_events.id of the event reported (null for bulk.completed and test events): the order in
  -- which one email's events are sent to one endpoint.
  event_id        bigint,
  email_id        uuid,
  type            text NOT NULL,
  payload         jsonb NOT NULL,
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz DEFAULT now(),
  lease_until     timestamptz,
  -- When the relay (or the retry itself) last put it in mail.webhooks: redispatched only when that
  -- is older than the grace (its job was lost: Redis flushed, process killed).
  dispatched_at   timestamptz,
  last_attempt_at timestamptz,
  last_status     integer,
  last_error      text,
  last_response   text,
  last_latency_ms integer,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
-- The relay's scan: only what waits is indexed, so it stays small however long the log grows.
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_order_idx ON webhook_deliveries (endpoint_id, email_id, event_id)
  WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, created_at DESC, id DESC);

-- email_events.type → the event type tenants subscribe to; types not listed are not reported.
CREATE FUNCTION webhook_event_type(p_type text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE p_type
    WHEN 'queued' THEN 'email.queued'
    WHEN 'sent' THEN 'email.sent'
    WHEN 'delivered' THEN 'email.delivered'
    WHEN 'deferred' THEN 'email.delivery_delayed'
    WHEN 'bounced' THEN 'email.bounced'
    WHEN 'complained' THEN 'email.complained'
    WHEN 'failed' THEN 'email.failed'
    WHEN 'suppressed' THEN 'email.suppressed'
    WHEN 'opened' THEN 'email.opened'
    WHEN 'clicked' THEN 'email.clicked'
    WHEN 'unsubscribed' THEN 'email.unsubscribed'
  END
$$;

CREATE FUNCTION webhook_time(p_at timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT to_char(p_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

-- Why a trigger: events are appended by many writers (acceptance, claims, outcomes, bulk fan-out,
-- dead-letter retries, unsubscribes, the provider-webhook function); a statement-level trigger
-- covers each of them, in the writer's own transaction, without touching any. It is set-based
-- (one INSERT … SELECT per statement, however many rows a bulk chunk adds), and for a tenant with
-- no enabled endpoint it costs one probe of a partial index per distinct tenant in the statement.
-- The email's fields are read by a scalar subquery per event row on the primary key. PL/pgSQL keeps
-- a statement's plan for the life of the connection, made from the table sizes of its first run
-- (a fresh install, or statistics never refreshed: autovacuum may be off); sequential scans are
-- forbidden in the function so that no plan made while a table was small becomes a scan per event.
CREATE FUNCTION webhook_outbox_capture() RETURNS trigger LANGUAGE plpgsql
SET enable_seqscan = off
AS $$
BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM webhook_endpoints w
     WHERE w.enabled AND w.tenant_id IN (SELECT DISTINCT n.tenant_id FROM webhook_new_events n)
  ) THEN
    RETURN NULL;
  END IF;
  INSERT INTO webhook_deliveries (tenant_id, endpoint_id, event_id, email_id, type, payload)
  SELECT x.tenant_id, w.id, x.id, x.email_id, x.wtype,
         jsonb_build_object(
           'type', x.wtype,
           'created_at', webhook_time(x.at),
           'data', (x.data - 'metadata' - 'tags' - 'from') || x.email)
    FROM (
      SELECT n.id, n.tenant_id, n.email_id, n.at, n.data, webhook_event_type(n.type) AS wtype,
             (SELECT jsonb_build_object(
                       'email_id', e.id, 'bulk_job_id', e.bulk_job_id, 'recipient', e.recipient_email,
                       'template_id', e.template_id, 'tags', to_jsonb(e.tags), 'metadata', e.metadata)
                FROM emails e WHERE e.id = n.email_id) AS email
        FROM webhook_new_events n
       WHERE webhook_event_type(n.type) IS NOT NULL
    ) x
    JOIN webhook_endpoints w
      ON w.tenant_id = x.tenant_id AND w.enabled AND (x.wtype = ANY (w.events) OR '*' = ANY (w.events))
   WHERE x.email IS NOT NULL
   ORDER BY x.id;
  RETURN NULL;
END
$$;

CREATE TRIGGER email_events_webhook_outbox
  AFTER INSERT ON email_events
  REFERENCING NEW TABLE AS webhook_new_events
  FOR EACH STATEMENT EXECUTE FUNCTION webhook_outbox_capture();

-- bulk.completed: a bulk job's status turns 'completed' once (a rare row update).
CREATE FUNCTION webhook_outbox_bulk_completed() RETURNS trigger LANGUAGE plpgsql
SET enable_seqscan = off
AS $$
BEGIN
  INSERT INTO webhook_deliveries (tenant_id, endpoint_id, type, payload)
  SELECT NEW.tenant_id, w.id, 'bulk.completed',
         jsonb_build_object(
           'type', 'bulk.completed',
           'created_at', webhook_time(now()),
           'data', jsonb_build_object(
             'bulk_job_id', NEW.id, 'template_id', NEW.template_id, 'total', NEW.total,
             'accepted', NEW.accepted, 'suppressed', NEW.suppressed_count,
             'cancelled', NEW.cancelled_count, 'invalid', NEW.invalid_count,
             'duplicates', NEW.duplicate_count, 'metadata', NEW.metadata))
    FROM webhook_endpoints w
   WHERE w.tenant_id = NEW.tenant_id AND w.enabled
     AND ('bulk.completed' = ANY (w.events) OR '*' = ANY (w.events));
  RETURN NULL;
END
$$;

CREATE TRIGGER bulk_jobs_webhook_completed
  AFTER UPDATE OF status ON bulk_jobs
  FOR EACH ROW WHEN (NEW.status = 'completed' AND OLD.status IS DISTINCT FROM 'completed')
  EXECUTE FUNCTION webhook_outbox_bulk_completed();

-- Open and click tracking (docs/tracking.md): tenant defaults, and the choice of each send
-- (null: the tenant's default at delivery time).
ALTER TABLE tenants ADD COLUMN track_opens boolean NOT NULL DEFAULT false;
ALTER TABLE tenants ADD COLUMN track_clicks boolean NOT NULL DEFAULT false;
ALTER TABLE emails ADD COLUMN track_opens boolean;
ALTER TABLE emails ADD COLUMN track_clicks boolean;
ALTER TABLE bulk_jobs ADD COLUMN track_opens boolean;
ALTER TABLE bulk_jobs ADD COLUMN track_clicks boolean;

-- Analytics count opens and clicks unique per email. A tracking event says whether it is the
-- email's first by a person ("unique": true); the analytics trigger counts every opened/clicked
-- row, so this trigger, in the same statement, counts the others (repeats and machine hits,
-- "unique": false) out again with negative counts that the aggregator folds like any other.
-- Done beside the analytics trigger rather than inside it so that the two stay independent.
-- Provider-reported opens carry no flag and are counted as before.
CREATE FUNCTION analytics_uncount_repeat_hits() RETURNS trigger LANGUAGE plpgsql
SET enable_seqscan = off
AS $$
BEGIN
  INSERT INTO analytics_pending (tenant_id, template_id, hour, opened, clicked)
  SELECT n.tenant_id, (SELECT e.template_id FROM emails e WHERE e.id = n.email_id),
         date_trunc('hour', n.at, 'UTC'),
         -count(*) FILTER (WHERE n.type = 'opened'),
         -count(*) FILTER (WHERE n.type = 'clicked')
    FROM tracking_new_events n
   WHERE n.type IN ('opened', 'clicked') AND n.data->>'unique' = 'false'
     AND EXISTS (SELECT 1 FROM emails e WHERE e.id = n.email_id AND e.tenant_id = n.tenant_id)
   GROUP BY 1, 2, 3;
  RETURN NULL;
END
$$;

CREATE TRIGGER email_events_analytics_repeat_hits
  AFTER INSERT ON email_events
  REFERENCING NEW TABLE AS tracking_new_events
  FOR EACH STATEMENT EXECUTE FUNCTION analytics_uncount_repeat_hits();

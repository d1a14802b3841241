-- Provider webhook ingestion without a planner run per statement (docs/performance.md, "Provider
-- webhook ingestion").
--
-- Migration 015 made record_webhook_event plan every statement for each call
-- (plan_cache_mode = force_custom_plan), so that a plan cached while `emails` was small could not
-- stay a scan of `emails`. Planning its four or five statements was then most of the database's
-- work per event (measured: a call took two to three times as long as with cached plans). Its
-- statements find and change one email by a unique key, so a cached plan is safe as soon as it
-- cannot be a sequential scan: the function now forbids sequential scans (as the event triggers
-- of migrations 013 and 015 do) and keeps its plans for the connection (plan_cache_mode = auto,
-- overriding the application's connection-wide force_custom_plan). Every plan it can make reads
-- `emails` through an index on the key it is given: emails_pkey for our id, and
-- emails_provider_message_idx for the provider's message id.
--
-- The event it appends now carries its email's template (read with the email, as every other
-- writer does since migration 015), so the analytics trigger no longer looks the email up again.
CREATE OR REPLACE FUNCTION record_webhook_event(
  p_provider            text,
  p_event_id            text,
  p_email_id            uuid,
  p_provider_message_id text,
  p_provider_type       text,
  p_occurred_at         timestamptz,
  p_payload             jsonb,
  p_transitions         jsonb,
  p_event_type          text,
  p_event_data          jsonb,
  p_suppression_reason  text,
  p_suppression_source  jsonb,
  OUT was_inserted      boolean,
  OUT found_email_id    uuid,
  OUT found_tenant_id   text
) LANGUAGE plpgsql
SET plan_cache_mode = auto
SET enable_seqscan = off
AS $$
DECLARE
  v_recipient text;
  v_metadata  jsonb;
  v_tags      text[];
  v_template  uuid;
BEGIN
  IF p_email_id IS NOT NULL THEN
    SELECT e.id, e.tenant_id, e.recipient_email, e.metadata, e.tags, e.template_id
      INTO found_email_id, found_tenant_id, v_recipient, v_metadata, v_tags, v_template
      FROM emails e WHERE e.id = p_email_id;
  END IF;
  IF found_email_id IS NULL AND p_provider_message_id IS NOT NULL THEN
    SELECT e.id, e.tenant_id, e.recipient_email, e.metadata, e.tags, e.template_id
      INTO found_email_id, found_tenant_id, v_recipient, v_metadata, v_tags, v_template
      FROM emails e WHERE e.provider = p_provider AND e.provider_message_id = p_provider_message_id
     ORDER BY e.created_at DESC LIMIT 1;
  END IF;

  INSERT INTO provider_webhook_events
         (provider, provider_event_id, tenant_id, email_id, type, occurred_at, payload)
  VALUES (p_provider, p_event_id, found_tenant_id, found_email_id, p_provider_type, p_occurred_at, p_payload)
  ON CONFLICT (provider, provider_event_id) DO NOTHING;
  was_inserted := FOUND;
  IF NOT was_inserted OR found_email_id IS NULL THEN
    RETURN;
  END IF;

  IF p_transitions IS NOT NULL THEN
    UPDATE emails e SET status = p_transitions ->> e.status, updated_at = now()
     WHERE e.tenant_id = found_tenant_id AND e.id = found_email_id AND p_transitions ? e.status;
  END IF;
  IF p_event_type IS NOT NULL THEN
    INSERT INTO email_events (email_id, tenant_id, template_id, type, at, data)
    VALUES (found_email_id, found_tenant_id, v_template, p_event_type, COALESCE(p_occurred_at, now()),
            p_event_data || jsonb_build_object('metadata', v_metadata, 'tags', to_jsonb(v_tags)));
  END IF;
  IF p_suppression_reason IS NOT NULL THEN
    INSERT INTO suppressions (tenant_id, email, reason, source)
    VALUES (found_tenant_id, v_recipient, p_suppression_reason,
            p_suppression_source || jsonb_build_object('email_id', found_email_id))
    ON CONFLICT (tenant_id, email) DO NOTHING;
  END IF;
END;
$$;

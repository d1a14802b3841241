-- One provider webhook event, stored and applied in one call (docs/webhooks.md).
--
-- Why a function: the same statement sent from the API is planned again on every call (the
-- Database port runs unnamed statements), and planning was half of the database's cost per event.
-- PL/pgSQL keeps its plans per connection, which doubles what one database does per second here.
-- The rules stay in TypeScript: the caller passes the status transitions (from advanceStatus), the
-- event row and the suppression to add; this function only finds, dedupes and writes.
--
-- One call is one statement, hence one transaction:
--  - the email is found by our id, else by provider + provider message id; webhooks arrive for no
--    tenant, so the email found decides the tenant of everything written after;
--  - the insert into provider_webhook_events is the dedupe: a concurrent copy waits on the unique
--    key, inserts nothing, and nothing below happens for it;
--  - the status UPDATE takes the email's row lock and maps the status it finds (the latest, after
--    waiting for any concurrent writer) through p_transitions, so precedence holds under concurrency;
--  - metadata, tags and recipient never change after an email is created, so they are read unlocked.
CREATE FUNCTION record_webhook_event(
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
) LANGUAGE plpgsql AS $$
DECLARE
  v_recipient text;
  v_metadata  jsonb;
  v_tags      text[];
BEGIN
  IF p_email_id IS NOT NULL THEN
    SELECT e.id, e.tenant_id, e.recipient_email, e.metadata, e.tags
      INTO found_email_id, found_tenant_id, v_recipient, v_metadata, v_tags
      FROM emails e WHERE e.id = p_email_id;
  END IF;
  IF found_email_id IS NULL AND p_provider_message_id IS NOT NULL THEN
    SELECT e.id, e.tenant_id, e.recipient_email, e.metadata, e.tags
      INTO found_email_id, found_tenant_id, v_recipient, v_metadata, v_tags
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
    INSERT INTO email_events (email_id, tenant_id, type, at, data)
    VALUES (found_email_id, found_tenant_id, p_event_type, COALESCE(p_occurred_at, now()),
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

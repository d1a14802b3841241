-- Fewer index entries per email. Every status change rewrites the row in all of its indexes (the
-- status is indexed, so no update is HOT), and an email changes status at least twice on its way
-- out; each index here costs on every step of every email.

-- The Message-ID is `<id@domain>`: unique by construction, never looked up by value.
ALTER TABLE emails DROP CONSTRAINT emails_message_id_key;

-- Bulk emails carry no idempotency key: keep them out of the uniqueness index.
ALTER TABLE emails DROP CONSTRAINT emails_tenant_id_idempotency_key_key;
CREATE UNIQUE INDEX emails_tenant_idempotency_key_idx ON emails (tenant_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;

-- Listing by a common status walks the newest-first index and finds matches at once; the rare,
-- final statuses people look for get an index of their own.
DROP INDEX emails_tenant_status_idx;
CREATE INDEX emails_tenant_problem_status_idx ON emails (tenant_id, status, created_at DESC, id DESC)
  WHERE status IN ('failed', 'bounced', 'complained', 'suppressed', 'cancelled', 'scheduled');

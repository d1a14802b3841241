-- Every removal from a suppression list is recorded. An unsubscribe or a complaint is the
-- recipient's own choice: a tenant may lift it only with an explicit override, and the record
-- says who did, when, and what the entry was, so that the choice is never silently undone.
CREATE TABLE suppression_removals (
  id             bigserial PRIMARY KEY,
  tenant_id      text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  email          text NOT NULL,
  reason         text NOT NULL,
  source         jsonb NOT NULL DEFAULT '{}'::jsonb,
  suppressed_at  timestamptz NOT NULL,
  removed_at     timestamptz NOT NULL DEFAULT now(),
  -- true when the entry was the recipient's (unsubscribe, complaint) and was lifted by override.
  overridden     boolean NOT NULL DEFAULT false,
  removed_by_key uuid,
  note           text CHECK (note IS NULL OR length(note) <= 500)
);
CREATE INDEX suppression_removals_tenant_idx ON suppression_removals (tenant_id, removed_at DESC);

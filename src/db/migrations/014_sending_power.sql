-- Sending power: attachments (content-addressed), test-mode API keys with a captured inbox, and a
-- provider per tenant with ordered fallbacks.

-- One row per distinct file per tenant: the same invoice attached to 1,000 emails is stored once.
-- Per tenant (not global) so that nothing one tenant stores can be observed by another.
CREATE TABLE attachment_contents (
  tenant_id    text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  sha256       text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  size         integer NOT NULL CHECK (size >= 0),
  content      bytea NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  -- Every send that refers to the file touches it, so retention never removes a file that a
  -- request being accepted right now is about to refer to.
  last_used_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, sha256)
);
CREATE INDEX attachment_contents_last_used_idx ON attachment_contents (last_used_at);

-- What was attached, in order: to one email, or shared by every email of a bulk job. Names,
-- types, sizes and hashes stay after the content is removed, so lookups still show them.
CREATE TABLE email_attachments (
  id           bigserial PRIMARY KEY,
  tenant_id    text NOT NULL,
  email_id     uuid REFERENCES emails (id) ON DELETE CASCADE,
  bulk_job_id  uuid REFERENCES bulk_jobs (id) ON DELETE CASCADE,
  position     smallint NOT NULL CHECK (position >= 0),
  filename     text NOT NULL,
  content_type text NOT NULL,
  content_id   text,
  sha256       text NOT NULL,
  size         integer NOT NULL,
  CHECK (num_nonnulls(email_id, bulk_job_id) = 1)
);
CREATE UNIQUE INDEX email_attachments_email_idx ON email_attachments (email_id, position) WHERE email_id IS NOT NULL;
CREATE UNIQUE INDEX email_attachments_bulk_idx ON email_attachments (bulk_job_id, position)
  WHERE bulk_job_id IS NOT NULL;
CREATE INDEX email_attachments_content_idx ON email_attachments (tenant_id, sha256);

-- Test-mode keys (ms_test_…): their mail is accepted, stored and shown, and only ever captured.
ALTER TABLE api_keys ADD COLUMN mode text NOT NULL DEFAULT 'live' CHECK (mode IN ('live', 'test'));
ALTER TABLE emails ADD COLUMN test boolean NOT NULL DEFAULT false;
ALTER TABLE bulk_jobs ADD COLUMN test boolean NOT NULL DEFAULT false;

-- Captured messages, per tenant: test-mode mail, and all mail of an install without a relay.
CREATE TABLE inbox_messages (
  id          uuid PRIMARY KEY,
  tenant_id   text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  email_id    uuid,
  message_id  text NOT NULL,
  from_addr   text NOT NULL,
  to_addr     text NOT NULL,
  subject     text NOT NULL,
  raw         bytea NOT NULL,
  size        integer NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX inbox_messages_tenant_idx ON inbox_messages (tenant_id, created_at DESC, id DESC);
-- One capture per email: a delivery attempt repeated after a crash replaces it.
CREATE UNIQUE INDEX inbox_messages_email_idx ON inbox_messages (email_id);

-- The provider a tenant's mail goes through (null: DEFAULT_PROVIDER), and where it falls over to.
ALTER TABLE tenants ADD COLUMN provider text;
ALTER TABLE tenants ADD COLUMN fallback_providers text[] NOT NULL DEFAULT '{}';

-- Test-mode mail, found fast per tenant: analytics leave it out (counted apart, see
-- analytics.repository.ts), and a tenant that never sent any pays nothing for that.
CREATE INDEX emails_tenant_test_idx ON emails (tenant_id, created_at) WHERE test;

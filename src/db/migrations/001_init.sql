-- Mailsystem schema: every table of the contract (SPEC §6) with its constraints and the indexes
-- the queries need. PostgreSQL is the source of truth; Redis only holds rebuildable state.

CREATE TABLE tenants (
  id                    text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
  name                  text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  status                text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
  rate_limit_per_second double precision CHECK (rate_limit_per_second >= 0),
  rate_limit_burst      integer CHECK (rate_limit_burst >= 0),
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
  id           uuid PRIMARY KEY,
  tenant_id    text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  prefix       text NOT NULL,
  -- SHA-256 of the whole key. Keys carry 256 random bits, so a fast hash is enough: there is
  -- nothing to brute-force, and a lookup by hash is one index probe.
  key_hash     bytea NOT NULL UNIQUE,
  created_at   timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at   timestamptz
);
CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id, created_at);

CREATE TABLE templates (
  id             uuid PRIMARY KEY,
  tenant_id      text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  latest_version integer NOT NULL DEFAULT 1 CHECK (latest_version >= 1),
  is_active      boolean NOT NULL DEFAULT true,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id)
);
CREATE INDEX templates_tenant_idx ON templates (tenant_id, created_at DESC, id DESC);

-- Versions are immutable: a PUT adds a row, nothing updates one.
CREATE TABLE template_versions (
  template_id      uuid NOT NULL REFERENCES templates (id) ON DELETE CASCADE,
  version          integer NOT NULL CHECK (version >= 1),
  tenant_id        text NOT NULL,
  subject_template text NOT NULL,
  html_template    text NOT NULL,
  text_template    text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (template_id, version),
  FOREIGN KEY (tenant_id, template_id) REFERENCES templates (tenant_id, id)
);

CREATE TABLE bulk_jobs (
  id                  uuid PRIMARY KEY,
  tenant_id           text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  template_id         uuid NOT NULL,
  template_version    integer NOT NULL,
  status              text NOT NULL DEFAULT 'queued'
                      CHECK (status IN ('queued', 'processing', 'completed', 'cancelled')),
  total               integer NOT NULL DEFAULT 0 CHECK (total >= 0),
  accepted            integer NOT NULL DEFAULT 0 CHECK (accepted >= 0),
  invalid_count       integer NOT NULL DEFAULT 0,
  duplicate_count     integer NOT NULL DEFAULT 0,
  skipped             integer NOT NULL DEFAULT 0,
  invalid             jsonb NOT NULL DEFAULT '[]'::jsonb,
  recipients          jsonb,
  shared_variables    jsonb NOT NULL DEFAULT '{}'::jsonb,
  metadata            jsonb NOT NULL DEFAULT '{}'::jsonb,
  send_at             timestamptz,
  idempotency_key     text,
  request_fingerprint text,
  fanout_position     integer NOT NULL DEFAULT 0,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  completed_at        timestamptz,
  UNIQUE (tenant_id, idempotency_key),
  FOREIGN KEY (template_id, template_version) REFERENCES template_versions (template_id, version)
);
CREATE INDEX bulk_jobs_tenant_idx ON bulk_jobs (tenant_id, created_at DESC);
CREATE INDEX bulk_jobs_open_idx ON bulk_jobs (updated_at) WHERE status IN ('queued', 'processing');

CREATE TABLE emails (
  id                  uuid PRIMARY KEY,
  tenant_id           text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  template_id         uuid NOT NULL,
  template_version    integer NOT NULL,
  bulk_job_id         uuid REFERENCES bulk_jobs (id) ON DELETE CASCADE,
  recipient_email     text NOT NULL,
  recipient_name      text,
  variables           jsonb NOT NULL DEFAULT '{}'::jsonb,
  metadata            jsonb NOT NULL DEFAULT '{}'::jsonb,
  tags                text[] NOT NULL DEFAULT '{}',
  headers             jsonb NOT NULL DEFAULT '{}'::jsonb,
  subject             text,
  status              text NOT NULL CHECK (status IN (
                        'queued', 'scheduled', 'processing', 'sent', 'delivered', 'opened',
                        'failed', 'bounced', 'complained', 'suppressed', 'cancelled')),
  idempotency_key     text,
  request_fingerprint text,
  send_at             timestamptz,
  attempts            integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at     timestamptz,
  lease_until         timestamptz,
  last_error          text,
  provider            text NOT NULL,
  provider_message_id text,
  message_id          text NOT NULL UNIQUE,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  sent_at             timestamptz,
  UNIQUE (tenant_id, idempotency_key),
  FOREIGN KEY (template_id, template_version) REFERENCES template_versions (template_id, version)
);
-- Listing, newest first, per tenant (GET /emails, keyset pagination).
CREATE INDEX emails_tenant_created_idx ON emails (tenant_id, created_at DESC, id DESC);
CREATE INDEX emails_tenant_recipient_idx ON emails (tenant_id, recipient_email, created_at DESC);
CREATE INDEX emails_tenant_status_idx ON emails (tenant_id, status, created_at DESC);
CREATE INDEX emails_bulk_idx ON emails (bulk_job_id, status) WHERE bulk_job_id IS NOT NULL;
CREATE INDEX emails_provider_message_idx ON emails (provider, provider_message_id)
  WHERE provider_message_id IS NOT NULL;
-- Recovery scans: only rows that are waiting are indexed, so the indexes stay small.
CREATE INDEX emails_queued_due_idx ON emails (next_attempt_at) WHERE status = 'queued';
CREATE INDEX emails_processing_lease_idx ON emails (lease_until) WHERE status = 'processing';
CREATE INDEX emails_scheduled_due_idx ON emails (send_at) WHERE status = 'scheduled';

CREATE TABLE email_events (
  id         bigserial PRIMARY KEY,
  email_id   uuid NOT NULL REFERENCES emails (id) ON DELETE CASCADE,
  tenant_id  text NOT NULL,
  type       text NOT NULL,
  at         timestamptz NOT NULL DEFAULT now(),
  data       jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX email_events_email_idx ON email_events (email_id, id);
CREATE INDEX email_events_tenant_at_idx ON email_events (tenant_id, at);

CREATE TABLE provider_webhook_events (
  id                bigserial PRIMARY KEY,
  provider          text NOT NULL,
  provider_event_id text NOT NULL,
  tenant_id         text,
  email_id          uuid,
  type              text NOT NULL,
  occurred_at       timestamptz,
  payload           jsonb NOT NULL,
  received_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (provider, provider_event_id)
);
CREATE INDEX provider_webhook_events_email_idx ON provider_webhook_events (email_id) WHERE email_id IS NOT NULL;

CREATE TABLE dead_letters (
  id          uuid PRIMARY KEY,
  tenant_id   text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  email_id    uuid NOT NULL REFERENCES emails (id) ON DELETE CASCADE,
  reason      text NOT NULL CHECK (reason IN ('permanent', 'retries_exhausted')),
  last_error  text,
  attempts    integer NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  retried_at  timestamptz
);
CREATE INDEX dead_letters_tenant_idx ON dead_letters (tenant_id, created_at DESC, id DESC);
CREATE INDEX dead_letters_email_idx ON dead_letters (email_id);

CREATE TABLE suppressions (
  tenant_id  text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  email      text NOT NULL,
  reason     text NOT NULL CHECK (reason IN ('hard_bounce', 'complaint', 'unsubscribe', 'manual')),
  source     jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, email)
);
CREATE INDEX suppressions_tenant_created_idx ON suppressions (tenant_id, created_at DESC, email);

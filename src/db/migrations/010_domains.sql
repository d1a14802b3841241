-- Sending identities: each tenant sends from its own domains, once their DNS records are verified,
-- and every message from such a domain is DKIM-signed with that domain's key (docs/domains.md).

CREATE TABLE domains (
  id                    uuid PRIMARY KEY,
  tenant_id             text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  -- Lower case, IDNs as their A-label (xn--…), no trailing dot.
  name                  text NOT NULL CHECK (name ~ '^[a-z0-9.-]{3,253}$'),
  status                text NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'verified', 'failed', 'verification_lost')),
  -- Why the domain is not usable (a record missing or different), or the last DNS trouble.
  status_reason         text,
  -- An optional bounce subdomain label: MAIL FROM becomes bounces@<label>.<name> once its SPF
  -- record is found, so SPF aligns with the From domain.
  return_path           text CHECK (return_path ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
  return_path_verified  boolean NOT NULL DEFAULT false,
  -- What the last check found, record by record (see domains.service.ts: RecordCheck).
  checks                jsonb NOT NULL DEFAULT '[]'::jsonb,
  checked_at            timestamptz,
  check_failures        integer NOT NULL DEFAULT 0,
  next_check_at         timestamptz,
  verified_at           timestamptz,
  -- When automatic checks of a domain that never verified give up (it becomes 'failed').
  pending_since         timestamptz NOT NULL DEFAULT now(),
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, name),
  UNIQUE (tenant_id, id)
);
CREATE INDEX domains_tenant_created_idx ON domains (tenant_id, created_at DESC, id DESC);
CREATE INDEX domains_next_check_idx ON domains (next_check_at) WHERE next_check_at IS NOT NULL;

-- DKIM keys, one per selector. A domain has one 'active' key (it signs) and, during a rotation,
-- one 'pending' key (published, not yet found in DNS). Retired keys keep their selector for the
-- record, never their private key.
CREATE TABLE domain_dkim_keys (
  id              uuid PRIMARY KEY,
  domain_id       uuid NOT NULL,
  tenant_id       text NOT NULL,
  selector        text NOT NULL CHECK (selector ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  -- The p= value of the DKIM record: base64 of the SubjectPublicKeyInfo.
  public_key      text NOT NULL,
  -- AES-256-GCM (src/lib/secret-box.ts) of the PKCS#8 PEM; NULL once retired.
  private_key_enc bytea,
  -- Which key sealed it: 'env:<fingerprint>' (SECRETS_KEY) or 'db' (a key kept in system_secrets).
  sealed_with     text NOT NULL,
  state           text NOT NULL CHECK (state IN ('active', 'pending', 'retired')),
  verified_at     timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now(),
  retired_at      timestamptz,
  FOREIGN KEY (tenant_id, domain_id) REFERENCES domains (tenant_id, id) ON DELETE CASCADE,
  UNIQUE (domain_id, selector),
  CHECK ((state = 'retired') = (private_key_enc IS NULL))
);
CREATE UNIQUE INDEX domain_dkim_keys_active_idx ON domain_dkim_keys (domain_id) WHERE state = 'active';
CREATE UNIQUE INDEX domain_dkim_keys_pending_idx ON domain_dkim_keys (domain_id) WHERE state = 'pending';

-- The tenant's default sender, used when neither the request nor the template names one.
CREATE TABLE tenant_sending_defaults (
  tenant_id      text PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
  from_address   jsonb,
  reply_to       jsonb,
  updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Template defaults, versioned with the rest of the template: {"email", "name"} or NULL.
ALTER TABLE template_versions
  ADD COLUMN from_address jsonb,
  ADD COLUMN reply_to jsonb;

-- The sender chosen at acceptance: {"from": {"email", "name"} | null, "reply_to": … | null};
-- NULL means the installation's SMTP_FROM and no Reply-To.
ALTER TABLE emails ADD COLUMN sender jsonb;
ALTER TABLE bulk_jobs ADD COLUMN sender jsonb;

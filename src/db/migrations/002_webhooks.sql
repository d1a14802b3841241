-- Webhook replay protection for schemes that sign a token rather than the body (Mailgun): each
-- token is remembered, with a hash of the body it came with, until its signature would be stale
-- anyway. Rows past expires_at are deleted by the API from time to time.
CREATE TABLE webhook_replay_tokens (
  provider    text NOT NULL,
  token       text NOT NULL,
  fingerprint text NOT NULL,
  expires_at  timestamptz NOT NULL,
  PRIMARY KEY (provider, token)
);
CREATE INDEX webhook_replay_tokens_expiry_idx ON webhook_replay_tokens (expires_at);

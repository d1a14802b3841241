-- Outages: a provider's trouble spends no attempt of the message's budget, and a dead worker's
-- claims are released as soon as its heartbeat stops.

-- Attempts handed back because the provider (not the message) failed or its breaker was open:
-- the message's own budget is attempts - provider_deferrals (MAX_RETRIES applies to that).
ALTER TABLE emails ADD COLUMN provider_deferrals integer NOT NULL DEFAULT 0
  CHECK (provider_deferrals >= 0);

-- The worker process holding a processing email's claim; its heartbeat says whether it lives.
ALTER TABLE emails ADD COLUMN claimed_by text;

CREATE TABLE worker_heartbeats (
  worker_id  text PRIMARY KEY,
  beat_at    timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz NOT NULL DEFAULT now()
);

-- An email that waited on a failing provider longer than MAX_RETRY_AGE_SECONDS.
ALTER TABLE dead_letters DROP CONSTRAINT IF EXISTS dead_letters_reason_check;
ALTER TABLE dead_letters ADD CONSTRAINT dead_letters_reason_check
  CHECK (reason IN ('permanent', 'retries_exhausted', 'provider_unavailable'));

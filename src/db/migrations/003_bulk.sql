-- Bulk and scheduled sending, one-click unsubscribe.

-- Transactional sends may carry List-Unsubscribe too (bulk mail always does).
ALTER TABLE emails ADD COLUMN list_unsubscribe boolean NOT NULL DEFAULT false;

-- A bulk job keeps its accepted recipients (valid, de-duplicated, in request order) as one JSON
-- array until the fan-out has turned them into email rows; `fanout_position` is how many it has
-- turned so far, advanced in the same transaction as each chunk of rows, so a crash resumes
-- exactly where it stopped.
ALTER TABLE bulk_jobs
  ADD COLUMN headers jsonb NOT NULL DEFAULT '{}'::jsonb,
  ADD COLUMN tags text[] NOT NULL DEFAULT '{}',
  ADD COLUMN provider text NOT NULL DEFAULT 'smtp',
  ADD COLUMN suppressed_count integer NOT NULL DEFAULT 0,
  ADD COLUMN cancelled_count integer NOT NULL DEFAULT 0,
  ADD COLUMN fanout_done boolean NOT NULL DEFAULT false;
-- `skipped` is superseded by suppressed_count; `accepted` is the number of recipients to fan out.
ALTER TABLE bulk_jobs DROP COLUMN skipped;

-- Open jobs the recovery loop looks at: not yet fanned out, or fanned out but not completed.
DROP INDEX bulk_jobs_open_idx;
CREATE INDEX bulk_jobs_open_idx ON bulk_jobs (updated_at) WHERE status IN ('queued', 'processing');

-- Secrets the system makes for itself when none is configured (the unsubscribe token key), shared
-- by every process and stable across restarts.
CREATE TABLE system_secrets (
  name       text PRIMARY KEY,
  value      bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

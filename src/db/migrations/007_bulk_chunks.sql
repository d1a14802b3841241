-- The bulk fan-out writes its chunks in parallel. Each chunk of recipients (CHUNK rows, by index)
-- commits its emails together with a row here, so a resumed fan-out skips what is done; email ids
-- are derived from (job, recipient index), so even a chunk written twice adds nothing.
CREATE TABLE bulk_fanout_chunks (
  bulk_job_id uuid NOT NULL REFERENCES bulk_jobs (id) ON DELETE CASCADE,
  chunk       integer NOT NULL CHECK (chunk >= 0),
  created     integer NOT NULL CHECK (created >= 0),
  suppressed  integer NOT NULL CHECK (suppressed >= 0),
  PRIMARY KEY (bulk_job_id, chunk)
);

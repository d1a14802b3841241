-- bulk_jobs.fanout_position was written when a fan-out finished and never read: progress is
-- counted from the chunk records (bulk_fanout_chunks) and `fanout_done`.
ALTER TABLE bulk_jobs DROP COLUMN fanout_position;

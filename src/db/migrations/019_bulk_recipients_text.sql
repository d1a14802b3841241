-- A bulk job's accepted recipients are written once when the job is accepted (before its 202) and
-- read once by its fan-out, then cleared. As jsonb, a 100,000-recipient job (11 MB) cost about
-- 0.8 s to store on a busy 2-core machine (jsonb parsing and pglz compression) and 0.3 s to read
-- back as text; as uncompressed text kept out of line it costs a few tens of milliseconds each
-- way (docs/performance.md, "Bulk accept and fan-out"). The application writes the column with
-- JSON.stringify and reads it with JSON.parse; nothing queries inside it.
ALTER TABLE bulk_jobs ALTER COLUMN recipients TYPE text USING recipients::text;
ALTER TABLE bulk_jobs ALTER COLUMN recipients SET STORAGE EXTERNAL;

-- Finished tenant webhook deliveries (succeeded or failed) are kept for
-- WEBHOOK_DELIVERY_RETENTION_DAYS and then removed by the retention loop; this index finds the old
-- ones without reading the rest of the log. Pending deliveries are never removed.
CREATE INDEX webhook_deliveries_finished_idx ON webhook_deliveries (created_at) WHERE status <> 'pending';

-- Emails handed to the queue together, in one mail.send job (the emails one /send statement
-- accepted, or a slice of a bulk fan-out), carry that job's key until their first claim. The
-- recovery loop asks the queue whether that job still exists before it dispatches such an email
-- on its own, so a backlog waiting in shared jobs gets no second job (docs/architecture.md,
-- "Crash recovery"). A nullable column without a default: no table rewrite.
ALTER TABLE emails ADD COLUMN send_batch uuid;

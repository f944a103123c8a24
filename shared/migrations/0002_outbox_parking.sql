-- A row the broker refuses for good (e.g. larger than the broker's record limit) is parked
-- with its error instead of blocking the relay forever; `UPDATE outbox SET parked_at = NULL`
-- re-queues it once the cause is fixed.
ALTER TABLE outbox ADD COLUMN IF NOT EXISTS parked_at timestamptz;
ALTER TABLE outbox ADD COLUMN IF NOT EXISTS error text;
DROP INDEX IF EXISTS outbox_unsent;
CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL AND parked_at IS NULL;

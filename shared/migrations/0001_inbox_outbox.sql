-- Mechanism tables every service has in its own schema (search_path is the service schema).

-- Inbox: one row per message a consumer has taken effect for. The primary key is the
-- deduplication: a redelivered message fails to claim and has no second effect.
CREATE TABLE IF NOT EXISTS inbox (
    consumer    text        NOT NULL,
    message_id  text        NOT NULL,
    claimed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, message_id)
);

-- Outbox: rows written in the same transaction as the state change; the relay publishes
-- them in id order and marks them sent. Unsent rows are found by sent_at IS NULL (never by
-- a "last id" cursor), so a row whose transaction commits late is never skipped.
CREATE TABLE IF NOT EXISTS outbox (
    id          bigserial   PRIMARY KEY,
    event_id    text        NOT NULL,
    topic       text        NOT NULL,
    key         bytea,
    value       bytea       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz,
    UNIQUE (topic, event_id)
);
CREATE INDEX IF NOT EXISTS outbox_unsent ON outbox (id) WHERE sent_at IS NULL;
CREATE INDEX IF NOT EXISTS outbox_sent_at ON outbox (sent_at) WHERE sent_at IS NOT NULL;

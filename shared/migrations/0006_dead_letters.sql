-- Every dead letter, kept in the service's own schema for `orderflow dlq list|show|replay`
-- (the outbox row that published it is pruned after the retention). The original record is
-- kept whole; `replayed_at` makes a replay happen once.
CREATE TABLE IF NOT EXISTS dead_letters (
    event_id         text        PRIMARY KEY,
    topic            text        NOT NULL,
    partition        integer     NOT NULL,
    "offset"         bigint      NOT NULL,
    key              bytea,
    value            bytea       NOT NULL,
    tenant           text        NOT NULL,
    error_type       text        NOT NULL,
    error            text        NOT NULL,
    attempts         integer     NOT NULL,
    first_failed_at  timestamptz NOT NULL,
    dead_at          timestamptz NOT NULL DEFAULT now(),
    replayed_at      timestamptz
);
CREATE INDEX IF NOT EXISTS dead_letters_by_time ON dead_letters (dead_at);

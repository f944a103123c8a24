-- Every accepted report, raw, for audit and replay. The primary key is the report's
-- identity (CONTRACTS §3.1), so a re-sent report is recognised as a duplicate.
CREATE TABLE reports (
    report_id    uuid        PRIMARY KEY,
    tenant       text        NOT NULL,
    order_id     text        NOT NULL,
    source       text        NOT NULL,
    status       text        NOT NULL,
    category     text,
    occurred_at  timestamptz NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    channel      text        NOT NULL,
    raw          jsonb       NOT NULL
);
CREATE INDEX reports_by_order ON reports (tenant, order_id, occurred_at);

CREATE TABLE touchpoints (
    touchpoint_uuid uuid        PRIMARY KEY,
    tenant          text        NOT NULL,
    touchpoint_id   text        NOT NULL,
    member_id       text        NOT NULL,
    customer_id     text        NOT NULL,
    kind            text        NOT NULL,
    occurred_at     timestamptz NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    channel         text        NOT NULL,
    raw             jsonb       NOT NULL
);

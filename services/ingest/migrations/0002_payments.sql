-- Every accepted payment report, raw, for audit and replay. The primary key is the report's
-- identity (CONTRACTS §8: tenant, payment_id, status, occurred_at), so a re-sent report is
-- recognised as a duplicate. `raw` holds the buyer's comment: personal data, never logged.
CREATE TABLE payments (
    report_id    uuid        PRIMARY KEY,
    tenant       text        NOT NULL,
    order_id     text        NOT NULL,
    payment_id   text        NOT NULL,
    status       text        NOT NULL,
    occurred_at  timestamptz NOT NULL,
    source       text        NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    channel      text        NOT NULL,
    raw          jsonb       NOT NULL
);
CREATE INDEX payments_by_order ON payments (tenant, order_id, occurred_at);

-- One row per order: its current status and what has been emitted. `expiry_due_at` is the
-- durable pending-payment timer: set, moved or cleared in the same transaction as the
-- state it belongs to, polled by the timer loop, and cleared when it fires.
CREATE TABLE orders (
    tenant             text        NOT NULL,
    order_id           text        NOT NULL,
    status             text        NOT NULL,
    category           text        NOT NULL,
    current_report_id  text        NOT NULL,
    occurred_at        timestamptz NOT NULL,
    has_ok             boolean     NOT NULL,
    confirmed_emitted  boolean     NOT NULL,
    reversed_emitted   boolean     NOT NULL,
    summary            jsonb       NOT NULL,
    expiry_due_at      timestamptz,
    correlation_id     text        NOT NULL,
    updated_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, order_id)
);
CREATE INDEX orders_expiry_due ON orders (expiry_due_at) WHERE expiry_due_at IS NOT NULL;

-- The full status history: every distinct report, with the category the tenant's profile
-- gave it (NULL when unmapped; its effective category is recomputed from the history).
CREATE TABLE history (
    tenant       text        NOT NULL,
    order_id     text        NOT NULL,
    report_id    text        NOT NULL,
    status       text        NOT NULL,
    category     text,
    source       text        NOT NULL,
    occurred_at  timestamptz NOT NULL,
    received_at  timestamptz NOT NULL,
    summary      jsonb,
    PRIMARY KEY (tenant, order_id, report_id)
);

-- One row per order attribution has heard of. A row with `reported = false` is a placeholder
-- created by a lifecycle event or a touchpoint naming the order before its first report
-- arrived: it exists so that every decision about the order can lock the row.
CREATE TABLE orders (
    tenant               text        NOT NULL,
    order_id             text        NOT NULL,
    reported             boolean     NOT NULL DEFAULT false,
    ordered_at           timestamptz,           -- upstream time of the first report
    customer_id          text,
    customer_rank_at     timestamptz,           -- (occurred_at, report_id) of the report
    customer_rank_report text,                  --   that named the customer
    contributors         jsonb       NOT NULL DEFAULT '[]',
    has_ok               boolean     NOT NULL DEFAULT false,
    duplicate            boolean     NOT NULL DEFAULT false,
    confirmed_at         timestamptz,           -- set once: the sale's confirmation
    confirmed_manager_id text,                  -- NULL with confirmed_at set: the system
    credits              jsonb       NOT NULL DEFAULT '[]',
    granted              jsonb       NOT NULL DEFAULT '[]',
    correlation_id       text,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, order_id)
);
-- A touchpoint looks up the orders of its customer whose lookback window it falls in.
CREATE INDEX orders_by_customer ON orders (tenant, customer_id, ordered_at)
    WHERE reported AND NOT duplicate;

-- Every distinct touchpoint (CONTRACTS §3.2 identity: tenant, touchpoint_id).
CREATE TABLE touchpoints (
    tenant         text        NOT NULL,
    touchpoint_id  text        NOT NULL,
    member_id      text        NOT NULL,
    kind           text        NOT NULL,
    customer_id    text        NOT NULL,
    occurred_at    timestamptz NOT NULL,
    order_id       text,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, touchpoint_id)
);
CREATE INDEX touchpoints_by_customer ON touchpoints (tenant, customer_id, occurred_at);
CREATE INDEX touchpoints_by_order ON touchpoints (tenant, order_id) WHERE order_id IS NOT NULL;

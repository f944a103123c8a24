-- What the rewards service knows of each order (facts.Lifecycle): Has OK and its upstream
-- time, the summary at confirmation, the current category, the categories seen while OK.
CREATE TABLE orders (
    tenant               text        NOT NULL,
    order_id             text        NOT NULL,
    confirmed_by         text,
    confirmed_at         timestamptz,
    summary              jsonb,
    category             text,
    category_at          timestamptz,
    sightings            jsonb       NOT NULL DEFAULT '[]',
    duplicate_before_ok  boolean     NOT NULL DEFAULT false,
    evaluated_members    text[]      NOT NULL DEFAULT '{}',
    correlation_id       text        NOT NULL,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, order_id)
);

-- One line per `order.attributed` event (a credit of one member). `approve_due_at` is the
-- durable approval timer: set with the accrual, cleared by the approval or a reversal in
-- the same transaction, polled by the timer loop.
CREATE TABLE lines (
    tenant          text        NOT NULL,
    order_id        text        NOT NULL,
    line_id         text        NOT NULL,
    seq             bigint      GENERATED ALWAYS AS IDENTITY,
    member_id       text        NOT NULL,
    credit_key      text        NOT NULL,
    attributed_at   timestamptz NOT NULL,
    voided_by       text,
    voided_at       timestamptz,
    decided         boolean     NOT NULL DEFAULT false,
    accrued         numeric,
    currency        text,
    reversed        boolean     NOT NULL DEFAULT false,
    approved        boolean     NOT NULL DEFAULT false,
    approve_due_at  timestamptz,
    PRIMARY KEY (tenant, order_id, line_id)
);
CREATE INDEX lines_approve_due ON lines (approve_due_at) WHERE approve_due_at IS NOT NULL;

-- The commission ledger: append-only (the trigger refuses UPDATE and DELETE), at most one
-- entry of each kind per line (the unique key refuses a second one).
CREATE TABLE ledger (
    seq             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entry_id        text        NOT NULL UNIQUE,
    tenant          text        NOT NULL,
    order_id        text        NOT NULL,
    line_id         text        NOT NULL,
    member_id       text        NOT NULL,
    kind            text        NOT NULL CHECK (kind IN ('accrued', 'reversed', 'approved')),
    amount          numeric     NOT NULL,
    currency        text        NOT NULL,
    reason          text        NOT NULL,
    after_approval  boolean     NOT NULL DEFAULT false,
    occurred_at     timestamptz NOT NULL,
    cause_id        text        NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant, order_id, line_id, kind)
);
CREATE INDEX ledger_member ON ledger (tenant, member_id, seq);

CREATE FUNCTION ledger_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the commission ledger is append-only';
END;
$$;
CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON ledger
    FOR EACH ROW EXECUTE FUNCTION ledger_is_append_only();

-- Rewards granted: once per (challenge, member, order), never taken back.
CREATE TABLE rewards (
    seq           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reward_id     text        NOT NULL UNIQUE,
    tenant        text        NOT NULL,
    order_id      text        NOT NULL,
    member_id     text        NOT NULL,
    challenge_id  text        NOT NULL,
    points        integer     NOT NULL,
    badge         text,
    occurred_at   timestamptz NOT NULL,
    cause_id      text        NOT NULL,
    recorded_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant, challenge_id, member_id, order_id)
);
CREATE INDEX rewards_member ON rewards (tenant, member_id, seq);

-- Member statistics for challenge conditions, in upstream (event) time: every counted order,
-- and the running totals.
CREATE TABLE member_orders (
    tenant        text        NOT NULL,
    member_id     text        NOT NULL,
    order_id      text        NOT NULL,
    confirmed_at  timestamptz NOT NULL,
    amount        numeric,
    currency      text,
    PRIMARY KEY (tenant, member_id, order_id)
);
CREATE INDEX member_orders_time ON member_orders (tenant, member_id, confirmed_at);

CREATE TABLE member_stats (
    tenant            text        NOT NULL,
    member_id         text        NOT NULL,
    order_count       integer     NOT NULL,
    last_purchase_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant, member_id)
);

-- CONTRACTS §8. Every distinct payment report, as ingest published it (`payment.reported`):
-- the facts an order's payments and money are folded from (docs/payments.md), with the
-- refunds that status reports carry, read from `history` (§3.1 `refunded_amount`).
CREATE TABLE payment_reports (
    tenant              text        NOT NULL,
    order_id            text        NOT NULL,
    report_id           text        NOT NULL,
    payment_id          text        NOT NULL,
    status              text        NOT NULL,
    occurred_at         timestamptz NOT NULL,
    received_at         timestamptz NOT NULL,
    amount              numeric     NOT NULL,
    currency            text        NOT NULL,
    fee                 numeric,
    payment_system      text        NOT NULL,
    source              text        NOT NULL,
    one_click           boolean,
    share_percent       numeric,
    refunded_amount     numeric,
    error_code          text,
    comment             text,        -- the buyer's: personal data, never logged
    recurring_order_id  text,
    PRIMARY KEY (tenant, order_id, report_id)
);

-- One row per payment: its state (the report latest upstream) and what was derived from all
-- of its reports, rewritten in the same transaction as each new report. `made_at` is the
-- payment's time (its earliest report): the list and the sales report filter on it.
CREATE TABLE payments (
    tenant              text        NOT NULL,
    order_id            text        NOT NULL,
    payment_id          text        NOT NULL,
    status              text        NOT NULL,
    occurred_at         timestamptz NOT NULL,
    made_at             timestamptz NOT NULL,
    succeeded_at        timestamptz,
    amount              numeric     NOT NULL,
    currency            text        NOT NULL,
    fee                 numeric,
    funds_credited      numeric,
    refunded            numeric     NOT NULL,
    payment_system      text        NOT NULL,
    one_click           boolean,
    share_percent       numeric,
    error_code          text,
    comment             text,
    recurring_order_id  text,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, order_id, payment_id)
);
CREATE INDEX payments_newest ON payments (tenant, made_at DESC, order_id DESC, payment_id DESC);
CREATE INDEX payments_by_order ON payments (tenant, order_id);
CREATE INDEX payments_by_recurring ON payments (tenant, recurring_order_id)
    WHERE recurring_order_id IS NOT NULL;

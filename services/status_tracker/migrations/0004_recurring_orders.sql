-- Recurring orders (CONTRACTS §10, docs/recurring.md). One row per recurring order, from the
-- initial order's report on; `status` is NULL until the initial order's first payment
-- succeeded (the order is not shown before). `due_at` is the durable timer: when the next
-- `recurring.charge_due` is to be published, NULL while paused, awaiting an outcome or
-- finished. It is set, moved and cleared in the same transaction as the state it belongs
-- to; the timer loop finds due rows through the partial index and claims them with
-- FOR UPDATE SKIP LOCKED, so replicas fire disjoint rows and each charge once.
CREATE TABLE recurring_orders (
    tenant              text        NOT NULL,
    recurring_order_id  text        NOT NULL,
    initial_order_id    text        NOT NULL,
    status              text,
    interval            text        NOT NULL,
    payments_total      integer,
    amount              numeric,
    currency            text,
    customer_id         text,
    offer_id            text,
    anchor_at           timestamptz,
    payments_made       integer     NOT NULL DEFAULT 0,
    sequence            integer     NOT NULL DEFAULT 1,
    attempt             integer     NOT NULL DEFAULT 1,
    awaiting            boolean     NOT NULL DEFAULT false,
    next_payment_at     timestamptz,
    due_at              timestamptz,
    version             integer     NOT NULL DEFAULT 0,
    correlation_id      text        NOT NULL,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, recurring_order_id)
);
CREATE INDEX recurring_orders_due ON recurring_orders (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX recurring_orders_initial ON recurring_orders (tenant, initial_order_id);

-- The orders of a recurring order: sequence 1 is the initial order, n its n-th charge
-- (order `<recurring_order_id>-<n>`). `status` is the charge's payment status (§8 words):
-- processing (asked for, or failed with a retry due), succeeded, failed (no retry left).
CREATE TABLE recurring_charges (
    tenant              text        NOT NULL,
    recurring_order_id  text        NOT NULL,
    sequence            integer     NOT NULL,
    order_id            text        NOT NULL,
    status              text        NOT NULL,
    attempts            integer     NOT NULL,
    amount              numeric,
    currency            text,
    payment_system      text,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, recurring_order_id, sequence)
);
CREATE INDEX recurring_charges_order ON recurring_charges (tenant, order_id);

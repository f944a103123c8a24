-- Customer statistics (CONTRACTS §11), from Has OK orders by confirmation time.
-- Each order counts once: the primary key refuses a second confirmation of one order.
CREATE TABLE customer_orders (
    tenant        text        NOT NULL,
    order_id      text        NOT NULL,
    customer_id   text        NOT NULL,
    confirmed_at  timestamptz NOT NULL,
    amount        numeric,
    currency      text,
    PRIMARY KEY (tenant, order_id)
);

-- The running statistics of each customer; `spent` is {currency: decimal string}, never
-- summed across currencies. `segments_due_at` is the durable segment timer: the next instant
-- a time condition can change the customer's membership, written with the statistics.
CREATE TABLE customers (
    tenant             text        NOT NULL,
    customer_id        text        NOT NULL,
    orders_count       integer     NOT NULL,
    spent              jsonb       NOT NULL DEFAULT '{}',
    first_purchase_at  timestamptz NOT NULL,
    last_purchase_at   timestamptz NOT NULL,
    segments_due_at    timestamptz,
    PRIMARY KEY (tenant, customer_id)
);
CREATE INDEX customers_segments_due ON customers (segments_due_at)
    WHERE segments_due_at IS NOT NULL;

-- Current membership: a row while the customer is in the segment.
CREATE TABLE segment_members (
    tenant       text        NOT NULL,
    segment_id   text        NOT NULL,
    customer_id  text        NOT NULL,
    entered_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, segment_id, customer_id)
);
CREATE INDEX segment_members_customer ON segment_members (tenant, customer_id);

-- The definition each segment's membership was last computed with; a changed hash at start
-- rebuilds that segment. `generation` numbers the rebuilds (it keeps their event ids apart).
CREATE TABLE segment_definitions (
    tenant           text    NOT NULL,
    segment_id       text    NOT NULL,
    definition_hash  text    NOT NULL,
    generation       integer NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant, segment_id)
);

-- The orders read model (CONTRACTS §7; docs/orders.md). `orders` and `history` stay the
-- decision state; these tables are what the reads answer from, kept in the same
-- transactions as the decisions, by the report handler, the attribution handler, the
-- payments code (`read_model_store.set_payments`) and the notes route.

-- Each report's Part-2 fields (discounts, shipping, offer name, plan, recurring, metadata,
-- customer name, payment system, refunded amount) as received: folded in upstream time.
ALTER TABLE history ADD COLUMN details jsonb;

-- One row per order, with every column a list filters or sorts on. A row can exist before
-- the order's first report reaches the tracker (a credit or a payment came first): `status`
-- is then NULL and no read shows it.
CREATE TABLE order_views (
    tenant                   text        NOT NULL,
    order_id                 text        NOT NULL,
    status                   text,
    category                 text,
    has_ok                   boolean     NOT NULL DEFAULT false,
    created_at               timestamptz,  -- occurred_at of the earliest report
    updated_at               timestamptz,  -- occurred_at of the latest report (upstream time)
    amount                   numeric,
    currency                 text,
    customer_id              text,
    offer_id                 text,
    offer_name               text,
    report_payment_system    text,         -- `payment.system` of the reports
    paid_payment_system      text,         -- that of the latest succeeded payment (payments)
    payment_system           text GENERATED ALWAYS AS
                                 (coalesce(paid_payment_system, report_payment_system)) STORED,
    items_count              integer     NOT NULL DEFAULT 0,
    payment_plan             text        NOT NULL DEFAULT 'full',
    paid_amount              numeric     NOT NULL DEFAULT 0,
    refunded_amount          numeric     NOT NULL DEFAULT 0,
    sales_manager_id         text,
    sales_manager_confirmed  boolean,
    recurring_order_id       text,
    PRIMARY KEY (tenant, order_id)
);
-- Keyset pages: one index per sort, and one per selective filter in the default order, so a
-- filtered page reads about a page of index entries on a million orders of one tenant.
CREATE INDEX order_views_created ON order_views (tenant, created_at, order_id);
CREATE INDEX order_views_updated ON order_views (tenant, updated_at, order_id);
CREATE INDEX order_views_amount ON order_views (tenant, amount, order_id);
CREATE INDEX order_views_status ON order_views (tenant, status, created_at, order_id);
CREATE INDEX order_views_category ON order_views (tenant, category, created_at, order_id);
CREATE INDEX order_views_customer ON order_views (tenant, customer_id, created_at, order_id);
CREATE INDEX order_views_offer ON order_views (tenant, offer_id, created_at, order_id);
CREATE INDEX order_views_payment_system
    ON order_views (tenant, payment_system, created_at, order_id);
CREATE INDEX order_views_sales_manager ON order_views (tenant, sales_manager_id, created_at, order_id)
    WHERE sales_manager_id IS NOT NULL;
CREATE INDEX order_views_recurring ON order_views (tenant, recurring_order_id, created_at, order_id)
    WHERE recurring_order_id IS NOT NULL;

-- The order's lines as the read model shows them (the summary's items).
CREATE TABLE order_items (
    tenant      text    NOT NULL,
    order_id    text    NOT NULL,
    line        integer NOT NULL,
    sku         text    NOT NULL,
    name        text,
    quantity    integer NOT NULL,
    unit_price  numeric NOT NULL,
    line_total  numeric NOT NULL,
    category    text,
    offer_id    text,
    offer_name  text,
    PRIMARY KEY (tenant, order_id, line)
);
CREATE INDEX order_items_category ON order_items (tenant, category, order_id);

-- What only the detail shows. `customer_name` and `shipping.address` are personal data.
CREATE TABLE order_details (
    tenant         text  NOT NULL,
    order_id       text  NOT NULL,
    customer_name  text,
    discounts      jsonb NOT NULL DEFAULT '[]',
    metadata       jsonb,
    shipping       jsonb,
    PRIMARY KEY (tenant, order_id)
);

-- The order's current credits, from orders.attribution.v1 (attributed adds or confirms,
-- voided removes).
CREATE TABLE order_credits (
    tenant       text        NOT NULL,
    order_id     text        NOT NULL,
    member_id    text        NOT NULL,
    via          text        NOT NULL,
    model        text        NOT NULL,
    confirmed    boolean     NOT NULL,
    credited_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant, order_id, member_id)
);
CREATE INDEX order_credits_member ON order_credits (tenant, member_id, order_id);

-- Timeline entries that are not reports: each `order.attributed` as it came.
CREATE TABLE order_attributions (
    tenant       text        NOT NULL,
    order_id     text        NOT NULL,
    event_id     text        NOT NULL,
    member_id    text        NOT NULL,
    via          text        NOT NULL,
    confirmed    boolean     NOT NULL,
    at           timestamptz NOT NULL,
    received_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant, order_id, event_id)
);

CREATE TABLE order_notes (
    tenant      text        NOT NULL,
    order_id    text        NOT NULL,
    note_id     text        NOT NULL,
    text        text        NOT NULL,
    author      text        NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant, order_id, note_id)
);

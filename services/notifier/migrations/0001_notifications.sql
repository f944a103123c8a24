-- The customer of each order, copied from ingest's order.reported: the notifier owns this
-- copy so it can address the customer's e-mail. Personal data: never logged.
CREATE TABLE contacts (
    tenant       text        NOT NULL,
    order_id     text        NOT NULL,
    customer_id  text        NOT NULL,
    email        text,
    name         text,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, order_id)
);
CREATE INDEX contacts_by_customer ON contacts (tenant, customer_id, updated_at DESC);

-- Members credited with an order (orders.attribution.v1), for rules that tell members
-- about order events.
CREATE TABLE order_members (
    tenant     text NOT NULL,
    order_id   text NOT NULL,
    member_id  text NOT NULL,
    PRIMARY KEY (tenant, order_id, member_id)
);

-- Order events a member-addressed rule applies to, kept so that a member attributed after
-- the event is still told about it (with the same notification ids).
CREATE TABLE order_events (
    tenant          text        NOT NULL,
    order_id        text        NOT NULL,
    event_id        text        NOT NULL,
    type            text        NOT NULL,
    occurred_at     timestamptz NOT NULL,
    correlation_id  text        NOT NULL,
    data            jsonb       NOT NULL,
    PRIMARY KEY (tenant, order_id, event_id)
);

-- One row per (cause event, recipient, channel): the unique key is the exactly-once
-- guarantee. Written with the inbox claim; the delivery loop leases due rows
-- (`next_attempt_at` in the future, `attempts` + 1), sends after commit and records
-- the result with the notification.sent/failed outbox row.
CREATE TABLE notifications (
    notification_id  text        PRIMARY KEY,
    tenant           text        NOT NULL,
    cause_event_id   text        NOT NULL,
    cause_type       text        NOT NULL,
    order_id         text,
    occurred_at      timestamptz NOT NULL,
    correlation_id   text        NOT NULL,
    data             jsonb       NOT NULL,
    role             text        NOT NULL,
    recipient_id     text        NOT NULL,
    channel          text        NOT NULL,
    template         text        NOT NULL,
    status           text        NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'sent', 'failed')),
    attempts         integer     NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    UNIQUE (tenant, cause_event_id, role, recipient_id, channel)
);
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status = 'pending';

-- The in-app inbox: written in the transaction that records the in_app notification sent.
-- Listed newest event first (`occurred_at`, upstream time), then newest delivered (`seq`).
CREATE TABLE in_app_messages (
    seq              bigserial   PRIMARY KEY,
    notification_id  text        NOT NULL UNIQUE REFERENCES notifications,
    tenant           text        NOT NULL,
    role             text        NOT NULL,
    recipient_id     text        NOT NULL,
    event_type       text        NOT NULL,
    order_id         text,
    occurred_at      timestamptz NOT NULL,
    template         text        NOT NULL,
    subject          text        NOT NULL,
    body             text        NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    read_at          timestamptz
);
CREATE INDEX in_app_by_recipient
    ON in_app_messages (tenant, role, recipient_id, occurred_at DESC, seq DESC);
CREATE INDEX in_app_unread ON in_app_messages (tenant, role, recipient_id) WHERE read_at IS NULL;

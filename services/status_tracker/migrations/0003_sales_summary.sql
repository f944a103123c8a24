-- CONTRACTS §9: the sales reports' daily sums, kept by triggers in the same transaction as
-- every write of the orders read model and of the payments table (docs/reports.md). A
-- report adds the whole UTC days of its period from here to the raw rows of its partial
-- first and last days, so it is exact and reads a few rows per day whatever the volume.

-- Per tenant, report (offer, sales_manager, offer_category), group key, currency and the
-- UTC day of the orders' creation. '' stands for none in `key` and `currency`.
CREATE TABLE sales_days (
    tenant     text    NOT NULL,
    report     text    NOT NULL,
    key        text    NOT NULL,
    currency   text    NOT NULL,
    day        date    NOT NULL,
    orders     bigint  NOT NULL,
    completed  bigint  NOT NULL,
    amount     numeric NOT NULL,
    refunded   numeric NOT NULL,
    PRIMARY KEY (tenant, report, day, key, currency)
);

-- Per tenant, payment system, currency and the UTC day of the payment's time (`made_at`).
CREATE TABLE payment_days (
    tenant          text    NOT NULL,
    payment_system  text    NOT NULL,
    currency        text    NOT NULL,
    day             date    NOT NULL,
    payments        bigint  NOT NULL,
    succeeded       bigint  NOT NULL,
    amount          numeric NOT NULL,
    fees            numeric NOT NULL,
    funds_credited  numeric NOT NULL,
    refunded        numeric NOT NULL,
    PRIMARY KEY (tenant, day, payment_system, currency)
);

CREATE FUNCTION utc_day(at timestamptz) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT (at AT TIME ZONE 'UTC')::date $$;

-- Add (sign 1) or take out (sign -1) one group's contribution.
CREATE FUNCTION sales_add(t text, r text, k text, c text, d date, sign integer,
                          o bigint, done bigint, a numeric, re numeric) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO sales_days AS s VALUES (t, r, coalesce(k, ''), coalesce(c, ''), d,
                                        sign * o, sign * done, sign * a, sign * re)
    ON CONFLICT (tenant, report, day, key, currency) DO UPDATE SET
        orders = s.orders + EXCLUDED.orders, completed = s.completed + EXCLUDED.completed,
        amount = s.amount + EXCLUDED.amount, refunded = s.refunded + EXCLUDED.refunded
$$;

-- One order view's own contributions (offer, confirmed sales manager) and those of its
-- lines as they stand (offer_category), with `sign`.
CREATE FUNCTION sales_view(v order_views, sign integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    ok bigint := CASE WHEN v.has_ok THEN 1 ELSE 0 END;
    amount numeric := CASE WHEN v.has_ok THEN coalesce(v.amount, 0) ELSE 0 END;
    refunded numeric := CASE WHEN v.has_ok THEN v.refunded_amount ELSE 0 END;
    line record;
BEGIN
    IF v.status IS NULL OR v.created_at IS NULL THEN
        RETURN;
    END IF;
    PERFORM sales_add(v.tenant, 'offer', v.offer_id, v.currency, utc_day(v.created_at), sign,
                      1, ok, amount, refunded);
    IF v.sales_manager_id IS NOT NULL AND v.sales_manager_confirmed THEN
        PERFORM sales_add(v.tenant, 'sales_manager', v.sales_manager_id, v.currency,
                          utc_day(v.created_at), sign, 1, ok, amount, refunded);
    END IF;
    FOR line IN
        SELECT i.category, sum(i.line_total) AS total,
               sum(refund_share(v.refunded_amount, i.line_total, v.amount, v.currency)) AS share
        FROM order_items i WHERE i.tenant = v.tenant AND i.order_id = v.order_id
        GROUP BY i.category
    LOOP
        PERFORM sales_add(v.tenant, 'offer_category', line.category, v.currency,
                          utc_day(v.created_at), sign, 1, ok,
                          CASE WHEN v.has_ok THEN line.total ELSE 0 END,
                          CASE WHEN v.has_ok THEN line.share ELSE 0 END);
    END LOOP;
END $$;

CREATE FUNCTION sales_views_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM sales_view(OLD, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM sales_view(NEW, 1);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER sales_views AFTER INSERT OR UPDATE OR DELETE ON order_views
    FOR EACH ROW EXECUTE FUNCTION sales_views_changed();

-- Lines added or removed, a statement at a time (so an order's category counts once, however
-- many of its lines the statement touches): their sums, and the order counted in a
-- category when the statement gave it its first line of it (took its last one away).
CREATE FUNCTION sales_lines_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    sign integer := CASE WHEN TG_OP = 'INSERT' THEN 1 ELSE -1 END;
    g record;
BEGIN
    FOR g IN
        SELECT v.tenant, v.currency, v.has_ok, v.created_at, c.category, c.total, c.share,
               NOT EXISTS (SELECT 1 FROM order_items i WHERE i.tenant = c.tenant
                           AND i.order_id = c.order_id AND i.category IS NOT DISTINCT FROM c.category
                           AND NOT (i.line = ANY (c.lines))) AS alone
        FROM (
            SELECT t.tenant, t.order_id, t.category, array_agg(t.line) AS lines,
                   sum(t.line_total) AS total,
                   sum(refund_share(w.refunded_amount, t.line_total, w.amount, w.currency)) AS share
            FROM changed t JOIN order_views w ON w.tenant = t.tenant AND w.order_id = t.order_id
            GROUP BY t.tenant, t.order_id, t.category
        ) AS c
        JOIN order_views v ON v.tenant = c.tenant AND v.order_id = c.order_id
        WHERE v.status IS NOT NULL AND v.created_at IS NOT NULL
    LOOP
        PERFORM sales_add(g.tenant, 'offer_category', g.category, g.currency, utc_day(g.created_at),
                          sign, CASE WHEN g.alone THEN 1 ELSE 0 END,
                          CASE WHEN g.alone AND g.has_ok THEN 1 ELSE 0 END,
                          CASE WHEN g.has_ok THEN g.total ELSE 0 END,
                          CASE WHEN g.has_ok THEN g.share ELSE 0 END);
    END LOOP;
    RETURN NULL;
END $$;

CREATE TRIGGER sales_lines_added AFTER INSERT ON order_items
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION sales_lines_changed();
CREATE TRIGGER sales_lines_removed AFTER DELETE ON order_items
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION sales_lines_changed();

CREATE FUNCTION payment_add(p payments, sign integer) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO payment_days AS s VALUES (
        p.tenant, p.payment_system, p.currency, utc_day(p.made_at), sign,
        sign * (p.succeeded_at IS NOT NULL)::integer,
        sign * CASE WHEN p.succeeded_at IS NOT NULL THEN p.amount ELSE 0 END,
        sign * CASE WHEN p.succeeded_at IS NOT NULL THEN coalesce(p.fee, 0) ELSE 0 END,
        sign * coalesce(p.funds_credited, 0), sign * p.refunded)
    ON CONFLICT (tenant, day, payment_system, currency) DO UPDATE SET
        payments = s.payments + EXCLUDED.payments, succeeded = s.succeeded + EXCLUDED.succeeded,
        amount = s.amount + EXCLUDED.amount, fees = s.fees + EXCLUDED.fees,
        funds_credited = s.funds_credited + EXCLUDED.funds_credited,
        refunded = s.refunded + EXCLUDED.refunded
$$;

CREATE FUNCTION payments_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM payment_add(OLD, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM payment_add(NEW, 1);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER payment_days AFTER INSERT OR UPDATE OR DELETE ON payments
    FOR EACH ROW EXECUTE FUNCTION payments_changed();

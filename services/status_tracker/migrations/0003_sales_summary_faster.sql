-- The daily sums' triggers (0003_sales_summary) at less cost on the hot write path:
-- a view's row trigger runs only when a column the sums read changed (most status reports
-- change none of them), and the lines' statement triggers write one upsert per day,
-- category and currency instead of one per order.

DROP TRIGGER sales_views ON order_views;
CREATE TRIGGER sales_views_added AFTER INSERT OR DELETE ON order_views
    FOR EACH ROW EXECUTE FUNCTION sales_views_changed();
CREATE TRIGGER sales_views_changed AFTER UPDATE ON order_views
    FOR EACH ROW WHEN (
        (OLD.status IS NULL) IS DISTINCT FROM (NEW.status IS NULL)
        OR OLD.created_at IS DISTINCT FROM NEW.created_at
        OR OLD.has_ok IS DISTINCT FROM NEW.has_ok
        OR OLD.amount IS DISTINCT FROM NEW.amount
        OR OLD.currency IS DISTINCT FROM NEW.currency
        OR OLD.offer_id IS DISTINCT FROM NEW.offer_id
        OR OLD.refunded_amount IS DISTINCT FROM NEW.refunded_amount
        OR OLD.sales_manager_id IS DISTINCT FROM NEW.sales_manager_id
        OR OLD.sales_manager_confirmed IS DISTINCT FROM NEW.sales_manager_confirmed
    ) EXECUTE FUNCTION sales_views_changed();

CREATE OR REPLACE FUNCTION sales_lines_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    sign integer := CASE WHEN TG_OP = 'INSERT' THEN 1 ELSE -1 END;
BEGIN
    INSERT INTO sales_days AS s
    SELECT g.tenant, 'offer_category', g.key, g.currency, g.day, sign * sum(g.o),
           sign * sum(g.c), sign * sum(g.a), sign * sum(g.r)
    FROM (
        SELECT v.tenant, coalesce(c.category, '') AS key, coalesce(v.currency, '') AS currency,
               utc_day(v.created_at) AS day,
               CASE WHEN alone THEN 1 ELSE 0 END AS o,
               CASE WHEN alone AND v.has_ok THEN 1 ELSE 0 END AS c,
               CASE WHEN v.has_ok THEN c.total ELSE 0 END AS a,
               CASE WHEN v.has_ok THEN c.share ELSE 0 END AS r
        FROM (
            SELECT t.tenant, t.order_id, t.category, array_agg(t.line) AS lines,
                   sum(t.line_total) AS total,
                   sum(refund_share(w.refunded_amount, t.line_total, w.amount, w.currency)) AS share
            FROM changed t JOIN order_views w ON w.tenant = t.tenant AND w.order_id = t.order_id
            GROUP BY t.tenant, t.order_id, t.category
        ) AS c
        JOIN order_views v ON v.tenant = c.tenant AND v.order_id = c.order_id
        CROSS JOIN LATERAL (
            SELECT NOT EXISTS (SELECT 1 FROM order_items i WHERE i.tenant = c.tenant
                               AND i.order_id = c.order_id
                               AND i.category IS NOT DISTINCT FROM c.category
                               AND NOT (i.line = ANY (c.lines))) AS alone
        ) AS a
        WHERE v.status IS NOT NULL AND v.created_at IS NOT NULL
    ) AS g
    GROUP BY g.tenant, g.key, g.currency, g.day
    ON CONFLICT (tenant, report, day, key, currency) DO UPDATE SET
        orders = s.orders + EXCLUDED.orders, completed = s.completed + EXCLUDED.completed,
        amount = s.amount + EXCLUDED.amount, refunded = s.refunded + EXCLUDED.refunded;
    RETURN NULL;
END $$;

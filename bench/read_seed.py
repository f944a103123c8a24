"""The orders read benchmark's seed: one tenant's N orders written straight into the
status-tracker's schema by Postgres itself (generate_series), the way the tracker's own
handlers would leave them: `orders` and `history` (decision state), `order_views`,
`order_items`, `order_details`, `order_credits` (read model). Varied statuses, currencies,
amounts, customers, offers, payment systems, sales managers, credited members, dates over
about two years. Secondary indexes are dropped for the load and built again after it,
then the tables are analysed. Deterministic (`setseed`).
"""

from __future__ import annotations

import asyncpg

SCHEMA = "status_tracker"
INDEXED = ("order_views", "order_items", "order_credits")

_SEED = """
SELECT setseed(0.42);
CREATE TEMP TABLE seed ON COMMIT DROP AS
SELECT n, 'o-' || lpad(n::text, 8, '0') AS order_id,
       timestamptz '2024-01-01 00:00:00+00' + n * interval '1 minute' * (1000000.0 / $1)::float8
           + r0 * interval '50 seconds' AS created_at,
       CASE WHEN r1 < 0.30 THEN 'Pending' WHEN r1 < 0.65 THEN 'OK' WHEN r1 < 0.80 THEN 'Sent'
            WHEN r1 < 0.90 THEN 'Cancelled' WHEN r1 < 0.97 THEN 'Refunded' ELSE 'Chargeback' END AS status,
       CASE WHEN r1 < 0.30 THEN 'pending' WHEN r1 < 0.65 THEN 'confirmed' WHEN r1 < 0.80 THEN 'fulfilled'
            WHEN r1 < 0.90 THEN 'cancelled' WHEN r1 < 0.97 THEN 'refunded' ELSE 'chargeback' END AS category,
       (r1 >= 0.30 AND NOT (r1 >= 0.80 AND r1 < 0.90)) AS has_ok,
       CASE WHEN r2 < 0.60 THEN 'EUR' WHEN r2 < 0.85 THEN 'USD' WHEN r2 < 0.95 THEN 'GBP' ELSE 'JPY' END AS currency,
       CASE WHEN r2 >= 0.95 THEN round((r3 * 50000)::numeric) ELSE round((r3 * 500)::numeric, 2) END AS amount,
       'c-' || floor(r4 * 100000)::int AS customer_id,
       'off-' || floor(r5 * 500)::int AS offer_id,
       CASE WHEN r6 < 0.45 THEN 'stripe' WHEN r6 < 0.75 THEN 'paypal' WHEN r6 < 0.90 THEN 'adyen'
            ELSE 'klarna' END AS payment_system,
       1 + floor(r7 * 3)::int AS items_count,
       CASE WHEN r8 < 0.20 THEN 'mgr-' || floor(r8 * 250)::int END AS sales_manager_id,
       r9 < 0.5 AS manager_confirmed,
       CASE WHEN r10 < 0.02 THEN 'sub-' || n END AS recurring_order_id,
       CASE WHEN r10 < 0.05 THEN 'partial' ELSE 'full' END AS payment_plan,
       CASE WHEN r11 < 0.30 THEN 'aff-' || floor(r11 * 6666)::int END AS affiliate,
       r12 * interval '10 days' AS later
FROM (SELECT n, random() r0, random() r1, random() r2, random() r3, random() r4, random() r5,
             random() r6, random() r7, random() r8, random() r9, random() r10, random() r11,
             random() r12
      FROM generate_series(1, $1) n) r;
"""
_TABLES = """
INSERT INTO orders (tenant, order_id, status, category, current_report_id, occurred_at, has_ok,
                    confirmed_emitted, reversed_emitted, summary, expiry_due_at, correlation_id)
SELECT 'bench', order_id, status, category,
       order_id || CASE WHEN status = 'Pending' THEN ':first' ELSE ':now' END,
       created_at + CASE WHEN status = 'Pending' THEN interval '0' ELSE later END, has_ok,
       has_ok, category IN ('refunded', 'chargeback'),
       jsonb_build_object('amount', amount::text, 'currency', currency, 'customer_id', customer_id,
                          'offer_id', offer_id, 'items', '[]'::jsonb),
       NULL, order_id || ':first'
FROM seed;
INSERT INTO history (tenant, order_id, report_id, status, category, source, occurred_at, received_at)
SELECT 'bench', order_id, order_id || ':first', 'Pending', 'pending', 'api', created_at,
       created_at + interval '2 seconds' FROM seed;
INSERT INTO history (tenant, order_id, report_id, status, category, source, occurred_at, received_at)
SELECT 'bench', order_id, order_id || ':now', status, category, 'api', created_at + later,
       created_at + later + interval '2 seconds' FROM seed WHERE status <> 'Pending';
INSERT INTO order_views (tenant, order_id, status, category, has_ok, created_at, updated_at, amount,
                         currency, customer_id, offer_id, offer_name, report_payment_system,
                         items_count, payment_plan, paid_amount, sales_manager_id,
                         sales_manager_confirmed, recurring_order_id)
SELECT 'bench', order_id, status, category, has_ok, created_at,
       created_at + CASE WHEN status = 'Pending' THEN interval '0' ELSE later END, amount, currency,
       customer_id, offer_id, 'Offer ' || offer_id, payment_system, items_count, payment_plan,
       CASE WHEN has_ok THEN amount ELSE 0 END, sales_manager_id,
       CASE WHEN sales_manager_id IS NOT NULL THEN manager_confirmed END, recurring_order_id
FROM seed;
INSERT INTO order_items (tenant, order_id, line, sku, name, quantity, unit_price, line_total,
                         category, offer_id, offer_name)
SELECT 'bench', order_id, line, 'sku-' || ((n + line) % 5000), 'Product ' || ((n + line) % 5000),
       1, round(amount / items_count, 2), round(amount / items_count, 2),
       (ARRAY['kitchen', 'garden', 'food', 'books', 'toys', 'sport', 'music', 'tools'])[1 + (n + line) % 8],
       offer_id, 'Offer ' || offer_id
FROM seed, generate_series(1, items_count) line;
INSERT INTO order_details (tenant, order_id, customer_name, discounts, metadata, shipping)
SELECT 'bench', order_id, 'Customer ' || customer_id, '[]', jsonb_build_object('channel', 'web'),
       CASE WHEN category = 'fulfilled' THEN jsonb_build_object('carrier', 'DHL',
            'tracking_number', 'T' || n) END
FROM seed;
INSERT INTO order_credits (tenant, order_id, member_id, via, model, confirmed, credited_at)
SELECT 'bench', order_id, affiliate, 'affiliation', 'last_touch', false, created_at
FROM seed WHERE affiliate IS NOT NULL
UNION ALL
SELECT 'bench', order_id, sales_manager_id, 'sales_manager', 'explicit', manager_confirmed, created_at
FROM seed WHERE sales_manager_id IS NOT NULL;
"""


async def seed(conn: asyncpg.Connection, orders: int) -> dict[str, int]:
    """Writes `orders` orders of tenant `bench`; answers the rows of each table."""
    await conn.execute(f"SET search_path TO {SCHEMA}")
    indexes = await conn.fetch(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1"
        " AND tablename = ANY($2::text[]) AND indexname NOT LIKE '%_pkey'",
        SCHEMA,
        list(INDEXED),
    )
    async with conn.transaction():
        for index in indexes:
            await conn.execute(f'DROP INDEX {SCHEMA}."{index["indexname"]}"')
        await conn.execute(_SEED.replace("$1", str(int(orders))))
        await conn.execute(_TABLES)
        for index in indexes:
            await conn.execute(index["indexdef"])
    for table in ("orders", "history", *INDEXED, "order_details"):
        await conn.execute(f"ANALYZE {SCHEMA}.{table}")
    counts = {}
    for table in ("orders", "history", "order_views", "order_items", "order_credits"):
        counts[table] = await conn.fetchval(f"SELECT count(*) FROM {SCHEMA}.{table}")
    return counts

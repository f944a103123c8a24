"""The payments as the reads show them (CONTRACTS §7, §8): the list, the CSV export, an
order's payments in its detail and its `payment` timeline entries.

The buyer's `comment` is personal data: returned to the tenant's own keys (the routes check
them) and never logged.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg

from orderflow.services.status_tracker import payments_query as q
from orderflow.services.status_tracker.csv_export import CHUNK_ROWS, safe_cell

FIELDS = (
    "payment_id", "order_id", "status", "occurred_at", "made_at", "succeeded_at", "amount",
    "currency", "fee", "funds_credited", "refunded_amount", "payment_system", "one_click",
    "share_percent", "error_code", "comment", "recurring_order_id",
)  # fmt: skip


def _money(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _instant(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def payment_json(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "payment_id": row["payment_id"],
        "order_id": row["order_id"],
        "status": row["status"],
        "occurred_at": _instant(row["occurred_at"]),
        "made_at": _instant(row["made_at"]),
        "succeeded_at": _instant(row["succeeded_at"]),
        "amount": _money(row["amount"]),
        "currency": row["currency"],
        "fee": _money(row["fee"]),
        "funds_credited": _money(row["funds_credited"]),
        "refunded_amount": _money(row["refunded"]),
        "payment_system": row["payment_system"],
        "one_click": row["one_click"],
        "share_percent": _money(row["share_percent"]),
        "error_code": row["error_code"],
        "comment": row["comment"],
        "recurring_order_id": row["recurring_order_id"],
    }


async def page(conn: asyncpg.Connection, tenant: str, query: q.PaymentsQuery) -> dict[str, Any]:
    text, args = q.page_sql(tenant, query)
    rows = await conn.fetch(text, *args)
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    last = rows[-1] if rows and more else None
    cursor = (
        None if last is None else q.cursor_of(last["made_at"], last["order_id"], last["payment_id"])
    )
    return {"payments": [payment_json(r) for r in rows], "next_cursor": cursor}


def cell(value: object) -> str:
    """A CSV cell as the orders export writes one: formula-safe, empty for none."""
    text = "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
    return safe_cell(text)


async def stream_csv(
    conn: asyncpg.Connection, tenant: str, query: q.PaymentsQuery
) -> AsyncIterator[bytes]:
    """The header, then every matching payment in chunks from a server-side cursor; the
    caller holds `conn` in a transaction until the iterator is done."""
    text, args = q.all_sql(tenant, query)
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # RFC 4180: CRLF line ends, quotes doubled where needed
    writer.writerow(FIELDS)
    cursor = await conn.cursor(text, *args)
    while True:
        rows = await cursor.fetch(CHUNK_ROWS)
        writer.writerows([cell(v) for v in payment_json(r).values()] for r in rows)
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
        if len(rows) < CHUNK_ROWS:
            return


class OrderPayments:
    """The orders reads' `Payments` (order_payments.py): an order's payments and timeline."""

    async def of_order(
        self, conn: asyncpg.Connection, tenant: str, order_id: str
    ) -> list[dict[str, Any]]:
        rows = await conn.fetch(
            f"SELECT {q.COLUMNS} FROM payments WHERE tenant = $1 AND order_id = $2"
            " ORDER BY made_at, payment_id",
            tenant,
            order_id,
        )
        return [payment_json(r) for r in rows]

    async def timeline(
        self, conn: asyncpg.Connection, tenant: str, order_id: str
    ) -> list[dict[str, Any]]:
        rows = await conn.fetch(
            "SELECT payment_id, status, amount, currency, occurred_at, received_at"
            " FROM payment_reports WHERE tenant = $1 AND order_id = $2"
            " ORDER BY occurred_at, received_at, report_id",
            tenant,
            order_id,
        )
        return [
            {
                "at": r["occurred_at"],
                "received_at": r["received_at"],
                "kind": "payment",
                "payment_id": r["payment_id"],
                "status": r["status"],
                "amount": _money(r["amount"]),
                "currency": r["currency"],
            }
            for r in rows
        ]

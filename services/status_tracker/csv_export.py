"""The CSV export (CONTRACTS §7): RFC 4180 through the csv module, streamed from a
server-side cursor so a million orders hold no more memory than one chunk.

Postgres writes each cell as text, formula-safe already: a cell that begins with `=`, `+`,
`-`, `@`, a tab or a carriage return gets a leading `'` so a spreadsheet shows it instead of
running it. `sales_manager` is its member id; an absent value is an empty cell.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator, Sequence

import asyncpg
from asyncpg.transaction import Transaction

from orderflow.services.status_tracker.order_filters import Filters
from orderflow.services.status_tracker.orders_query import all_sql

CHUNK_ROWS = 5000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_TIME = "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
_TEXT = ("order_id", "status", "category", "currency", "customer_id", "offer_id", "offer_name",
         "payment_system", "payment_plan")  # fmt: skip
CELLS: dict[str, str] = {
    **{name: f"v.{name}" for name in _TEXT},
    "has_ok": "CASE WHEN v.has_ok THEN 'true' ELSE 'false' END",
    "created_at": _TIME.format("v.created_at"),
    "updated_at": _TIME.format("v.updated_at"),
    "amount": "v.amount::text",
    "items_count": "v.items_count::text",
    "sales_manager": "v.sales_manager_id",
    "paid_amount": "round(v.paid_amount, greatest(scale(v.paid_amount), scale(v.amount)))::text",
}
COLUMNS = ("order_id", "status", "category", "has_ok", "created_at", "updated_at", "amount",
           "currency", "customer_id", "offer_id", "offer_name", "payment_system", "items_count",
           "sales_manager", "paid_amount", "payment_plan")  # fmt: skip
_STARTS_SQL = ", ".join(
    "E'\\t'" if c == "\t" else "E'\\r'" if c == "\r" else f"'{c}'" for c in FORMULA_STARTS
)


def parse_columns(values: Sequence[str], errors: list[tuple[str, str]]) -> tuple[str, ...]:
    """`columns=` (comma-separated summary fields, once); all of them by default."""
    if not values:
        return COLUMNS
    if len(values) > 1:
        errors.append(("query.columns", "must be given at most once"))
        return COLUMNS
    names = tuple(n.strip() for n in values[0].split(","))
    unknown = [n for n in names if n not in CELLS]
    if unknown or not names:
        errors.append(
            (
                "query.columns",
                f"unknown column(s) {', '.join(unknown)}; known: {', '.join(COLUMNS)}",
            )
        )
    return names


def _safe(expression: str) -> str:
    return f"CASE WHEN left({expression}, 1) IN ({_STARTS_SQL}) THEN '''' || {expression} ELSE {expression} END"


# What cannot begin with a formula character (numbers >= 0, instants, fixed words) is
# written as Postgres gives it; every other text is made safe.
_SAFE_ALREADY = frozenset({"category", "currency", "has_ok", "created_at", "updated_at",
                           "amount", "items_count", "paid_amount", "payment_plan"})  # fmt: skip


def select_list(columns: Sequence[str]) -> str:
    return ", ".join(CELLS[c] if c in _SAFE_ALREADY else _safe(CELLS[c]) for c in columns)


def safe_cell(text: str) -> str:
    """The rule the SQL applies, for anything written from Python."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


async def stream(
    conn: asyncpg.Connection, tenant: str, filters: Filters, sort: str, columns: Sequence[str]
) -> AsyncIterator[bytes]:
    """The header, then every matching order in chunks; the caller holds `conn` in a
    transaction (a cursor lives in one) until the iterator is done."""
    text, args = all_sql(tenant, filters, sort, select_list(columns))
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # RFC 4180: CRLF line ends, quotes doubled, fields quoted as needed
    writer.writerow([safe_cell(c) for c in columns])
    cursor = await conn.cursor(text, *args)
    rows = await cursor.fetch(CHUNK_ROWS)
    while True:  # the first chunk holds the header, even when no order matches
        # Postgres makes the next chunk while this one is written (the other core's work).
        upcoming = (
            asyncio.ensure_future(cursor.fetch(CHUNK_ROWS)) if len(rows) == CHUNK_ROWS else None
        )
        await asyncio.sleep(0)  # lets it send its FETCH
        writer.writerows(rows)
        chunk = buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
        rows = await upcoming if upcoming is not None else []
        yield chunk
        if not rows:
            return


async def opened(
    pool: asyncpg.Pool, tenant: str, filters: Filters, sort: str, columns: Sequence[str]
) -> AsyncIterator[bytes]:
    """The export as an iterator that owns a connection, in a read-only repeatable-read
    transaction, until it ends or is closed. The first chunk is read here, so a database
    that is down fails the request (503) before the answer starts."""
    conn: asyncpg.Connection = await pool.acquire()
    transaction = conn.transaction(readonly=True, isolation="repeatable_read")
    try:
        await transaction.start()
        chunks = stream(conn, tenant, filters, sort, columns)
        first = await anext(chunks)
    except BaseException:
        await _done(pool, conn, transaction)
        raise

    async def body() -> AsyncIterator[bytes]:
        try:
            yield first
            async for chunk in chunks:
                yield chunk
        finally:
            await _done(pool, conn, transaction)

    return body()


async def _done(pool: asyncpg.Pool, conn: asyncpg.Connection, transaction: Transaction) -> None:
    try:
        if not conn.is_closed() and conn.is_in_transaction():
            await transaction.rollback()
    finally:
        await pool.release(conn)

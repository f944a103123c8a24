"""The SQL of the order lists (CONTRACTS §7): one statement per page, keyset-paged.

Every filter is a predicate on `order_views` (or an `EXISTS` on its lines or credits) and
every sort has an index that ends in `order_id`, so a page reads about a page of index
entries, not the tenant's orders. `amount` sorts put orders without an amount last
ascending and first descending (the index's own order).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import asyncpg

from orderflow.services.status_tracker.order_filters import Filters, Page, encode_cursor

SUMMARY = (
    "v.order_id, v.status, v.category, v.has_ok, v.created_at, v.updated_at, v.amount,"
    " v.currency, v.customer_id, v.offer_id, v.offer_name, v.payment_system, v.items_count,"
    " v.sales_manager_id, v.sales_manager_confirmed, v.paid_amount, v.payment_plan"
)
_COLUMN = {
    "status": "v.status",
    "category": "v.category",
    "customer_id": "v.customer_id",
    "offer_id": "v.offer_id",
    "payment_system": "v.payment_system",
    "currency": "v.currency",
    "sales_manager": "v.sales_manager_id",
    "recurring_order_id": "v.recurring_order_id",
    "payment_plan": "v.payment_plan",
}
_EXISTS = {
    "item_category": "SELECT 1 FROM order_items i WHERE i.tenant = v.tenant"
    " AND i.order_id = v.order_id AND i.category",
    "member_id": "SELECT 1 FROM order_credits c WHERE c.tenant = v.tenant"
    " AND c.order_id = v.order_id AND c.member_id",
}


@dataclass
class Sql:
    """Clauses with their arguments numbered as they are added."""

    args: list[Any] = field(default_factory=list)
    clauses: list[str] = field(default_factory=list)

    def arg(self, value: Any, cast: str = "") -> str:
        self.args.append(value)
        return f"${len(self.args)}{cast}"

    def matches(self, column: str, values: tuple[Any, ...], cast: str) -> str:
        if len(values) == 1:  # `=` keeps the index order for the page's sort
            return f"{column} = {self.arg(values[0])}"
        return f"{column} = ANY({self.arg(list(values), cast + '[]')})"


def where(tenant: str, filters: Filters) -> Sql:
    sql = Sql()
    sql.clauses += [f"v.tenant = {sql.arg(tenant)}", "v.status IS NOT NULL"]
    for name, values in filters.any_of.items():
        if name == "has_ok":
            sql.clauses.append(
                sql.matches("v.has_ok", tuple(v == "true" for v in values), "::boolean")
            )
        elif name in _EXISTS:
            sql.clauses.append(f"EXISTS ({sql.matches(_EXISTS[name], values, '::text')})")
        else:
            sql.clauses.append(sql.matches(_COLUMN[name], values, "::text"))
    for bound, op, column in (
        (filters.created_from, ">=", "v.created_at"),
        (filters.created_to, "<=", "v.created_at"),
        (filters.min_amount, ">=", "v.amount"),
        (filters.max_amount, "<=", "v.amount"),
    ):
        if bound is not None:
            sql.clauses.append(f"{column} {op} {sql.arg(bound)}")
    return sql


def ordered(sql: Sql, page: Page) -> str:
    """The keyset clause of the page (added to `sql`) and the ORDER BY text."""
    key, descending = page.sort.lstrip("-"), page.sort.startswith("-")
    direction, op = ("DESC", "<") if descending else ("ASC", ">")
    column = f"v.{key}"
    if page.after is not None:
        value, order_id = page.after
        if key == "order_id":
            sql.clauses.append(f"v.order_id {op} {sql.arg(order_id)}")
        elif key != "amount":
            sql.clauses.append(
                f"({column}, v.order_id) {op} ({sql.arg(value)}, {sql.arg(order_id)})"
            )
        else:
            sql.clauses.append(_amount_after(sql, value, order_id, descending))
    if key == "order_id":
        return f"ORDER BY v.order_id {direction}"
    nulls = " NULLS FIRST" if descending and key == "amount" else ""
    return f"ORDER BY {column} {direction}{nulls}, v.order_id {direction}"


def _amount_after(sql: Sql, amount: Any, order_id: str, descending: bool) -> str:
    oid = sql.arg(order_id)
    if amount is None:  # among the orders without an amount
        if descending:
            return f"((v.amount IS NULL AND v.order_id < {oid}) OR v.amount IS NOT NULL)"
        return f"(v.amount IS NULL AND v.order_id > {oid})"
    a = sql.arg(amount, "::numeric")
    if descending:
        return f"(v.amount, v.order_id) < ({a}, {oid})"
    return f"((v.amount, v.order_id) > ({a}, {oid}) OR v.amount IS NULL)"


def page_sql(
    tenant: str, filters: Filters, page: Page, columns: str = SUMMARY
) -> tuple[str, list[Any]]:
    sql = where(tenant, filters)
    order = ordered(sql, page)
    limit = sql.arg(page.limit + 1)
    text = f"SELECT {columns} FROM order_views v WHERE {' AND '.join(sql.clauses)} {order} LIMIT {limit}"
    return text, sql.args


def all_sql(tenant: str, filters: Filters, sort: str, columns: str) -> tuple[str, list[Any]]:
    """Every matching order in the list's order (the CSV export)."""
    sql = where(tenant, filters)
    order = ordered(sql, Page(sort=sort))
    return (
        f"SELECT {columns} FROM order_views v WHERE {' AND '.join(sql.clauses)} {order}",
        sql.args,
    )


async def fetch_page(
    conn: asyncpg.Connection, tenant: str, filters: Filters, page: Page
) -> tuple[list[asyncpg.Record], str | None]:
    """A page of summaries and the next page's cursor (None on the page holding the last)."""
    text, args = page_sql(tenant, filters, page)
    rows = await conn.fetch(text, *args)
    if len(rows) <= page.limit:
        return rows, None
    rows = rows[: page.limit]
    last = rows[-1]
    key = page.sort.lstrip("-")
    return rows, encode_cursor(page.sort, last[key], last["order_id"])

"""The query parameters of the orders reads, declared for FastAPI: the OpenAPI document
names them with their types and FastAPI refuses what breaks them (`422 query.<name>`);
`order_filters.py` then reads the same query string into filters, sort and page."""

from __future__ import annotations

from typing import Literal, get_args

from fastapi import Query

from orderflow.services.status_tracker.kpis import INTERVALS
from orderflow.shared.vocabulary import Category

_OR = "; repeat for OR"
_DECIMAL = r"^[0-9]{1,15}(\.[0-9]{1,4})?$"
_INSTANT = {"format": "date-time"}
Sort = Literal[
    "created_at", "-created_at", "updated_at", "-updated_at", "amount", "-amount",
    "order_id", "-order_id",
]  # fmt: skip
Interval = Literal["day", "week", "month"]
assert set(get_args(Interval)) == set(INTERVALS)


async def filters(
    status: list[str] = Query([], description=f"External status, exact{_OR}"),
    category: list[Category] = Query([], description=f"Current category{_OR}"),
    has_ok: list[Literal["true", "false"]] = Query([], description="Has OK"),
    created_from: str | None = Query(
        None, description="Created at or after (RFC 3339)", json_schema_extra=_INSTANT
    ),
    created_to: str | None = Query(
        None, description="Created at or before (RFC 3339)", json_schema_extra=_INSTANT
    ),
    customer_id: list[str] = Query([], description=f"Customer{_OR}"),
    offer_id: list[str] = Query([], description=f"Offer{_OR}"),
    item_category: list[str] = Query([], description=f"A line's category{_OR}"),
    payment_system: list[str] = Query([], description=f"Payment system{_OR}"),
    currency: list[str] = Query([], description=f"Currency{_OR}"),
    sales_manager: list[str] = Query([], description=f"Sales manager's member id{_OR}"),
    member_id: list[str] = Query([], description=f"Any credited member{_OR}"),
    min_amount: str | None = Query(None, pattern=_DECIMAL, description="Amount at least"),
    max_amount: str | None = Query(None, pattern=_DECIMAL, description="Amount at most"),
    recurring_order_id: list[str] = Query([], description=f"Recurring order{_OR}"),
    payment_plan: list[Literal["full", "partial"]] = Query([], description="Plan"),
) -> None:
    return None


async def sort(
    sort: Sort | None = Query(None, description="Default -created_at (newest first)"),
) -> None:
    return None


async def paging(
    limit: int | None = Query(None, ge=1, le=200, description="Orders per page (default 50)"),
    cursor: str | None = Query(None, description="The next_cursor of the previous page"),
) -> None:
    return None


async def columns(
    columns: str | None = Query(None, description="Comma-separated summary fields (default all)"),
) -> None:
    return None


async def kpi_range(
    start: str | None = Query(
        None, alias="from", description="Created at or after (RFC 3339)", json_schema_extra=_INSTANT
    ),
    end: str | None = Query(
        None, alias="to", description="Created at or before (RFC 3339)", json_schema_extra=_INSTANT
    ),
    interval: Interval | None = Query(None, description="Series period (default day), in UTC"),
) -> None:
    return None

"""The orders read model (migration 0002) written by the tracker's report handler and by
`read_model_store.set_payments`, on a real connection to the tracker's schema."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from orderflow.services.status_tracker import read_model_store
from tests.batch_support import connect_service
from tests.orders_support import T0, credited, credits_handled, handled, reported

pytestmark = pytest.mark.integration
ADDRESS = {"name": "Ada Lovelace", "line1": "1 Rue", "city": "Paris", "country": "FR"}


@pytest.fixture
async def conn(stack_env: dict[str, str]) -> AsyncIterator[asyncpg.Connection]:
    connection = await connect_service(stack_env, "status-tracker")
    try:
        yield connection
    finally:
        await connection.close()


async def view(conn: asyncpg.Connection, order_id: str) -> dict[str, Any]:
    row = await conn.fetchrow("SELECT * FROM order_views WHERE order_id = $1", order_id)
    assert row is not None
    return dict(row)


FIRST = reported(
    "o-1",
    "Pending",
    "pending",
    1,
    amount="30.00",
    currency="EUR",
    customer={"id": "c-1", "name": "Ada Lovelace", "email": None},
    offer_id="offer-9",
    offer_name="Spring",
    items=[
        {
            "sku": "MUG",
            "quantity": 2,
            "unit_price": "10.00",
            "category": "kitchen",
            "offer_name": "Mugs",
        },
        {"sku": "TEA", "quantity": 1, "unit_price": "10.00", "category": "food"},
    ],
    discounts=[{"code": "SPRING", "kind": "coupon", "amount": "5.00"}],
    payment={"system": "stripe"},
    payment_plan="partial",
    recurring={"recurring_order_id": "sub-1", "interval": "1M", "payments_total": None},
    metadata={"channel": "web"},
    shipping={"method": "standard", "carrier": None, "address": ADDRESS},
)
LATER = reported(
    "o-1", "OK", "confirmed", 5, payment={"system": "paypal"}, shipping={"tracking_number": "1Z9"}
)


async def test_reports_build_the_view_its_lines_and_details(conn: asyncpg.Connection) -> None:
    await handled(conn, [FIRST, LATER])

    row = await view(conn, "o-1")
    assert {k: row[k] for k in ("status", "category", "has_ok", "created_at", "updated_at")} == {
        "status": "OK",
        "category": "confirmed",
        "has_ok": True,
        "created_at": T0 + timedelta(hours=1),
        "updated_at": T0 + timedelta(hours=5),
    }
    assert (row["amount"], row["currency"], row["customer_id"], row["offer_id"]) == (
        Decimal("30.00"), "EUR", "c-1", "offer-9",
    )  # fmt: skip
    assert (row["offer_name"], row["payment_plan"], row["recurring_order_id"]) == (
        "Spring", "partial", "sub-1",
    )  # fmt: skip
    assert (row["payment_system"], row["items_count"], row["paid_amount"]) == ("paypal", 2, 0)
    lines = await conn.fetch("SELECT * FROM order_items WHERE order_id = 'o-1' ORDER BY line")
    assert [(r["sku"], r["line_total"], r["offer_name"]) for r in lines] == [
        ("MUG", Decimal("20.00"), "Mugs"),
        ("TEA", Decimal("10.00"), None),
    ]
    details = await conn.fetchrow("SELECT * FROM order_details WHERE order_id = 'o-1'")
    assert details is not None and details["customer_name"] == "Ada Lovelace"
    shipping = {"method": "standard", "address": ADDRESS, "tracking_number": "1Z9"}
    assert json.loads(details["shipping"]) == shipping, "each field from the latest that sets it"


async def test_out_of_order_reports_give_the_same_view(
    conn: asyncpg.Connection, stack_env: dict[str, str]
) -> None:
    await handled(conn, [LATER])
    await handled(conn, [FIRST])
    reversed_order = await view(conn, "o-1")
    items = await conn.fetch("SELECT sku, line_total FROM order_items ORDER BY line")
    await conn.execute("TRUNCATE orders, history, inbox, order_views, order_items, order_details")

    await handled(conn, [FIRST, LATER])

    assert await view(conn, "o-1") == reversed_order
    assert await conn.fetch("SELECT sku, line_total FROM order_items ORDER BY line") == items


async def test_set_payments_before_and_after_the_first_report(conn: asyncpg.Connection) -> None:
    async with conn.transaction():
        await read_model_store.set_payments(
            conn, "shop", "o-1", paid_amount=Decimal("30.00"), refunded_amount=Decimal("0"),
            payment_system="adyen",
        )  # fmt: skip
    await handled(conn, [FIRST])
    row = await view(conn, "o-1")
    assert (row["status"], row["paid_amount"], row["payment_system"]) == (
        "Pending", Decimal("30.00"), "adyen",
    )  # fmt: skip

    async with conn.transaction():
        await read_model_store.set_payments(
            conn, "shop", "o-1", paid_amount=Decimal("20.00"), refunded_amount=Decimal("10.00"),
            payment_system=None,
        )  # fmt: skip
    await handled(conn, [LATER])
    row = await view(conn, "o-1")
    assert (row["paid_amount"], row["refunded_amount"]) == (Decimal("20.00"), Decimal("10.00"))
    assert row["payment_system"] == "paypal", "no succeeded payment: the reports' system"


async def test_credits_and_the_sales_manager_follow_the_attribution_stream(
    conn: asyncpg.Connection,
) -> None:
    manager = credited("o-1", "mgr-1", "sales_manager", 1)
    stream = [
        manager,
        credited("o-1", "aff-1", "affiliation", 1),
        credited("o-1", "mgr-1", "sales_manager", 2, confirmed=True),
    ]
    await credits_handled(conn, stream)  # before the order's first report
    await credits_handled(conn, [manager])  # a redelivery changes nothing
    await handled(conn, [FIRST])

    row = await view(conn, "o-1")
    assert (row["status"], row["sales_manager_id"], row["sales_manager_confirmed"]) == (
        "Pending", "mgr-1", True,
    )  # fmt: skip
    credits = await conn.fetch("SELECT member_id, via, confirmed FROM order_credits ORDER BY 1")
    assert [tuple(r) for r in credits] == [
        ("aff-1", "affiliation", False),
        ("mgr-1", "sales_manager", True),
    ]
    logged = await conn.fetchval("SELECT count(*) FROM order_attributions")
    assert logged == 3

    await credits_handled(conn, [credited("o-1", "mgr-1", "sales_manager", 3, voided=True)])
    row = await view(conn, "o-1")
    assert (row["sales_manager_id"], row["sales_manager_confirmed"]) == (None, None)

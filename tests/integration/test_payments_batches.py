"""The payments handler and the report handler's payments hook on a real connection."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from decimal import Decimal
from functools import partial

import asyncpg
import pytest

from orderflow.services.status_tracker import handlers, payments_handlers
from orderflow.services.status_tracker.app import starts_payment_expiry
from orderflow.services.status_tracker.domain import ExpiryRule
from orderflow.services.status_tracker.payments_handlers import PaymentRules
from orderflow.shared import topics
from orderflow.shared.envelope import Envelope
from orderflow.shared.errors import Rejected
from tests.batch_support import connect_service, counting
from tests.payments_support import at, batch, lifecycle, order_report, payment

pytestmark = pytest.mark.integration
EXPIRY = ExpiryRule(starts_payment_expiry, timedelta(days=7))
RULES = {
    "shop": PaymentRules(True, "Completed", EXPIRY),
    "loyal": PaymentRules(False, "OK"),
}
on_payments = partial(payments_handlers.on_payment_reported, rules=RULES)
on_reports = partial(handlers.on_order_reported, rules={"shop": EXPIRY}, payment_rules=RULES)


@pytest.fixture
async def conn(stack_env: dict[str, str]) -> AsyncIterator[asyncpg.Connection]:
    connection = await connect_service(stack_env, "status-tracker")
    await connection.execute(
        "TRUNCATE orders, history, outbox, inbox, payments, payment_reports, order_views"
    )
    try:
        yield connection
    finally:
        await connection.close()


async def payments_in(conn: asyncpg.Connection, *events: Envelope) -> None:
    async with conn.transaction():
        await on_payments(conn, batch(topics.PAYMENT_REPORTS, events))


async def reports_in(conn: asyncpg.Connection, *events: Envelope) -> None:
    async with conn.transaction():
        await on_reports(conn, batch(topics.ORDER_REPORTS, events))


def types(events: Sequence[Envelope]) -> list[str]:
    return [e.type for e in events]


async def view(conn: asyncpg.Connection, order_id: str) -> asyncpg.Record:
    return await conn.fetchrow("SELECT * FROM order_views WHERE order_id = $1", order_id)


def charge_failed(order_id: str) -> list[Envelope]:
    money = {"amount": "100.00", "currency": "EUR"}
    return [
        order_report("shop", order_id, "Received", "pending", 1, **money),
        order_report("shop", order_id, "Accepted", "pending", 2),
        order_report("shop", order_id, "Pending payment", "pending", 3),
    ]


async def test_a_covering_payment_confirms_once_and_cancels_the_timer(
    conn: asyncpg.Connection,
) -> None:
    await reports_in(conn, *charge_failed("s-1"))
    assert await conn.fetchval("SELECT expiry_due_at FROM orders") == at(3) + timedelta(days=7)
    await payments_in(conn, payment("shop", "s-1", "ch-1", "succeeded", 4, "100.00", fee="3.20"))
    await payments_in(conn, payment("shop", "s-1", "ch-1", "succeeded", 4.5, "100.00", fee="3.20"))
    events = await lifecycle(conn, "s-1")
    assert types(events).count("order.confirmed") == 1
    confirmed = next(e for e in events if e.type == "order.confirmed")
    assert (confirmed.occurred_at, confirmed.data["status"]) == (at(4), "Completed")
    order = await conn.fetchrow("SELECT * FROM orders WHERE order_id = 's-1'")
    assert (order["has_ok"], order["expiry_due_at"]) == (True, None)
    row = await view(conn, "s-1")
    assert (row["has_ok"], row["paid_amount"], row["payment_system"]) == (
        True,
        Decimal("100.00"),
        "stripe",
    )
    stored = await conn.fetchrow("SELECT * FROM payments WHERE payment_id = 'ch-1'")
    assert (stored["status"], stored["funds_credited"]) == ("succeeded", Decimal("96.80"))


async def test_payments_that_came_first_confirm_when_the_order_arrives(
    conn: asyncpg.Connection,
) -> None:
    await payments_in(
        conn,
        payment("shop", "s-2", "inv-1", "succeeded", 1, "60.00"),
        payment("shop", "s-2", "inv-2", "succeeded", 2, "40.00"),
    )
    assert types(await lifecycle(conn, "s-2")) == ["order.payment_recorded"] * 2
    await reports_in(
        conn,
        order_report("shop", "s-2", "Received", "pending", 0.5, amount="100.00", currency="EUR"),
    )
    events = await lifecycle(conn, "s-2")
    assert types(events)[2:] == [
        "order.status_changed",
        "order.status_changed",
        "order.confirmed",
    ]
    assert events[-1].occurred_at == at(2)
    assert (await view(conn, "s-2"))["paid_amount"] == Decimal("100.00")


async def test_without_confirm_on_payment_a_covering_payment_only_records(
    conn: asyncpg.Connection,
) -> None:
    await reports_in(
        conn, order_report("loyal", "l-1", "Pending", "pending", 1, amount="10.00", currency="EUR")
    )
    await payments_in(conn, payment("loyal", "l-1", "p", "succeeded", 2, "10.00"))
    assert types(await lifecycle(conn, "l-1")) == [
        "order.status_changed",
        "order.payment_recorded",
    ]


async def test_partial_then_full_refund_of_a_payment(conn: asyncpg.Connection) -> None:
    await reports_in(
        conn, order_report("loyal", "l-2", "OK", "confirmed", 1, amount="100.00", currency="EUR")
    )
    await payments_in(conn, payment("loyal", "l-2", "p", "succeeded", 1, "100.00"))
    await payments_in(
        conn, payment("loyal", "l-2", "p", "refunded", 2, "100.00", refunded_amount="30.00")
    )
    await payments_in(conn, payment("loyal", "l-2", "p", "refunded", 3, "100.00"))
    refunds = [e.data for e in await lifecycle(conn, "l-2") if e.type == "order.refunded"]
    assert [(r["refund_amount"], r["refunded_total"], r["full"]) for r in refunds] == [
        ("30.00", "30.00", False),
        ("70.00", "100.00", True),
    ]
    row = await view(conn, "l-2")
    assert (row["paid_amount"], row["refunded_amount"]) == (Decimal("0.00"), Decimal("100.00"))


async def test_a_status_report_carrying_refunded_amount_refunds_the_order(
    conn: asyncpg.Connection,
) -> None:
    await reports_in(
        conn, order_report("loyal", "l-3", "OK", "confirmed", 1, amount="80.00", currency="EUR")
    )
    await reports_in(
        conn, order_report("loyal", "l-3", "Refunded", "refunded", 2, refunded_amount="20.00")
    )
    await reports_in(conn, order_report("loyal", "l-3", "Returned", "refunded", 3))
    refunds = [e.data for e in await lifecycle(conn, "l-3") if e.type == "order.refunded"]
    assert [(r["refund_amount"], r["full"], r["order_amount"]) for r in refunds] == [
        ("20.00", False, "80.00"),
        ("60.00", True, "80.00"),
    ]
    assert (await view(conn, "l-3"))["refunded_amount"] == Decimal("80.00")


async def test_a_batch_gives_what_one_at_a_time_gives(conn: asyncpg.Connection) -> None:
    facts = [
        payment("shop", "s-3", "a", "pending", 1, "50.00"),
        payment("shop", "s-3", "a", "succeeded", 2, "50.00"),
        payment("shop", "s-4", "b", "failed", 1, "10.00", error_code="card_declined"),
        payment("shop", "s-3", "c", "succeeded", 3, "50.00"),
        payment("shop", "s-3", "a", "succeeded", 2, "50.00"),  # a redelivery in the batch
    ]
    await reports_in(conn, *charge_failed("s-3"))
    for fact in facts:
        await payments_in(conn, fact)
    one_by_one = [(e.type, e.event_id, e.data) for e in await lifecycle(conn, "s-3")]
    await conn.execute("TRUNCATE orders, history, outbox, inbox, payments, payment_reports")
    await reports_in(conn, *charge_failed("s-3"))
    await payments_in(conn, *facts)
    batched = [(e.type, e.event_id, e.data) for e in await lifecycle(conn, "s-3")]
    assert batched == one_by_one
    assert [t for t, _, _ in batched].count("order.confirmed") == 1


async def test_a_payment_batch_costs_the_same_statements_whatever_its_size(
    conn: asyncpg.Connection,
) -> None:
    await payments_in(conn, payment("shop", "warm", "w", "pending", 1, "1.00"))
    with counting(conn) as one:
        await payments_in(conn, payment("shop", "x-1", "p", "pending", 1, "1.00"))
    many = [payment("shop", f"x-{n}", "p", "succeeded", 2, "1.00") for n in range(2, 12)]
    with counting(conn) as eleven:
        await payments_in(conn, *many)
    assert await one.count() == await eleven.count()


async def test_a_malformed_payment_is_rejected_naming_the_problem(conn: asyncpg.Connection) -> None:
    bad = payment("shop", "s-9", "p", "settled", 1, "1.00")
    with pytest.raises(Rejected, match=r"payment\.reported"):
        await payments_in(conn, bad)
    assert await conn.fetchval("SELECT count(*) FROM payment_reports") == 0

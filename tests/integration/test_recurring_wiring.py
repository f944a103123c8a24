"""Recurring orders through the tracker's own handlers (reports and payments), on a real
connection: an initial order paid by a payment starts its recurring order, the timer asks
for charge 2, and its payment confirms child order `<id>-2` in the orders read model."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial

import asyncpg
import pytest

from orderflow.services.status_tracker import handlers, payments_handlers, recurring_handlers
from orderflow.services.status_tracker.payments_handlers import PaymentRules
from orderflow.services.status_tracker.recurring_state import Policy
from orderflow.shared import topics
from orderflow.shared.envelope import Envelope
from tests.batch_support import connect_service
from tests.payments_support import at, batch, lifecycle, order_report, payment

pytestmark = pytest.mark.integration
POLICIES = {"loyal": Policy(())}
RULES = {"loyal": PaymentRules(False, "OK")}
on_reports = partial(handlers.on_order_reported, rules={}, payment_rules=RULES, recurring=POLICIES)
on_payments = partial(payments_handlers.on_payment_reported, rules=RULES, recurring=POLICIES)
PLAN = {"recurring_order_id": "sub-7", "interval": "1d", "payments_total": 3}


@pytest.fixture
async def conn(stack_env: dict[str, str]) -> AsyncIterator[asyncpg.Connection]:
    connection = await connect_service(stack_env, "status-tracker")
    try:
        yield connection
    finally:
        await connection.close()


async def handled(conn: asyncpg.Connection, topic: str, *events: Envelope) -> None:
    handler = on_reports if topic == topics.ORDER_REPORTS else on_payments
    async with conn.transaction():
        await handler(conn, batch(topic, events))


async def test_a_paid_charge_is_a_confirmed_child_order_of_the_read_model(
    conn: asyncpg.Connection,
) -> None:
    money = {"amount": "20.00", "currency": "EUR", "customer": {"id": "c-7"}, "offer_id": "box"}
    await handled(conn, topics.ORDER_REPORTS,
                  order_report("loyal", "init-7", "Pending", "pending", 1, recurring=PLAN, **money))  # fmt: skip
    await handled(conn, topics.PAYMENT_REPORTS,
                  payment("loyal", "init-7", "inv-1", "succeeded", 2, "20.00"))  # fmt: skip
    row = await conn.fetchrow("SELECT * FROM recurring_orders")
    assert (row["status"], row["anchor_at"], row["due_at"]) == ("active", at(2), at(26))
    async with conn.transaction():
        assert await recurring_handlers.fire_due(conn, at(26), 10, POLICIES) == 1
    child = payment(
        "loyal", "sub-7-2", "inv-2", "succeeded", 27, "20.00", recurring_order_id="sub-7"
    )
    await handled(conn, topics.PAYMENT_REPORTS, child, child)
    view = await conn.fetchrow("SELECT * FROM order_views WHERE order_id = 'sub-7-2'")
    assert (view["status"], view["has_ok"], view["recurring_order_id"]) == ("OK", True, "sub-7")
    assert (view["amount"], view["customer_id"], view["offer_id"]) == (20, "c-7", "box")
    assert view["paid_amount"] == 20
    confirmed = [e for e in await lifecycle(conn, "sub-7-2") if e.type == "order.confirmed"]
    assert len(confirmed) == 1 and confirmed[0].correlation_id == row["correlation_id"]
    initial = await conn.fetchrow("SELECT * FROM order_views WHERE order_id = 'init-7'")
    assert initial["recurring_order_id"] == "sub-7"
    row = await conn.fetchrow("SELECT * FROM recurring_orders")
    assert (row["status"], row["payments_made"], row["due_at"]) == ("active", 2, at(50))


async def test_a_failed_charge_without_retries_fails_the_order(conn: asyncpg.Connection) -> None:
    await handled(conn, topics.ORDER_REPORTS,
                  order_report("loyal", "init-8", "OK", "confirmed", 1, amount="5.00",
                               currency="EUR", recurring={**PLAN, "recurring_order_id": "sub-8"}))  # fmt: skip
    async with conn.transaction():
        assert await recurring_handlers.fire_due(conn, at(25), 10, POLICIES) == 1
    failed = payment("loyal", "sub-8-2", "inv-2", "failed", 26, "5.00", recurring_order_id="sub-8")
    await handled(conn, topics.PAYMENT_REPORTS, failed)
    row = await conn.fetchrow("SELECT * FROM recurring_orders")
    assert (row["status"], row["due_at"]) == ("failed", None)
    assert await conn.fetchval("SELECT status FROM order_views WHERE order_id = 'sub-8-2'") is None


async def test_a_first_payment_before_the_report_starts_the_plan_when_the_report_comes(
    conn: asyncpg.Connection,
) -> None:
    await handled(conn, topics.PAYMENT_REPORTS,
                  payment("loyal", "init-9", "inv-9", "succeeded", 1, "7.00"))  # fmt: skip
    assert await conn.fetchval("SELECT count(*) FROM recurring_orders") == 0
    plan = {**PLAN, "recurring_order_id": "sub-9"}
    await handled(conn, topics.ORDER_REPORTS,
                  order_report("loyal", "init-9", "Pending", "pending", 2, amount="7.00",
                               currency="EUR", recurring=plan))  # fmt: skip
    row = await conn.fetchrow("SELECT * FROM recurring_orders")
    assert (row["status"], row["anchor_at"], row["due_at"]) == ("active", at(1), at(25))

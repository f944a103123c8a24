"""Recurring orders on a real connection to the tracker's schema, without a broker.

The reports and payments hooks, the timer (two loops racing over the same due rows), a
pause holding a due charge and activate releasing it, and a charge failing on its first
attempt and both retries. Time is injected (`clock`), with intervals of seconds.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import asyncpg
import pytest

from orderflow.services.status_tracker import handlers, recurring_hooks, recurring_store
from orderflow.services.status_tracker.recurring_handlers import Happened, settle
from orderflow.services.status_tracker.recurring_state import Action, Managed, Policy
from orderflow.services.status_tracker.recurring_timers import RecurringTimers
from orderflow.shared.envelope import Envelope, new_event
from orderflow.shared.provision import role_name, schema_name
from orderflow.shared.settings import DatabaseSettings
from tests.batch_support import connect_service, records

pytestmark = pytest.mark.integration
T0 = datetime(2026, 1, 31, 9, tzinfo=UTC)
SECOND = timedelta(seconds=1)
POLICIES = {"shop": Policy((2 * SECOND, 5 * SECOND))}
SERVICE = "status-tracker"


@pytest.fixture
async def conn(stack_env: dict[str, str]) -> AsyncIterator[asyncpg.Connection]:
    connection = await connect_service(stack_env, SERVICE)
    try:
        yield connection
    finally:
        await connection.close()


async def pool_of(env: dict[str, str]) -> asyncpg.Pool:
    db = DatabaseSettings.model_validate({"DATABASE_URL": env["DATABASE_URL"]})
    pool = await asyncpg.create_pool(
        db.dsn_for_role(role_name(SERVICE)),
        min_size=1,
        max_size=2,
        server_settings={"search_path": schema_name(SERVICE)},
    )
    assert pool is not None
    return pool


def reported(order_id: str, rid: str | None, at: datetime, **extra: Any) -> Envelope:
    data: dict[str, Any] = {"amount": "9.90", "currency": "EUR", "customer": {"id": "c-1"}}
    if rid is not None:
        data["recurring"] = {"recurring_order_id": rid, "interval": "10s", **extra}
    return new_event(type="order.reported", tenant="shop", order_id=order_id, occurred_at=at,
                     causation_id=f"r:{order_id}", correlation_id=f"r:{order_id}", data=data)  # fmt: skip


def paid(order_id: str, status: str, at: datetime, rid: str | None = None) -> Envelope:
    data = {"status": status, "payment_system": "stripe", "recurring_order_id": rid}
    return new_event(type="payment.reported", tenant="shop", order_id=order_id, occurred_at=at,
                     causation_id=f"p:{order_id}:{status}:{at}", correlation_id="p", data=data)  # fmt: skip


async def start(conn: asyncpg.Connection, rid: str, at: datetime = T0, **plan: Any) -> None:
    async with conn.transaction():
        await recurring_hooks.on_reports(conn, [reported(f"{rid}-init", rid, at, **plan)], [],
                                         POLICIES)  # fmt: skip
        await recurring_hooks.on_payments(conn, [paid(f"{rid}-init", "succeeded", at)], POLICIES)


async def outbox(conn: asyncpg.Connection, type_: str) -> list[Envelope]:
    rows = await conn.fetch("SELECT value FROM outbox ORDER BY id")
    events = [Envelope.from_bytes(r["value"]) for r in rows]
    return [e for e in events if e.type == type_]


async def state(conn: asyncpg.Connection, rid: str) -> asyncpg.Record:
    row = await conn.fetchrow("SELECT * FROM recurring_orders WHERE recurring_order_id = $1", rid)
    assert row is not None
    return row


def timers(pool: asyncpg.Pool, now: datetime, batch: int = 100) -> RecurringTimers:
    return RecurringTimers(pool, POLICIES, 0.05, batch, lambda: None, clock=lambda: now)


async def test_the_initial_payment_starts_the_schedule_and_a_report_alone_does_not(
    conn: asyncpg.Connection,
) -> None:
    async with conn.transaction():
        await recurring_hooks.on_reports(conn, [reported("o-1", "sub-1", T0)], [], POLICIES)
    assert (await state(conn, "sub-1"))["status"] is None
    await start(conn, "sub-2", payments_total=3)
    row = await state(conn, "sub-2")
    assert (row["status"], row["payments_made"], row["sequence"]) == ("active", 1, 2)
    assert row["due_at"] == T0 + 10 * SECOND == row["next_payment_at"]
    [changed] = await outbox(conn, "recurring_order.status_changed")
    assert changed.data["status"] == "active" and changed.data["payments_remaining"] == 2


async def test_two_timer_loops_racing_publish_each_charge_once(
    conn: asyncpg.Connection, stack_env: dict[str, str]
) -> None:
    for n in range(120):
        await start(conn, f"sub-{n:03}")
    now = T0 + 11 * SECOND
    pools = [await pool_of(stack_env), await pool_of(stack_env)]
    try:
        loops = [timers(pool, now, batch=7) for pool in pools]

        async def drain(loop: RecurringTimers) -> int:
            fired = 0
            while fired_now := await loop.fire_due():
                fired += fired_now
            return fired

        counts = await asyncio.gather(*(drain(loop) for loop in loops))
        assert await loops[0].fire_due() == 0
    finally:
        for pool in pools:
            await pool.close()
    assert sum(counts) == 120 and all(counts), f"both loops fired: {counts}"
    charges = await outbox(conn, "recurring.charge_due")
    per_order = Counter(e.data["recurring_order_id"] for e in charges)
    assert len(per_order) == 120 and set(per_order.values()) == {1}
    assert {(e.data["sequence"], e.data["attempt"]) for e in charges} == {(2, 1)}
    assert (
        await conn.fetchval("SELECT count(*) FROM recurring_orders WHERE due_at IS NOT NULL") == 0
    )


async def test_pause_holds_a_due_charge_and_activate_releases_it(
    conn: asyncpg.Connection, stack_env: dict[str, str]
) -> None:
    await start(conn, "sub-p")
    key = ("shop", "sub-p")
    async with conn.transaction():
        await settle(conn, [Happened(key, Managed(Action.PAUSE, T0), "req-1", T0)], POLICIES)
    pool = await pool_of(stack_env)
    try:
        later = T0 + 60 * SECOND
        assert await timers(pool, later).fire_due() == 0, "held while paused"
        assert await outbox(conn, "recurring.charge_due") == []
        async with conn.transaction():
            happened = Happened(key, Managed(Action.ACTIVATE, later), "req-2", later)
            await settle(conn, [happened], POLICIES)
        assert (await state(conn, "sub-p"))["due_at"] == later
        assert await timers(pool, later).fire_due() == 1
    finally:
        await pool.close()
    [charge] = await outbox(conn, "recurring.charge_due")
    assert (
        charge.data["order_id"] == "sub-p-2"
        and charge.data["due_at"] == (T0 + 10 * SECOND).isoformat()
    )
    statuses = [e.data["status"] for e in await outbox(conn, "recurring_order.status_changed")]
    assert statuses == ["active", "paused", "active", "processing"]


async def test_a_charge_failing_on_both_retries_fails_the_order(
    conn: asyncpg.Connection, stack_env: dict[str, str]
) -> None:
    await start(conn, "sub-f")
    pool = await pool_of(stack_env)
    try:
        due = T0 + 10 * SECOND
        for attempt, wait in ((1, 2), (2, 5), (3, None)):
            assert await timers(pool, due).fire_due() == 1, f"attempt {attempt} published"
            async with conn.transaction():
                await recurring_hooks.on_payments(conn, [paid("sub-f-2", "failed", due, "sub-f")],
                                                  POLICIES)  # fmt: skip
            row = await state(conn, "sub-f")
            if wait is not None:
                assert (row["status"], row["attempt"]) == ("processing", attempt + 1)
                assert row["due_at"] == due + wait * SECOND
                due = row["due_at"]
    finally:
        await pool.close()
    assert (row["status"], row["due_at"]) == ("failed", None)
    charges = await outbox(conn, "recurring.charge_due")
    assert [e.data["attempt"] for e in charges] == [1, 2, 3]
    [charge] = await conn.fetch("SELECT * FROM recurring_charges WHERE sequence = 2")
    assert (charge["status"], charge["attempts"], charge["order_id"]) == ("failed", 3, "sub-f-2")


async def test_two_charges_succeed_and_a_plan_of_three_completes(conn: asyncpg.Connection,
                                                                  stack_env: dict[str, str]) -> None:  # fmt: skip
    await start(conn, "sub-c", payments_total=3)
    pool = await pool_of(stack_env)
    try:
        for sequence in (2, 3):
            due = T0 + (sequence - 1) * 10 * SECOND
            assert await timers(pool, due).fire_due() == 1
            outcome = paid(f"sub-c-{sequence}", "succeeded", due + SECOND, "sub-c")
            async with conn.transaction():
                await recurring_hooks.on_payments(conn, [outcome, outcome], POLICIES)
    finally:
        await pool.close()
    row = await state(conn, "sub-c")
    assert (row["status"], row["payments_made"], row["due_at"]) == ("completed", 3, None)
    orders = await conn.fetch("SELECT order_id, status FROM recurring_charges ORDER BY sequence")
    assert [tuple(r) for r in orders] == [
        ("sub-c-init", "succeeded"), ("sub-c-2", "succeeded"), ("sub-c-3", "succeeded"),
    ]  # fmt: skip


async def test_a_poll_with_nothing_due_is_one_statement(
    conn: asyncpg.Connection, stack_env: dict[str, str]
) -> None:
    await start(conn, "sub-idle")
    pool = await pool_of(stack_env)
    try:
        loop = timers(pool, T0 + SECOND)
        assert await loop.fire_due() == 0
        assert loop._wait_s == pytest.approx(0.05), "the poll interval bounds the sleep"
        far = RecurringTimers(pool, POLICIES, 60.0, 100, lambda: None, clock=lambda: T0)
        assert await far.fire_due() == 0 and far._wait_s == pytest.approx(10.0)
    finally:
        await pool.close()
    assert await recurring_store.next_due(conn) == T0 + 10 * SECOND


def report_record(order_id: str, status: str, category: str, at: datetime, **data: Any) -> Any:
    event = new_event(
        type="order.reported", tenant="shop", order_id=order_id, occurred_at=at,
        causation_id=f"{order_id}:{status}", correlation_id=f"{order_id}:{status}",
        data={"report_id": f"{order_id}:{status}", "status": status, "category": category,
              "source": "api", "received_at": at.isoformat(), "amount": "12.00",
              "currency": "EUR", **data},
    )  # fmt: skip
    return records("ingest.reports.v1", [(f"shop:{order_id}".encode(), event.to_bytes())])


async def test_the_report_handler_registers_and_its_confirmation_starts_the_order(
    conn: asyncpg.Connection,
) -> None:
    plan = {"recurring_order_id": "sub-r", "interval": "1M", "payments_total": 12}
    handle = partial(handlers.on_order_reported, rules={}, recurring=POLICIES)
    async with conn.transaction():
        await handle(conn, report_record("init-r", "Pending", "pending", T0, recurring=plan))
    assert (await state(conn, "sub-r"))["status"] is None, "not before the first payment"
    async with conn.transaction():
        await handle(conn, report_record("init-r", "OK", "confirmed", T0 + SECOND))
    row = await state(conn, "sub-r")
    assert (row["status"], row["anchor_at"], row["amount"]) == ("active", T0 + SECOND, 12)
    assert row["next_payment_at"] == datetime(2026, 2, 28, 9, 0, 1, tzinfo=UTC)
    [initial] = await conn.fetch("SELECT * FROM recurring_charges")
    assert (initial["order_id"], initial["sequence"], initial["status"]) == (
        "init-r",
        1,
        "succeeded",
    )

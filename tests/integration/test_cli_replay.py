"""`orderflow replay reports`: ingest's stored reports go out again under their own event ids,
and downstream nothing changes (no new lifecycle event, the tracker's state as it was)."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from orderflow.shared import topics
from tests.cli_support import cli_env, orderflow
from tests.harness import TopicReader, of_type, producer, report, running, write_tenants

pytestmark = pytest.mark.integration
ORDERS = ("r-1", "r-2", "r-3")


async def _tracker_state(db: asyncpg.Connection) -> list[tuple[object, ...]]:
    rows = await db.fetch("SELECT * FROM status_tracker.orders ORDER BY tenant, order_id")
    history = await db.fetch("SELECT * FROM status_tracker.history ORDER BY 1, 2, 3")
    return [tuple(r.values()) for r in [*rows, *history]]


async def test_replayed_reports_have_their_event_ids_and_change_nothing_downstream(
    stack_env: dict[str, str], db: asyncpg.Connection, tmp_path: Path
) -> None:
    tenants_dir = write_tenants(tmp_path / "tenants")
    async with (
        running("ingest", stack_env, tenants_dir),
        running("status-tracker", stack_env, tenants_dir),
        TopicReader(stack_env, topics.ORDER_REPORTS) as reports,
        TopicReader(stack_env, topics.ORDERS_LIFECYCLE) as lifecycle,
    ):
        async with producer(stack_env) as send:
            for order in ORDERS:
                await send(
                    topics.ORDERS_INBOUND,
                    f"shop:{order}",
                    report(
                        order, "Pending", "2026-12-01T09:00:00+00:00", amount="5.00", currency="EUR"
                    ),
                )
                await send(
                    topics.ORDERS_INBOUND,
                    f"shop:{order}",
                    report(order, "OK", "2026-12-01T10:00:00+00:00"),
                )
        await lifecycle.read_until(lambda es: len(of_type(es, "order.confirmed")) == 3)
        before_events = [e.event_id for e in await lifecycle.settle(1.5)]
        first = [(e.event_id, e) for e in await reports.read_until(lambda es: len(es) == 6)]
        before_state = await _tracker_state(db)

        env = cli_env(stack_env, tenants_dir)
        none = await orderflow(
            "replay", "reports", "--tenant", "shop", "--since", "2100-01-01T00:00:00+00:00", env=env
        )
        assert "0 report(s)" in none.stdout, none.stderr
        replayed = await orderflow("replay", "reports", "--tenant", "shop", env=env)
        assert replayed.returncode == 0 and "6 report(s)" in replayed.stdout, replayed.stderr

        again = await reports.read_until(lambda es: len(es) == 12)
        after_events = [e.event_id for e in await lifecycle.settle(3.0)]
    assert len(again) == 12
    assert sorted(e.event_id for e in again[6:]) == sorted(event_id for event_id, _ in first)
    originals = dict(first)
    assert all(e.data == originals[e.event_id].data for e in again[6:])
    assert after_events == before_events  # the tracker's inbox absorbed every replayed event
    assert await _tracker_state(db) == before_state

"""CONTRACTS §14 and §8 on the real broker and Postgres, attribution and rewards running:
a reassigned sale's credit and commission move to the new manager, a confirmed sale stays,
and refunds take commission back pro rata on commissions.v1."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from orderflow.shared import topics
from orderflow.shared.envelope import Envelope
from tests.harness import TopicReader, producer, running
from tests.integration.attribution_inputs import publish, reported
from tests.refund_support import refunded
from tests.rewards_support import lifecycle_story

pytestmark = pytest.mark.integration

T = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)  # approvals stay due later
HOUR = timedelta(hours=1)
SALES_KEY, READ_KEY = "aff-sales-key-0123456789", "aff-read-key-0123456789"
TENANT = f"""tenant: aff
status_profile: affiliate
attribution: {{lookback_days: 30}}
api_keys:
  - "{READ_KEY}"
  - {{key: "{SALES_KEY}", scopes: ["sales:confirm"]}}
commission: {{percent: "10", fixed: "0.50", holding_days: 30}}
"""
A, V = "order.attributed", "order.attribution_voided"


@pytest.fixture
def tenants_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "tenants"
    directory.mkdir()
    (directory / "aff.yaml").write_text(TENANT)
    return directory


def of(events: list[Envelope], order_id: str) -> list[tuple[Any, ...]]:
    return [
        (e.type, e.data["member_id"], e.data.get("reason"), e.data.get("confirmed"))
        for e in events
        if e.order_id == order_id
    ]


def ledger(events: list[Envelope], order_id: str) -> list[tuple[str, str, str, str]]:
    return [
        (e.type, e.data["member_id"], e.data["amount"], e.data["reason"])
        for e in events
        if e.order_id == order_id
    ]


def has(count: int) -> Callable[[list[Envelope]], bool]:
    return lambda es: len({e.event_id for e in es}) >= count


async def test_reassignments_move_credit_and_commission_and_refunds_reverse_pro_rata(
    stack_env: dict[str, str], tenants_dir: Path
) -> None:
    manager_sale = [("sm-1", "sales_manager")]
    async with (
        running("attribution", stack_env, tenants_dir) as attribution,
        running("rewards", stack_env, tenants_dir),
        producer(stack_env) as send,
        TopicReader(stack_env, topics.ORDERS_ATTRIBUTION) as credits,
        TopicReader(stack_env, topics.COMMISSIONS) as commissions,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{attribution.settings.http_port}") as http,
    ):

        async def post(order_id: str, what: str, body: dict[str, Any]) -> httpx.Response:
            path = f"/v1/orders/aff/{order_id}/{what}"
            return await http.post(
                path, json=body, headers={"Authorization": f"Bearer {SALES_KEY}"}
            )

        await publish(
            send,
            reported("o-before", "Pending", T, tenant="aff", contributors=manager_sale),
            reported("o-after", "Pending", T, tenant="aff", contributors=manager_sale),
            reported("o-aff", "Pending", T, tenant="aff", contributors=[("aff-1", "affiliation")]),
        )
        await credits.read_until(has(3))

        # Before the order is confirmed: only the new manager ever accrues.
        moved = await post("o-before", "sales-manager", {"manager_id": "sm-2"})
        await credits.read_until(has(5))
        await publish(send, *lifecycle_story("aff", "o-before", ["Sale"], T + HOUR))
        await publish(send, *lifecycle_story("aff", "o-after", ["Sale"], T + HOUR))
        await publish(send, *lifecycle_story("aff", "o-aff", ["Sale"], T + HOUR))
        await commissions.read_until(has(3))

        # After accrual, inside the sale confirmation: reversed for sm-1, accrued for sm-3.
        confirmed = await post("o-after", "sale-confirmation", {"manager_id": "sm-3"})
        again = await post("o-after", "sale-confirmation", {"manager_id": "sm-3"})
        refused = {
            "reassign": (await post("o-after", "sales-manager", {"manager_id": "sm-1"})).status_code,
            "confirm other": (await post("o-after", "sale-confirmation", {"system": True})).status_code,
        }  # fmt: skip
        await commissions.read_until(has(5))

        # The affiliate sale: 30.00 of 100.00 refunded, then the rest.
        await publish(send, refunded("aff", "o-aff", T + 2 * HOUR, "30.00", "30.00"))
        await commissions.read_until(has(6))
        await publish(send, refunded("aff", "o-aff", T + 3 * HOUR, "70.00", "100.00", full=True))
        commission_events = await commissions.read_until(has(7))
        credit_events = await credits.settle(1.0)
        view = await http.get(
            "/v1/orders/aff/o-after/attribution", headers={"Authorization": f"Bearer {READ_KEY}"}
        )

    assert moved.status_code == 200
    assert moved.json()["sales_manager"] == {"member_id": "sm-2", "confirmed": False}
    assert of(credit_events, "o-before") == [
        (A, "sm-1", None, False),
        (V, "sm-1", "reassigned", None),
        (A, "sm-2", None, False),
    ]
    assert ledger(commission_events, "o-before") == [
        ("commission.accrued", "sm-2", "10.50", "order_confirmed")
    ]

    assert confirmed.status_code == again.status_code == 200
    assert confirmed.json()["confirmation"] == again.json()["confirmation"]
    assert refused == {"reassign": 409, "confirm other": 409}
    assert of(credit_events, "o-after") == [
        (A, "sm-1", None, False),
        (V, "sm-1", "reassigned", None),
        (A, "sm-3", None, False),
        (A, "sm-3", None, True),
    ]
    assert ledger(commission_events, "o-after") == [
        ("commission.accrued", "sm-1", "10.50", "order_confirmed"),
        ("commission.reversed", "sm-1", "-10.50", "sales_manager_reassigned"),
        ("commission.accrued", "sm-3", "10.50", "order_confirmed"),
    ]
    assert view.json()["sales_manager"] == {"member_id": "sm-3", "confirmed": True}

    assert ledger(commission_events, "o-aff") == [
        ("commission.accrued", "aff-1", "10.50", "order_confirmed"),
        ("commission.reversed", "aff-1", "-3.15", "order_partially_refunded"),
        ("commission.reversed", "aff-1", "-7.35", "order_refunded"),
    ]
    ids = [e.data["entry_id"] for e in commission_events]
    assert len(ids) == len(set(ids)) == 7


async def test_payment_refunds_through_the_tracker_reverse_commission_pro_rata(
    stack_env: dict[str, str], tenants_dir: Path
) -> None:
    """The whole path: ingest's payments, the status tracker's `order.refunded`, rewards."""
    plain = {"Authorization": f"Bearer {READ_KEY}"}
    async with (
        running("ingest", stack_env, tenants_dir) as ingest,
        running("status-tracker", stack_env, tenants_dir),
        running("attribution", stack_env, tenants_dir),
        running("rewards", stack_env, tenants_dir),
        TopicReader(stack_env, topics.COMMISSIONS) as commissions,
        httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{ingest.settings.http_port}", headers=plain
        ) as http,
    ):

        async def payment(status: str, hours: int, **extra: str) -> int:
            body = {"tenant": "aff", "order_id": "o-paid", "payment_id": "inv-1",
                    "status": status, "occurred_at": (T + hours * HOUR).isoformat(),
                    "amount": "200.00", "currency": "EUR", "payment_system": "demo-pay", **extra}  # fmt: skip
            return (await http.post("/v1/payments", json=body)).status_code

        sale = {"tenant": "aff", "order_id": "o-paid", "status": "Sale", "occurred_at": T.isoformat(),
                "amount": "200.00", "currency": "EUR",
                "contributors": [{"member_id": "aff-2", "via": "affiliation"}]}  # fmt: skip
        answers = [(await http.post("/v1/orders", json=sale)).status_code]
        answers.append(await payment("succeeded", 1))
        await commissions.read_until(has(1), timeout=60)
        answers.append(await payment("refunded", 2, refunded_amount="30.25"))
        await commissions.read_until(has(2), timeout=60)
        answers.append(await payment("refunded", 3))  # what was left of the payment
        await commissions.read_until(has(3), timeout=60)
        # Refunds carried by status reports: the tracker publishes each report's
        # `order.refunded` before the status change and `order.reversed` it caused.
        report = {**sale, "order_id": "o-report"}
        answers.append((await http.post("/v1/orders", json=report)).status_code)
        await commissions.read_until(has(4), timeout=60)
        refund = {**report, "status": "Refund", "refunded_amount": "50.00",
                  "occurred_at": (T + HOUR).isoformat()}  # fmt: skip
        answers.append((await http.post("/v1/orders", json=refund)).status_code)
        await commissions.read_until(has(5), timeout=60)
        rest = {**refund, "occurred_at": (T + 2 * HOUR).isoformat()}
        del rest["refunded_amount"]  # all that was left
        answers.append((await http.post("/v1/orders", json=rest)).status_code)
        events = await commissions.read_until(has(6), timeout=60)
        events = await commissions.settle(1.0)

    assert answers == [202] * 7
    # 20.50 * 50.00 / 200.00 = 5.125 -> 5.12 (half-even), then the rest 15.38.
    assert ledger(events, "o-report") == [
        ("commission.accrued", "aff-2", "20.50", "order_confirmed"),
        ("commission.reversed", "aff-2", "-5.12", "order_partially_refunded"),
        ("commission.reversed", "aff-2", "-15.38", "order_refunded"),
    ]
    # 10 % + 0.50 of 200.00 = 20.50; 20.50 * 30.25 / 200.00 = 3.100625 -> 3.10; the rest 17.40.
    assert ledger(events, "o-paid") == [
        ("commission.accrued", "aff-2", "20.50", "order_confirmed"),
        ("commission.reversed", "aff-2", "-3.10", "order_partially_refunded"),
        ("commission.reversed", "aff-2", "-17.40", "order_refunded"),
    ]

"""rewards on the real broker and Postgres: seed scenarios, contract shape, HTTP, timers, DLQ.

The inputs are produced here exactly as status-tracker and attribution publish them
(tests/rewards_support.py), on their public topics.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest

from demo.rewards_section import member_lines
from orderflow.services.rewards.timers import ApprovalTimers
from orderflow.shared import topics
from orderflow.shared.envelope import Envelope
from orderflow.shared.service import Service
from tests.harness import TopicReader, producer, running
from tests.rewards_support import (
    KEYS,
    TENANT_VARS,
    attributed,
    lifecycle_story,
    voided,
    write_reward_tenants,
)

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)
ENTRY_FIELDS = {"entry_id", "member_id", "amount", "currency", "reason"}


@pytest.fixture
def tenants_dir(tmp_path: Path) -> Path:
    return write_reward_tenants(tmp_path / "tenants", holding_days=30)


@asynccontextmanager
async def rewards(env: dict[str, str], tenants: Path) -> AsyncIterator[Service]:
    async with running("rewards", env, tenants, TENANT_VARS, timer_poll_interval_s=0.2) as service:
        yield service


ATTRIBUTION_TYPES = {"order.attributed", "order.attribution_voided"}


async def publish(env: dict[str, str], events: Sequence[Envelope], times: int = 1) -> None:
    """As the status tracker and attribution publish them: keyed `<tenant>:<order_id>`."""
    async with producer(env) as send:
        for _ in range(times):
            for event in events:
                attribution = event.type in ATTRIBUTION_TYPES
                topic = topics.ORDERS_ATTRIBUTION if attribution else topics.ORDERS_LIFECYCLE
                await send(topic, f"{event.tenant}:{event.order_id}", event.to_bytes())


async def outputs(
    env: dict[str, str], topic: str, count: int, settle: float = 2.0
) -> list[Envelope]:
    async with TopicReader(env, topic) as reader:
        await reader.read_until(lambda es: len({e.event_id for e in es}) >= count, timeout=60)
        return await reader.settle(settle)


def seed_inputs() -> list[Envelope]:
    month_ago = NOW - timedelta(days=20)
    events = [
        attributed("aff", "refund", "m-1", NOW),
        *lifecycle_story("aff", "refund", ["Pixel Tracked", "Processing", "Sale", "Refund"], NOW),
        attributed("aff", "dup", "m-2", NOW),
        *lifecycle_story("aff", "dup", ["Duplicate"], NOW),
        *lifecycle_story("aff", "supp", ["Suppression", "Sale"], NOW),
        attributed("aff", "supp", "m-3", NOW),  # after the confirmation: decided when both known
        attributed("loy", "keep", "m-4", NOW),
        *lifecycle_story("loy", "keep", ["Pending", "OK", "Cancelled"], NOW),
        attributed("loy", "never", "m-5", NOW),
        *lifecycle_story("loy", "never", ["Cancelled"], NOW),
    ]
    for n in range(3):
        start = month_ago + timedelta(days=5 * n)
        events += [attributed("loy", f"run-{n}", "m-6", start)]
        events += lifecycle_story("loy", f"run-{n}", ["OK"], start)
    return events


def by(events: list[Envelope], **data: str) -> list[Envelope]:
    return [e for e in events if all(e.data.get(k) == v for k, v in data.items())]


async def test_seed_scenarios_end_to_end_with_each_input_delivered_twice(
    stack_env: dict[str, str], tenants_dir: Path
) -> None:
    inputs = seed_inputs()
    async with rewards(stack_env, tenants_dir):
        await publish(stack_env, inputs, times=2)
        commissions = await outputs(stack_env, topics.COMMISSIONS, 7)
        granted = await outputs(stack_env, topics.REWARDS, 5, settle=0.5)
    distinct = {e.event_id: e for e in commissions}
    assert len(distinct) == len(commissions) == 7, "each entry once, though every input came twice"
    summary = sorted((e.order_id or "", e.type, e.data["amount"]) for e in commissions)
    assert summary == [
        ("keep", "commission.accrued", "10.50"),
        ("refund", "commission.accrued", "10.50"),
        ("refund", "commission.reversed", "-10.50"),
        ("run-0", "commission.accrued", "10.50"),
        ("run-1", "commission.accrued", "10.50"),
        ("run-2", "commission.accrued", "10.50"),
        ("supp", "commission.accrued", "10.50"),
    ]
    assert len({e.event_id for e in granted}) == len(granted) == 5
    assert sorted((e.data["member_id"], e.data["challenge_id"]) for e in granted) == [
        ("m-1", "first-order"),
        ("m-3", "first-order"),
        ("m-4", "first-order"),  # granted at OK and kept after Cancelled
        ("m-6", "first-order"),
        ("m-6", "three-in-thirty"),
    ]
    m6 = {e.data["challenge_id"]: e.order_id for e in granted if e.data["member_id"] == "m-6"}
    assert m6["first-order"] != m6["three-in-thirty"], "the third order completes the run"


async def test_events_match_the_contract_and_each_names_its_cause(
    stack_env: dict[str, str], tenants_dir: Path
) -> None:
    inputs = [
        attributed("aff", "o-1", "m-1", NOW),
        *lifecycle_story("aff", "o-1", ["Sale", "Chargeback"], NOW, offer_id="offer-premium"),
    ]
    async with rewards(stack_env, tenants_dir) as service:
        await publish(stack_env, inputs)
        async with TopicReader(stack_env, topics.COMMISSIONS) as reader:
            commissions = await reader.read_until(lambda es: len(es) >= 2)
            keys = {key for key, _ in reader.records}
        granted = await outputs(stack_env, topics.REWARDS, 1, settle=0.5)
        assert service.runtime is not None
        for statement in ("UPDATE ledger SET amount = 0", "DELETE FROM ledger"):
            with pytest.raises(asyncpg.RaiseError, match="append-only"):
                await service.runtime.pool.execute(statement)
    causes = {e.event_id for e in inputs}
    accrued, reversed_ = commissions
    assert (accrued.type, reversed_.type) == ("commission.accrued", "commission.reversed")
    assert accrued.schema_ == "orderflow.commission.accrued/1"
    assert keys == {b"aff:o-1"}
    for event in [*commissions, *granted]:
        assert (event.tenant, event.order_id) == ("aff", "o-1")
        assert event.causation_id in causes, "no entry or reward without its cause event"
        assert event.correlation_id == "chain:aff:o-1"
    assert set(accrued.data) == ENTRY_FIELDS
    assert accrued.data | {"entry_id": ""} == {
        "entry_id": "",
        "member_id": "m-1",
        "amount": "15.00",  # offer-premium: 15 % of 100.00, no fixed part
        "currency": "EUR",
        "reason": "order_confirmed",
    }
    assert (reversed_.data["amount"], reversed_.data["reason"]) == ("-15.00", "order_chargeback")
    assert reversed_.data["entry_id"] != accrued.data["entry_id"]
    (reward,) = granted
    assert reward.schema_ == "orderflow.reward.granted/1"
    assert reward.data | {"reward_id": ""} == {
        "reward_id": "",
        "member_id": "m-1",
        "challenge_id": "first-order",
        "points": 100,
        "badge": "first-sale",
    }


async def get(service: Service, path: str, key: str | None = KEYS["aff"]) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    base = f"http://127.0.0.1:{service.settings.http_port}"
    async with httpx.AsyncClient(base_url=base) as client:
        return await client.get(path, headers=headers)


async def test_approval_reversal_and_balances_over_http(
    stack_env: dict[str, str], tenants_dir: Path
) -> None:
    long_ago = NOW - timedelta(days=40)  # held 30 days: due 10 days ago
    first = [
        attributed("aff", "old", "m-1", long_ago),
        *lifecycle_story("aff", "old", ["Sale"], long_ago),
    ]
    recent = [
        attributed("aff", "fresh", "m-1", NOW),
        *lifecycle_story("aff", "fresh", ["Sale"], NOW),
        attributed("aff", "big", "m-1", NOW),
        *lifecycle_story("aff", "big", ["Sale"], NOW, amount="250.00"),
    ]
    async with rewards(stack_env, tenants_dir) as service:
        await publish(stack_env, first)
        approved = await outputs(stack_env, topics.COMMISSIONS, 2, settle=0)
        assert [e.type for e in approved] == ["commission.accrued", "commission.approved"]
        refund = lifecycle_story("aff", "old", ["Sale", "Refund"], long_ago)[2:]
        await publish(stack_env, [*refund, *recent])
        await outputs(stack_env, topics.COMMISSIONS, 5, settle=0)
        # Only now: a void that arrived before the confirmation would prevent the accrual.
        await publish(stack_env, [voided("aff", "fresh", "m-1", NOW)])
        await outputs(stack_env, topics.COMMISSIONS, 6, settle=0)
        assert service.runtime is not None
        timers = ApprovalTimers(service.runtime.pool, 1.0, 100, service.runtime.relay.wake)
        assert await timers.fire_due(NOW + timedelta(days=60)) == 1, (
            "the voided line's was cancelled"
        )
        assert await timers.fire_due(NOW + timedelta(days=61)) == 0, "a timer fires once"
        events = await outputs(stack_env, topics.COMMISSIONS, 7, settle=0.5)
        balance = await get(service, "/v1/members/aff/m-1/balance")
        pages = [await get(service, "/v1/members/aff/m-1/ledger?limit=3")]
        while (cursor := pages[-1].json()["next_after"]) is not None:
            pages.append(await get(service, f"/v1/members/aff/m-1/ledger?limit=3&after={cursor}"))
        points = await get(service, "/v1/members/aff/m-1/rewards")
        url = f"http://127.0.0.1:{service.settings.http_port}"
        demo_lines = await member_lines(url, KEYS["aff"], "aff", ["m-1"])
    late = [e for e in events if e.type == "commission.reversed" and e.order_id == "old"]
    assert [e.data["reason"] for e in late] == ["order_refunded_after_approval"]
    voided_ = [e for e in events if e.type == "commission.reversed" and e.order_id == "fresh"]
    assert [e.data["reason"] for e in voided_] == ["attribution_voided"]
    assert balance.status_code == 200
    assert balance.json()["balances"] == [
        {
            "currency": "EUR",
            "accrued": "46.50",  # 10.50 old + 10.50 fresh + 25.50 big
            "approved": "36.00",  # old, then big by the timer
            "reversed": "-21.00",  # old after approval, fresh before
            "available": "25.50",  # approved minus what was reversed after approval
            "pending": "0.00",
        }
    ]
    entries = [e for page in pages for e in page.json()["entries"]]
    assert [len(page.json()["entries"]) for page in pages] == [3, 3, 1]
    assert len({e["entry_id"] for e in entries}) == 7
    assert {e["entry_id"] for e in entries} == {e.data["entry_id"] for e in events}
    assert points.json()["points"] == 150  # first-order once, big-basket on "big"
    assert "    m-1: 150 points" in demo_lines
    assert sum(line.startswith("      ledger") for line in demo_lines) == 7


async def test_member_endpoints_answer_only_the_keys_own_tenant(
    stack_env: dict[str, str], tenants_dir: Path
) -> None:
    async with rewards(stack_env, tenants_dir) as service:
        path = "/v1/members/aff/m-1/balance"
        assert (await get(service, path, key=None)).status_code == 401
        assert (await get(service, path, key="not-a-key-0123456789")).status_code == 401
        assert (await get(service, path, key=KEYS["loy"])).status_code == 403
        empty = await get(service, path)
        assert (empty.status_code, empty.json()["balances"]) == (200, [])
        for bad in ("limit=0", "limit=501", "limit=x", "after=-1"):
            answer = await get(service, f"/v1/members/aff/m-1/ledger?{bad}")
            assert answer.status_code == 400, bad


async def test_poison_inputs_are_dead_lettered_and_the_stream_goes_on(
    stack_env: dict[str, str], tenants_dir: Path
) -> None:
    stranger = attributed("aff", "o-1", "m-1", NOW).model_copy(update={"tenant": "nobody"})
    async with rewards(stack_env, tenants_dir):
        async with producer(stack_env) as send:
            await send(topics.ORDERS_LIFECYCLE, "aff:o-1", b"{not json")
            await send(topics.ORDERS_ATTRIBUTION, "nobody:o-1", stranger.to_bytes())
        await publish(stack_env, [attributed("aff", "o-1", "m-1", NOW)])
        await publish(stack_env, lifecycle_story("aff", "o-1", ["Sale"], NOW))
        dead = await outputs(stack_env, topics.dead_letter_topic("rewards"), 2, settle=0)
        commissions = await outputs(stack_env, topics.COMMISSIONS, 1, settle=0)
    assert sorted(d.data["error_type"] for d in dead) == ["invalid_envelope", "unknown_tenant"]
    assert [e.type for e in commissions] == ["commission.accrued"]

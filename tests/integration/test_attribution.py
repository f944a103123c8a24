"""attribution on the real broker and Postgres: credits, corrections, duplicates, confirmation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from orderflow.shared import topics
from orderflow.shared.envelope import Envelope
from orderflow.shared.service import Service
from orderflow.shared.vocabulary import Category
from tests.harness import TopicReader, eventually, producer, report, running
from tests.integration.attribution_inputs import (
    KEYS,
    credit_of,
    publish,
    reported,
    status_changed,
    touched,
    write_attribution_tenants,
)

pytestmark = pytest.mark.integration

T = datetime(2026, 3, 1, 12, tzinfo=UTC)
DAY = timedelta(days=1)
A, V = "order.attributed", "order.attribution_voided"


@pytest.fixture
def tenants_dir(tmp_path: Path) -> Path:
    return write_attribution_tenants(tmp_path / "tenants")


def base_url(service: Service) -> str:
    return f"http://127.0.0.1:{service.settings.http_port}"


def auth(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[name]}"}


def credits(events: list[Envelope], order_id: str) -> list[tuple[Any, ...]]:
    return [credit_of(e)[::2] for e in events if e.order_id == order_id]


def count(events: list[Envelope], type_: str) -> int:
    return sum(e.type == type_ for e in events)


async def test_pipeline_credits_explicit_and_last_touch_corrects_late_touches_and_voids_duplicates(
    stack_env: dict[str, str], tenants_dir: Path
) -> None:
    def touchpoint(tp: str, member: str, customer: str, at: datetime) -> dict[str, str]:
        return {"tenant": "shop", "touchpoint_id": tp, "member_id": member, "kind": "click",
                "customer_id": customer, "occurred_at": at.isoformat()}  # fmt: skip

    async with (
        running("ingest", stack_env, tenants_dir) as ingest_service,
        running("status-tracker", stack_env, tenants_dir),
        running("attribution", stack_env, tenants_dir) as service,
        httpx.AsyncClient(headers=auth("shop")) as client,
        producer(stack_env) as send,
        TopicReader(stack_env, topics.ORDERS_ATTRIBUTION) as out,
    ):
        touchpoints = f"{base_url(ingest_service)}/v1/touchpoints"
        view = f"{base_url(service)}/v1/orders/shop/{{}}/attribution"

        async def order(order_id: str, status: str, at: datetime, **extra: Any) -> None:
            body = report(order_id, status, at.isoformat(), **extra)
            await send(topics.ORDERS_INBOUND, f"shop:{order_id}", body)

        async def seen(n: int) -> list[Envelope]:
            return await out.read_until(lambda es: len(es) >= n)

        answer = await client.post(
            touchpoints,
            json=[touchpoint("tp-old", "aff-a", "c-1", T - 3 * DAY),
                  touchpoint("tp-far", "aff-z", "c-2", T - 40 * DAY)],
        )  # fmt: skip
        assert answer.status_code == 202
        await order(
            "o-explicit", "Pending", T, contributors=[{"member_id": "m-1", "via": "affiliation"}]
        )
        await order("o-last", "Pending", T, customer={"id": "c-1"})
        await order("o-out", "Pending", T, customer={"id": "c-2"})
        await order("o-dup", "Pending", T, contributors=[{"member_id": "m-5", "via": "coupon"}])
        # Touchpoints come over Kafka as well as over HTTP.
        await send(
            topics.TOUCHPOINTS_INBOUND, "shop:c-4", touchpoint("tp-k", "aff-k", "c-4", T - 2 * DAY)
        )
        await order("o-kafka", "Pending", T, customer={"id": "c-4"})
        await seen(4)

        # A touch arriving late but more recent corrects the credit while the order is pending.
        await client.post(touchpoints, json=touchpoint("tp-new", "aff-b", "c-1", T - DAY))
        await seen(6)
        # Once the order is Has OK, an even more recent touch changes nothing.
        await order("o-last", "OK", T + timedelta(hours=1), amount="10.00", currency="EUR")
        await eventually(lambda: _json(client, view.format("o-last"), "has_ok"))
        await client.post(
            touchpoints, json=touchpoint("tp-newer", "aff-c", "c-1", T - timedelta(hours=1))
        )
        await eventually(lambda: _stored(service, "tp-newer"))

        await order("o-dup", "Duplicate", T + timedelta(hours=1))
        await seen(7)
        # An explicit contributor appearing later beats the last touch.
        await order("o-beat", "Pending", T + 2 * DAY, customer={"id": "c-1"})
        await seen(8)
        await order(
            "o-beat",
            "Pending",
            T + 3 * DAY,
            report_id="second",
            contributors=[{"member_id": "m-9", "via": "coupon"}],
        )
        await seen(10)
        events = await out.settle(3.0)
        final = (await client.get(view.format("o-last"))).json()
        keys = {key for key, _ in out.records}

    assert credits(events, "o-explicit") == [(A, "m-1", None)]
    assert credits(events, "o-last") == [
        (A, "aff-a", "tp-old"),
        (V, "aff-a", "tp-old"),
        (A, "aff-b", "tp-new"),
    ]
    assert credits(events, "o-out") == []
    assert credits(events, "o-kafka") == [(A, "aff-k", "tp-k")]
    assert credits(events, "o-dup") == [(A, "m-5", None), (V, "m-5", None)]
    assert credits(events, "o-beat") == [
        (A, "aff-c", "tp-newer"),
        (V, "aff-c", "tp-newer"),
        (A, "m-9", None),
    ]
    assert len({e.event_id for e in events}) == len(events) == 10, "no event twice"
    credited = ("o-explicit", "o-last", "o-dup", "o-beat", "o-kafka")
    assert keys == {f"shop:{o}".encode() for o in credited}
    assert {e.schema_ for e in events} == {f"orderflow.{A}/1", f"orderflow.{V}/1"}
    duplicate = next(e for e in events if e.type == V and e.order_id == "o-dup")
    assert duplicate.data == {
        "member_id": "m-5",
        "via": "coupon",
        "model": "explicit",
        "reason": "duplicate",
    }
    first = next(e for e in events if e.order_id == "o-last")
    assert first.data == {"member_id": "aff-a", "via": "affiliation", "model": "last_touch",
                          "touchpoint_id": "tp-old", "confirmed": False}  # fmt: skip
    assert final["has_ok"] is True and [c["member_id"] for c in final["credits"]] == ["aff-b"]


async def _json(client: httpx.AsyncClient, url: str, field: str) -> bool:
    answer = await client.get(url)
    return answer.status_code == 200 and bool(answer.json()[field])


async def _stored(service: Service, touchpoint_id: str) -> bool:
    assert service.runtime is not None
    found = await service.runtime.pool.fetchval(
        "SELECT 1 FROM touchpoints WHERE touchpoint_id = $1", touchpoint_id
    )
    return found is not None


async def test_every_input_delivered_three_times_gives_the_same_outputs(
    stack_env: dict[str, str], tenants_dir: Path
) -> None:
    first = [
        touched("tp-1", "aff-a", "c-1", T - DAY),
        touched("tp-2", "aff-b", "c-2", T - 60 * DAY),  # outside the window: no credit
        reported("d-1", "Pending", T, contributors=[("m-1", "affiliation")]),
        reported("d-2", "Pending", T, customer="c-1"),
        reported("d-3", "Pending", T, customer="c-2"),
        reported("d-4", "Pending", T, contributors=[("m-4", "coupon"), ("m-5", "affiliation")]),
        # Names its order: usually handled before the order's report is.
        touched("tp-5", "aff-e", "c-9", T - DAY, order_id="d-5"),
        reported("d-5", "Pending", T),
    ]
    then = [status_changed("d-4", "Duplicate", Category.DUPLICATE, T + DAY)]
    async with (
        running("attribution", stack_env, tenants_dir),
        producer(stack_env) as send,
        TopicReader(stack_env, topics.ORDERS_ATTRIBUTION) as out,
    ):
        for _ in range(3):
            await publish(send, *first)
        await out.read_until(lambda es: len(es) >= 5)
        for _ in range(3):
            await publish(send, *then)
        await out.read_until(lambda es: count(es, V) >= 2)
        events = await out.settle(3.0)
    assert sorted(credit_of(e) for e in events) == sorted(
        [
            (A, "d-1", "m-1", "explicit", None),
            (A, "d-2", "aff-a", "last_touch", "tp-1"),
            (A, "d-4", "m-4", "explicit", None),
            (A, "d-4", "m-5", "explicit", None),
            (A, "d-5", "aff-e", "last_touch", "tp-5"),
            (V, "d-4", "m-4", "explicit", None),
            (V, "d-4", "m-5", "explicit", None),
        ]
    )
    assert len({e.event_id for e in events}) == len(events)
    # Whichever of the report and the touch came last, the credit belongs to the report's chain.
    for touch, order in ((first[0], first[3]), (first[6], first[7])):
        (credit,) = [e for e in events if e.order_id == order.order_id]
        assert credit.correlation_id == order.correlation_id
        assert credit.causation_id in {touch.event_id, order.event_id}


async def test_sale_confirmation_needs_the_scope_is_idempotent_and_cannot_change_hands(
    stack_env: dict[str, str], tenants_dir: Path
) -> None:
    manager_sale = [("sm-1", "sales_manager"), ("aff-1", "affiliation")]
    async with (
        running("attribution", stack_env, tenants_dir) as service,
        producer(stack_env) as send,
        TopicReader(stack_env, topics.ORDERS_ATTRIBUTION) as out,
        httpx.AsyncClient(base_url=base_url(service)) as client,
    ):
        await publish(
            send,
            reported("o-crm", "Open", T, tenant="crm", contributors=manager_sale),
            reported("o-sys", "Open", T, tenant="crm", contributors=[("aff-2", "affiliation")]),
        )
        await out.read_until(lambda es: len(es) >= 3)
        confirm = "/v1/orders/crm/{}/sale-confirmation"
        url = confirm.format("o-crm")

        async def post(body: Any, key: str | None = "crm-sales", path: str = url) -> httpx.Response:
            headers = auth(key) if key else {}
            return await client.post(path, json=body, headers=headers)

        refusals = {
            "no key": (await post({"manager_id": "sm-1"}, key=None)).status_code,
            "other tenant's key": (await post({"manager_id": "sm-1"}, key="shop")).status_code,
            "no sales:confirm scope": (await post({"manager_id": "sm-1"}, key="crm")).status_code,
            "bad body": (await post({"manager": "sm-1"})).status_code,
            "unknown order": (await post({"manager_id": "sm-1"}, path=confirm.format("nope"))).status_code,
        }  # fmt: skip
        not_json = await client.post(url, content=b"{", headers=auth("crm-sales"))
        confirmed = await post({"manager_id": "sm-1"})
        again = await post({"manager_id": "sm-1"})
        changed = await post({"manager_id": "sm-2"})
        system = await post({"system": True}, path=confirm.format("o-sys"))
        await out.read_until(lambda es: len(es) >= 5)
        events = await out.settle(2.0)
        view = await client.get("/v1/orders/crm/o-crm/attribution", headers=auth("crm"))
        foreign = await client.get("/v1/orders/crm/o-crm/attribution", headers=auth("shop"))

    assert refusals == {
        "no key": 401,
        "other tenant's key": 403,
        "no sales:confirm scope": 403,
        "bad body": 422,
        "unknown order": 404,
    }
    assert not_json.status_code == 400
    assert confirmed.status_code == again.status_code == system.status_code == 200
    assert confirmed.json()["confirmation"] == again.json()["confirmation"]
    assert confirmed.json()["confirmation"]["confirmed_by"] == "sm-1"
    assert changed.status_code == 409
    assert changed.json()["errors"][0]["path"] == "manager_id"
    assert "already confirmed by sm-1" in changed.json()["errors"][0]["message"]
    confirmations = [e for e in events if e.data.get("confirmed")]
    assert sorted(
        (e.order_id, e.data["member_id"], e.data["confirmed_by"]) for e in confirmations
    ) == [
        ("o-crm", "sm-1", "sm-1"),
        ("o-sys", "aff-2", "system"),
    ]
    stamped = {e.order_id: e.data["confirmed_at"] for e in confirmations}
    assert stamped == {
        "o-crm": confirmed.json()["confirmation"]["confirmed_at"],
        "o-sys": system.json()["confirmation"]["confirmed_at"],
    }
    assert view.status_code == 200 and foreign.status_code == 403
    assert {(c["member_id"], c["confirmed"]) for c in view.json()["credits"]} == {
        ("sm-1", True),
        ("aff-1", False),
    }

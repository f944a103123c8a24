"""The order tracking tag (CONTRACTS §13) over real HTTP on the real stack: the pixel, the
beacon with its CORS answers, tag.js, the rate limits, and what is recorded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orderflow.services.ingest.tracking_script import GIF
from orderflow.shared import topics
from tests.harness import TopicReader, report
from tests.tracking_support import PK, rejected, tagged_ingest, write_tag_tenants

pytestmark = pytest.mark.integration

SHOP = "https://shop.example"
PIXEL, BEACON = "/v1/track/shop/pixel.gif", "/v1/track/shop"
ORDER = {"order_id": "A-1", "amount": "59.90", "currency": "EUR", "member_id": "m-7"}


def beacon_headers(origin: str | None = SHOP) -> dict[str, str]:
    headers = {"Content-Type": "text/plain;charset=UTF-8"}  # as sendBeacon sends a string
    return headers | ({"Origin": origin} if origin else {})


async def test_the_pixel_records_a_valid_order_once_and_answers_the_gif_to_everything(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    tenants = write_tag_tenants(tmp_path / "t", [SHOP], status="OK")  # confirmed in loyalty
    bad: list[tuple[str, dict[str, Any], str]] = [
        ("shop", {**ORDER, "key": "pk_wrong_0123456789"}, "key"),
        ("shop", {**ORDER, "key": PK, "amount": "1.234"}, "invalid"),  # EUR has 2 digits
        ("shop", {**ORDER, "key": PK, "email": "ada@example.test"}, "invalid"),
        ("shop", {**ORDER, "key": PK, "coupon": "X"}, "invalid"),
        ("other", {**ORDER, "key": PK}, "not_configured"),
        ("nobody", {**ORDER, "key": PK}, "unknown_tenant"),
    ]
    before = {(t, r): rejected("unknown" if t == "nobody" else t, r) for t, _, r in bad}
    async with tagged_ingest(stack_env, tenants) as tag:
        first = await tag.client.get(PIXEL, params={**ORDER, "key": PK, "click_id": "c-1"})
        reload = await tag.client.get(PIXEL, params={**ORDER, "key": PK, "click_id": "c-1"})
        refused = [
            await tag.client.get(f"/v1/track/{tenant}/pixel.gif", params=params)
            for tenant, params, _ in bad
        ]
        rows = await tag.reports()
        metrics = (await tag.client.get("/metrics")).text
        async with TopicReader(stack_env, topics.ORDER_REPORTS) as reader:
            await reader.read_until(lambda es: len(es) >= 1)
            events = await reader.settle(1.0)

    for answer in (first, reload, *refused):
        assert (answer.status_code, answer.content) == (200, GIF)
        assert answer.headers["content-type"] == "image/gif"
        assert answer.headers["cache-control"] == "no-store"
    assert len(rows) == 1, "the reload is a duplicate; the refused ones record nothing"
    [row] = rows
    assert (row["order_id"], row["status"], row["source"], row["channel"]) == (
        "A-1",
        "OK",
        "tag",
        "tag",
    )
    assert row["category"] == "pending", "a tag never confirms, whatever the profile says"
    raw = json.loads(row["raw"])
    assert raw["contributors"] == [{"member_id": "m-7", "via": "affiliation"}]
    assert (raw["amount"], raw["currency"], raw["metadata"]) == (
        "59.90",
        "EUR",
        {"click_id": "c-1"},
    )
    [event] = events
    assert (event.order_id, event.data["category"], event.data["source"]) == (
        "A-1",
        "pending",
        "tag",
    )
    for tenant, _, reason in bad:
        label = "unknown" if tenant == "nobody" else tenant
        assert rejected(label, reason) > before[(tenant, reason)], (tenant, reason)
    assert 'orderflow_tracking_rejected_total{reason="key",tenant="shop"}' in metrics


async def test_the_beacon_answers_cors_only_for_allowed_origins(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    tenants = write_tag_tenants(tmp_path / "t", [SHOP, "http://127.0.0.1:8000"])
    body = json.dumps({**ORDER, "key": PK})
    async with tagged_ingest(stack_env, tenants) as tag:
        post = tag.client.post
        preflight = await tag.client.options(
            BEACON, headers={"Origin": SHOP, "Access-Control-Request-Method": "POST"}
        )
        recorded = await post(BEACON, content=body, headers=beacon_headers())
        again = await post(BEACON, content=body, headers=beacon_headers("http://127.0.0.1:8000"))
        foreign_preflight = await tag.client.options(
            BEACON, headers={"Origin": "https://evil.example"}
        )
        foreign = await post(BEACON, content=body, headers=beacon_headers("https://evil.example"))
        no_origin = await post(BEACON, content=body, headers=beacon_headers(None))
        invalid = await post(
            BEACON, content=json.dumps({"key": PK, "name": "Ada"}), headers=beacon_headers()
        )
        wrong_key = await post(
            BEACON,
            content=json.dumps({**ORDER, "key": "pk_x_0123456789"}),
            headers=beacon_headers(),
        )
        not_json = await post(BEACON, content=b"{nope", headers=beacon_headers())
        as_api_key = await post(
            "/v1/orders",
            json=report("o-1", "OK", "2026-01-01T10:00:00Z"),
            headers={"Authorization": f"Bearer {PK}"},
        )
        script = await tag.client.get("/v1/track/shop/tag.js")
        no_script = await tag.client.get("/v1/track/other/tag.js")
        rows = await tag.reports()

    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == SHOP
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert (recorded.status_code, recorded.headers["access-control-allow-origin"]) == (204, SHOP)
    assert again.status_code == 204, "another allowed origin; the same order is a duplicate"
    assert len(rows) == 1 and rows[0]["order_id"] == "A-1"
    for refused in (foreign_preflight, foreign, no_origin):
        assert refused.status_code == 403
        assert "access-control-allow-origin" not in refused.headers
    assert invalid.status_code == 422
    assert {e["path"] for e in invalid.json()["errors"]} == {"name", "order_id"}
    assert invalid.headers["access-control-allow-origin"] == SHOP
    assert (wrong_key.status_code, not_json.status_code) == (401, 400)
    assert as_api_key.status_code == 401, "a publishable key is no API key"
    assert script.status_code == 200 and script.headers["content-type"].startswith(
        "text/javascript"
    )
    assert json.dumps(PK) in script.text and "sendBeacon" in script.text
    assert no_script.status_code == 404


async def test_rate_limits_answer_429_to_the_beacon_and_still_the_gif_to_the_pixel(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    tenants = write_tag_tenants(tmp_path / "t", [SHOP])
    before = rejected("shop", "rate_limited")
    limits = {"tracking_client_per_s": 0.001, "tracking_client_burst": 2}
    async with tagged_ingest(stack_env, tenants, **limits) as tag:
        answers = [
            await tag.client.post(
                BEACON,
                content=json.dumps({**ORDER, "order_id": f"B-{i}", "key": PK}),
                headers=beacon_headers(),
            )
            for i in range(3)
        ]
        pixel = await tag.client.get(PIXEL, params={**ORDER, "order_id": "B-9", "key": PK})
        rows = await tag.reports()
    assert [a.status_code for a in answers] == [204, 204, 429]
    assert int(answers[2].headers["retry-after"]) >= 1
    assert answers[2].headers["access-control-allow-origin"] == SHOP
    assert (pixel.status_code, pixel.content) == (200, GIF)
    assert sorted(r["order_id"] for r in rows) == ["B-0", "B-1"]
    assert rejected("shop", "rate_limited") == before + 2

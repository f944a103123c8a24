"""Platform webhooks (CONTRACTS §4) on the real stack: signed fixture bodies in, reports out."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from orderflow.services.ingest.webhooks.signatures import (
    shopify_signature,
    stripe_signature,
    woocommerce_signature,
)
from orderflow.shared import topics
from orderflow.shared.envelope import Envelope
from orderflow.shared.service import Service
from tests.harness import TopicReader, running

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).parents[1] / "fixtures"
# The secrets of the official vectors in SIGNATURES.md, so the fixtures' published
# signatures can be sent exactly as computed there.
SECRETS = {
    "HOOKS_SHOPIFY_SECRET": "shpss_example_secret",
    "HOOKS_STRIPE_SECRET": "whsec_test_secret",
    "HOOKS_WC_SECRET": "wc_example_secret",
}
S2_HMAC = "vF1rTZTx06gwUliJO+Pq5g1YcVUJidrt9iQQgkmi9lI="  # shopify_orders_paid.json
W2_SIG = "mSS3xq+JdY7EJi5CdY6Mf5aoTrhq+F4592Z7OHwCWHY="  # woocommerce_order_created.json
# Under the `store` profile "completed" would be fulfilled and "payment_intent.succeeded"
# unmapped: the categories below can only come from the adapters.
TENANTS = {
    "hooks": (
        "tenant: hooks\nstatus_profile: store\nwebhook_secrets: {shopify: '${HOOKS_SHOPIFY_SECRET}',"
        " stripe: '${HOOKS_STRIPE_SECRET}', woocommerce: '${HOOKS_WC_SECRET}'}\n"
    ),
    "bare": "tenant: bare\nstatus_profile: loyalty\n",
}
SHOPIFY, STRIPE, WOO = (
    "/v1/webhooks/shopify/hooks",
    "/v1/webhooks/stripe/hooks",
    "/v1/webhooks/woocommerce/hooks",
)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def shopify_headers(signature: str, webhook_id: str = "wh-1") -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "orders/paid",
        "X-Shopify-Hmac-Sha256": signature,
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Shop-Domain": "snowdevil.myshopify.com",
        "X-Shopify-API-Version": "2026-07",
    }


def stripe_body(event_type: str, object_file: str) -> bytes:
    # Stripe publishes no per-type samples (SOURCES.md §2): the official envelope fixture
    # carries the official object fixture as data.object.
    event = json.loads(fixture("stripe_fixture_event_envelope.json"))
    event.update(type=event_type, data={"object": json.loads(fixture(object_file))})
    return json.dumps(event).encode()


def stripe_headers(
    body: bytes, t: int | None = None, secret: str = SECRETS["HOOKS_STRIPE_SECRET"]
) -> dict[str, str]:
    t = int(time.time()) if t is None else t
    return {"Stripe-Signature": f"t={t},v1={stripe_signature(body, secret, t)}"}


def woo_headers(signature: str, topic: str = "order.created") -> dict[str, str]:
    resource, event = topic.split(".")
    return {
        "Content-Type": "application/json",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": resource,
        "X-WC-Webhook-Event": event,
        "X-WC-Webhook-Signature": signature,
        "X-WC-Webhook-Delivery-ID": "d41d8cd98f00b204e9800998ecf8427e",
    }


@dataclass
class Hooks:
    service: Service
    client: httpx.AsyncClient

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return await self.client.post(path, content=body, headers=headers)

    @property
    def pool(self) -> asyncpg.Pool:
        assert self.service.runtime is not None
        return self.service.runtime.pool

    async def stored(self) -> list[dict[str, Any]]:
        rows = await self.pool.fetch("SELECT source, status, category FROM reports")
        return [dict(row) for row in rows]

    async def outbox_size(self) -> int:
        return int(await self.pool.fetchval("SELECT count(*) FROM outbox"))


@pytest.fixture
async def hooks(stack_env: dict[str, str], tmp_path: Path) -> AsyncIterator[Hooks]:
    tenants_dir = tmp_path / "tenants"
    tenants_dir.mkdir()
    for name, text in TENANTS.items():
        (tenants_dir / f"{name}.yaml").write_text(text)
    async with running("ingest", stack_env, tenants_dir, tenant_vars=SECRETS) as service:
        base = f"http://127.0.0.1:{service.settings.http_port}"
        async with httpx.AsyncClient(base_url=base, timeout=30.0) as client:
            yield Hooks(service, client)


def by_source(events: list[Envelope]) -> dict[str, Envelope]:
    return {e.data["source"]: e for e in events}


async def test_signed_deliveries_are_committed_and_published_with_the_adapters_category(
    hooks: Hooks, stack_env: dict[str, str]
) -> None:
    stripe_paid = stripe_body(
        "payment_intent.succeeded", "stripe_fixture_object_payment_intent.json"
    )
    woo_completed = fixture("woocommerce_order_updated.json")
    answers = [
        await hooks.post(SHOPIFY, fixture("shopify_orders_paid.json"), shopify_headers(S2_HMAC)),
        await hooks.post(STRIPE, stripe_paid, stripe_headers(stripe_paid)),
        await hooks.post(
            WOO,
            woo_completed,
            woo_headers(
                woocommerce_signature(woo_completed, SECRETS["HOOKS_WC_SECRET"]), "order.updated"
            ),
        ),
    ]

    assert [a.status_code for a in answers] == [202, 202, 202]
    # The order report, then the payment it carries (Stripe's charge, WooCommerce's paid order).
    assert [len(a.json()["accepted"]) for a in answers] == [1, 2, 2]
    assert [a.json()["duplicates"] for a in answers] == [0, 0, 0]
    # Visible on another connection right after 202: it was committed before the answer.
    stored = {r["source"]: (r["status"], r["category"]) for r in await hooks.stored()}
    assert stored == {
        "shopify": ("cancelled", "cancelled"),
        "stripe": ("payment_intent.succeeded", "confirmed"),
        "woocommerce": ("completed", "confirmed"),
    }
    async with TopicReader(stack_env, topics.ORDER_REPORTS) as reader:
        events = by_source(await reader.read_until(lambda es: len(es) >= 3))
    assert {s: (e.order_id, e.data["category"]) for s, e in events.items()} == {
        "shopify": ("820982911946154508", "cancelled"),
        "stripe": ("pi_1PgafyB7WZ01zgkWSjxsAJo3", "confirmed"),
        "woocommerce": ("727", "confirmed"),
    }
    assert events["stripe"].data["amount"] == "10.99"
    assert events["shopify"].data["upstream_report_id"] == "wh-1"
    assert events["shopify"].causation_id == answers[0].json()["accepted"][0]
    async with TopicReader(stack_env, topics.PAYMENT_REPORTS) as reader:
        paid = by_source(await reader.read_until(lambda es: len(es) >= 2))
    assert {
        s: (e.type, e.order_id, e.data["status"], e.data["amount"]) for s, e in paid.items()
    } == {
        "stripe": ("payment.reported", "pi_1PgafyB7WZ01zgkWSjxsAJo3", "succeeded", "10.99"),
        "woocommerce": ("payment.reported", "727", "succeeded", "29.35"),
    }
    assert [paid["stripe"].causation_id, paid["woocommerce"].causation_id] == [
        answers[1].json()["accepted"][1],
        answers[2].json()["accepted"][1],
    ]


async def test_shopify_refund_is_a_payment_report_per_refund_transaction_published_once(
    hooks: Hooks, stack_env: dict[str, str]
) -> None:
    body = fixture("shopify_refunds_create.json")
    signature = shopify_signature(body, SECRETS["HOOKS_SHOPIFY_SECRET"])
    headers = shopify_headers(signature) | {"X-Shopify-Topic": "refunds/create"}
    first = await hooks.post(SHOPIFY, body, headers)
    again = await hooks.post(SHOPIFY, body, headers | {"X-Shopify-Webhook-Id": "wh-retry"})

    assert (first.status_code, again.status_code) == (202, 202)
    assert len(first.json()["accepted"]) == 2 and first.json()["duplicates"] == 0
    assert again.json() == {"accepted": first.json()["accepted"], "duplicates": 2}
    assert await hooks.stored() == [], "a refund is money, not an order status"
    async with TopicReader(stack_env, topics.PAYMENT_REPORTS) as reader:
        await reader.read_until(lambda es: len(es) >= 2)
        events = await reader.settle(2.0)
    assert [(e.data["status"], e.data["refunded_amount"], e.data["source"]) for e in events] == [
        ("refunded", "75.00", "shopify"),
        ("refunded", "10.00", "shopify"),
    ]
    assert {e.order_id for e in events} == {"820982911946154508"}


async def test_retried_delivery_is_a_duplicate_with_one_event(
    hooks: Hooks, stack_env: dict[str, str]
) -> None:
    shopify = fixture("shopify_orders_paid.json")
    stripe = stripe_body("charge.refunded", "stripe_fixture_object_charge.json")
    woo = fixture("woocommerce_order_created.json")
    deliveries: list[tuple[str, bytes, Callable[[], dict[str, str]]]] = [
        (SHOPIFY, shopify, lambda: shopify_headers(S2_HMAC, "wh-7")),
        (STRIPE, stripe, lambda: stripe_headers(stripe)),  # re-signed at retry time, as Stripe does
        (WOO, woo, lambda: woo_headers(W2_SIG)),
    ]
    first, again = [], []
    for path, body, headers in deliveries:
        first.append(await hooks.post(path, body, headers()))
    for path, body, headers in deliveries:
        again.append(await hooks.post(path, body, headers()))

    assert [a.status_code for a in first + again] == [202] * 6
    assert [a.json()["duplicates"] for a in again] == [1, 2, 2], "the report and its payment"
    assert [a.json()["accepted"] for a in again] == [a.json()["accepted"] for a in first]
    assert len(await hooks.stored()) == 3
    async with TopicReader(stack_env, topics.ORDER_REPORTS) as reader:
        await reader.read_until(lambda es: len(es) >= 3)
        events = await reader.settle(2.0)
    assert len(events) == 3, "a retried delivery publishes nothing more"
    async with TopicReader(stack_env, topics.PAYMENT_REPORTS) as reader:
        await reader.read_until(lambda es: len(es) >= 2)
        assert len(await reader.settle(1.0)) == 2, "nor any payment more"


async def test_unproven_deliveries_get_401_and_nothing_is_stored(hooks: Hooks) -> None:
    shopify = fixture("shopify_orders_paid.json")
    stripe = stripe_body("payment_intent.succeeded", "stripe_fixture_object_payment_intent.json")
    woo = fixture("woocommerce_order_created.json")
    tampered = shopify.replace(b'"voided"', b'"paid"  ')
    unproven = [
        (SHOPIFY, tampered, shopify_headers(S2_HMAC)),
        (SHOPIFY, shopify, {k: v for k, v in shopify_headers(S2_HMAC).items() if "Hmac" not in k}),
        (STRIPE, stripe, stripe_headers(stripe, secret="whsec_someone_else")),
        (STRIPE, stripe, stripe_headers(stripe, t=int(time.time()) - 301)),
        (WOO, woo, woo_headers(shopify_signature(woo, "wrong_secret"))),
        ("/v1/webhooks/shopify/bare", shopify, shopify_headers(S2_HMAC)),  # no secret configured
    ]
    for path, body, headers in unproven:
        response = await hooks.post(path, body, headers)
        assert response.status_code == 401, (path, response.text)
        assert response.json()["errors"][0]["message"]

    unknown = await hooks.post("/v1/webhooks/shopify/nobody", shopify, shopify_headers(S2_HMAC))
    assert unknown.status_code == 404
    assert await hooks.stored() == [] and await hooks.outbox_size() == 0


async def test_verified_deliveries_that_carry_no_report_are_answered_without_storing(
    hooks: Hooks,
) -> None:
    not_json = b"<xml/>"
    unmappable = json.dumps({"id": 727, "status": "processing"}).encode()
    plan_created = fixture("stripe_fixture_event_envelope.json")
    secret = SECRETS["HOOKS_WC_SECRET"]

    bad = await hooks.post(WOO, not_json, woo_headers(woocommerce_signature(not_json, secret)))
    unmapped = await hooks.post(
        WOO, unmappable, woo_headers(woocommerce_signature(unmappable, secret))
    )
    ignored = await hooks.post(STRIPE, plan_created, stripe_headers(plan_created))
    ping = await hooks.post(
        WOO, b"webhook_id=12", {"Content-Type": "application/x-www-form-urlencoded"}
    )

    assert bad.status_code == 400
    assert unmapped.status_code == 422
    assert [e["path"] for e in unmapped.json()["errors"]] == ["date_modified_gmt"]
    assert ignored.status_code == 202
    assert ignored.json()["accepted"] == [] and ignored.json()["duplicates"] == 0
    assert "plan.created" in ignored.json()["ignored"]
    assert ping.status_code == 200, "WooCommerce disables a webhook whose ping is refused"
    assert await hooks.stored() == [] and await hooks.outbox_size() == 0

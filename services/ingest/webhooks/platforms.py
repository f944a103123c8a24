"""Which header each platform signs with and which headers its adapter reads."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from orderflow.services.ingest.webhooks import shopify, stripe, woocommerce
from orderflow.services.ingest.webhooks.common import Outcome
from orderflow.services.ingest.webhooks.signatures import (
    verify_shopify,
    verify_stripe,
    verify_woocommerce,
)

Headers = Mapping[str, str]  # Starlette's headers: names looked up case-insensitively
# WooCommerce pings a new webhook with this unsigned form body and disables the webhook
# unless it gets a 2xx.
_WOO_PING_RE = re.compile(rb"webhook_id=[0-9]+")


@dataclass(frozen=True)
class Platform:
    name: str
    verify: Callable[[bytes, Headers, str, float], None]  # raises BadSignature
    adapt: Callable[[str, object, Headers], Outcome]


def _verify_shopify(body: bytes, headers: Headers, secret: str, _now: float) -> None:
    verify_shopify(body, headers.get("x-shopify-hmac-sha256"), secret)


def _verify_stripe(body: bytes, headers: Headers, secret: str, now: float) -> None:
    verify_stripe(body, headers.get("stripe-signature"), secret, now)


def _verify_woocommerce(body: bytes, headers: Headers, secret: str, _now: float) -> None:
    verify_woocommerce(body, headers.get("x-wc-webhook-signature"), secret)


def _adapt_shopify(tenant: str, payload: object, headers: Headers) -> Outcome:
    topic, webhook_id = headers.get("x-shopify-topic"), headers.get("x-shopify-webhook-id")
    return shopify.adapt(tenant, payload, topic, webhook_id, headers.get("x-shopify-event-id"))


def _adapt_stripe(tenant: str, payload: object, _headers: Headers) -> Outcome:
    return stripe.adapt(tenant, payload)


def _adapt_woocommerce(tenant: str, payload: object, headers: Headers) -> Outcome:
    resource, event = headers.get("x-wc-webhook-resource"), headers.get("x-wc-webhook-event")
    return woocommerce.adapt(tenant, payload, resource, event)


PLATFORMS = (
    Platform("shopify", _verify_shopify, _adapt_shopify),
    Platform("stripe", _verify_stripe, _adapt_stripe),
    Platform("woocommerce", _verify_woocommerce, _adapt_woocommerce),
)


def is_woo_ping(body: bytes, headers: Headers) -> bool:
    return "x-wc-webhook-signature" not in headers and bool(_WOO_PING_RE.fullmatch(body))

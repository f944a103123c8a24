"""The three platforms' webhook signing schemes (see docs/webhooks.md), pure.

Every check runs over the raw request bytes, before any JSON parsing: re-encoding a body
would not reproduce the bytes the platform signed. Comparisons are constant-time so a
caller cannot learn a valid signature byte by byte from response times.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

# stripe-python's DEFAULT_TOLERANCE; CONTRACTS §4 names the same 300 s.
STRIPE_TOLERANCE_S = 300


class BadSignature(Exception):
    """The request is not proven to come from the platform; the message says why (no secret)."""


def _hmac_sha256(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()


def shopify_signature(body: bytes, secret: str) -> str:
    """`X-Shopify-Hmac-Sha256`: base64 of HMAC-SHA256(app client secret, raw body)."""
    return base64.b64encode(_hmac_sha256(secret, body)).decode("ascii")


def woocommerce_signature(body: bytes, secret: str) -> str:
    """`X-WC-Webhook-Signature`: base64 of HMAC-SHA256(webhook secret, raw body), as Shopify's."""
    return base64.b64encode(_hmac_sha256(secret, body)).decode("ascii")


def stripe_signature(body: bytes, secret: str, timestamp: int) -> str:
    """One `v1` value: hex HMAC-SHA256 of `<t>.<body>` keyed by the whole `whsec_...` string."""
    return hmac.new(
        secret.encode("utf-8"), str(timestamp).encode("ascii") + b"." + body, hashlib.sha256
    ).hexdigest()


def _verify_base64_hmac(body: bytes, header: str | None, secret: str, name: str) -> None:
    if not header:
        raise BadSignature(f"missing {name} header")
    try:
        presented = base64.b64decode(header.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise BadSignature(f"{name} is not base64") from None
    if not hmac.compare_digest(presented, _hmac_sha256(secret, body)):
        raise BadSignature(f"{name} does not match the body")


def verify_shopify(body: bytes, header: str | None, secret: str) -> None:
    """Raises BadSignature unless `header` is the body's `X-Shopify-Hmac-Sha256`."""
    _verify_base64_hmac(body, header, secret, "X-Shopify-Hmac-Sha256")


def verify_woocommerce(body: bytes, header: str | None, secret: str) -> None:
    """Raises BadSignature unless `header` is the body's `X-WC-Webhook-Signature`."""
    _verify_base64_hmac(body, header, secret, "X-WC-Webhook-Signature")


def _parse_stripe_header(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    v1: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            # At most 12 digits: a longer value is no Unix time, and over 4,300 int() raises.
            timestamp = (
                int(value) if value.isascii() and value.isdigit() and len(value) <= 12 else None
            )
        elif key == "v1":
            v1.append(value)
        # v0 and unknown schemes are ignored, as Stripe's own libraries do.
    if timestamp is None:
        raise BadSignature("Stripe-Signature has no timestamp t=<unix seconds>")
    if not v1:
        raise BadSignature("Stripe-Signature has no v1 signature")
    return timestamp, v1


def verify_stripe(
    body: bytes,
    header: str | None,
    secret: str,
    now: float,
    tolerance_s: int = STRIPE_TOLERANCE_S,
) -> None:
    """Raises BadSignature unless one `v1` of `header` signs `<t>.<body>` and `t` is within
    `tolerance_s` of `now`, before or after.

    Several `v1` values appear while a secret is rolled; any one matching suffices. Stripe's
    libraries refuse only old timestamps; a future one is refused here too, so a signature
    minted ahead (a leaked secret, a skewed signer) cannot be replayed for longer than the
    window. Stripe signs with its own synchronised clock, so a fair delivery is never
    further off than our clock's own error (kept by NTP well under the window).
    """
    if not header:
        raise BadSignature("missing Stripe-Signature header")
    timestamp, candidates = _parse_stripe_header(header)
    expected = stripe_signature(body, secret, timestamp).encode("ascii")
    # Check every candidate, so the time taken does not say which one matched.
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(candidate.strip().encode("utf-8"), expected)
    if not matched:
        raise BadSignature("no v1 signature of Stripe-Signature matches the body")
    if timestamp < now - tolerance_s:
        raise BadSignature(f"Stripe-Signature timestamp is older than {tolerance_s} s")
    if timestamp > now + tolerance_s:
        raise BadSignature(f"Stripe-Signature timestamp is more than {tolerance_s} s ahead")

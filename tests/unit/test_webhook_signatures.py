"""The three webhook signing schemes against the official vectors of tests/fixtures/SIGNATURES.md."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest

from orderflow.services.ingest.webhooks.signatures import (
    BadSignature,
    shopify_signature,
    stripe_signature,
    verify_shopify,
    verify_stripe,
    verify_woocommerce,
    woocommerce_signature,
)

FIXTURES = Path(__file__).parents[1] / "fixtures"

# Shopify's own test (shopify-app-js validate.test.ts): S1.
S1_SECRET, S1_BODY = "test_secret_key", b'{"foo": "bar"}'
S1_HMAC = "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g="
# S2: the exact bytes of the orders/paid sample.
S2_SECRET, S2_HMAC = "shpss_example_secret", "vF1rTZTx06gwUliJO+Pq5g1YcVUJidrt9iQQgkmi9lI="

# Stripe's test constants (stripe-python tests/test_webhook.py), timestamp fixed: T1, T2.
STRIPE_SECRET, STRIPE_T = "whsec_test_secret", 1700000000
T1_BODY = (
    b'{\n  "id": "evt_test_webhook",\n  "object": "event",\n'
    b'  "data": { "object": { "id": "rdr_123", "object": "terminal.reader" } }\n}'
)
T1_V1 = "3bfab77baf5f7b6991a46c9b53b6547d7afc56148b10468fcad9f35c1992ffbd"
T2_V1 = "f2ddb6ce222a8eecedaef08a0e2e8348b096bc76a0e0a128f5b39b4f45fe87d0"

WC_SECRET = "wc_example_secret"
W1_BODY = (
    b'{"id":727,"status":"processing","_links":{"self":[{"href":'
    b'"https:\\/\\/example.com\\/wp-json\\/wc\\/v3\\/orders\\/727"}]}}'
)
W1_SIG = "7eRXq78quqAJxoVls53xQn5HL9ASs+HZMRwn3TJXwUg="
W1_NEG_SIG = "hvOkqkmYwesfCUSGA5wRdWza2HxiYZrNduR2FTjKioY="
W2_SIG = "mSS3xq+JdY7EJi5CdY6Mf5aoTrhq+F4592Z7OHwCWHY="


def fixture_bytes(name: str, sha256: str) -> bytes:
    body = (FIXTURES / name).read_bytes()
    # The vectors hold for these exact bytes only; a changed fixture must fail loudly here.
    assert hashlib.sha256(body).hexdigest() == sha256
    return body


def shopify_paid() -> bytes:
    return fixture_bytes(
        "shopify_orders_paid.json",
        "8c2f62f6e43c56248dcfb2fd22beb7a75510004fbbcb87a9be3631bcf47ef595",
    )


def stripe_envelope() -> bytes:
    return fixture_bytes(
        "stripe_fixture_event_envelope.json",
        "f39b4596f4df8fbe5337eeaa41a6d61dcf12ccd931160a2ca74dcf32da75d0e7",
    )


def woo_created() -> bytes:
    return fixture_bytes(
        "woocommerce_order_created.json",
        "d06a1b6ae26dbbf3f4e95aabd10d65fc0fdddf3d3be0b88c6515903825593a8a",
    )


# --- Shopify ---


def test_shopify_signs_as_shopifys_own_test_vector() -> None:
    assert shopify_signature(S1_BODY, S1_SECRET) == S1_HMAC
    verify_shopify(S1_BODY, S1_HMAC, S1_SECRET)


def test_shopify_signature_over_the_exact_fixture_bytes() -> None:
    body = shopify_paid()
    assert shopify_signature(body, S2_SECRET) == S2_HMAC
    verify_shopify(body, S2_HMAC, S2_SECRET)


@pytest.mark.parametrize(
    ("body", "header", "secret"),
    [
        pytest.param(S1_BODY + b" ", S1_HMAC, S1_SECRET, id="body-changed"),
        pytest.param(b'{"foo":"bar"}', S1_HMAC, S1_SECRET, id="body-re-serialised"),
        pytest.param(S1_BODY, S1_HMAC, "other_secret", id="wrong-secret"),
        pytest.param(S1_BODY, None, S1_SECRET, id="missing"),
        pytest.param(S1_BODY, "", S1_SECRET, id="empty"),
        pytest.param(S1_BODY, "not base64!", S1_SECRET, id="not-base64"),
        pytest.param(S1_BODY, S1_HMAC.lower(), S1_SECRET, id="case-changed"),
    ],
)
def test_shopify_refuses_anything_but_the_bodys_hmac(
    body: bytes, header: str | None, secret: str
) -> None:
    with pytest.raises(BadSignature):
        verify_shopify(body, header, secret)


def test_shopify_fixture_with_one_byte_changed_is_refused() -> None:
    body = shopify_paid().replace(b'"voided"', b'"paid"  ')
    with pytest.raises(BadSignature):
        verify_shopify(body, S2_HMAC, S2_SECRET)


# --- Stripe ---


def test_stripe_signs_as_stripes_own_library() -> None:
    assert stripe_signature(T1_BODY, STRIPE_SECRET, STRIPE_T) == T1_V1
    assert hashlib.sha256(T1_BODY).hexdigest() == (
        "3b538d7c82820105fcdc02c25620eba837c401a7d6256f877fc0c4875a73bc93"
    )


def test_stripe_signature_over_the_exact_fixture_bytes() -> None:
    body = stripe_envelope()
    assert stripe_signature(body, STRIPE_SECRET, STRIPE_T) == T2_V1
    verify_stripe(body, f"t={STRIPE_T},v1={T2_V1}", STRIPE_SECRET, now=STRIPE_T)


# Both official vectors, checked with the receiving clock shifted either way from `t`.
STRIPE_VECTORS = [
    pytest.param(lambda: T1_BODY, T1_V1, id="T1"),
    pytest.param(stripe_envelope, T2_V1, id="T2"),
]


@pytest.mark.parametrize(("body", "v1"), STRIPE_VECTORS)
@pytest.mark.parametrize("shift_s", [-300, -299, -1, 0, 1, 299, 300])
def test_stripe_accepts_a_timestamp_up_to_300_s_either_side_of_now(
    body: Callable[[], bytes], v1: str, shift_s: int
) -> None:
    # shift_s > 0: the signature is older than our clock; < 0: it is ahead of it.
    verify_stripe(body(), f"t={STRIPE_T},v1={v1}", STRIPE_SECRET, now=STRIPE_T + shift_s)


@pytest.mark.parametrize(("body", "v1"), STRIPE_VECTORS)
@pytest.mark.parametrize("shift_s", [301, 302, 3600, 10**9])
def test_stripe_refuses_a_timestamp_older_than_300_s(
    body: Callable[[], bytes], v1: str, shift_s: int
) -> None:
    with pytest.raises(BadSignature, match="older than 300 s"):
        verify_stripe(body(), f"t={STRIPE_T},v1={v1}", STRIPE_SECRET, now=STRIPE_T + shift_s)


@pytest.mark.parametrize(("body", "v1"), STRIPE_VECTORS)
@pytest.mark.parametrize("ahead_s", [301, 302, 3600, STRIPE_T - 1])
def test_stripe_refuses_a_timestamp_more_than_300_s_in_the_future(
    body: Callable[[], bytes], v1: str, ahead_s: int
) -> None:
    # A signature minted ahead of time would otherwise be replayable until t + 300 s.
    with pytest.raises(BadSignature, match="ahead"):
        verify_stripe(body(), f"t={STRIPE_T},v1={v1}", STRIPE_SECRET, now=STRIPE_T - ahead_s)


def test_stripe_future_timestamp_is_refused_only_after_the_signature_checks() -> None:
    # A forged header learns nothing about the window: it is refused as unsigned first.
    forged = f"t={STRIPE_T},v1={'0' * 64}"
    with pytest.raises(BadSignature, match="no v1 signature"):
        verify_stripe(T1_BODY, forged, STRIPE_SECRET, now=STRIPE_T - 10_000)


def test_stripe_vector_is_outside_the_tolerance_today() -> None:
    # SIGNATURES.md: stripe-python refuses T1 with tolerance 300, as 1700000000 is past.
    with pytest.raises(BadSignature):
        verify_stripe(T1_BODY, f"t={STRIPE_T},v1={T1_V1}", STRIPE_SECRET, now=1_800_000_000)


def test_stripe_accepts_any_of_several_v1_signatures_while_a_secret_rolls() -> None:
    other = stripe_signature(T1_BODY, "whsec_old_secret", STRIPE_T)
    for header in (f"t={STRIPE_T},v1={other},v1={T1_V1}", f"t={STRIPE_T},v1={T1_V1},v1={other}"):
        verify_stripe(T1_BODY, header, STRIPE_SECRET, now=STRIPE_T)


def test_stripe_ignores_v0_and_unknown_schemes() -> None:
    header = f"t={STRIPE_T},v0={'0' * 64},v1={T1_V1},v9=x"
    verify_stripe(T1_BODY, header, STRIPE_SECRET, now=STRIPE_T)
    with pytest.raises(BadSignature, match="no v1"):
        verify_stripe(T1_BODY, f"t={STRIPE_T},v0={T1_V1}", STRIPE_SECRET, now=STRIPE_T)


@pytest.mark.parametrize(
    ("body", "header", "secret"),
    [
        pytest.param(T1_BODY + b"\n", f"t={STRIPE_T},v1={T1_V1}", STRIPE_SECRET, id="body-changed"),
        pytest.param(T1_BODY, f"t={STRIPE_T},v1={T1_V1}", "whsec_other", id="wrong-secret"),
        pytest.param(T1_BODY, f"t={STRIPE_T + 1},v1={T1_V1}", STRIPE_SECRET, id="t-changed"),
        pytest.param(T1_BODY, f"t={STRIPE_T},v1={T1_V1[:-1]}0", STRIPE_SECRET, id="sig-changed"),
        pytest.param(T1_BODY, f"v1={T1_V1}", STRIPE_SECRET, id="no-timestamp"),
        pytest.param(T1_BODY, f"t=soon,v1={T1_V1}", STRIPE_SECRET, id="bad-timestamp"),
        pytest.param(T1_BODY, None, STRIPE_SECRET, id="missing"),
        pytest.param(T1_BODY, "garbage", STRIPE_SECRET, id="garbage"),
    ],
)
def test_stripe_refuses_anything_but_a_signature_of_timestamp_and_body(
    body: bytes, header: str | None, secret: str
) -> None:
    with pytest.raises(BadSignature):
        verify_stripe(body, header, secret, now=STRIPE_T)


def test_stripe_key_is_the_whole_whsec_string() -> None:
    stripped = stripe_signature(T1_BODY, STRIPE_SECRET.removeprefix("whsec_"), STRIPE_T)
    with pytest.raises(BadSignature):
        verify_stripe(T1_BODY, f"t={STRIPE_T},v1={stripped}", STRIPE_SECRET, now=STRIPE_T)


# --- WooCommerce ---


def test_woocommerce_signs_php_json_bytes_as_sent() -> None:
    assert woocommerce_signature(W1_BODY, WC_SECRET) == W1_SIG
    verify_woocommerce(W1_BODY, W1_SIG, WC_SECRET)


def test_woocommerce_re_encoded_body_does_not_verify() -> None:
    re_encoded = W1_BODY.replace(b"\\/", b"/")
    assert woocommerce_signature(re_encoded, WC_SECRET) == W1_NEG_SIG
    with pytest.raises(BadSignature):
        verify_woocommerce(re_encoded, W1_SIG, WC_SECRET)


def test_woocommerce_signature_over_the_exact_fixture_bytes() -> None:
    body = woo_created()
    assert woocommerce_signature(body, WC_SECRET) == W2_SIG
    verify_woocommerce(body, W2_SIG, WC_SECRET)


@pytest.mark.parametrize(
    ("body", "header", "secret"),
    [
        pytest.param(W1_BODY.replace(b"727", b"728"), W1_SIG, WC_SECRET, id="body-changed"),
        pytest.param(W1_BODY, W1_SIG, "wc_other_secret", id="wrong-secret"),
        pytest.param(W1_BODY, None, WC_SECRET, id="missing"),
        pytest.param(W1_BODY, "%%%", WC_SECRET, id="not-base64"),
    ],
)
def test_woocommerce_refuses_anything_but_the_bodys_hmac(
    body: bytes, header: str | None, secret: str
) -> None:
    with pytest.raises(BadSignature):
        verify_woocommerce(body, header, secret)

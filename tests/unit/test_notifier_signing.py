"""The webhook signature scheme, and the verification snippet documented for receivers."""

from __future__ import annotations

import hashlib
import hmac

from orderflow.services.notifier.signing import sign, verify

SECRET = "whsec-0123456789"
BODY = b'{"id":"n-1","subject":"Order 1 confirmed"}'
T = 1_767_268_800


def documented_verify(
    secret: str, header: str, body: bytes, now: float, tolerance_s: int = 300
) -> bool:
    """docs/notifier.md's receiver snippet, with `now` in place of `time.time()`."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    timestamp = parts.get("t", "")
    if not timestamp.isdigit() or abs(now - int(timestamp)) > tolerance_s:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return hmac.compare_digest(expected.hexdigest(), parts.get("v1", ""))


def test_header_carries_timestamp_and_hmac_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), b"1767268800." + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, T, BODY) == f"t={T},v1={expected}"


def test_a_signed_body_verifies_with_both_the_library_and_the_snippet() -> None:
    header = sign(SECRET, T, BODY)
    assert verify(SECRET, header, BODY, now=T + 10)
    assert documented_verify(SECRET, header, BODY, now=T + 10)


def test_tampered_body_wrong_secret_or_stale_timestamp_fail() -> None:
    header = sign(SECRET, T, BODY)
    assert not verify(SECRET, header, BODY + b" ", now=T)
    assert not verify("another-secret", header, BODY, now=T)
    assert not verify(SECRET, header, BODY, now=T + 301)
    assert not documented_verify(SECRET, header, BODY + b" ", now=T)
    assert not documented_verify(SECRET, header, BODY, now=T + 301)


def test_malformed_headers_do_not_verify() -> None:
    for header in ("", "t=abc,v1=00", "v1=00", f"t={T}", "garbage"):
        assert not verify(SECRET, header, BODY, now=T)
        assert not documented_verify(SECRET, header, BODY, now=T)

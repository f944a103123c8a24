"""The webhook signature: `X-Orderflow-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`.

The receiver recomputes the HMAC over the timestamp, a dot and the raw body with the
tenant's secret, compares in constant time, and refuses a timestamp outside its tolerance
(a replayed old request). `X-Orderflow-Event-Id` is the notification id, the same on every
attempt: a receiver that keeps the ids it has processed drops a repeat.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Orderflow-Signature"
EVENT_ID_HEADER = "X-Orderflow-Event-Id"
DEFAULT_TOLERANCE_S = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of `<timestamp>.<body>`."""
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The value of the signature header for one attempt."""
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(
    secret: str, header: str, body: bytes, now: int, tolerance_s: int = DEFAULT_TOLERANCE_S
) -> bool:
    """What a receiver does: the signature matches and the timestamp is recent."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    timestamp, given = fields.get("t", ""), fields.get("v1", "")
    if not timestamp.isdigit() or abs(now - int(timestamp)) > tolerance_s:
        return False
    return hmac.compare_digest(signature(secret, int(timestamp), body), given)

"""What one delivery attempt's outcome means for the notification: sent, retry later, failed.

Pure: the delivery loop passes the attempt count, the clock and a jitter draw in [0, 1).
Delays grow exponentially from `base_s`, capped at `max_s`; the jitter spreads a burst of
retries (a receiver coming back) over the second half of each delay. A receiver's
`Retry-After` is honoured when it asks for longer, up to `retry_after_max_s`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime


@dataclass(frozen=True)
class Delivered:
    pass


@dataclass(frozen=True)
class Transient:
    """May succeed later (receiver down, timeout, 5xx, 429, SMTP 4xx)."""

    reason: str
    retry_after_s: float | None = None


@dataclass(frozen=True)
class Permanent:
    """Will never succeed as it is (4xx, SMTP 5xx, no address, broken template)."""

    reason: str


Outcome = Delivered | Transient | Permanent


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_s: float = 2.0
    max_s: float = 600.0
    retry_after_max_s: float = 3600.0


@dataclass(frozen=True)
class MarkSent:
    pass


@dataclass(frozen=True)
class RetryAt:
    at: datetime
    reason: str


@dataclass(frozen=True)
class MarkFailed:
    reason: str


Step = MarkSent | RetryAt | MarkFailed


def next_step(
    outcome: Outcome, attempts: int, now: datetime, policy: RetryPolicy, jitter: float
) -> Step:
    """`attempts` counts the attempt that produced `outcome`."""
    if isinstance(outcome, Delivered):
        return MarkSent()
    if isinstance(outcome, Permanent):
        return MarkFailed(outcome.reason)
    if attempts >= policy.max_attempts:
        return MarkFailed(f"{outcome.reason} (after {attempts} attempts)")
    delay = backoff_s(attempts, policy, jitter)
    if outcome.retry_after_s is not None:
        delay = max(delay, min(outcome.retry_after_s, policy.retry_after_max_s))
    return RetryAt(now + timedelta(seconds=delay), outcome.reason)


def backoff_s(attempts: int, policy: RetryPolicy, jitter: float) -> float:
    """Delay after failed attempt number `attempts` (1-based), with "equal jitter"."""
    ceiling = min(policy.max_s, policy.base_s * 2.0 ** min(attempts - 1, 32))
    return ceiling / 2 + ceiling / 2 * jitter


def classify_http(status: int, retry_after: str | None, now: datetime) -> Outcome:
    """A webhook answer: 2xx delivered; 408, 429 and 5xx worth retrying; other 4xx final."""
    if 200 <= status < 300:
        return Delivered()
    if status in (408, 429) or status >= 500:
        return Transient(f"http_{status}", parse_retry_after(retry_after, now))
    return Permanent(f"http_{status}")


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """`Retry-After` in seconds or as an HTTP date; None when absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


def classify_smtp_code(code: int) -> Outcome:
    """An SMTP reply code: 4xx is a temporary refusal, 5xx a final one.

    Only the code is kept: a server's reply text often quotes the recipient's address.
    """
    if 400 <= code < 500:
        return Transient(f"smtp_{code}")
    return Permanent(f"smtp_{code}")

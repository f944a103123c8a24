"""Retry decisions: exponential backoff with jitter, Retry-After, bounded attempts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from orderflow.services.notifier.retry import (
    Delivered,
    MarkFailed,
    MarkSent,
    Outcome,
    Permanent,
    RetryAt,
    RetryPolicy,
    Transient,
    backoff_s,
    classify_http,
    classify_smtp_code,
    next_step,
    parse_retry_after,
)

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
POLICY = RetryPolicy(max_attempts=4, base_s=2.0, max_s=10.0, retry_after_max_s=60.0)


@pytest.mark.parametrize(
    ("attempts", "jitter", "delay"),
    [
        (1, 0.0, 1.0),
        (1, 0.999, 1.999),
        (2, 0.0, 2.0),
        (3, 0.5, 6.0),
        (4, 1.0, 10.0),
        (30, 0.0, 5.0),
    ],
)
def test_backoff_doubles_up_to_the_cap_with_jitter_in_the_upper_half(
    attempts: int, jitter: float, delay: float
) -> None:
    assert backoff_s(attempts, POLICY, jitter) == pytest.approx(delay)


@pytest.mark.parametrize(
    ("outcome", "attempts", "step"),
    [
        (Delivered(), 1, MarkSent()),
        (Delivered(), 4, MarkSent()),
        (Permanent("http_404"), 1, MarkFailed("http_404")),
        (Transient("http_503"), 1, RetryAt(NOW + timedelta(seconds=1), "http_503")),
        (Transient("http_503"), 3, RetryAt(NOW + timedelta(seconds=4), "http_503")),
        (Transient("http_503"), 4, MarkFailed("http_503 (after 4 attempts)")),
        (Transient("http_429", 30.0), 1, RetryAt(NOW + timedelta(seconds=30), "http_429")),
        (Transient("http_429", 0.5), 2, RetryAt(NOW + timedelta(seconds=2), "http_429")),
        (Transient("http_429", 999.0), 1, RetryAt(NOW + timedelta(seconds=60), "http_429")),
    ],
)
def test_next_step(outcome: Outcome, attempts: int, step: object) -> None:
    assert next_step(outcome, attempts, NOW, POLICY, jitter=0.0) == step


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, Delivered()),
        (204, Delivered()),
        (301, Permanent("http_301")),
        (400, Permanent("http_400")),
        (401, Permanent("http_401")),
        (404, Permanent("http_404")),
        (408, Transient("http_408")),
        (429, Transient("http_429")),
        (500, Transient("http_500")),
        (503, Transient("http_503")),
    ],
)
def test_http_status_classification(status: int, outcome: Outcome) -> None:
    assert classify_http(status, None, NOW) == outcome


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert classify_http(429, "7", NOW) == Transient("http_429", 7.0)
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:30 GMT", NOW) == 30.0
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", NOW) == 0.0
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after(None, NOW) is None


def test_smtp_4xx_is_temporary_and_5xx_final() -> None:
    assert classify_smtp_code(451) == Transient("smtp_451")
    assert classify_smtp_code(550) == Permanent("smtp_550")

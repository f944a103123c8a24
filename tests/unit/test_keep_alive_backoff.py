"""The restart backoff of `orderflow run` (pure)."""

from __future__ import annotations

from orderflow.shared.keep_alive import Backoff


def test_the_delay_doubles_while_a_service_keeps_dying_up_to_the_cap() -> None:
    backoff = Backoff(base_s=1.0, max_s=8.0, stable_s=60.0)
    delays = [backoff.delay(None, 0.5)]
    for _ in range(5):
        delays.append(backoff.delay(delays[-1], 2.0))
    assert delays == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_a_service_that_stayed_up_long_enough_starts_again_from_the_base_delay() -> None:
    backoff = Backoff(base_s=1.0, max_s=8.0, stable_s=60.0)
    assert backoff.delay(8.0, 61.0) == 1.0

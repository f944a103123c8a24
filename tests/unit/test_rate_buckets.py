"""The token buckets of the HTTP edge (shared/http_limits.py): rate, burst, and the bound on
how many keys are remembered when the public chooses the keys (the tracking tag's addresses)."""

from __future__ import annotations

from orderflow.shared.http_limits import TenantBuckets


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_spends_its_burst_then_refills_at_its_rate() -> None:
    clock = Clock()
    buckets = TenantBuckets(rate=2.0, burst=3, clock=clock)
    assert [buckets.wait_s("a") for _ in range(4)] == [0.0, 0.0, 0.0, 0.5]
    clock.now = 0.5
    assert buckets.wait_s("a") == 0.0 and buckets.wait_s("a") > 0
    assert buckets.wait_s("b") == 0.0, "each key has its own bucket"


def test_past_max_keys_the_least_recently_charged_key_is_forgotten() -> None:
    clock = Clock()
    buckets = TenantBuckets(rate=0.001, burst=1, clock=clock, max_keys=2)
    for key in ("a", "b"):
        assert buckets.wait_s(key) == 0.0
    assert buckets.wait_s("a") > 0, "a is empty, and now the most recently charged"
    assert buckets.wait_s("c") == 0.0  # three keys: b, the least recent, is forgotten
    assert buckets.wait_s("a") > 0, "a is still remembered, still empty"
    assert buckets.wait_s("b") == 0.0, "b was forgotten: it starts full again"
    assert len(buckets._buckets) == 2

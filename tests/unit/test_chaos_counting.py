"""`make chaos`'s counting, without a stack: what is lost, what is a duplicate, recovery time."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chaos.__main__ import passed
from chaos.load import Sent, order_report
from chaos.observe import Observer
from chaos.report import table
from chaos.verdict import DEAD_LETTER, EFFECTS, expected, recovery
from orderflow.shared.settings import KafkaSettings


def observer() -> Observer:
    return Observer(KafkaSettings(bootstrap_servers="unused:9092", topic_prefix="p."), [])


def event(kind: str, event_id: str, order_id: str, **data: object) -> bytes:
    return json.dumps(
        {"type": kind, "event_id": event_id, "order_id": order_id, "data": data}
    ).encode()


def test_a_repeat_with_the_same_event_id_is_one_effect_and_a_new_id_is_a_duplicate() -> None:
    seen = observer()
    seen._note("p.commissions.v1", event("commission.accrued", "e1", "o-1"), 1.0)
    seen._note("p.commissions.v1", event("commission.accrued", "e1", "o-1"), 2.0)
    seen._note("p.commissions.v1", event("commission.accrued", "e2", "o-2"), 2.0)
    seen._note("p.commissions.v1", event("commission.accrued", "e3", "o-2"), 3.0)
    assert {effect: len(ids) for effect, ids in seen.seen.items()} == {
        ("commission.accrued", "o-1"): 1,
        ("commission.accrued", "o-2"): 2,
    }
    assert seen.first_seen(("commission.accrued", "o-2")) == 2.0


def test_a_dead_letter_is_noted_under_its_topic_and_the_original_key() -> None:
    seen = observer()
    seen._note("p.ingest.dlq.v1", event("dead_letter", "d1", "", key="chaos:poison-1"), 1.0)
    seen._note("p.ingest.dlq.v1", b"\xff not an envelope", 1.0)
    assert list(seen.seen) == [(DEAD_LETTER, "chaos:poison-1")]
    assert seen.unreadable == 1


def test_every_accepted_report_needs_each_effect_and_every_poison_record_its_dead_letter() -> None:
    sent = Sent(accepted_at={"o-1": 1.0}, poison_at={"chaos:poison-1": 1.0})
    seen = observer()
    for kind in EFFECTS[:-1]:
        seen._note("p.t", event(kind, f"id-{kind}", "o-1"), 2.0)
    assert seen.missing(expected(sent)) == [
        ("notification.sent", "o-1"),
        (DEAD_LETTER, "chaos:poison-1"),
    ]


def test_recovery_counts_only_reports_accepted_before_the_fault_ended() -> None:
    sent = Sent(accepted_at={"early": 1.0, "late": 20.0})
    seen = observer()
    for order_id, at in (("early", 15.0), ("late", 40.0)):
        for kind in EFFECTS:
            seen._note("p.t", event(kind, f"{order_id}-{kind}", order_id), at)
    assert recovery(seen, expected(sent), sent, fault_ended_at=10.0) == 5.0
    assert recovery(seen, expected(sent), sent, fault_ended_at=16.0) == 0.0
    assert recovery(seen, expected(sent), sent, fault_ended_at=None) == 0.0


@pytest.mark.parametrize(
    ("row", "ok"),
    [
        ({"scenario": "a", "reports": 9, "faults": 1, "lost": 0, "duplicates": 0}, True),
        ({"scenario": "a", "reports": 9, "faults": 1, "lost": 1, "duplicates": 0}, False),
        ({"scenario": "a", "reports": 9, "faults": 1, "lost": 0, "duplicates": 2}, False),
        ({"scenario": "a", "error": "TimeoutError: x"}, False),
    ],
)
def test_a_row_passes_only_with_nothing_lost_and_nothing_doubled(
    row: dict[str, object], ok: bool
) -> None:
    assert passed(row) is ok


def test_the_table_has_a_line_per_scenario_and_says_when_one_failed_to_run() -> None:
    rows: list[dict[str, Any]] = [
        {"scenario": "sigkill", "reports": 100, "faults": 5, "lost": 0, "duplicates": 0,
         "recovery_s": 3.25, "unplanned_exits": [{"service": "rewards", "code": 1}], "notes": {},
         "server_errors": ["500 internal error"]},
        {"scenario": "poison", "error": "RuntimeError: broken"},
    ]  # fmt: skip
    lines = table(rows).splitlines()
    assert lines[0].split() == ["scenario", "reports", "faults", "injected", "lost",
                                "duplicate", "effects", "recovery"]  # fmt: skip
    assert lines[2].split() == ["sigkill", "100", "5", "0", "0", "3.2", "s"]
    assert lines[3].split() == ["poison", "-", "-", "-", "-", "did", "not", "run"]
    assert lines[4:] == [
        "sigkill: rewards exited unasked (1)",
        "sigkill: POST /v1/orders answered 500 internal error",
        "poison: RuntimeError: broken",
    ]


def test_each_report_is_a_new_confirmed_order_with_one_contributor() -> None:
    report = order_report("sigkill-000051")
    assert (report["status"], report["order_id"]) == ("OK", "sigkill-000051")
    assert report["contributors"] == [{"member_id": "m-1", "via": "affiliation"}]

"""The pure parts of the orders reads: query parsing, cursors, the view fold, the timeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from orderflow.services.status_tracker import csv_export, timeline
from orderflow.services.status_tracker.domain import Report, decide, expire
from orderflow.services.status_tracker.history import ExpiryRule
from orderflow.services.status_tracker.order_filters import (
    decode_cursor,
    encode_cursor,
    parse_filters,
    parse_kpi_query,
    parse_page,
)
from orderflow.services.status_tracker.order_view import view_of
from orderflow.services.status_tracker.report_details import ReportDetails
from orderflow.shared.vocabulary import Category

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def report(rid: str, status: str, category: Category | None, h: float, **details: object) -> Report:
    at = T0 + timedelta(hours=h)
    return Report(rid, status, category, "api", at, at + timedelta(minutes=1),
                  details=ReportDetails(**details) if details else None)  # type: ignore[arg-type]  # fmt: skip


def test_repeated_filters_are_or_and_bounds_are_given_once() -> None:
    errors: list[tuple[str, str]] = []
    params = [
        ("status", "A"),
        ("status", "B"),
        ("min_amount", "1.5"),
        ("created_from", "2026-01-01T00:00:00+02:00"),
    ]
    filters = parse_filters(params, errors)
    assert errors == []
    assert filters.any_of == {"status": ("A", "B")}
    assert filters.min_amount == Decimal("1.5")
    assert filters.created_from == datetime(2025, 12, 31, 22, tzinfo=UTC)
    parse_filters([("max_amount", "1"), ("max_amount", "2"), ("category", "nope")], errors)
    assert errors == [("query.category", "must be one of pending, confirmed, fulfilled, cancelled,"
                       " declined, expired, refunded, chargeback, suppressed, duplicate"),
                      ("query.max_amount", "must be given at most once")]  # fmt: skip


@pytest.mark.parametrize(
    "text", ["2026-01-01", "2026-01-01T00:00:00", "yesterday", "2026-13-01T00:00:00Z"]
)
def test_an_instant_needs_rfc3339_with_an_offset(text: str) -> None:
    errors: list[tuple[str, str]] = []
    parse_filters([("created_to", text)], errors)
    assert [path for path, _ in errors] == ["query.created_to"]


@pytest.mark.parametrize("limit", ["0", "201", "-1", "x", "1e2", "0050000"])
def test_limit_is_1_to_200(limit: str) -> None:
    errors: list[tuple[str, str]] = []
    parse_page([("limit", limit)], errors)
    assert [path for path, _ in errors] == ["query.limit"]


@pytest.mark.parametrize(
    ("sort", "value", "order_id"),
    [("-created_at", T0, "o-1"), ("amount", Decimal("9.90"), "o-2"), ("amount", None, "o-3"),
     ("order_id", "o-4", "o-4"), ("updated_at", T0 + timedelta(microseconds=7), "o:5/x")],
)  # fmt: skip
def test_a_cursor_round_trips_for_its_own_sort_only(
    sort: str, value: object, order_id: str
) -> None:
    cursor = encode_cursor(sort, value, order_id)
    assert decode_cursor(cursor, sort) == (value, order_id)
    other = "-order_id" if sort != "-order_id" else "order_id"
    assert decode_cursor(cursor, other) is None


@pytest.mark.parametrize("text", ["", "x", "e30", encode_cursor("-created_at", "not a time", "o")])
def test_a_forged_cursor_is_refused(text: str) -> None:
    assert decode_cursor(text, "-created_at") is None


def test_my_orders_take_no_sort_and_kpis_their_interval() -> None:
    errors: list[tuple[str, str]] = []
    parse_page([("sort", "amount")], errors, sorts=False)
    parse_kpi_query([("interval", "year")], errors, ("day", "week", "month"))
    assert [p for p, _ in errors] == ["query.sort", "query.interval"]


def test_the_view_folds_details_in_upstream_time_whatever_the_arrival() -> None:
    early = report(
        "r1",
        "Pending",
        Category.PENDING,
        1,
        offer_name="Spring",
        payment_system="stripe",
        shipping={"method": "standard"},
        discounts=({"kind": "coupon", "amount": "1"},),
    )
    late = report("r2", "OK", Category.CONFIRMED, 3, offer_name="Renamed", payment_system="paypal",
                  shipping={"method": "express", "tracking_number": "1Z"}, payment_plan="partial")  # fmt: skip
    views = []
    for arrival in ([early, late], [late, early]):
        state, history = None, list[Report]()
        for r in arrival:
            decision = decide(state, history, r)
            state, history = decision.state, [*history, r]
        assert state is not None
        views.append(view_of("shop", "o-1", state, history))
    assert views[0] == views[1]
    view = views[0]
    assert (view.created_at, view.updated_at) == (T0 + timedelta(hours=1), T0 + timedelta(hours=3))
    assert view.offer_name == "Spring", "the earliest report that names it"
    assert view.payment_system == "paypal", "the latest report that names one"
    assert view.shipping == {"method": "express", "tracking_number": "1Z"}
    assert view.payment_plan == "partial" and view.discounts == ({"kind": "coupon", "amount": "1"},)


def test_timeline_kinds_from_the_history() -> None:
    rule = ExpiryRule(lambda s: s == "Pending payment", timedelta(hours=1))
    pending = report("r1", "Pending payment", Category.PENDING, 0)
    waiting = decide(None, [], pending, rule)
    assert waiting.state.expiry_due_at is not None
    expired = expire(
        waiting.state, [pending], waiting.state.expiry_due_at, T0 + timedelta(hours=2), rule
    )
    assert expired.new_entry is not None
    kinds = [e["kind"] for e in timeline.ordered(timeline.of_history([pending, expired.new_entry]))]
    assert kinds == ["status", "status", "expired"]

    ok = report("r2", "OK", Category.CONFIRMED, 1)
    refund = report(
        "r3",
        "Refunded",
        Category.REFUNDED,
        2,
        shipping={"carrier": "DHL", "address": {"city": "P"}},
    )
    events = timeline.ordered(
        timeline.of_history([refund, ok, report("r0", "Pending", Category.PENDING, 0)])
    )
    assert [(e["kind"], e.get("report_id")) for e in events] == [
        ("status", "r0"), ("status", "r2"), ("confirmed", "r2"), ("status", "r3"), ("reversed", "r3"),
        ("shipping", "r3"),
    ]  # fmt: skip
    assert events[-1] == {"at": refund.occurred_at, "received_at": refund.received_at, "kind": "shipping",
                          "report_id": "r3", "carrier": "DHL"}  # fmt: skip


@pytest.mark.parametrize(
    ("cell", "written"),
    [("=1+2", "'=1+2"), ("+49", "'+49"), ("-x", "'-x"), ("@a", "'@a"), ("\tx", "'\tx"),
     ("\rx", "'\rx"), ("a=b", "a=b"), ("", "")],
)  # fmt: skip
def test_formula_cells_get_a_quote(cell: str, written: str) -> None:
    assert csv_export.safe_cell(cell) == written


def test_columns_are_summary_fields_given_once() -> None:
    errors: list[tuple[str, str]] = []
    assert csv_export.parse_columns(["order_id, amount"], errors) == ("order_id", "amount")
    assert csv_export.parse_columns([], errors) == csv_export.COLUMNS
    csv_export.parse_columns(["order_id,text"], errors)
    csv_export.parse_columns(["a", "b"], errors)
    assert [p for p, _ in errors] == ["query.columns", "query.columns"]

"""Whatever ingest accepts, every service after it can decide (issue 9 item 1): a property.

Reports (and a touchpoint) are drawn from the accepted schema, edges included: instants at
both ends of the window in any offset, the largest amount in every currency with its minor
units, metadata nested to the limit, any storable text. Each goes the whole way through the
services' pure decisions as their handlers call them, every event through its bytes as
consumers read them: ingest (category, event), the status tracker (decide, expire), attribution
(the fold of reports, touchpoints and lifecycle facts), rewards (record, settle, approve,
count) and the notifier (plan, render). Nothing may raise. Each tenant's own configuration
is used, and once more with durations at the calendar's end, so saturation is crossed too.
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import event as tally
from hypothesis import strategies as st

from orderflow.services.attribution import domain as attribution
from orderflow.services.attribution import messages as attribution_wire
from orderflow.services.ingest import domain as ingest
from orderflow.services.ingest.limits import EARLIEST, MAX_AMOUNT_DIGITS, MAX_DEPTH, MAX_FUTURE
from orderflow.services.ingest.profiles import PROFILE_TABLE
from orderflow.services.ingest.reports import (
    parse_report_batch,
    parse_touchpoint_batch,
    report_uuid,
    touchpoint_uuid,
)
from orderflow.services.notifier import fanout, templates
from orderflow.services.notifier import messages as notifier_wire
from orderflow.services.rewards import messages as rewards_wire
from orderflow.services.rewards.entries import Programme
from orderflow.services.status_tracker import domain as tracker
from orderflow.services.status_tracker import messages as tracker_wire
from orderflow.shared.currencies import CURRENCIES, minor_units
from orderflow.shared.envelope import Envelope
from orderflow.shared.instants import END_OF_TIME
from orderflow.shared.tenants import MAX_DAYS, Challenge, TenantConfig, load_tenants
from orderflow.shared.vocabulary import Category, ContributorVia, normalise_status
from tests.unit.rewards_world import World

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
EXAMPLES = Path(__file__).resolve().parents[2] / "config" / "tenants"
_VARIABLES = set(
    re.findall(r"\$\{(\w+)\}", "".join(p.read_text() for p in EXAMPLES.glob("*.yaml")))
)
TENANTS = load_tenants(EXAMPLES, {name: f"{name.lower()}-0123456789abcdef" for name in _VARIABLES})
TEMPLATES = templates.Templates()
LONG_WINDOW = Challenge.model_validate(
    {
        "id": "forever",
        "when": {"orders_in_days": {"count": 2, "days": MAX_DAYS}},  # the longest allowed
        "reward": {"points": 1},
    }
)
TEXT = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")


def text(max_size: int) -> st.SearchStrategy[str]:
    return st.text(TEXT, min_size=1, max_size=max_size)


def instants() -> st.SearchStrategy[str]:
    latest = NOW + MAX_FUTURE
    naive = st.datetimes(EARLIEST.replace(tzinfo=None), latest.replace(tzinfo=None))
    utc = st.one_of(st.sampled_from([EARLIEST, latest]), naive.map(lambda d: d.replace(tzinfo=UTC)))
    offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
    return st.builds(lambda at, tz: at.astimezone(tz).isoformat(), utc, offsets)


def decimals(fraction_digits: int) -> st.SearchStrategy[str]:
    largest = 10**MAX_AMOUNT_DIGITS - 1
    whole = st.one_of(st.sampled_from([0, largest]), st.integers(0, largest))
    digits = st.integers(0, fraction_digits).flatmap(
        lambda n: st.text("0123456789", min_size=n, max_size=n)
    )
    return st.builds(lambda w, f: f"{w}.{f}" if f else str(w), whole, digits)


NO_MONEY: dict[str, str] = {}


@st.composite
def money(draw: st.DrawFn) -> dict[str, str]:
    currency = draw(st.sampled_from(sorted(CURRENCIES)))
    return {"amount": draw(decimals(minor_units(currency))), "currency": currency}


def deep(levels: int, leaf: object) -> object:
    value = leaf
    for index in range(levels):
        value = {"k": value} if index % 2 else [value]
    return value


LEAF = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text(20)
JSON = st.recursive(
    LEAF,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text(8), inner, max_size=3),
    max_leaves=10,
)
# The report is level 1 and metadata level 2, so what metadata holds may nest MAX_DEPTH - 2.
METADATA = st.dictionaries(text(8), JSON, max_size=4) | st.builds(
    lambda n, leaf: {"deep": deep(n, leaf)}, st.integers(0, MAX_DEPTH - 2), LEAF
)
ITEM = st.fixed_dictionaries(
    {"sku": text(128), "quantity": st.integers(1, 10**12), "unit_price": decimals(4)},
    optional={"name": text(40), "category": text(20), "offer_id": text(20)},
)
CUSTOMER = st.fixed_dictionaries(
    {"id": st.sampled_from(["c-1", "c-2"])}, optional={"email": text(40), "name": text(40)}
)
CONTRIBUTOR = st.fixed_dictionaries(
    {
        "member_id": st.sampled_from(["m-1", "m-2", "m-3"]),
        "via": st.sampled_from(list(ContributorVia)),
    }
)
PAYMENT = st.fixed_dictionaries(
    {"system": text(20)},
    optional={
        "transaction_id": text(40),
        "fee": decimals(2),
        "currency": st.sampled_from(["EUR", "JPY"]),
    },
)
OPTIONAL: dict[str, st.SearchStrategy[Any]] = {
    "report_id": text(128),
    "source": text(64),
    "customer": CUSTOMER,
    "items": st.lists(ITEM, max_size=3),
    "offer_id": text(20),
    "payment": PAYMENT,
    "contributors": st.lists(CONTRIBUTOR, max_size=2),
    "metadata": METADATA,
}


def statuses(config: TenantConfig) -> st.SearchStrategy[str]:
    known = [s for names in PROFILE_TABLE[config.status_profile].values() for s in names]
    confirming = PROFILE_TABLE[config.status_profile][Category.CONFIRMED]
    return st.sampled_from(known) | st.sampled_from(confirming) | text(64)


@st.composite
def orders(draw: st.DrawFn) -> tuple[TenantConfig, list[dict[str, Any]], dict[str, Any]]:
    """One order's reports (1-4, of one tenant) and one touchpoint of its customer."""
    config = TENANTS.get(draw(st.sampled_from(TENANTS.tenants())))
    order_id = draw(text(128))
    reports = []
    for _ in range(draw(st.integers(1, 4))):
        body: dict[str, Any] = {
            "tenant": config.tenant,
            "order_id": order_id,
            "status": draw(statuses(config)),
        }
        body["occurred_at"] = draw(instants())
        body.update(draw(st.fixed_dictionaries({}, optional=OPTIONAL)))
        body.update(draw(st.just(NO_MONEY) | money()))
        reports.append(body)
    touchpoint = {
        "tenant": config.tenant,
        "touchpoint_id": draw(text(128)),
        "member_id": draw(st.sampled_from(["m-1", "m-4"])),
        "kind": draw(st.sampled_from(["click", "conversation", "coupon"])),
        "customer_id": draw(st.sampled_from(["c-1", "c-2"])),
        "occurred_at": draw(instants()),
        **draw(st.fixed_dictionaries({}, optional={"order_id": st.just(order_id)})),
    }
    return config, reports, touchpoint


def wire(event: Envelope) -> Envelope:
    """The event as its consumers read it: through its bytes."""
    return Envelope.from_bytes(event.to_bytes())


def track(
    config: TenantConfig, reported: list[Envelope], rule: tracker.ExpiryRule
) -> list[Envelope]:
    """The tracker on each report in turn, then its expiry timer firing when it is due."""
    state: tracker.OrderState | None = None
    history: list[tracker.HistoryEntry] = []
    out: list[Envelope] = []
    for event in reported:
        report = tracker_wire.report_from(event)
        decision = tracker.decide(state, history, report, rule)
        state, history = decision.state, [*history, report]
        out += lifecycle_events(decision, config.tenant, event)
    assert state is not None
    if state.expiry_due_at is not None:
        due = state.expiry_due_at
        out += lifecycle_events(
            tracker.expire(state, history, due, due, rule), config.tenant, event
        )
    return [wire(e) for e in out]


def lifecycle_events(decision: tracker.Decision, tenant: str, cause: Envelope) -> list[Envelope]:
    order_id, ids = cause.order_id or "", (cause.event_id, cause.correlation_id)
    return [e for _, e, _ in tracker_wire.outgoing(decision, tenant, order_id, *ids)]


def attribute(
    order_id: str, facts: list[attribution.Fact], touch: attribution.Touch, lookback: timedelta
) -> list[attribution.CreditEvent]:
    state = attribution.OrderAttribution(order_id)
    events: list[attribution.CreditEvent] = []
    for fact in facts:
        decision = attribution.decide(state, fact, [touch], lookback)
        state, events = decision.state, [*events, *decision.events]
    return events


def reward(tenant: str, programme: Programme, events: list[Envelope]) -> list[Envelope]:
    """Both steps of rewards on the events, then every approval timer fired."""
    world = World(programme).deliver_all(events)
    world.fire_timers(END_OF_TIME)
    out = [rewards_wire.entry_envelope(p.entry, tenant, p.order_id, "c") for p in world.ledger]
    out += [rewards_wire.reward_envelope(r, tenant, o, "c") for o, r in world.rewards]
    return [wire(e) for e in out]


def notify(config: TenantConfig, reported: list[Envelope], events: list[Envelope]) -> None:
    for event in reported:
        notifier_wire.contact_from(event)
    rules = config.notifications
    causes = [(rules, notifier_wire.cause_of(e)) for e in events]
    attributions = {"order.attributed", "order.attribution_voided"}
    batches = [
        fanout.plan_events([c for c in causes if c[1].type not in attributions], fanout.Known()),
        fanout.plan_attributions([c for c in causes if c[1].type in attributions], fanout.Known()),
    ]
    for batch in batches:
        for cause, planned in batch.notifications.values():
            recipient = {"role": planned.recipient.role, "id": planned.recipient.id}
            view = templates.context(
                cause.tenant, cause.type, cause.order_id, cause.data, recipient, "Ada"
            )
            TEMPLATES.render(cause.tenant, planned.template, cause.type, config.language, view)
            tally(f"rendered {cause.type}")


def variants(config: TenantConfig) -> itertools.product[Any]:
    """The tenant's own expiry, lookback and programme, and each at the calendar's end."""
    starts = partial(_starts_expiry, normalise_status("Pending payment"))
    rules = [
        tracker.ExpiryRule(starts, config.pending_payment_expiry()),
        tracker.ExpiryRule(partial(_starts_expiry, None), timedelta.max),
    ]
    lookbacks = [timedelta(days=config.attribution.lookback_days), timedelta.max]
    ordinary = Programme.of(config)
    endless = Programme(
        (*ordinary.challenges, LONG_WINDOW),
        ordinary.commission.model_copy(update={"holding_days": 10**12}),
    )
    return itertools.product(rules, lookbacks, [ordinary, endless])


def _starts_expiry(status: str | None, reported: str) -> bool:
    return status is None or normalise_status(reported) == status


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(orders())
def test_no_accepted_report_makes_any_service_raise(
    order: tuple[TenantConfig, list[dict[str, Any]], dict[str, Any]],
) -> None:
    config, bodies, touch_body = order
    reports = parse_report_batch(bodies, now=NOW)  # drawn from the accepted schema: accepted
    [touchpoint] = parse_touchpoint_batch(touch_body, now=NOW)
    reported = [
        wire(ingest.reported_event(r, str(report_uuid(r)), ingest.category_of(config, r), NOW))
        for r in reports
    ]
    touched = wire(ingest.touchpoint_event(touchpoint, str(touchpoint_uuid(touchpoint)), NOW))
    touch = attribution_wire.touch_from(touched)
    tenant, order_id = config.tenant, reports[0].order_id

    for rule, lookback, programme in variants(config):
        lifecycle = track(config, reported, rule)
        facts: list[attribution.Fact] = [
            attribution.Touched(touch),
            *(attribution_wire.reported_from(e) for e in reported),
            *(attribution_wire.lifecycle_from(e) for e in lifecycle),
        ]
        attributions = [
            wire(attribution_wire.attribution_envelope(e, tenant, order_id, "cause", "chain"))
            for e in attribute(order_id, facts, touch, lookback)
        ]
        outcomes = reward(tenant, programme, [*lifecycle, *attributions])
        for e in [*lifecycle, *attributions, *outcomes]:
            tally(e.type)
        notify(config, reported, [*lifecycle, *attributions, *outcomes])

"""Whatever order the inputs arrive in, and however often, the ledger and the rewards agree.

Kafka keeps one topic's records of a key in order, nothing more: an order's lifecycle events
and its attribution events interleave arbitrarily, orders interleave with each other, and
any record may come again later. The generated inputs are exactly that; the member facts
the order-keyed step publishes reach the member-keyed step late, and again, too.
A batch folds to what its records one by one decide, so these hold for any batching.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from orderflow.services.rewards.entries import Decision, Kind
from orderflow.services.rewards.facts import OrderBook
from orderflow.services.rewards.folds import OrderInput, OrderKey, fold_orders
from orderflow.services.rewards.messages import attribution_fact, lifecycle_fact
from orderflow.shared.envelope import Envelope
from tests.rewards_support import AFFILIATE, attributed, lifecycle_story, voided
from tests.unit.rewards_world import ATTRIBUTION_TYPES, FAR_FUTURE, World, programme

T0 = datetime(2026, 1, 1, tzinfo=UTC)
STATUSES = sorted(AFFILIATE)
PROGRAMME = programme(holding_days=10)


@dataclass(frozen=True)
class Order:
    lifecycle: list[Envelope]
    attribution: list[Envelope]


@st.composite
def orders(draw: st.DrawFn, shared_member: bool, with_voids: bool) -> list[Order]:
    result = []
    for n in range(draw(st.integers(1, 4))):
        order_id = f"o-{n}"
        start = T0 + timedelta(days=draw(st.integers(0, 40)))
        statuses = draw(st.lists(st.sampled_from(STATUSES), min_size=1, max_size=5))
        amount = draw(st.sampled_from(["100.00", "250.00", "19.99"]))
        offer = draw(st.sampled_from([None, "offer-premium", "offer-trial"]))
        lifecycle = lifecycle_story("aff", order_id, statuses, start, amount, offer_id=offer)
        member = "m-1" if shared_member else f"m-{n}"
        result.append(Order(lifecycle, draw(credits(order_id, member, start, with_voids))))
    return result


@st.composite
def credits(
    draw: st.DrawFn, order_id: str, member: str, at: datetime, with_voids: bool
) -> list[Envelope]:
    """The attribution service's events of one order, in the order it publishes them."""
    events = [attributed("aff", order_id, member, at, "last_touch", "tp-1")]
    if with_voids and draw(st.booleans()):
        events.append(voided("aff", order_id, member, at, "last_touch", "tp-1"))
        if draw(st.booleans()):  # granted again, as a new credit
            events.append(attributed("aff", order_id, member, at, "last_touch", "tp-1", 1))
    if draw(st.booleans()):  # announced again, marked confirmed by a sale confirmation
        events.append(attributed("aff", order_id, member, at, "last_touch", "tp-1", 0, True))
    if draw(st.booleans()):
        events.append(attributed("aff", order_id, member, at))  # an explicit credit as well
    if draw(st.booleans()):
        events.append(attributed("aff", order_id, f"{member}-b", at))  # a second member
    return events


@st.composite
def interleaved(draw: st.DrawFn, streams: list[list[Envelope]]) -> list[Envelope]:
    """One arrival order keeping each stream's own order, with some records delivered again."""
    labels = [i for i, stream in enumerate(streams) for _ in stream]
    order = draw(st.permutations(labels))
    cursors = [0] * len(streams)
    merged: list[Envelope] = []
    for label in order:
        merged.append(streams[label][cursors[label]])
        cursors[label] += 1
    for index in draw(st.lists(st.integers(0, len(merged) - 1), max_size=4)):
        later = draw(st.integers(index + 1, len(merged)))
        merged.insert(later, merged[index])  # a redelivery comes after the original
    return merged


def streams_of(batch: list[Order]) -> list[list[Envelope]]:
    return [s for o in batch for s in (o.lifecycle, o.attribution)]


def run(events: list[Envelope], data: st.DataObject | None = None) -> World:
    """The inputs through both steps. With `data`, the member facts lag behind: after each
    input some of the queued ones are consumed, and some already consumed come again."""
    world = World(PROGRAMME, eager=data is None)
    for event in events:
        world.deliver(event)
        if data is None:
            continue
        world.consume_member_facts(data.draw(st.integers(0, len(world.member_queue))))
        again: bool = data.draw(st.booleans())
        if again and world.published:
            world.member_queue.append(data.draw(st.sampled_from(world.published)))
    world.consume_member_facts()
    world.fire_timers(T0 + FAR_FUTURE)
    return world


def in_sequence(batch: list[Order]) -> list[Envelope]:
    return [e for o in batch for e in (*o.lifecycle, *o.attribution)]


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_any_interleaving_and_redelivery_gives_the_same_ledger_and_rewards(
    data: st.DataObject,
) -> None:
    batch = data.draw(orders(shared_member=False, with_voids=False))
    arrival = data.draw(interleaved(streams_of(batch)))
    expected, actual = run(in_sequence(batch)), run(arrival, data)
    assert actual.ledger_view() == expected.ledger_view()
    assert actual.reward_view() == expected.reward_view()


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_a_members_orders_in_any_order_per_key_give_the_same_ledger_and_rewards(
    data: st.DataObject,
) -> None:
    """Challenges that count a member's orders see them in the order orders are decided."""
    batch = data.draw(orders(shared_member=True, with_voids=False))
    arrival = [e for o in batch for e in data.draw(interleaved([o.lifecycle, o.attribution]))]
    expected, actual = run(in_sequence(batch)), run(arrival, data)
    assert actual.ledger_view() == expected.ledger_view()
    assert actual.reward_view() == expected.reward_view()


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_with_voids_every_line_nets_the_same_whatever_the_arrival_order(
    data: st.DataObject,
) -> None:
    """A void that arrives before the confirmation prevents the accrual; one that arrives
    after reverses it: the entries differ by a pair that cancels, the net never does."""
    batch = data.draw(orders(shared_member=False, with_voids=True))
    arrival = data.draw(interleaved(streams_of(batch)))
    expected, actual = run(in_sequence(batch)), run(arrival, data)
    assert actual.net_by_line() == expected.net_by_line()
    assert approved_lines(actual) == approved_lines(expected)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_ledger_invariants_hold_for_any_inputs(data: st.DataObject) -> None:
    batch = data.draw(orders(shared_member=data.draw(st.booleans()), with_voids=True))
    world = run(data.draw(interleaved(streams_of(batch))), data)
    by_line = defaultdict(list)
    for posted in world.ledger:
        by_line[(posted.order_id, posted.entry.line_id)].append(posted.entry)
    for entries in by_line.values():
        kinds = [e.kind for e in entries]
        assert kinds in ([Kind.ACCRUED], [Kind.ACCRUED, Kind.REVERSED]) or kinds in (
            [Kind.ACCRUED, Kind.APPROVED],
            [Kind.ACCRUED, Kind.APPROVED, Kind.REVERSED],
        ), "accrual first, then at most one approval and at most one reversal"
        accrual = entries[0].amount
        assert accrual > 0
        assert all(e.amount == (-accrual if e.kind is Kind.REVERSED else accrual) for e in entries)
    accruals = {e.entry_id for e in world.entries() if e.kind is Kind.ACCRUED}
    for entry in world.entries():
        expected_causes = accruals if entry.kind is Kind.APPROVED else world.inputs
        assert entry.cause in expected_causes, "no ledger entry without its cause"
    assert all(r.cause in world.inputs for _, r in world.rewards), "no reward without its cause"
    ids = [e.entry_id for e in world.entries()] + [r.reward_id for _, r in world.rewards]
    assert len(ids) == len(set(ids)), "nothing decided twice"
    assert_one_earning_line_per_member(world)


def approved_lines(world: World) -> set[tuple[str, str]]:
    return {(p.order_id, p.entry.line_id) for p in world.ledger if p.entry.kind is Kind.APPROVED}


def assert_one_earning_line_per_member(world: World) -> None:
    for book in world.books.values():
        earning = [ln.member_id for ln in book.lines if ln.accrued is not None and not ln.reversed]
        assert len(earning) == len(set(earning))


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_folding_a_batch_decides_what_its_records_one_by_one_decide(data: st.DataObject) -> None:
    batch = data.draw(orders(shared_member=data.draw(st.booleans()), with_voids=True))
    items = [item for e in data.draw(interleaved(streams_of(batch))) if (item := order_input(e))]
    programmes = {"aff": PROGRAMME}
    whole = fold_orders({}, {}, items, programmes)
    books: dict[OrderKey, OrderBook] = {}
    decisions: list[Decision] = []
    for item in items:
        one = fold_orders(books, {}, [item], programmes)
        books, decisions = one.books, [*decisions, *one.decisions]
    assert whole.books == books
    assert [(d.entries, d.counted) for d in whole.decisions] == [
        (d.entries, d.counted) for d in decisions
    ]


def order_input(event: Envelope) -> OrderInput | None:
    of = attribution_fact if event.type in ATTRIBUTION_TYPES else lifecycle_fact
    fact = of(event)
    if fact is None or event.order_id is None:
        return None
    return OrderInput(event.tenant, event.order_id, fact, event.event_id, event.correlation_id)

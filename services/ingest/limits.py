"""The accept boundary (CONTRACTS §3.1, "Limits"): what ingest refuses because a service after
it could not process it.

Ingest answers `202` (or commits a Kafka record) only for what every downstream service can
store, parse and compute with; anything else is refused here, with the reason, instead of
being accepted and then dead-lettered by a service the sender never hears from:

- nesting: a report is parsed again by every consumer from an envelope that wraps it two
  levels deeper, with a parser that stops at 200 levels, so it may nest at most `MAX_DEPTH`;
- instants: `occurred_at` lies in [`EARLIEST`, received + `MAX_FUTURE`], so lookbacks,
  holding periods and expiry deadlines computed from it stay far inside the calendar;
- money: below `MAX_AMOUNT`, so an amount in its currency's minor units, and a commission on
  it, fit `Decimal`'s default 28 digits;
- text: no NUL and no unpaired surrogate, which Postgres cannot store.

Pure: `now` is passed in.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

Loc = tuple[int | str, ...]

MAX_DEPTH = 32  # objects and arrays, the report itself being level 1
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
MAX_FUTURE = timedelta(days=1)  # upstream clocks run ahead; a day covers a wrong time zone
MAX_AMOUNT_DIGITS = 15
MAX_AMOUNT = Decimal(10) ** MAX_AMOUNT_DIGITS  # exclusive
_UNSTORABLE = "must not contain NUL (U+0000) or unpaired surrogate characters"
TOO_DEEP = f"nests too deeply: a report may nest at most {MAX_DEPTH} levels of objects and arrays"


def instant_problem(at: datetime, now: datetime) -> str | None:
    """Why `at` lies outside the accepted window, or None."""
    if at < EARLIEST:
        return f"must not be before {EARLIEST.isoformat()}"
    if at > now + MAX_FUTURE:
        return "must not be more than 24 hours after the time it is received"
    return None


def amount_problem(number: Decimal) -> str | None:
    if number >= MAX_AMOUNT:
        return f"must be below 10^{MAX_AMOUNT_DIGITS} (at most {MAX_AMOUNT_DIGITS} integer digits)"
    return None


def raw_problems(raw: object, prefix: Loc) -> Iterator[tuple[Loc, str]]:
    """(path, reason) for every string Postgres cannot store, and for each top-level field
    that nests deeper than `MAX_DEPTH`; a loop, not recursion, since input may nest as deep
    as the JSON parser allowed. Nearly every report is clean: `_clean` says so without
    building a path per value (it was a fifth of ingest's time under load)."""
    if _clean(raw):
        return
    too_deep: set[Loc] = set()
    pending: list[tuple[Loc, object, int]] = [(prefix, raw, 1)]
    while pending:
        loc, value, depth = pending.pop()
        if isinstance(value, dict | list) and depth > MAX_DEPTH:
            field = loc[: len(prefix) + 1]
            if field not in too_deep:
                too_deep.add(field)
                yield field, TOO_DEEP
            continue
        if isinstance(value, dict):
            if not all(_storable(key) for key in value):
                yield loc, f"has a key that {_UNSTORABLE}"
            children = [((*loc, k), v) for k, v in value.items() if _storable(k)]
        elif isinstance(value, list):
            children = [((*loc, i), v) for i, v in enumerate(value)]
        else:
            if isinstance(value, str) and not _storable(value):
                yield loc, _UNSTORABLE
            continue
        pending.extend((child, v, depth + 1) for child, v in reversed(children))


def _clean(raw: object) -> bool:
    pending: list[tuple[object, int]] = [(raw, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            if depth > MAX_DEPTH:
                return False
            for key, child in value.items():
                if not _storable(key):
                    return False
                if isinstance(child, str):
                    if not _storable(child):
                        return False
                elif isinstance(child, dict | list):
                    pending.append((child, depth + 1))
        elif isinstance(value, list):
            if depth > MAX_DEPTH:
                return False
            for child in value:
                if isinstance(child, str):
                    if not _storable(child):
                        return False
                elif isinstance(child, dict | list):
                    pending.append((child, depth + 1))
        elif isinstance(value, str) and not _storable(value):
            return False
    return True


def _storable(text: str) -> bool:
    if text.isascii():  # known without a scan: an ASCII string holds no surrogate
        return "\x00" not in text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, which JSON's \ud800 escape can carry
        return False
    return "\x00" not in text

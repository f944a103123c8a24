"""The recurring-order state machine as an explicit table (CONTRACTS §10). Pure.

Rows are statuses (`None`: registered by the initial order's report, its first payment not
yet succeeded), columns are what can happen. A cell is one of:

- `Move(to, effect)`: allowed; the new status and what else happens (`Effect`);
- `SAME`: already so (pausing a paused order): nothing changes and nothing is emitted;
- `Refuse(reason)`: not allowed. The HTTP layer answers it `409`; a message that meets it
  (a stale timer, an outcome for a finished order) is a harmless no-op.

Which column a fact falls in (a success that is the last charge, a failure with no retry
left) is decided before the lookup (`recurring.kind_of`), so every cell here is literal.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    ACTIVE = "active"
    PROCESSING = "processing"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"


class Kind(StrEnum):
    INITIAL_PAID = "initial payment succeeded"
    INITIAL_PAID_LAST = "initial payment succeeded, the only charge"
    CHARGE_DUE = "charge due"
    CHARGE_SUCCEEDED = "charge succeeded"
    LAST_CHARGE_SUCCEEDED = "last charge succeeded"
    CHARGE_FAILED = "charge failed, a retry left"
    LAST_ATTEMPT_FAILED = "charge failed on its last attempt"
    PAUSE = "pause"
    ACTIVATE = "activate"
    COMPLETE = "complete"


class Effect(StrEnum):
    START = "anchor the schedule at the initial payment, schedule charge 2"
    PUBLISH = "publish recurring.charge_due, await its outcome"
    NEXT = "count the charge, schedule the next one"
    RETRY = "schedule the next attempt of the charge"
    HOLD = "hold the timer: a charge falling due waits for activate"
    RELEASE = "release the timer: a held charge is due now"
    FINISH = "count the charge (if any), stop the timer"
    STOP = "stop the timer"


class Then(StrEnum):
    """A target that depends on the order's charge, not on the cell alone."""

    STAYS = "stays in its status"
    RESUMES = "processing when a charge is in flight, else active"


@dataclass(frozen=True)
class Move:
    to: Status | Then
    effect: Effect


@dataclass(frozen=True)
class Refuse:
    reason: str


class _Same:
    def __repr__(self) -> str:
        return "SAME"


SAME = _Same()
Cell = Move | Refuse | _Same

A, P, Z, C, F = (Status.ACTIVE, Status.PROCESSING, Status.PAUSED, Status.COMPLETED, Status.FAILED)
_NOT_STARTED = Refuse("the initial order's first payment has not succeeded yet")
_STARTED = SAME  # the initial payment again (a second report of it): already counted
_NOTHING_DUE = Refuse("no charge is outstanding")
_HELD = Refuse("paused: a charge falling due is held until activate")


def _final(status: Status) -> dict[Kind, Cell]:
    refused = Refuse(f"the recurring order is {status.value}: nothing more may happen to it")
    return {kind: refused for kind in Kind}


TABLE: dict[Status | None, dict[Kind, Cell]] = {
    None: {
        Kind.INITIAL_PAID: Move(A, Effect.START),
        Kind.INITIAL_PAID_LAST: Move(C, Effect.FINISH),
        Kind.CHARGE_DUE: _NOT_STARTED,
        Kind.CHARGE_SUCCEEDED: _NOT_STARTED,
        Kind.LAST_CHARGE_SUCCEEDED: _NOT_STARTED,
        Kind.CHARGE_FAILED: _NOT_STARTED,
        Kind.LAST_ATTEMPT_FAILED: _NOT_STARTED,
        Kind.PAUSE: _NOT_STARTED,
        Kind.ACTIVATE: _NOT_STARTED,
        Kind.COMPLETE: _NOT_STARTED,
    },
    A: {
        Kind.INITIAL_PAID: _STARTED,
        Kind.INITIAL_PAID_LAST: _STARTED,
        Kind.CHARGE_DUE: Move(P, Effect.PUBLISH),
        # The integration charged before it was asked: the money is taken, so it counts.
        Kind.CHARGE_SUCCEEDED: Move(A, Effect.NEXT),
        Kind.LAST_CHARGE_SUCCEEDED: Move(C, Effect.FINISH),
        Kind.CHARGE_FAILED: _NOTHING_DUE,
        Kind.LAST_ATTEMPT_FAILED: _NOTHING_DUE,
        Kind.PAUSE: Move(Z, Effect.HOLD),
        Kind.ACTIVATE: SAME,
        Kind.COMPLETE: Move(C, Effect.STOP),
    },
    P: {
        Kind.INITIAL_PAID: _STARTED,
        Kind.INITIAL_PAID_LAST: _STARTED,
        Kind.CHARGE_DUE: Move(P, Effect.PUBLISH),  # a retry's attempt falls due
        Kind.CHARGE_SUCCEEDED: Move(A, Effect.NEXT),
        Kind.LAST_CHARGE_SUCCEEDED: Move(C, Effect.FINISH),
        Kind.CHARGE_FAILED: Move(P, Effect.RETRY),
        Kind.LAST_ATTEMPT_FAILED: Move(F, Effect.STOP),
        Kind.PAUSE: Move(Z, Effect.HOLD),
        Kind.ACTIVATE: SAME,
        Kind.COMPLETE: Move(C, Effect.STOP),
    },
    Z: {
        Kind.INITIAL_PAID: _STARTED,
        Kind.INITIAL_PAID_LAST: _STARTED,
        Kind.CHARGE_DUE: _HELD,
        # An outcome of a charge published before the pause still counts; the order stays
        # paused and the next charge (or attempt) waits for activate.
        Kind.CHARGE_SUCCEEDED: Move(Then.STAYS, Effect.NEXT),
        Kind.LAST_CHARGE_SUCCEEDED: Move(C, Effect.FINISH),
        Kind.CHARGE_FAILED: Move(Then.STAYS, Effect.RETRY),
        Kind.LAST_ATTEMPT_FAILED: Move(F, Effect.STOP),
        Kind.PAUSE: SAME,
        Kind.ACTIVATE: Move(Then.RESUMES, Effect.RELEASE),
        Kind.COMPLETE: Move(C, Effect.STOP),
    },
    C: _final(C),
    F: _final(F),
}


def cell(status: Status | None, kind: Kind) -> Cell:
    return TABLE[status][kind]

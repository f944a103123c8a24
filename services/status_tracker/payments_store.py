"""The SQL of the payments tables (migration 0003), each in the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import asyncpg

from orderflow.services.status_tracker import read_model_store
from orderflow.services.status_tracker.payments import Payment, PaymentReport, PaymentStatus
from orderflow.services.status_tracker.payments_ledger import Ledger
from orderflow.services.status_tracker.store import OrderKey

_REPORT_FIELDS = (
    "report_id, payment_id, status, occurred_at, received_at, amount, currency, fee,"
    " payment_system, source, one_click, share_percent, refunded_amount, error_code, comment,"
    " recurring_order_id"
)
_REPORT_TYPES = (
    "text[], text[], text[], text[], text[], timestamptz[], timestamptz[], numeric[], text[],"
    " numeric[], text[], text[], boolean[], numeric[], numeric[], text[], text[], text[]"
)
_PAYMENT_COLUMNS = (
    "tenant, order_id, payment_id, status, occurred_at, made_at, succeeded_at, amount, currency,"
    " fee, funds_credited, refunded, payment_system, one_click, share_percent, error_code,"
    " comment, recurring_order_id"
)
_PAYMENT_TYPES = (
    "text[], text[], text[], text[], timestamptz[], timestamptz[], timestamptz[], numeric[],"
    " text[], numeric[], numeric[], numeric[], text[], boolean[], numeric[], text[], text[], text[]"
)
_KEYS_IN = "(tenant, order_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))"


def _unnest(types: str) -> str:
    return ", ".join(f"${i}::{t}" for i, t in enumerate(types.split(", "), 1))


def _columns(rows: Sequence[tuple[Any, ...]], width: int) -> list[list[Any]]:
    return [[row[i] for row in rows] for i in range(width)]


async def load_reports(
    conn: asyncpg.Connection, keys: Iterable[OrderKey]
) -> dict[OrderKey, tuple[PaymentReport, ...]]:
    """Every payment report of these orders: one statement."""
    wanted = sorted(set(keys))
    rows = await conn.fetch(
        f"SELECT * FROM payment_reports WHERE {_KEYS_IN}",
        [k[0] for k in wanted],
        [k[1] for k in wanted],
    )
    found: dict[OrderKey, list[PaymentReport]] = {k: [] for k in wanted}
    for r in rows:
        found[(r["tenant"], r["order_id"])].append(_report(r))
    return {k: tuple(v) for k, v in found.items()}


async def save_reports(
    conn: asyncpg.Connection, rows: Sequence[tuple[OrderKey, PaymentReport]]
) -> None:
    if not rows:
        return
    await conn.execute(
        f"INSERT INTO payment_reports (tenant, order_id, {_REPORT_FIELDS})"
        f" SELECT * FROM unnest({_unnest(_REPORT_TYPES)}) ON CONFLICT DO NOTHING",
        *_columns([(*key, *_report_row(report)) for key, report in rows], 18),
    )


async def save_ledgers(conn: asyncpg.Connection, ledgers: Mapping[OrderKey, Ledger]) -> None:
    """Each order's payments and its totals on the orders read model: two statements, run
    even for none, so a batch costs the same whatever it holds."""
    ordered = sorted(ledgers.items())
    rows = [(*key, *_payment_row(p)) for key, ledger in ordered for p in ledger.payments]
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in _PAYMENT_COLUMNS.split(", ")[3:])
    await conn.execute(
        f"INSERT INTO payments ({_PAYMENT_COLUMNS}) SELECT * FROM unnest({_unnest(_PAYMENT_TYPES)})"
        f" ON CONFLICT (tenant, order_id, payment_id) DO UPDATE SET {updates}, updated_at = now()",
        *_columns(rows, 18),
    )
    totals = [
        (*key, ledger.paid_amount, ledger.refunded_amount, ledger.payment_system)
        for key, ledger in ordered
    ]
    await read_model_store.set_payments_many(conn, totals)


def _report_row(r: PaymentReport) -> tuple[Any, ...]:
    return (
        r.report_id,
        r.payment_id,
        r.status.value,
        r.occurred_at,
        r.received_at,
        r.amount,
        r.currency,
        r.fee,
        r.payment_system,
        r.source,
        r.one_click,
        r.share_percent,
        r.refunded_amount,
        r.error_code,
        r.comment,
        r.recurring_order_id,
    )


def _payment_row(p: Payment) -> tuple[Any, ...]:
    s = p.state
    return (
        p.payment_id,
        s.status.value,
        s.occurred_at,
        p.made_at,
        None if p.succeeded is None else p.succeeded.occurred_at,
        s.amount,
        s.currency,
        p.fee,
        p.funds_credited,
        p.refunded,
        s.payment_system,
        p.one_click,
        p.share_percent,
        s.error_code,
        s.comment,
        s.recurring_order_id,
    )


def _report(r: asyncpg.Record) -> PaymentReport:
    return PaymentReport(
        report_id=r["report_id"],
        payment_id=r["payment_id"],
        status=PaymentStatus(r["status"]),
        occurred_at=r["occurred_at"],
        received_at=r["received_at"],
        amount=r["amount"],
        currency=r["currency"],
        payment_system=r["payment_system"],
        source=r["source"],
        fee=r["fee"],
        one_click=r["one_click"],
        share_percent=r["share_percent"],
        refunded_amount=r["refunded_amount"],
        error_code=r["error_code"],
        comment=r["comment"],
        recurring_order_id=r["recurring_order_id"],
    )

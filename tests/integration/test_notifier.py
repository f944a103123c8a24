"""The notifier on the real broker and Postgres, with a real SMTP server and webhook receiver."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from prometheus_client import REGISTRY

from orderflow.services.notifier.signing import EVENT_ID_HEADER, SIGNATURE_HEADER, verify
from orderflow.shared import topics
from orderflow.shared.envelope import Envelope
from orderflow.shared.localmail import LocalMailbox, local_smtp
from orderflow.shared.service import Service
from tests.harness import TEST_KEYS, TopicReader, eventually, free_port, producer, report, running
from tests.notifier_support import (
    HOOK_SECRET,
    HookReceiver,
    count_status,
    customer_email,
    member_event,
    notifications,
    reported,
    status_changed,
    write_notifier_tenants,
)

pytestmark = pytest.mark.integration

FAST = {
    "backoff_base_s": 0.05,
    "backoff_max_s": 0.4,
    "delivery_poll_interval_s": 0.1,
    "smtp_timeout_s": 2.0,
    "webhook_timeout_s": 2.0,
    "max_attempts": 50,
}


@pytest.fixture
def hook_port() -> int:
    return free_port()


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def tenants_dir(tmp_path: Path, hook_port: int) -> Path:
    return write_notifier_tenants(tmp_path / "tenants", hook_port)


@pytest.fixture
def mailbox(smtp_port: int) -> Iterator[LocalMailbox]:
    with local_smtp(smtp_port) as box:
        yield box


@asynccontextmanager
async def receiver(port: int, **options: Any) -> AsyncIterator[HookReceiver]:
    hooks = HookReceiver(**options)
    await hooks.start(port)
    try:
        yield hooks
    finally:
        await hooks.stop()


@asynccontextmanager
async def notifier(
    env: dict[str, str], tenants_dir: Path, smtp_port: int, **overrides: Any
) -> AsyncIterator[Service]:
    settings = {**FAST, "smtp_port": smtp_port, **overrides}
    async with running("notifier", env, tenants_dir, **settings) as service:
        yield service


async def publish(env: dict[str, str], *events: tuple[str, Envelope]) -> None:
    async with producer(env) as send:
        for topic, event in events:
            await send(topic, f"{event.tenant}:{event.order_id}", event.to_bytes())


def inbox_url(service: Service, role: str, recipient: str, tenant: str = "store") -> str:
    return f"http://127.0.0.1:{service.settings.http_port}/v1/inbox/{tenant}/{role}/{recipient}"


def auth(tenant: str = "store") -> dict[str, str]:
    return {"Authorization": f"Bearer {TEST_KEYS[tenant]}"}


async def inbox(service: Service, role: str, recipient: str, **params: Any) -> dict[str, Any]:
    async with httpx.AsyncClient() as client:
        answer = await client.get(
            inbox_url(service, role, recipient), headers=auth(), params=params
        )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def all_sent(env: dict[str, str], count: int) -> None:
    async def done() -> bool:
        rows = await notifications(env)
        return len(rows) >= count and all(r["status"] != "pending" for r in rows)

    await eventually(done, what=f"{count} notifications finished")


async def outcome_events(env: dict[str, str], count: int) -> list[Envelope]:
    async with TopicReader(env, topics.NOTIFICATIONS) as reader:
        await reader.read_until(lambda es: len({e.event_id for e in es}) >= count)
        events = await reader.settle(1.0)
    return list({e.event_id: e for e in events}.values())


# --- every store-profile status change, end to end -------------------------------------

STORE_ORDERS = {  # order -> (customer, statuses)
    "s-1": ("c-1", ("Received", "Accepted", "Completed")),
    "s-2": ("c-2", ("Received", "Canceled")),
    "s-3": ("c-3", ("Received", "Cancelled")),
    "s-4": ("c-4", ("Received", "Declined")),
    "s-5": ("c-5", ("Pending payment",)),  # the tenant's 2 s expiry adds "Expired"
}


def store_reports() -> list[dict[str, Any]]:
    reports = []
    for order_id, (customer, statuses) in STORE_ORDERS.items():
        for step, status in enumerate(statuses):
            extra: dict[str, Any] = {}
            if step == 0:
                contact = {"id": customer, "email": customer_email(customer), "name": "Zoé Quill"}
                extra = {"amount": "42.00", "currency": "EUR", "customer": contact}
            at = f"2026-01-01T1{step}:00:00Z"
            reports.append(report(order_id, status, at, tenant="store", **extra))
    return reports


async def test_every_store_status_change_notifies_customer_and_merchant_by_email_and_in_app(
    stack_env: dict[str, str], tenants_dir: Path, smtp_port: int, mailbox: LocalMailbox
) -> None:
    changes = sum(len(s) for _, s in STORE_ORDERS.values()) + 1  # + the expiry
    async with (
        running("ingest", stack_env, tenants_dir),
        running("status-tracker", stack_env, tenants_dir, timer_poll_interval_s=0.2),
        notifier(stack_env, tenants_dir, smtp_port) as service,
    ):
        async with producer(stack_env) as send:
            for body in store_reports():
                await send(topics.ORDERS_INBOUND, f"store:{body['order_id']}", body)
        await all_sent(stack_env, changes * 4)
        customer_inbox = await inbox(service, "customer", "c-1")
        merchant_inbox = await inbox(service, "merchant", "store", limit=100)
    rows = await notifications(stack_env)
    assert len(rows) == changes * 4 and {r["status"] for r in rows} == {"sent"}
    assert {r["template"] for r in rows} == {
        f"order.status_changed.{c}"
        for c in ("pending", "confirmed", "cancelled", "declined", "expired")
    }
    mails = mailbox.messages
    assert len(mails) == changes * 2
    assert Counter(m["To"] for m in mails)["owner@store.test"] == changes
    for order_id, (customer, statuses) in STORE_ORDERS.items():
        expected = len(statuses) + (order_id == "s-5")
        assert sum(m["To"] == customer_email(customer) for m in mails) == expected, order_id
    email_ids = {r["notification_id"] for r in rows if r["channel"] == "email"}
    assert sorted(m["Message-ID"] for m in mails) == sorted(f"<{n}@store.test>" for n in email_ids)
    subjects = {m["Subject"] for m in mails if m["To"] == customer_email("c-1")}
    # Received and Accepted are both pending in the store profile (§2 correction).
    assert subjects == {"Order s-1 received", "Order s-1 confirmed"}
    assert all(m.get_body(("html",)) is not None for m in mails)
    assert (len(customer_inbox["items"]), customer_inbox["unread"]) == (3, 3)
    assert (len(merchant_inbox["items"]), merchant_inbox["unread"]) == (changes, changes)
    events = await outcome_events(stack_env, changes * 4)
    assert Counter(e.type for e in events) == {"notification.sent": changes * 4}
    assert {e.data["notification_id"] for e in events} == {r["notification_id"] for r in rows}


# --- members: rewards and commissions ---------------------------------------------------


async def test_reward_and_commission_events_notify_the_member_with_a_verifiable_webhook(
    stack_env: dict[str, str],
    tenants_dir: Path,
    smtp_port: int,
    hook_port: int,
    mailbox: LocalMailbox,
) -> None:
    reward = member_event(
        "reward.granted",
        "m-1",
        {"reward_id": "rw-1", "challenge_id": "first", "points": 100},
        "o-1",
    )
    commission = member_event(
        "commission.accrued",
        "m-1",
        {"entry_id": "e-1", "amount": "4.20", "currency": "EUR", "reason": "order"},
        "o-1",
    )
    unreachable = member_event(
        "reward.granted", "m-2", {"reward_id": "rw-2", "challenge_id": "first", "points": 5}, "o-2"
    )
    async with (
        receiver(hook_port) as hooks,
        notifier(stack_env, tenants_dir, smtp_port) as service,
    ):
        await publish(
            stack_env,
            (topics.REWARDS, reward),
            (topics.COMMISSIONS, commission),
            (topics.REWARDS, unreachable),
        )
        await all_sent(stack_env, 3 + 2 + 2)
        member_inbox = await inbox(service, "member", "m-1")
    assert sorted(i["type"] for i in member_inbox["items"]) == [
        "commission.accrued",
        "reward.granted",
    ]
    assert [m["To"] for m in mailbox.messages] == ["ambassador@members.test"]
    assert mailbox.messages[0]["Subject"] == "You earned 100 points"
    assert len(hooks.accepted) == 3
    for headers, body in hooks.accepted:
        header = headers[SIGNATURE_HEADER.lower()]
        assert verify(HOOK_SECRET, header, body, now=int(time.time()))
        assert not verify("wrong-secret", header, body, now=int(time.time()))
    bodies = hooks.bodies()
    assert [h[EVENT_ID_HEADER.lower()] for h, _ in hooks.accepted] == [b["id"] for b in bodies]
    assert sorted((b["recipient"]["id"], b["event"]["type"]) for b in bodies) == [
        ("m-1", "commission.accrued"),
        ("m-1", "reward.granted"),
        ("m-2", "reward.granted"),
    ]
    rows = await notifications(stack_env)
    assert not any(r["recipient_id"] == "m-2" and r["channel"] == "email" for r in rows)


# --- failures and recoveries -----------------------------------------------------------


async def test_receiver_failing_three_times_then_up_gets_the_notification_once(
    stack_env: dict[str, str], tenants_dir: Path, smtp_port: int, hook_port: int
) -> None:
    reward = member_event(
        "reward.granted", "m-2", {"reward_id": "rw-1", "challenge_id": "c", "points": 1}, "o-1"
    )
    async with (
        receiver(hook_port, fail_first=3) as hooks,
        notifier(stack_env, tenants_dir, smtp_port),
    ):
        await publish(stack_env, (topics.REWARDS, reward))
        await all_sent(stack_env, 2)
        events = await outcome_events(stack_env, 2)
        await eventually(lambda: _settled(hooks), timeout=5, what="a quiet receiver")
    assert hooks.attempts == 4
    assert len(hooks.accepted) == 1
    webhook = [e for e in events if e.data["channel"] == "webhook"]
    assert [(e.type, e.data["attempts"]) for e in webhook] == [("notification.sent", 4)]


async def _settled(hooks: HookReceiver) -> bool:
    before = hooks.attempts
    await asyncio.sleep(1.0)
    return hooks.attempts == before


async def test_receiver_not_listening_then_up_gets_the_notification_once(
    stack_env: dict[str, str], tenants_dir: Path, smtp_port: int, hook_port: int
) -> None:
    reward = member_event(
        "reward.granted", "m-2", {"reward_id": "rw-1", "challenge_id": "c", "points": 1}, "o-1"
    )
    async with notifier(stack_env, tenants_dir, smtp_port):
        await publish(stack_env, (topics.REWARDS, reward))
        await eventually(
            lambda: _attempted(stack_env, "webhook", 2, rows_expected=1), what="two failed attempts"
        )
        async with receiver(hook_port) as hooks:
            await all_sent(stack_env, 2)
            await asyncio.sleep(1.0)
    assert len(hooks.accepted) == 1


async def _attempted(env: dict[str, str], channel: str, attempts: int, rows_expected: int) -> bool:
    """Every one of the `rows_expected` notifications on `channel` failed `attempts` times."""
    rows = [r for r in await notifications(env) if r["channel"] == channel]
    return len(rows) == rows_expected and all(
        r["attempts"] >= attempts and r["status"] == "pending" for r in rows
    )


async def test_smtp_down_then_up_delivers_each_email_once(
    stack_env: dict[str, str], tenants_dir: Path, smtp_port: int
) -> None:
    async with notifier(stack_env, tenants_dir, smtp_port):
        await publish(
            stack_env,
            (topics.ORDER_REPORTS, reported("o-1", "c-1")),
            (topics.ORDERS_LIFECYCLE, status_changed("o-1", "c-1", "Accepted", "confirmed")),
        )
        # The customer's and the merchant's e-mail both exist and both started a third
        # attempt (`attempts` counts an attempt when it starts): two failed for certain.
        await eventually(
            lambda: _attempted(stack_env, "email", 3, rows_expected=2), what="two failed attempts"
        )
        with local_smtp(smtp_port) as mailbox:
            await all_sent(stack_env, 4)
            await asyncio.sleep(1.0)
            mails = mailbox.messages
    assert sorted(m["To"] for m in mails) == [customer_email("c-1"), "owner@store.test"]
    events = await outcome_events(stack_env, 4)
    emails = [e for e in events if e.data["channel"] == "email"]
    assert [e.type for e in emails] == ["notification.sent"] * 2
    assert all(e.data["attempts"] >= 3 for e in emails)


async def test_a_final_refusal_fails_at_once_with_notification_failed(
    stack_env: dict[str, str], tenants_dir: Path, smtp_port: int, hook_port: int
) -> None:
    reward = member_event(
        "reward.granted", "m-2", {"reward_id": "rw-1", "challenge_id": "c", "points": 1}, "o-1"
    )
    failures_before = webhook_failures()
    async with (
        receiver(hook_port, fail_first=100, status_when_failing=410) as hooks,
        notifier(stack_env, tenants_dir, smtp_port),
    ):
        await publish(stack_env, (topics.REWARDS, reward))
        await all_sent(stack_env, 2)
        events = await outcome_events(stack_env, 2)
    failed = [e for e in events if e.type == "notification.failed"]
    assert [(f.data["channel"], f.data["attempts"], f.data["error"]) for f in failed] == [
        ("webhook", 1, "http_410")
    ]
    assert failed[0].data["recipient"] == {"role": "member", "id": "m-2"}
    assert hooks.attempts == 1
    # What the NotificationsFailing alert of deploy/base/monitoring watches.
    assert webhook_failures() == failures_before + 1


def webhook_failures() -> float:
    """Final webhook failures of every tenant (the counter is labelled by tenant too)."""
    return sum(
        sample.value
        for metric in REGISTRY.collect()
        if metric.name == "orderflow_notifications"
        for sample in metric.samples
        if sample.name == "orderflow_notifications_total"
        and sample.labels.get("channel") == "webhook"
        and sample.labels.get("outcome") == "failed"
    )


# --- exactly once ------------------------------------------------------------------------


async def test_each_input_three_times_gives_one_notification_per_recipient_and_channel(
    stack_env: dict[str, str],
    tenants_dir: Path,
    smtp_port: int,
    hook_port: int,
    mailbox: LocalMailbox,
) -> None:
    contact = reported("o-1", "c-1")
    change = status_changed("o-1", "c-1", "Accepted", "confirmed")
    reward = member_event(
        "reward.granted", "m-1", {"reward_id": "rw-1", "challenge_id": "c", "points": 1}, "o-1"
    )
    inputs = [
        (topics.ORDER_REPORTS, contact),
        (topics.ORDERS_LIFECYCLE, change),
        (topics.REWARDS, reward),
    ]
    async with receiver(hook_port) as hooks, notifier(stack_env, tenants_dir, smtp_port) as service:
        await publish(stack_env, *(inputs * 3))
        await all_sent(stack_env, 7)
        await asyncio.sleep(2.0)
        customer_inbox = await inbox(service, "customer", "c-1")
    rows = await notifications(stack_env)
    keys = Counter((r["role"], r["recipient_id"], r["channel"]) for r in rows)
    assert keys == {
        ("customer", "c-1", "email"): 1,
        ("customer", "c-1", "in_app"): 1,
        ("merchant", "store", "email"): 1,
        ("merchant", "store", "in_app"): 1,
        ("member", "m-1", "email"): 1,
        ("member", "m-1", "in_app"): 1,
        ("member", "m-1", "webhook"): 1,
    }
    assert sorted(m["To"] for m in mailbox.messages) == sorted(
        [customer_email("c-1"), "owner@store.test", "ambassador@members.test"]
    )
    assert len(hooks.accepted) == 1
    assert len(customer_inbox["items"]) == 1
    assert await count_status(stack_env, "sent") == 7


# --- in-app inbox -----------------------------------------------------------------------


async def test_inbox_is_newest_first_paged_with_unread_count_and_marks_read(
    stack_env: dict[str, str], tenants_dir: Path, smtp_port: int, mailbox: LocalMailbox
) -> None:
    statuses = [("Received", "pending"), ("Accepted", "confirmed"), ("Completed", "fulfilled")]
    changes = [status_changed("o-9", "c-9", s, c, step=i) for i, (s, c) in enumerate(statuses)]
    async with notifier(stack_env, tenants_dir, smtp_port) as service:
        # Reversed: newest means the latest event upstream, not the last one delivered.
        await publish(
            stack_env,
            (topics.ORDER_REPORTS, reported("o-9", "c-9")),
            *[(topics.ORDERS_LIFECYCLE, change) for change in reversed(changes)],
        )
        await eventually(partial(_inbox_has, service, 3), what="3 messages in the inbox")
        first = await inbox(service, "customer", "c-9", limit=2)
        second = await inbox(service, "customer", "c-9", limit=2, before=first["next"])
        async with httpx.AsyncClient() as client:
            url = inbox_url(service, "customer", "c-9")
            one = await client.post(
                url + "/read", headers=auth(), json={"ids": [first["items"][0]["id"]]}
            )
            rest = await client.post(url + "/read", headers=auth())
            anonymous = await client.get(url)
            foreign = await client.get(url, headers=auth("other"))
            no_role = await client.get(inbox_url(service, "boss", "c-9"), headers=auth())
            bad_page = await client.get(url, headers=auth(), params={"before": "x"})
        after = await inbox(service, "customer", "c-9")
    subjects = [i["subject"] for i in first["items"] + second["items"]]
    assert subjects == ["Order o-9 completed", "Order o-9 confirmed", "Order o-9 received"]
    assert (first["unread"], second["next"]) == (3, None)
    assert one.json() == {"marked": 1, "unread": 2}
    assert rest.json() == {"marked": 2, "unread": 0}
    assert after["unread"] == 0 and all(i["read"] for i in after["items"])
    statuses_seen = (anonymous.status_code, foreign.status_code, no_role.status_code)
    assert statuses_seen == (401, 403, 404)
    assert bad_page.status_code == 422


async def _inbox_has(service: Service, count: int) -> bool:
    return len((await inbox(service, "customer", "c-9"))["items"]) >= count


# --- members attributed after the event --------------------------------------------------


async def test_a_member_attributed_after_the_event_is_still_told_once(
    stack_env: dict[str, str], tenants_dir: Path, smtp_port: int
) -> None:
    confirmed = Envelope.model_validate(
        {
            **status_changed("o-7", "c-7", "Accepted", "confirmed").model_dump(),
            "type": "order.confirmed",
        }
    )
    attributed = member_event(
        "order.attributed", "m-5", {"via": "coupon", "model": "explicit"}, "o-7"
    )
    async with notifier(stack_env, tenants_dir, smtp_port) as service:
        await publish(stack_env, (topics.ORDERS_LIFECYCLE, confirmed))
        await eventually(lambda: _kept(stack_env), what="the order event kept")
        await publish(stack_env, *[(topics.ORDERS_ATTRIBUTION, attributed)] * 2)
        await all_sent(stack_env, 1)
        member_inbox = await inbox(service, "member", "m-5")
    assert [i["type"] for i in member_inbox["items"]] == ["order.confirmed"]
    rows = await notifications(stack_env)
    assert [(r["role"], r["recipient_id"], r["channel"]) for r in rows] == [
        ("member", "m-5", "in_app")
    ]


async def _kept(env: dict[str, str]) -> bool:
    conn = await asyncpg.connect(env["DATABASE_URL"])
    try:
        return bool(await conn.fetchval("SELECT count(*) FROM notifier.order_events"))
    finally:
        await conn.close()

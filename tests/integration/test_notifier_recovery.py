"""The notifier as a real process, SIGKILLed mid-stream and restarted: no notification lost.

Sending and recording cannot share a transaction, so a kill between them re-sends what was
in flight (the documented window, at most one delivery batch): the e-mail with the same
Message-ID, the webhook with the same event id. Everything else is exact.
"""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from pathlib import Path

import asyncpg
import pytest

from orderflow.services.notifier.signing import EVENT_ID_HEADER
from orderflow.shared import topics
from orderflow.shared.envelope import Envelope
from orderflow.shared.localmail import local_smtp
from orderflow.shared.supervisor import Supervisor
from tests.harness import TopicReader, eventually, free_port, producer, tenant_env
from tests.notifier_support import (
    CUSTOMER_NAME,
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

ORDERS, REWARDS, BATCH = 30, 20, 10
# Per order: two status changes x (customer, merchant) x (email, in_app); per reward: the
# member's in_app, webhook and e-mail.
TOTAL = ORDERS * 2 * 4 + REWARDS * 3


def inputs() -> list[tuple[str, Envelope]]:
    events: list[tuple[str, Envelope]] = []
    for n in range(ORDERS):
        order, customer = f"o-{n:03d}", f"c-{n:03d}"
        events.append((topics.ORDER_REPORTS, reported(order, customer)))
        events.append(
            (topics.ORDERS_LIFECYCLE, status_changed(order, customer, "Received", "pending"))
        )
        events.append(
            (topics.ORDERS_LIFECYCLE, status_changed(order, customer, "Accepted", "confirmed", 1))
        )
    for n in range(REWARDS):
        data = {"reward_id": f"rw-{n}", "challenge_id": "c", "points": n}
        events.append((topics.REWARDS, member_event("reward.granted", "m-1", data, f"o-{n:03d}")))
    return events


async def test_sigkill_mid_stream_loses_no_notification(
    stack_env: dict[str, str], tmp_path: Path, supervisor: Supervisor
) -> None:
    hook_port, smtp_port, http_port = free_port(), free_port(), free_port()
    env = {
        **stack_env,
        **tenant_env(),
        "ORDERFLOW_TENANTS_DIR": str(write_notifier_tenants(tmp_path / "tenants", hook_port)),
        "ORDERFLOW_HTTP_PORT": str(http_port),
        "ORDERFLOW_SMTP_PORT": str(smtp_port),
        "ORDERFLOW_DELIVERY_BATCH_SIZE": str(BATCH),
        "ORDERFLOW_DELIVERY_LEASE_S": "3",
        "ORDERFLOW_DELIVERY_POLL_INTERVAL_S": "0.1",
        "ORDERFLOW_BACKOFF_BASE_S": "0.05",
        "ORDERFLOW_BACKOFF_MAX_S": "0.5",
        "ORDERFLOW_LOG_LEVEL": "INFO",
    }
    ready = {"notifier": f"http://127.0.0.1:{http_port}/readyz"}
    hooks = HookReceiver(respond_after_s=0.2)
    await hooks.start(hook_port)
    try:
        with local_smtp(smtp_port) as mailbox:
            supervisor.start("notifier", "orderflow.services.notifier", env)
            await supervisor.wait_ready(ready, timeout_s=60)
            first, rest = inputs()[: len(inputs()) // 2], inputs()[len(inputs()) // 2 :]
            await publish(stack_env, first)
            await eventually(lambda: _sent_at_least(stack_env, 30), what="30 sent")
            supervisor.kill("notifier", signal.SIGKILL)
            sent_at_kill = await count_status(stack_env, "sent")
            await publish(stack_env, rest)  # while it is down
            await asyncio.to_thread(supervisor.restart, "notifier")
            await supervisor.wait_ready(ready, timeout_s=60)
            await eventually(lambda: _sent_at_least(stack_env, TOTAL), timeout=120, what="all sent")
            await asyncio.sleep(1.0)
            mails = mailbox.messages
    finally:
        await hooks.stop()

    assert sent_at_kill < TOTAL // 2, "the kill must land mid-stream"
    rows = await notifications(stack_env)
    assert len(rows) == TOTAL and {r["status"] for r in rows} == {"sent"}
    by_channel = Counter(r["channel"] for r in rows)
    assert by_channel == {
        "email": ORDERS * 4 + REWARDS,
        "in_app": ORDERS * 4 + REWARDS,
        "webhook": REWARDS,
    }

    expected_mails = {
        f"<{r['notification_id']}@store.test>" for r in rows if r["channel"] == "email"
    }
    assert {m["Message-ID"] for m in mails} == expected_mails
    assert len(mails) - len(expected_mails) <= BATCH, "repeats only from the batch in flight"
    expected_hooks = {r["notification_id"] for r in rows if r["channel"] == "webhook"}
    assert {h[EVENT_ID_HEADER.lower()] for h, _ in hooks.accepted} == expected_hooks
    assert len(hooks.accepted) - len(expected_hooks) <= BATCH

    assert await _in_app_messages(stack_env) == by_channel["in_app"], "in_app: exactly once"
    async with TopicReader(stack_env, topics.NOTIFICATIONS) as reader:
        events = await reader.read_until(lambda es: len({e.event_id for e in es}) >= TOTAL)
    assert {e.data["notification_id"] for e in events if e.type == "notification.sent"} == {
        r["notification_id"] for r in rows
    }

    log = (tmp_path / "logs" / "notifier.log").read_text()
    assert "notification_sent" in log
    assert (
        CUSTOMER_NAME not in log
        and "@customers.test" not in log
        and customer_email("c-001") not in log
    )
    assert "ambassador@members.test" not in log and "owner@store.test" not in log


async def publish(env: dict[str, str], events: list[tuple[str, Envelope]]) -> None:
    async with producer(env) as send:
        for topic, event in events:
            await send(topic, f"{event.tenant}:{event.order_id}", event.to_bytes())


async def _sent_at_least(env: dict[str, str], count: int) -> bool:
    return await count_status(env, "sent") >= count


async def _in_app_messages(env: dict[str, str]) -> int:
    conn = await asyncpg.connect(env["DATABASE_URL"])
    try:
        return int(await conn.fetchval("SELECT count(*) FROM notifier.in_app_messages"))
    finally:
        await conn.close()

"""The notifier refuses webhook URLs that reach its own network, unless the tenant allows it."""

from __future__ import annotations

from pathlib import Path

import pytest

from orderflow.shared import topics
from tests.harness import free_port
from tests.integration.test_notifier import (
    all_sent,
    notifier,
    outcome_events,
    publish,
    receiver,
)
from tests.notifier_support import member_event, notifications, write_notifier_tenants

pytestmark = pytest.mark.integration
REWARD = member_event(
    "reward.granted", "m-2", {"reward_id": "rw-1", "challenge_id": "c", "points": 1}, "o-1"
)


@pytest.fixture
def hook_port() -> int:
    return free_port()


@pytest.fixture
def smtp_port() -> int:
    return free_port()


def tenants(directory: Path, url: str, allow: bool) -> Path:
    """The notifier tests' tenant, its webhook at `url`, private network allowed or not."""
    write_notifier_tenants(directory, 0)
    store = directory / "store.yaml"
    old = 'url: "http://127.0.0.1:0/hooks"'
    text = store.read_text().replace(old, f'url: "{url}"')
    text = text.replace(
        "allow_private_network: true", f"allow_private_network: {str(allow).lower()}"
    )
    assert url in text
    store.write_text(text)
    return directory


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
async def test_a_webhook_to_a_private_address_fails_at_once_and_nothing_is_sent(
    stack_env: dict[str, str],
    tmp_path: Path,
    smtp_port: int,
    hook_port: int,
    host: str,
    capfd: pytest.CaptureFixture[str],
) -> None:
    url = f"http://{host}:{hook_port}/hooks"
    tenants_dir = tenants(tmp_path / "tenants", url, allow=False)
    async with receiver(hook_port) as hooks, notifier(stack_env, tenants_dir, smtp_port):
        await publish(stack_env, (topics.REWARDS, REWARD))
        await all_sent(stack_env, 2)
        events = await outcome_events(stack_env, 2)
    failed = [e for e in events if e.type == "notification.failed"]
    assert [(f.data["channel"], f.data["attempts"], f.data["error"]) for f in failed] == [
        ("webhook", 1, "destination_not_public")
    ]
    assert hooks.attempts == 0, "not even one request reached the address"
    webhook_rows = [r for r in await notifications(stack_env) if r["channel"] == "webhook"]
    assert [(r["status"], r["attempts"]) for r in webhook_rows] == [("failed", 1)]
    logged = capfd.readouterr()
    assert f":{hook_port}" not in logged.out + logged.err, "no address in the logs"


async def test_a_tenant_that_allows_its_private_network_gets_its_webhook(
    stack_env: dict[str, str], tmp_path: Path, smtp_port: int, hook_port: int
) -> None:
    url = f"http://127.0.0.1:{hook_port}/hooks"
    tenants_dir = tenants(tmp_path / "tenants", url, allow=True)
    async with receiver(hook_port) as hooks, notifier(stack_env, tenants_dir, smtp_port):
        await publish(stack_env, (topics.REWARDS, REWARD))
        await all_sent(stack_env, 2)
        events = await outcome_events(stack_env, 2)
    assert {e.data["channel"]: e.type for e in events}["webhook"] == "notification.sent"
    assert hooks.attempts == 1

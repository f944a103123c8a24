"""The demo's rewards section: rewards.v1 and commissions.v1 in each order's timeline, and
each demo member's rewards, balance and ledger as the rewards service's HTTP API answers.

Self-contained like demo/attribution_section.py: registering the timeline parts is
`Section(REWARDS_TITLE, REWARDS_TOPIC, REWARDS_COLUMNS, reward_row)` and
`Section(COMMISSIONS_TITLE, COMMISSIONS_TOPIC, COMMISSIONS_COLUMNS, commission_row)` in
demo/sections.py's SECTIONS; `member_lines` prints the rest for the members of a scenario.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpx

from orderflow.shared import topics
from orderflow.shared.envelope import Envelope

REWARDS_TITLE = "rewards"
REWARDS_TOPIC = topics.REWARDS
REWARDS_COLUMNS = ("occurred_at", "member", "challenge", "points", "badge")
COMMISSIONS_TITLE = "commissions"
COMMISSIONS_TOPIC = topics.COMMISSIONS
COMMISSIONS_COLUMNS = ("occurred_at", "entry", "member", "amount", "currency", "reason")


def reward_row(event: Envelope) -> tuple[str, ...]:
    data = event.data
    return (
        event.occurred_at.isoformat(timespec="seconds"),
        str(data.get("member_id", "")),
        str(data.get("challenge_id", "")),
        str(data.get("points", "")),
        str(data.get("badge") or "-"),
    )


def commission_row(event: Envelope) -> tuple[str, ...]:
    data = event.data
    return (
        event.occurred_at.isoformat(timespec="seconds"),
        event.type.removeprefix("commission."),
        str(data.get("member_id", "")),
        str(data.get("amount", "")),
        str(data.get("currency", "")),
        str(data.get("reason", "")),
    )


async def member_lines(
    rewards_url: str, api_key: str, tenant: str, member_ids: Iterable[str]
) -> list[str]:
    """Each member's points and rewards, balance per currency and ledger, oldest first."""
    lines = ["  members (GET /v1/members/{tenant}/{member_id}/rewards|balance|ledger)"]
    headers = {"Authorization": f"Bearer {api_key}"}
    async with httpx.AsyncClient(base_url=rewards_url, headers=headers, timeout=10.0) as client:
        for member_id in member_ids:
            base = f"/v1/members/{tenant}/{member_id}"
            answers = [await client.get(f"{base}/{part}") for part in ("rewards", "balance")]
            if any(a.status_code != 200 for a in answers):
                codes = ", ".join(str(a.status_code) for a in answers)
                lines.append(f"    {member_id}: HTTP {codes}")
                continue
            rewards, balance = (a.json() for a in answers)
            lines.append(f"    {member_id}: {rewards['points']} points")
            lines += [f"      reward  {_reward(r)}" for r in rewards["rewards"]]
            lines += [f"      balance {_balance(b)}" for b in balance["balances"]]
            lines += [f"      ledger  {_entry(e)}" for e in await _ledger(client, base)]
    return lines


async def _ledger(client: httpx.AsyncClient, base: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    after: int | None = 0
    while after is not None:
        page = (await client.get(f"{base}/ledger", params={"after": after})).json()
        entries += page["entries"]
        after = page["next_after"]
    return entries


def _reward(reward: dict[str, Any]) -> str:
    badge = f" badge {reward['badge']}" if reward.get("badge") else ""
    return f"{reward['challenge_id']} on {reward['order_id']}: {reward['points']} points{badge}"


def _balance(balance: dict[str, str]) -> str:
    parts = ("accrued", "approved", "reversed", "available", "pending")
    return f"{balance['currency']} " + "  ".join(f"{p} {balance[p]}" for p in parts)


def _entry(entry: dict[str, Any]) -> str:
    kind = entry["type"].removeprefix("commission.")
    return f"{kind:<9} {entry['amount']:>10} {entry['currency']}  {entry['order_id']}  {entry['reason']}"

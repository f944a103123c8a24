"""The faults, each injected while the load runs; each returns how many and when the last ended.

A fault "ends" when the system has what it needs to recover: the killed service started
again, Postgres back, the broker back (empty) with the operator's recovery done, the extra
replicas gone. Recovery time is counted from there (chaos.verdict).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from chaos.observe import Observer
from chaos.stack import Stack
from orderflow.shared.cli import SERVICES
from orderflow.shared.provision import role_name, schema_name

REBALANCED = ("status-tracker", "attribution", "rewards", "notifier")


@dataclass
class Context:
    stack: Stack
    observer: Observer
    args: argparse.Namespace
    duration_s: float  # how long the load is scheduled to take
    started: float = field(default_factory=time.monotonic)
    started_wall: datetime = field(default_factory=lambda: datetime.now(UTC))

    async def at(self, fraction: float) -> None:
        """Until `fraction` of the load's schedule has passed."""
        delay = self.started + fraction * self.duration_s - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)


@dataclass
class Faults:
    count: int = 0
    ended_at: float | None = None  # monotonic
    notes: dict[str, Any] = field(default_factory=dict)

    def one(self) -> None:
        self.count += 1
        self.ended_at = time.monotonic()


Inject = Callable[[Context], Awaitable[Faults]]


async def none(ctx: Context) -> Faults:
    """The faults are in the records themselves (duplicates, poison): see chaos.load."""
    return Faults()


async def sigkill(ctx: Context) -> Faults:
    """`--kills` SIGKILLs of each service, evenly spread over the load, round robin; each
    killed service is started again at once (what `orderflow run` does after 1 s)."""
    faults, names = Faults(), list(SERVICES)
    total = ctx.args.kills * len(names)
    restarting: dict[str, asyncio.Task[None]] = {}
    for n in range(total):
        await ctx.at((n + 0.5) / total)
        name = names[n % len(names)]
        if name in restarting:
            await restarting.pop(name)  # not killed again before it is back
        await ctx.stack.kill(name)
        faults.one()
        restarting[name] = asyncio.create_task(ctx.stack.restart(name))
    await asyncio.gather(*restarting.values())
    return faults


async def postgres_down(ctx: Context) -> Faults:
    """Postgres stopped (fast shutdown) a third into the load, for `--pg-down-s`."""
    faults = Faults()
    await ctx.at(1 / 3)
    await ctx.stack.pause_postgres()
    await asyncio.sleep(ctx.args.pg_down_s)
    await ctx.stack.resume_postgres()
    faults.one()
    return faults


async def relay_kill(ctx: Context) -> Faults:
    """`--relay-kills` times, round robin over the services: a relay SIGKILLed after the
    broker acknowledged its rows and before it marked them sent."""
    faults, names = Faults(), list(SERVICES)
    for n in range(ctx.args.relay_kills):
        # Within the first 80 % of the load: each one needs unsent rows, and a restart first.
        await ctx.at(0.8 * (n + 0.5) / ctx.args.relay_kills)
        name = names[n % len(names)]
        if await _kill_between_publish_and_mark(ctx.stack, name):
            faults.one()
        else:
            faults.notes.setdefault("not_caught", []).append(name)
    return faults


async def _kill_between_publish_and_mark(stack: Stack, name: str, within_s: float = 20.0) -> bool:
    """Lock the unsent outbox rows; once the relay is seen waiting to mark them sent (it has
    published them: it marks only after every acknowledgement), SIGKILL the service, end its
    orphaned session, let the locks go (the transaction only read) and start it again."""
    holder, watcher = await stack.admin(), await stack.admin()
    deadline = time.monotonic() + within_s
    try:
        while time.monotonic() < deadline:
            async with holder.transaction():  # it only reads: its end just lets the locks go
                locked = await holder.fetch(
                    f"SELECT id FROM {schema_name(name)}.outbox WHERE sent_at IS NULL FOR UPDATE"
                )
                if locked and await _marking_blocked(watcher, role_name(name), 2.0):
                    await stack.kill(name)
                    # Its session would finish the UPDATE once the lock goes: Postgres notices
                    # a dead client only when it next talks to it. End it, as a lost host would.
                    await watcher.execute(
                        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
                        " WHERE usename = $1",
                        role_name(name),
                    )
                    break
            await asyncio.sleep(0.05)
        else:
            return False
    finally:
        await holder.close()
        await watcher.close()
    await stack.restart(name)
    return True


async def _marking_blocked(conn: asyncpg.Connection, role: str, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        waiting = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE usename = $1"
            " AND wait_event_type = 'Lock' AND query LIKE 'UPDATE outbox SET sent_at%'",
            role,
        )
        if waiting:
            return True
        await asyncio.sleep(0.05)
    return False


async def broker_restart(ctx: Context) -> Faults:
    """`--broker-restarts` times: the memory-only broker restarted empty, then the recovery
    README "Operating it" documents: topics created again, and `orderflow outbox resend
    --since T` for every service, T a time before the loss (the scenario's start)."""
    faults = Faults()
    since = ctx.started_wall - timedelta(seconds=1)
    for n in range(ctx.args.broker_restarts):
        await ctx.at((n + 1) / (ctx.args.broker_restarts + 1))
        await ctx.stack.restart_broker()
        faults.one()  # recovery counts from here: the operator's steps are part of it
        await ctx.stack.create_topics()
        await ctx.observer.restart()  # its positions were in the lost topics
        resent = (await ctx.stack.resend(since)).splitlines()
        faults.notes.setdefault("resend", []).append(resent)
    return faults


async def rebalance(ctx: Context) -> Faults:
    """`--rebalance-cycles` times, round robin over the consuming services: scaled 1 -> 3
    (two more processes join its group) and, half a cycle later, 3 -> 1 (SIGTERM). Each join
    or leave is one fault: it makes the group rebalance."""
    faults = Faults()
    cycles = ctx.args.rebalance_cycles
    for n in range(cycles):
        service = REBALANCED[n % len(REBALANCED)]
        await ctx.at(n / cycles)
        replicas = await asyncio.gather(*(ctx.stack.add_replica(service) for _ in range(2)))
        faults.count += 2
        await ctx.at((n + 0.5) / cycles)
        await asyncio.gather(*(asyncio.to_thread(r.stop_all) for r in replicas))
        faults.count += 2
        faults.ended_at = time.monotonic()
        faults.notes.setdefault("services", []).append(service)
    return faults

"""`orderflow run` keeps running: a dead child is restarted after its backoff; `orderflow status`."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from orderflow.shared.keep_alive import Backoff, KeepAlive, status_lines
from orderflow.shared.supervisor import Supervisor, http_status
from tests.harness import eventually
from tests.integration.test_supervisor import serve

pytestmark = pytest.mark.integration


async def test_a_killed_service_is_restarted_and_status_shows_it(tmp_path: Path) -> None:
    supervisor = Supervisor()
    try:
        urls = {name: serve(supervisor, name, tmp_path) for name in ("web", "other")}
        await supervisor.wait_ready(urls, timeout_s=20)
        bases = {name: url.removesuffix("/readyz") for name, url in urls.items()}
        status_file = tmp_path / "status.json"
        keeper = KeepAlive(supervisor, bases, status_file, Backoff(base_s=0.2, max_s=1.0))
        stop = asyncio.Event()
        watching = asyncio.ensure_future(keeper.watch(stop, poll_s=0.05))
        first = supervisor.pid("web")
        supervisor.kill("web", signal.SIGKILL)

        async def back_up() -> bool:
            return supervisor.pid("web") != first and await http_status(urls["web"]) == 200

        await eventually(back_up, "web restarted and ready", timeout=20)
        code, lines = await status_lines(status_file)
        stop.set()
        await watching
    finally:
        supervisor.stop_all()
    assert code == 0
    web = next(line for line in lines if line.startswith("web"))
    assert web.split()[1:4] == ["ready", str(supervisor.pid("web")), "1"]
    assert "-9" in web, "the last exit (SIGKILL) is shown"
    assert keeper.states["other"].restarts == 0
    assert not status_file.exists(), "a stopped run leaves no status behind"
    assert (await status_lines(status_file))[0] == 3

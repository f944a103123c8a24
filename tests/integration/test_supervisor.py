"""Supervisor runs real child processes: tiny `http.server`s and a stubborn stand-in."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from orderflow.shared.localstack import free_port
from orderflow.shared.supervisor import ChildExited, Supervisor, http_status
from tests.infra import gone_soon

STUBBORN = """
import signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
print(grandchild.pid, flush=True)
time.sleep(120)
"""


def serve(supervisor: Supervisor, name: str, directory: Path) -> str:
    """Start an http.server whose GET /readyz answers 200; returns that URL."""
    (directory / "readyz").write_text("ok")
    port = free_port()
    args = [str(port), "--bind", "127.0.0.1", "--directory", str(directory)]
    supervisor.start(name, "http.server", args=args)
    return f"http://127.0.0.1:{port}/readyz"


async def test_children_become_ready_and_stop_all_leaves_none(tmp_path: Path) -> None:
    supervisor = Supervisor(log_dir=tmp_path / "logs")
    urls = {name: serve(supervisor, name, tmp_path) for name in ("a", "b")}
    await supervisor.wait_ready(urls, timeout_s=20)
    pids = [supervisor.pid("a"), supervisor.pid("b")]

    supervisor.stop_all()

    assert all(gone_soon(pid) for pid in pids)
    assert set(supervisor.exited()) == {"a", "b"}
    assert "GET /readyz" in (tmp_path / "logs" / "a.log").read_text()


async def test_a_killed_child_is_restarted_and_serves_again(tmp_path: Path) -> None:
    supervisor = Supervisor()
    url = serve(supervisor, "web", tmp_path)
    await supervisor.wait_ready({"web": url}, timeout_s=20)
    first = supervisor.pid("web")
    try:
        supervisor.kill("web", signal.SIGKILL)
        for _ in range(50):
            if "web" in supervisor.exited():
                break
            await asyncio.sleep(0.1)
        assert supervisor.exited() == {"web": -signal.SIGKILL}
        assert await http_status(url) is None

        supervisor.restart("web")
        await supervisor.wait_ready({"web": url}, timeout_s=20)
        assert supervisor.pid("web") != first
    finally:
        supervisor.stop_all()


async def test_a_child_dying_before_ready_reports_its_last_output() -> None:
    supervisor = Supervisor()
    supervisor.start("broken", "orderflow_there_is_no_such_module")
    with pytest.raises(ChildExited) as raised:
        await supervisor.wait_ready({"broken": f"http://127.0.0.1:{free_port()}/readyz"}, 20)
    assert raised.value.name == "broken" and raised.value.returncode != 0
    assert "No module named orderflow_there_is_no_such_module" in raised.value.tail


async def test_waiting_for_a_service_that_never_answers_times_out(tmp_path: Path) -> None:
    supervisor = Supervisor()
    serve(supervisor, "web", tmp_path)
    try:
        with pytest.raises(TimeoutError, match="web"):
            await supervisor.wait_ready({"web": f"http://127.0.0.1:{free_port()}/"}, 1.0)
    finally:
        supervisor.stop_all()


async def test_stop_all_kills_a_child_that_ignores_sigterm_and_its_grandchild(
    tmp_path: Path,
) -> None:
    (tmp_path / "stubborn.py").write_text(STUBBORN)
    supervisor = Supervisor()
    supervisor.start("stubborn", "stubborn", env={"PYTHONPATH": str(tmp_path)})
    for _ in range(100):
        if supervisor.tail("stubborn"):
            break
        await asyncio.sleep(0.05)
    grandchild = int(supervisor.tail("stubborn").strip())
    child = supervisor.pid("stubborn")

    supervisor.stop_all(timeout_s=1.0)

    assert supervisor.exited() == {"stubborn": -signal.SIGKILL}
    assert gone_soon(child) and gone_soon(grandchild)

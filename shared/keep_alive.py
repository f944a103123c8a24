"""`orderflow run` keeps running: a service that dies is restarted with backoff, not the end.

Only Ctrl-C/SIGTERM stops everything. The state of every service (pid, restarts, last exit)
is written to `<data dir>/status.json` for `orderflow status`, which adds each service's
readiness. The backoff doubles from `base_s` up to `max_s` and starts again from `base_s`
once a service has stayed up for `stable_s`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from orderflow.shared.supervisor import Supervisor, http_status


@dataclass
class Backoff:
    """Pure: how long to wait before the next start of a service that keeps dying."""

    base_s: float = 1.0
    max_s: float = 30.0
    stable_s: float = 60.0

    def delay(self, previous_delay: float | None, ran_for_s: float) -> float:
        if previous_delay is None or ran_for_s >= self.stable_s:
            return self.base_s
        return min(self.max_s, previous_delay * 2)


@dataclass
class ServiceState:
    name: str
    url: str
    pid: int
    started_at: float
    restarts: int = 0
    last_exit_code: int | None = None
    restart_at: float | None = None  # set while waiting out the backoff
    delay_s: float | None = None


class KeepAlive:
    def __init__(
        self,
        supervisor: Supervisor,
        urls: Mapping[str, str],
        status_file: Path,
        backoff: Backoff | None = None,
    ) -> None:
        self._supervisor, self._status_file = supervisor, status_file
        self._backoff = backoff or Backoff()
        now = time.time()
        self.states = {
            name: ServiceState(name, url, supervisor.pid(name), now) for name, url in urls.items()
        }

    async def watch(self, stop: asyncio.Event, poll_s: float = 0.5) -> None:
        """Until `stop` is set: restart whatever died, after its backoff."""
        self._write()
        while not stop.is_set():
            self.tick(time.time())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), poll_s)
        with contextlib.suppress(FileNotFoundError):
            self._status_file.unlink()

    def tick(self, now: float) -> None:
        exited = self._supervisor.exited()
        for state in self.states.values():
            if state.restart_at is None and state.name in exited:
                state.last_exit_code = exited[state.name]
                state.delay_s = self._backoff.delay(state.delay_s, now - state.started_at)
                state.restart_at = now + state.delay_s
                print(
                    f"\n{state.name} exited with code {state.last_exit_code}; restarting in"
                    f" {state.delay_s:.0f} s; its last output:\n{self._supervisor.tail(state.name)}",
                    flush=True,
                )
            elif state.restart_at is not None and now >= state.restart_at:
                state.pid = self._supervisor.restart(state.name)
                state.started_at, state.restart_at = now, None
                state.restarts += 1
                print(f"{state.name} restarted (restart {state.restarts})", flush=True)
        self._write()

    def _write(self) -> None:
        self._status_file.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "supervisor_pid": os.getpid(),
            "services": [asdict(s) for s in self.states.values()],
        }
        temporary = self._status_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(payload))
        temporary.replace(self._status_file)


async def status_lines(status_file: Path) -> tuple[int, list[str]]:
    """`orderflow status`: (exit code, lines). 0: all ready; 1: some not; 3: nothing running."""
    try:
        payload = json.loads(await asyncio.to_thread(status_file.read_text))
        os.kill(int(payload["supervisor_pid"]), 0)
    except (FileNotFoundError, ProcessLookupError, ValueError, KeyError):
        return 3, [f"orderflow is not running here (no live {status_file})"]
    services = [ServiceState(**s) for s in payload["services"]]
    ready = await asyncio.gather(*(http_status(f"{s.url}/readyz") for s in services))
    width = max(len(s.name) for s in services) + 2
    lines = [f"{'service'.ljust(width)}{'state':<12}{'pid':>8}{'restarts':>10}  last exit  url"]
    for s, code in zip(services, ready, strict=True):
        state = (
            "restarting" if s.restart_at is not None else ("ready" if code == 200 else "not ready")
        )
        last = "-" if s.last_exit_code is None else str(s.last_exit_code)
        lines.append(
            f"{s.name.ljust(width)}{state:<12}{s.pid:>8}{s.restarts:>10}  {last:<9}  {s.url}"
        )
    return (0 if all(code == 200 for code in ready) else 1), lines

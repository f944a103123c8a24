"""Run services as child processes: start, wait until ready, kill, restart, stop them all.

Used by `orderflow run`, the end-to-end tests and the demo. Every child gets its own
session (process group), so a terminal's Ctrl-C reaches only the supervisor, which then
stops the children in order, and a SIGKILL of the group leaves no grandchild behind.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

STOP_TIMEOUT_S = 10.0


class ChildExited(RuntimeError):
    def __init__(self, name: str, returncode: int, tail: str) -> None:
        super().__init__(f"{name} exited with code {returncode}")
        self.name, self.returncode, self.tail = name, returncode, tail


def stop_process(process: subprocess.Popen[bytes], first: int, grace_s: float) -> int:
    """Send `first`, wait `grace_s`, then SIGKILL the whole process group; returns the exit code."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(first)
    return _reap(process, grace_s)


def _reap(process: subprocess.Popen[bytes], grace_s: float) -> int:
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(grace_s)
    # The child leads its own process group (start_new_session): killing the group also takes
    # any grandchild it left behind. A group id stays reserved while any member lives, so a
    # non-empty group is still ours.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    return process.wait()


async def http_status(url: str, timeout_s: float = 2.0) -> int | None:
    """Status code of `GET url`, or None when nothing answers (no HTTP client dependency)."""
    parts = urlsplit(url)
    try:
        async with asyncio.timeout(timeout_s):
            reader, writer = await asyncio.open_connection(parts.hostname, parts.port or 80)
            try:
                request = f"GET {parts.path or '/'} HTTP/1.0\r\nHost: {parts.netloc}\r\n\r\n"
                writer.write(request.encode())
                status_line = await reader.readline()
            finally:
                writer.close()
    except (OSError, TimeoutError):
        return None
    fields = status_line.split()
    return int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else None


@dataclass
class _Child:
    module: str
    env: dict[str, str]
    args: tuple[str, ...]
    process: subprocess.Popen[bytes]
    output: deque[str] = field(default_factory=lambda: deque(maxlen=200))


class Supervisor:
    def __init__(self, log_dir: Path | None = None, echo: bool = False) -> None:
        self._log_dir, self._echo = log_dir, echo
        self._children: dict[str, _Child] = {}
        atexit.register(self.stop_all)

    def start(
        self, name: str, module: str, env: Mapping[str, str] | None = None, args: Sequence[str] = ()
    ) -> int:
        """`python -m module *args` with `env` laid over this process's environment; returns the pid."""
        if name in self._children and self._children[name].process.poll() is None:
            raise RuntimeError(f"{name} is already running")
        overlay = dict(env or {})
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **overlay}
        process = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        child = _Child(module, overlay, tuple(args), process)
        self._children[name] = child
        threading.Thread(target=self._pump, args=(name, child), daemon=True).start()
        return process.pid

    def names(self) -> list[str]:
        return list(self._children)

    def pid(self, name: str) -> int:
        return self._children[name].process.pid

    def tail(self, name: str, lines: int = 40) -> str:
        return "".join(list(self._children[name].output)[-lines:])

    def exited(self) -> dict[str, int]:
        """Children that are no longer running, with their exit codes."""
        codes = {name: child.process.poll() for name, child in self._children.items()}
        return {name: code for name, code in codes.items() if code is not None}

    async def wait_ready(self, urls: Mapping[str, str], timeout_s: float = 60.0) -> None:
        """Until every `name -> url` answers 200; raises ChildExited if a child dies first."""
        pending = dict(urls)
        deadline = time.monotonic() + timeout_s
        while pending:
            for name, url in list(pending.items()):
                code = self._children[name].process.poll()
                if code is not None:
                    raise ChildExited(name, code, self.tail(name))
                if await http_status(url) == 200:
                    del pending[name]
            if pending and time.monotonic() > deadline:
                raise TimeoutError(f"not ready after {timeout_s:.0f} s: {', '.join(pending)}")
            if pending:
                await asyncio.sleep(0.2)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        with contextlib.suppress(ProcessLookupError):
            self._children[name].process.send_signal(sig)

    def stop(self, name: str, timeout_s: float = STOP_TIMEOUT_S) -> int:
        return stop_process(self._children[name].process, signal.SIGTERM, timeout_s)

    def restart(self, name: str) -> int:
        """Stop `name` if it still runs, then start it again with the same module and env."""
        self.stop(name)
        child = self._children[name]
        return self.start(name, child.module, child.env, child.args)

    def stop_all(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM every child at once, then SIGKILL whatever is left after `timeout_s`."""
        running = [c.process for c in self._children.values() if c.process.poll() is None]
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        # One shared deadline, and no second SIGTERM: servers such as uvicorn treat a repeat
        # as "exit now, skip the graceful drain".
        deadline = time.monotonic() + timeout_s
        for process in running:
            _reap(process, max(0.0, deadline - time.monotonic()))

    def _pump(self, name: str, child: _Child) -> None:
        """Keep the last lines of a child's output, append them to its log file, maybe echo."""
        assert child.process.stdout is not None
        log = self._open_log(name)
        try:
            for raw in child.process.stdout:
                line = raw.decode("utf-8", "replace")
                child.output.append(line)
                if log is not None:
                    log.write(line)
                    log.flush()
                if self._echo:
                    sys.stdout.write(f"[{name}] {line}")
                    sys.stdout.flush()
        finally:
            if log is not None:
                log.close()

    def _open_log(self, name: str) -> IO[str] | None:
        if self._log_dir is None:
            return None
        self._log_dir.mkdir(parents=True, exist_ok=True)
        return (self._log_dir / f"{name}.log").open("a", encoding="utf-8")

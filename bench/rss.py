"""Resident memory of each service process (with any children it started), by psutil."""

from __future__ import annotations

from collections.abc import Mapping

import psutil

MIB = 1024 * 1024


def rss_mib(pid: int) -> float:
    """RSS of the process and its descendants in MiB; 0 once it is gone."""
    try:
        process = psutil.Process(pid)
        tree = [process, *process.children(recursive=True)]
        total = 0
        for member in tree:
            try:
                total += member.memory_info().rss
            except psutil.NoSuchProcess:
                continue
    except psutil.NoSuchProcess:
        return 0.0
    return total / MIB


class RssSampler:
    """Call `sample()` now and then: keeps the last and the highest RSS of every service."""

    def __init__(self, pids: Mapping[str, int]) -> None:
        self._pids = dict(pids)
        self.last: dict[str, float] = {}
        self.peak: dict[str, float] = {}

    def sample(self) -> None:
        for name, pid in self._pids.items():
            self.last[name] = rss_mib(pid)
            self.peak[name] = max(self.peak.get(name, 0.0), self.last[name])

    def summary(self) -> dict[str, dict[str, float]]:
        return {
            name: {"end_mib": round(self.last[name], 1), "peak_mib": round(self.peak[name], 1)}
            for name in self._pids
            if name in self.last
        }

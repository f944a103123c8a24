"""Tenant files reload without a restart: checked first, a bad one refused with its reason.

A service polls its tenants directory; when a file changed, appeared or went away, every
file is loaded again on its own. A file that is now wrong is refused (logged at ERROR with
`file: field.path: reason`) and its tenant keeps the configuration it had; a good one takes
effect. If the result breaks a rule across tenants (one API key for two tenants), nothing
changes. The registry the handlers and routes hold is updated in place.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Mapping
from pathlib import Path

from orderflow.shared import metrics
from orderflow.shared.logging import get_logger
from orderflow.shared.tenants import (
    TenantConfig,
    TenantProblem,
    TenantRegistry,
    format_path,
)

# The loader's per-file and cross-tenant steps, the same as at start.
from orderflow.shared.tenants import _cross_tenant_problems as cross_tenant_problems
from orderflow.shared.tenants import _load_file as load_file

log = get_logger(__name__)
Signature = dict[str, tuple[int, int]]


def signature(directory: Path) -> Signature:
    """Each tenant file's (mtime_ns, size): what changes when a file is edited."""
    files = [*directory.glob("*.yaml"), *directory.glob("*.yml")] if directory.is_dir() else []
    return {str(f): (f.stat().st_mtime_ns, f.stat().st_size) for f in files}


def reloaded(
    directory: Path, current: TenantRegistry, env: Mapping[str, str]
) -> tuple[TenantRegistry | None, list[TenantProblem]]:
    """The registry to use now (None: keep `current`), and the problems found."""
    problems: list[TenantProblem] = []
    loaded: list[tuple[Path, TenantConfig]] = []
    for file in sorted(Path(p) for p in signature(directory)):
        config, found = load_file(file, env)
        problems += [TenantProblem(str(file), format_path(loc), why) for loc, why in found]
        if config is None and file.stem in current:
            config = current.get(file.stem)  # refused: the tenant keeps what it had
        if config is not None:
            loaded.append((file, config))
    if across := cross_tenant_problems(loaded):
        return None, problems + across
    return TenantRegistry(config for _, config in loaded), problems


async def watch(
    directory: Path, registry: TenantRegistry, stop: asyncio.Event, poll_s: float = 2.0
) -> None:
    """Until `stop`: reload `registry` in place whenever the directory's files change."""
    seen = signature(directory)
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), poll_s)
        now = signature(directory)
        if now != seen:
            seen = now
            apply(directory, registry, os.environ)


def apply(directory: Path, registry: TenantRegistry, env: Mapping[str, str]) -> bool:
    """One reload; True if the registry changed."""
    fresh, problems = reloaded(directory, registry, env)
    for problem in problems:
        log.error(
            "tenant_file_refused", file=problem.file, path=problem.path, reason=problem.reason
        )
    if fresh is None:
        metrics.TENANT_RELOADS.labels("refused").inc()
        return False
    registry.replace(fresh)
    metrics.TENANT_RELOADS.labels("partial" if problems else "applied").inc()
    log.info("tenants_reloaded", tenants=registry.tenants(), refused_files=len(problems))
    return True

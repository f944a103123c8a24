"""Running the `orderflow` command as an operator would, against a test's stack."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from tests.harness import tenant_env


def cli_env(
    stack_env: Mapping[str, str], tenants_dir: Path | None = None, **extra: str
) -> dict[str, str]:
    """The process environment with the test stack's DATABASE_URL and KAFKA_* (as `make run`
    gives its commands), the test tenants' secrets, and no ORDERFLOW_/DEMO_ variables of the
    caller."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORDERFLOW_", "DEMO_"))}
    env |= dict(stack_env) | tenant_env()
    if tenants_dir is not None:
        env["ORDERFLOW_TENANTS_DIR"] = str(tenants_dir)
    return env | extra


async def orderflow(
    *args: str, env: Mapping[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """`orderflow ARGS` in a child process (without blocking the test's event loop)."""
    command = [sys.executable, "-c", "from orderflow.shared.cli import main; main()", *args]
    return await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, env=dict(env), cwd=cwd, timeout=120
    )

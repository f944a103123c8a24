"""What `orderflow run` checks before it starts anything, each failure naming what to change.

- Every port it will listen on is free (a taken port used to pass the readiness table,
  answered by whatever held it, and the service then died with OSError 98 naming no port).
- The tenant files are valid, checked once here rather than by five services at start.
- The example tenants' `${DEMO_*}` secrets: unset ones get the local values `make run` gives
  them (`DEMO_STORE_API_KEY` -> `local-demo-store-api-key`), so `orderflow run` works
  without make; only `DEMO_`-prefixed names, never a production secret.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping
from pathlib import Path

from orderflow.shared.service_registry import SERVICES, service_ports
from orderflow.shared.tenants import TenantConfigError, TenantRegistry, load_tenants

_DEMO_VARIABLE_RE = re.compile(r"\$\{(DEMO_[A-Z0-9_]+)\}")


class PreflightError(RuntimeError):
    """Start-up refused before anything ran; the message says what to change."""


def taken_ports(host: str, ports: Mapping[str, tuple[int, str]]) -> list[str]:
    """`ports`: what listens -> (port, the variable that moves it); one line per taken port."""
    # Imported here: it brings the web stack, which `orderflow import` need not start up.
    from orderflow.shared.service import bind_socket

    problems = []
    for what, (port, variable) in ports.items():
        try:
            bind_socket(host, port).close()
        except OSError as exc:
            problems.append(
                f"port {port} ({what}) on {host} is in use ({exc.strerror}); "
                f"set {variable} to a free one"
            )
    return problems


def demo_value(name: str) -> str:
    """The Makefile's local value of a DEMO_* secret."""
    return "local-" + name.lower().replace("_", "-")


def demo_defaults(tenants_dir: Path, env: MutableMapping[str, str]) -> list[str]:
    """Sets each unset `${DEMO_*}` the tenant files name to its local value; returns the names."""
    names: set[str] = set()
    for file in [*tenants_dir.glob("*.yaml"), *tenants_dir.glob("*.yml")]:
        names.update(_DEMO_VARIABLE_RE.findall(file.read_text(encoding="utf-8")))
    unset = sorted(name for name in names if not env.get(name))
    for name in unset:
        env[name] = demo_value(name)
    return unset


def check_tenants(tenants_dir: Path, env: Mapping[str, str]) -> TenantRegistry:
    try:
        return load_tenants(tenants_dir, env)
    except TenantConfigError as exc:
        lines = "\n".join(str(problem) for problem in exc.problems)
        raise PreflightError(
            f"the tenant files are invalid (nothing was started):\n{lines}\n"
            f"(`orderflow tenants check {tenants_dir}` checks them; ORDERFLOW_TENANTS_DIR "
            "names another directory)"
        ) from exc


def import_root(env: Mapping[str, str]) -> Path:
    return Path(env.get("ORDERFLOW_IMPORT_DIR", ".data/import"))


def ftp_port(env: Mapping[str, str]) -> int:
    return int(env.get("ORDERFLOW_FTP_PORT", "2121"))


def preflight(env: MutableMapping[str, str]) -> TenantRegistry:
    """`orderflow run`'s checks, in order; the tenants it will serve, or PreflightError."""
    tenants_dir = Path(env.get("ORDERFLOW_TENANTS_DIR", "config/tenants"))
    if tenants_dir.is_dir() and (filled := demo_defaults(tenants_dir, env)):
        print(
            f"orderflow run: {len(filled)} DEMO_* secret(s) of {tenants_dir} unset: using the"
            f" local values `make run` uses ({', '.join(filled)}); set them to override",
            flush=True,
        )
    tenants = check_tenants(tenants_dir, env)
    base = int(env.get("ORDERFLOW_HTTP_PORT", "8080"))
    variable = f"ORDERFLOW_HTTP_PORT (the first of {len(SERVICES)} consecutive ports, now {base})"
    ports = {f"{name} HTTP": (port, variable) for name, port in service_ports(base).items()}
    if not env.get("ORDERFLOW_SMTP_HOST"):
        ports["local SMTP"] = (int(env.get("ORDERFLOW_SMTP_PORT", "2525")), "ORDERFLOW_SMTP_PORT")
    ports["FTP drop"] = (ftp_port(env), "ORDERFLOW_FTP_PORT")
    if problems := taken_ports("127.0.0.1", ports):
        raise PreflightError("nothing was started:\n" + "\n".join(problems))
    return tenants

"""The example tenants of config/tenants, copied for the demo with two changes.

demo-store's `expiry` is a few seconds, so the demo shows the pending-payment timer firing
instead of waiting a week; and every notification webhook URL (the examples name
`hooks.*.test`, which cannot resolve) points at the demo's local receiver, so the webhook
channel delivers instead of retrying until it gives up.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from pathlib import Path

from demo import recurring_demo

EXAMPLE_TENANTS = Path(__file__).resolve().parent.parent / "config" / "tenants"
EXPIRING_TENANT = "demo-store"
DEMO_EXPIRY_S = 5

_VARIABLE_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# A tenant file's only URL is its notification webhook's (CONTRACTS §6).
_URL_RE = re.compile(r"""(\burl:\s*)(["']?)https?://[^\s"',}]+\2""")


def api_key_variable(tenant: str) -> str:
    """`demo-store` -> `DEMO_STORE_API_KEY`, as the example files name their keys."""
    return f"{tenant.upper().replace('-', '_')}_API_KEY"


def hook_secret_variable(tenant: str) -> str:
    """`demo-store` -> `DEMO_STORE_HOOK_SECRET`, the example files' webhook signing secret."""
    return f"{tenant.upper().replace('-', '_')}_HOOK_SECRET"


def write_demo_tenants(
    target: Path, webhook_url: str | None = None, source: Path = EXAMPLE_TENANTS
) -> Path:
    """Copies every tenant file of `source` into `target`; demo-store expires unpaid orders
    fast, and with `webhook_url` every tenant's notification webhook goes there."""
    target.mkdir(parents=True, exist_ok=True)
    for file in sorted(source.glob("*.yaml")):
        text = file.read_text()
        (target / file.name).write_text(
            with_webhook_url(text, webhook_url) if webhook_url else text
        )
    expiring = target / f"{EXPIRING_TENANT}.yaml"
    expiring.write_text(with_expiry(expiring.read_text(), f"{DEMO_EXPIRY_S}s"))
    recurring_demo.write_tenant(target)  # demo-subscriptions, charged every few seconds
    return target


def with_expiry(yaml_text: str, duration: str) -> str:
    """The file with its top-level `expiry` (flow or block style) replaced."""
    kept: list[str] = []
    in_expiry = False
    for line in yaml_text.splitlines():
        if line.startswith("expiry:"):
            in_expiry = True
            continue
        # The block of a top-level key ends at the next line that is not indented.
        if in_expiry and line[:1] in (" ", "\t"):
            continue
        in_expiry = False
        kept.append(line)
    kept.append(f"expiry: {{pending_payment: {duration}}}")
    return "\n".join(kept) + "\n"


def with_webhook_url(yaml_text: str, url: str) -> str:
    """The file with its webhook `url` replaced (quoted or not, in either YAML style)."""
    return _URL_RE.sub(lambda match: f'{match[1]}"{url}"', yaml_text)


def secret_env(directory: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """A value for every `${NAME}` the tenant files use: the environment's, else a fresh one.

    `make demo` exports local values; run as `python -m demo` the demo needs none set.
    """
    names = {m[1] for f in directory.glob("*.yaml") for m in _VARIABLE_RE.finditer(f.read_text())}
    return {name: environ.get(name) or f"local-{secrets.token_hex(12)}" for name in sorted(names)}

"""Rendering notifications with Jinja2: sandboxed, HTML autoescaped, per-tenant overrides.

A template is a set of parts of one name and language: `subject` and `text` (required),
`html` (optional, for e-mail). Lookup tries the tenant's language (`fr-CA`, then `fr`,
then `en`); within one language the specific template before the event's generic one
(`order.status_changed.confirmed`, then `order.status_changed`), and the tenant's
override before the shipped one. Overrides are files read from
`<templates_dir>/<tenant>/<template>.<lang>.<part>`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    DictLoader,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    TemplateNotFound,
    select_autoescape,
)
from jinja2.sandbox import ImmutableSandboxedEnvironment

from orderflow.services.notifier.builtin_templates import builtin

FALLBACK_LANGUAGE = "en"
_BLANKS = re.compile(r"\s+")


class TemplateFailed(Exception):
    """No template for the notification, or the template broke while rendering."""


@dataclass(frozen=True)
class Rendered:
    template: str  # the name that was found, e.g. `order.status_changed` for a fallback
    language: str
    subject: str
    text: str
    html: str | None


def languages(language: str) -> list[str]:
    """`fr-CA` -> [`fr-CA`, `fr`, `en`]."""
    candidates = [language, language.split("-")[0], FALLBACK_LANGUAGE]
    return list(dict.fromkeys(candidates))


def names(template: str, event_type: str) -> list[str]:
    return list(dict.fromkeys([template, event_type]))


class Templates:
    def __init__(self, overrides_dir: str | Path | None = None) -> None:
        loaders: list[BaseLoader] = [DictLoader(builtin())]
        if overrides_dir is not None:
            loaders.insert(0, FileSystemLoader(str(overrides_dir)))
        # Tenant-written templates run sandboxed: no attribute access to internals, no
        # mutation; HTML parts escape every value, so a customer's name cannot inject markup.
        self._env = ImmutableSandboxedEnvironment(
            loader=ChoiceLoader(loaders),
            autoescape=select_autoescape(enabled_extensions=("html",), default=False),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
        )

    def render(
        self, tenant: str, template: str, event_type: str, language: str, context: Mapping[str, Any]
    ) -> Rendered:
        for lang in languages(language):
            for name in names(template, event_type):
                for prefix in (f"{tenant}/", ""):
                    found = self._render_set(prefix, name, lang, context)
                    if found is not None:
                        return found
        raise TemplateFailed(f"no template {template!r} for language {language!r}")

    def _render_set(
        self, prefix: str, name: str, lang: str, context: Mapping[str, Any]
    ) -> Rendered | None:
        base = f"{prefix}{name}.{lang}"
        try:
            subject = self._part(f"{base}.subject", context)
        except TemplateNotFound:
            return None
        try:
            text = self._part(f"{base}.text", context)
            html = self._optional(f"{base}.html", context)
        except TemplateNotFound as exc:
            raise TemplateFailed(f"template {base} has a subject but no text part") from exc
        return Rendered(name, lang, _BLANKS.sub(" ", subject).strip(), text, html)

    def _optional(self, name: str, context: Mapping[str, Any]) -> str | None:
        try:
            return self._part(name, context)
        except TemplateNotFound:
            return None

    def _part(self, name: str, context: Mapping[str, Any]) -> str:
        try:
            template = self._env.get_template(name)
        except TemplateNotFound:
            raise  # a TemplateError too, but "absent" means: try the next candidate
        except TemplateError as exc:
            raise TemplateFailed(f"template {name} does not compile: {exc}") from exc
        try:
            return template.render(context)
        except TemplateError as exc:
            raise TemplateFailed(f"template {name} failed: {type(exc).__name__}") from exc


def context(
    tenant: str,
    event_type: str,
    order_id: str | None,
    data: Mapping[str, Any],
    recipient: Mapping[str, str],
    customer_name: str | None,
) -> dict[str, Any]:
    """What a template can use. Only the customer's own message gets their name."""
    return {
        "tenant": tenant,
        "event": event_type,
        "order_id": order_id,
        "data": _Data(data),
        "recipient": dict(recipient),
        "customer": {"name": customer_name if recipient.get("role") == "customer" else None},
    }


class _Data(dict[str, Any]):
    """Event data where an absent field reads as None (events may add fields over time)."""

    def __missing__(self, key: str) -> None:
        return None

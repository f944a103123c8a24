"""Templates: per event and status category, per language with fallback, tenant overrides,
HTML autoescaping, the sandbox, and e-mail composition."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args

import pytest

from orderflow.services.notifier.builtin_templates import EN, builtin
from orderflow.services.notifier.domain import Cause, Recipient
from orderflow.services.notifier.mail import (
    NOTIFICATION_HEADER,
    ORDER_HEADER,
    RECIPIENT_HEADER,
    compose,
    message_id,
)
from orderflow.services.notifier.store import Due
from orderflow.services.notifier.templates import (
    Rendered,
    TemplateFailed,
    Templates,
    context,
    languages,
)
from orderflow.shared.tenants import EventType
from orderflow.shared.vocabulary import Category

DATA = {"status": "Accepted", "category": "confirmed", "amount": "42.00", "currency": "EUR"}


def values(role: str = "customer", name: str | None = "Zoé", **data: Any) -> dict[str, Any]:
    return context(
        "acme", "order.status_changed", "o-7", {**DATA, **data}, {"role": role, "id": "c-1"}, name
    )


def render(templates: Templates, template: str, language: str = "en", **kw: Any) -> Rendered:
    return templates.render("acme", template, "order.status_changed", language, values(**kw))


def test_every_event_type_and_status_category_has_an_english_template() -> None:
    events = set(get_args(EventType))
    categories = {f"order.status_changed.{c.value}" for c in Category}
    assert events | categories <= set(EN)


def test_status_change_template_per_category() -> None:
    rendered = render(Templates(), "order.status_changed.confirmed")
    assert rendered.subject == "Order o-7 confirmed"
    assert "42.00 EUR" in rendered.text
    assert rendered.text.startswith("Hello Zoé,")
    assert rendered.html is not None and "<p>Hello Zoé,</p>" in rendered.html


def test_tenant_language_is_used_when_shipped() -> None:
    rendered = render(Templates(), "order.status_changed.confirmed", "fr")
    assert rendered.language == "fr"
    assert rendered.subject == "Commande o-7 confirmée"
    assert rendered.text.startswith("Bonjour Zoé,")


def test_missing_language_falls_back_to_english() -> None:
    rendered = render(Templates(), "order.status_changed.declined", "de")
    assert (rendered.language, rendered.subject) == ("en", "Order o-7 declined")
    assert languages("fr-CA") == ["fr-CA", "fr", "en"]


def test_language_comes_before_specificity() -> None:
    # No French "declined" template: the reader gets the French generic status change,
    # naming the status, rather than English.
    rendered = render(Templates(), "order.status_changed.declined", "fr-CA", status="Declined")
    assert (rendered.language, rendered.template) == ("fr", "order.status_changed")
    assert rendered.subject == "Commande o-7 : Declined"


def test_unknown_category_falls_back_to_the_events_generic_template() -> None:
    rendered = render(Templates(), "order.status_changed.mystery", status="Odd")
    assert rendered.template == "order.status_changed"
    assert rendered.subject == "Order o-7: Odd"


def test_only_the_customer_is_greeted_by_name() -> None:
    rendered = render(Templates(), "order.status_changed.confirmed", role="merchant")
    assert "Zoé" not in rendered.text and "Zoé" not in (rendered.html or "")


def test_html_is_autoescaped_and_text_is_not() -> None:
    rendered = render(Templates(), "order.status_changed.confirmed", name="<b>Ann & Co</b>")
    assert rendered.html is not None
    assert "&lt;b&gt;Ann &amp; Co&lt;/b&gt;" in rendered.html and "<b>" not in rendered.html
    assert "<b>Ann & Co</b>" in rendered.text


def test_tenant_override_wins_over_the_shipped_template(tmp_path: Path) -> None:
    own = tmp_path / "acme"
    own.mkdir()
    (own / "order.status_changed.confirmed.en.subject").write_text("Yay {{ order_id }}!")
    (own / "order.status_changed.confirmed.en.text").write_text("Paid: {{ data.amount }}")
    templates = Templates(tmp_path)
    rendered = render(templates, "order.status_changed.confirmed")
    assert (rendered.subject, rendered.text, rendered.html) == ("Yay o-7!", "Paid: 42.00", None)
    other = templates.render(
        "globex", "order.status_changed.confirmed", "order.status_changed", "en", values()
    )
    assert other.subject == "Order o-7 confirmed", "another tenant keeps the shipped one"


def test_subject_is_one_line(tmp_path: Path) -> None:
    own = tmp_path / "acme"
    own.mkdir()
    (own / "reward.granted.en.subject").write_text("Line one\n\nline\ttwo\n")
    (own / "reward.granted.en.text").write_text("x")
    rendered = Templates(tmp_path).render(
        "acme", "reward.granted", "reward.granted", "en", values()
    )
    assert rendered.subject == "Line one line two"


@pytest.mark.parametrize(
    "source",
    [
        "{{ data.__class__.__mro__ }}",  # sandbox: no internals
        "{{ recipient.update({'role': 'x'}) }}",  # immutable sandbox: no mutation
        "{{ no_such_variable }}",  # strict: a typo is an error, not an empty string
        "{% if %}",  # does not compile
    ],
)
def test_a_broken_or_unsafe_tenant_template_fails_cleanly(tmp_path: Path, source: str) -> None:
    own = tmp_path / "acme"
    own.mkdir()
    (own / "reward.granted.en.subject").write_text(source)
    (own / "reward.granted.en.text").write_text("x")
    with pytest.raises(TemplateFailed):
        Templates(tmp_path).render("acme", "reward.granted", "reward.granted", "en", values())


def test_absent_event_data_reads_as_empty() -> None:
    rendered = Templates().render(
        "acme", "reward.granted", "reward.granted", "en", values(points=5, challenge_id="c")
    )
    assert "badge" not in rendered.text


def test_every_shipped_template_renders() -> None:
    templates = Templates()
    names = {name.rsplit(".", 2)[0] for name in builtin()}
    for name in names:
        for language in ("en", "fr"):
            rendered = render(templates, name, language, member_id="m-1", points=3)
            assert rendered.subject and rendered.text


def test_email_has_text_html_and_a_message_id_from_the_notification() -> None:
    rendered = render(Templates(), "order.status_changed.confirmed")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    cause = Cause("ev-1", "order.status_changed", "acme", "o-7", DATA, now, "corr-1")
    due = Due("n-123", cause, Recipient("customer", "c-1"), "email", "t", 1)
    message = compose("orders@acme.test", "c1@example.test", rendered, due, now)
    assert message["Message-ID"] == "<n-123@acme.test>" == message_id("n-123", "orders@acme.test")
    assert message[NOTIFICATION_HEADER] == "n-123"
    assert (message[ORDER_HEADER], message[RECIPIENT_HEADER]) == ("o-7", "customer:c-1")
    assert message["Subject"] == "Order o-7 confirmed"
    kinds = [part.get_content_type() for part in message.iter_parts()]
    assert kinds == ["text/plain", "text/html"]

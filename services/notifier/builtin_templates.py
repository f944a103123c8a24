"""The templates shipped with the notifier: English for every event, French for status changes.

Names are `<template>.<language>.<part>`, part one of `subject`, `text`, `html` (the
`.html` ones are autoescaped). A tenant overrides any of them with a file of the same
name under `<templates_dir>/<tenant>/`. Each template here is generated from one
sentence, so the wording of all of them can be read in the tables below.
"""

from __future__ import annotations

# template -> (subject, sentence); both are Jinja2 with the context of templates.context().
EN: dict[str, tuple[str, str]] = {
    "order.status_changed": (
        "Order {{ order_id }}: {{ data.status }}",
        'Order {{ order_id }} is now "{{ data.status }}".',
    ),
    "order.status_changed.pending": (
        "Order {{ order_id }} received",
        "Order {{ order_id }} is received and waits for payment or validation"
        ' ("{{ data.status }}").',
    ),
    "order.status_changed.confirmed": (
        "Order {{ order_id }} confirmed",
        "Order {{ order_id }} is confirmed{% if data.amount %}:"
        " {{ data.amount }} {{ data.currency }}{% endif %}.",
    ),
    "order.status_changed.fulfilled": (
        "Order {{ order_id }} completed",
        'Order {{ order_id }} is completed ("{{ data.status }}").',
    ),
    "order.status_changed.cancelled": (
        "Order {{ order_id }} cancelled",
        "Order {{ order_id }} was cancelled.",
    ),
    "order.status_changed.declined": (
        "Order {{ order_id }} declined",
        "Order {{ order_id }} was declined.",
    ),
    "order.status_changed.expired": (
        "Order {{ order_id }} expired",
        "Order {{ order_id }} expired before it was paid.",
    ),
    "order.status_changed.refunded": (
        "Order {{ order_id }} refunded",
        "Order {{ order_id }} was refunded.",
    ),
    "order.status_changed.chargeback": (
        "Order {{ order_id }}: chargeback",
        "A chargeback was recorded for order {{ order_id }}.",
    ),
    "order.status_changed.suppressed": (
        "Order {{ order_id }} suppressed",
        "Order {{ order_id }} was suppressed.",
    ),
    "order.status_changed.duplicate": (
        "Order {{ order_id }} is a duplicate",
        "Order {{ order_id }} was recorded as a duplicate.",
    ),
    "order.confirmed": (
        "Order {{ order_id }} confirmed",
        "Order {{ order_id }} is paid and confirmed.",
    ),
    "order.reversed": (
        "Order {{ order_id }} reversed",
        "Order {{ order_id }} was reversed ({{ data.category }}).",
    ),
    "order.expired": (
        "Order {{ order_id }} expired",
        "Order {{ order_id }} expired: no payment arrived in time.",
    ),
    "order.attributed": (
        "Order {{ order_id }} attributed",
        "Order {{ order_id }} is credited to member {{ data.member_id }} ({{ data.via }}).",
    ),
    "order.attribution_voided": (
        "Order {{ order_id }}: attribution voided",
        "The attribution of order {{ order_id }} was voided.",
    ),
    "recurring_order.status_changed": (
        "Subscription {{ data.recurring_order_id }}: {{ data.status }}",
        "Your subscription {{ data.recurring_order_id }} is now {{ data.status }}"
        "{% if data.next_payment_at %}; the next payment is due {{ data.next_payment_at }}"
        "{% endif %}.",
    ),
    "recurring_order.status_changed.failed": (
        "Subscription {{ data.recurring_order_id }}: payment failed",
        "The payment of your subscription {{ data.recurring_order_id }} failed on every"
        " attempt; the subscription is stopped.",
    ),
    "recurring.charge_due": (
        "Subscription {{ data.recurring_order_id }}: payment {{ data.sequence }} due",
        "Payment {{ data.sequence }} of subscription {{ data.recurring_order_id }}"
        " ({{ data.amount }} {{ data.currency }}) is due.",
    ),
    "reward.granted": (
        "You earned {{ data.points }} points",
        'Challenge "{{ data.challenge_id }}" completed: {{ data.points }} points'
        '{% if data.badge %} and the badge "{{ data.badge }}"{% endif %}.',
    ),
    "commission.accrued": (
        "Commission of {{ data.amount }} {{ data.currency }}",
        "A commission of {{ data.amount }} {{ data.currency }} was accrued"
        "{% if order_id %} on order {{ order_id }}{% endif %}.",
    ),
    "commission.reversed": (
        "Commission reversed: {{ data.amount }} {{ data.currency }}",
        "A commission was reversed ({{ data.amount }} {{ data.currency }})"
        "{% if order_id %} on order {{ order_id }}{% endif %}.",
    ),
    "commission.approved": (
        "Commission approved: {{ data.amount }} {{ data.currency }}",
        "Your commission of {{ data.amount }} {{ data.currency }} is approved for payment.",
    ),
}

FR: dict[str, tuple[str, str]] = {
    "order.status_changed": (
        "Commande {{ order_id }} : {{ data.status }}",
        "La commande {{ order_id }} est maintenant « {{ data.status }} ».",
    ),
    "order.status_changed.pending": (
        "Commande {{ order_id }} reçue",
        "La commande {{ order_id }} est reçue et attend son paiement ou sa validation.",
    ),
    "order.status_changed.confirmed": (
        "Commande {{ order_id }} confirmée",
        "La commande {{ order_id }} est confirmée{% if data.amount %} :"
        " {{ data.amount }} {{ data.currency }}{% endif %}.",
    ),
    "order.status_changed.fulfilled": (
        "Commande {{ order_id }} terminée",
        "La commande {{ order_id }} est terminée.",
    ),
    "order.status_changed.cancelled": (
        "Commande {{ order_id }} annulée",
        "La commande {{ order_id }} a été annulée.",
    ),
}

GREETING = {
    "en": "Hello{% if customer.name %} {{ customer.name }}{% endif %},",
    "fr": "Bonjour{% if customer.name %} {{ customer.name }}{% endif %},",
}
CLOSING = {"en": "Thank you, {{ tenant }}", "fr": "Merci, {{ tenant }}"}
# Only the customer is greeted by name: no other recipient's message carries it.
_GREET = "{% if recipient.role == 'customer' %}"


def _text(language: str, sentence: str) -> str:
    return f"{_GREET}{GREETING[language]}\n\n{{% endif %}}{sentence}\n\n{CLOSING[language]}\n"


def _html(language: str, sentence: str) -> str:
    greeting = f"{_GREET}<p>{GREETING[language]}</p>{{% endif %}}"
    return (
        f'<!doctype html><html lang="{language}"><body>{greeting}'
        f"<p>{sentence}</p><p>{CLOSING[language]}</p></body></html>\n"
    )


def builtin() -> dict[str, str]:
    """Every shipped template by name."""
    found: dict[str, str] = {}
    for language, table in (("en", EN), ("fr", FR)):
        for name, (subject, sentence) in table.items():
            found[f"{name}.{language}.subject"] = subject
            found[f"{name}.{language}.text"] = _text(language, sentence)
            found[f"{name}.{language}.html"] = _html(language, sentence)
    return found

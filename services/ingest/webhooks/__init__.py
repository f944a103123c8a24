"""Shopify, Stripe and WooCommerce webhooks into ingest (CONTRACTS §4, docs/webhooks.md)."""

"""orderflow services: one package per consumer service."""

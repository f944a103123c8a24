"""orderflow benchmark: reports/s through ingest -> status-tracker against a no-database ceiling."""

"""`make chaos`: faults injected under load; lost and duplicate effects counted."""

"""status-tracker: per-order status history, Has OK, lifecycle events."""

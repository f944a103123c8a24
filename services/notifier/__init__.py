"""notifier: tells customers, merchants and members, once, on every change."""

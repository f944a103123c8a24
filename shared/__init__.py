"""orderflow shared kernel: mechanism only (envelope, inbox, outbox, relay, runner, config)."""

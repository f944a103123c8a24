"""rewards: gamification challenges and the commission ledger."""

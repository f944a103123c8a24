-- CONTRACTS §8 partial refunds and §14 reassignments (docs/rewards.md, "Reversals").
-- An order's refunds (order.refunded), each line's share taken back so far, which refunds
-- it applied, and why its credit was voided.
ALTER TABLE orders ADD COLUMN refunds jsonb NOT NULL DEFAULT '[]';
ALTER TABLE lines
    ADD COLUMN void_reason     text,
    ADD COLUMN reversed_amount numeric NOT NULL DEFAULT 0,
    ADD COLUMN refunds_seen    jsonb   NOT NULL DEFAULT '[]';
-- A line now has one reversal per refund that took something back, beside its accrual,
-- approval and whole reversal: the entry ids stay unique (each derived from what the entry
-- is: the line and its kind, or the line and the refund), the per-kind key goes.
ALTER TABLE ledger DROP CONSTRAINT ledger_tenant_order_id_line_id_kind_key;

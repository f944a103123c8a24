-- CONTRACTS §14: who a person with `sales:confirm` said made the sale (sellers.py).
-- `seller_chosen` with `seller_id` NULL: the system.
ALTER TABLE orders
    ADD COLUMN seller_chosen boolean NOT NULL DEFAULT false,
    ADD COLUMN seller_id     text;

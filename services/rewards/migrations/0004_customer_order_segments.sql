-- The customer's segments right after each order counted (CONTRACTS §11: a challenge's
-- `segment_in` is judged on the order's customer's segments at confirmation).
ALTER TABLE customer_orders ADD COLUMN segments text[] NOT NULL DEFAULT '{}';

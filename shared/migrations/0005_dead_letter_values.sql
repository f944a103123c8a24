-- A poison record too large to travel inside its dead letter is kept whole here; the dead
-- letter names it by its SHA-256 (`value_ref`) and carries a prefix.
CREATE TABLE IF NOT EXISTS dead_letter_values (
    sha256     text        PRIMARY KEY,
    value      bytea       NOT NULL,
    stored_at  timestamptz NOT NULL DEFAULT now()
);

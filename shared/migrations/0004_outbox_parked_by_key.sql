-- Parked rows hold back the later rows of their key; the relay looks them up by key.
CREATE INDEX IF NOT EXISTS outbox_parked_key ON outbox (topic, key, id)
    WHERE parked_at IS NOT NULL AND sent_at IS NULL;

-- Marking a row sent rewrote its whole ~1 kB version with a full WAL image and a new entry in
-- every index (an index on sent_at, and two partial ones whose predicates name it, ruled out
-- HOT): as much work per row as writing it. Now the rows to publish and the parked rows are
-- listed in two narrow tables kept by triggers, no index of outbox names sent_at or
-- parked_at, and pages are left half empty, so `UPDATE outbox SET sent_at = now()` is a
-- heap-only update on the row's own page (docs/architecture.md#outbox-and-relay).

-- The ids of the rows not sent yet (parked ones included): what the relay reads, in id order.
CREATE TABLE outbox_pending (id bigint PRIMARY KEY);
INSERT INTO outbox_pending (id) SELECT id FROM outbox WHERE sent_at IS NULL;
-- The parked rows (parked_at set, not sent), with what the relay needs to hold back the later
-- rows of their keys. Nearly always empty, so any plan over it is cheap, statistics or not.
CREATE TABLE outbox_parked (id bigint PRIMARY KEY, topic text NOT NULL, key bytea);
INSERT INTO outbox_parked (id, topic, key)
    SELECT id, topic, key FROM outbox WHERE parked_at IS NOT NULL AND sent_at IS NULL;

-- Statement triggers, one statement per batch whoever writes (enqueue_many, the dead letter
-- store, an operator's UPDATE). A row deleted unsent leaves a stale id, which the relay's
-- query skips and `prune_sent` removes.
CREATE FUNCTION outbox_listed_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO outbox_pending (id) SELECT id FROM added WHERE sent_at IS NULL;
    INSERT INTO outbox_parked (id, topic, key) SELECT id, topic, key FROM added
        WHERE parked_at IS NOT NULL AND sent_at IS NULL;
    RETURN NULL;
END $$;
CREATE FUNCTION outbox_listed_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM outbox_pending
        WHERE id = ANY (ARRAY(SELECT id FROM changed WHERE sent_at IS NOT NULL));
    INSERT INTO outbox_pending (id) SELECT id FROM changed WHERE sent_at IS NULL
        ON CONFLICT (id) DO NOTHING;
    DELETE FROM outbox_parked
        WHERE id = ANY (ARRAY(SELECT id FROM changed WHERE parked_at IS NULL OR sent_at IS NOT NULL));
    INSERT INTO outbox_parked (id, topic, key) SELECT id, topic, key FROM changed
        WHERE parked_at IS NOT NULL AND sent_at IS NULL
        ON CONFLICT (id) DO UPDATE SET topic = excluded.topic, key = excluded.key;
    RETURN NULL;
END $$;
-- The schema they were made in, whatever the caller's search_path (an admin's CLI session).
ALTER FUNCTION outbox_listed_added() SET search_path FROM CURRENT;
ALTER FUNCTION outbox_listed_changed() SET search_path FROM CURRENT;
CREATE TRIGGER outbox_listed_added AFTER INSERT ON outbox REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_listed_added();
CREATE TRIGGER outbox_listed_changed AFTER UPDATE ON outbox REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_listed_changed();

-- Prune (sent_at < cutoff) and resend (sent_at >= since) read a BRIN index, which does not
-- stop a heap-only update (rows are sent in about the order they sit in the table).
DROP INDEX outbox_unsent;
DROP INDEX outbox_sent_at;
DROP INDEX outbox_parked_key;
CREATE INDEX outbox_sent_at ON outbox USING brin (sent_at) WITH (autosummarize = on);
-- Room on each page for the sent version of each row written there.
ALTER TABLE outbox SET (fillfactor = 50);

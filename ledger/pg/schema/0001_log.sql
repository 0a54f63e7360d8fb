-- The Merkle log on PostgreSQL (ledger.log.PgLogStore), one row set per log origin, and
-- the durable queue of appends waiting for the origin's elected sequencer.
CREATE TABLE ledger_leaves (
    origin TEXT NOT NULL,
    idx BIGINT NOT NULL,
    entry BYTEA NOT NULL,
    key TEXT,
    qid BIGINT, -- the ledger_queue row it was sequenced from: tells a racing duplicate apart
    PRIMARY KEY (origin, idx)
);
CREATE UNIQUE INDEX ledger_leaves_key ON ledger_leaves (origin, key) WHERE key IS NOT NULL;
-- Perfect aligned subtree hashes, id = level << 56 | index (ledger/log/_store.py).
CREATE TABLE ledger_nodes (
    origin TEXT NOT NULL,
    id BIGINT NOT NULL,
    hash BYTEA NOT NULL,
    PRIMARY KEY (origin, id)
);
CREATE TABLE ledger_checkpoints (
    origin TEXT NOT NULL,
    size BIGINT NOT NULL,
    root BYTEA NOT NULL,
    note TEXT NOT NULL,
    PRIMARY KEY (origin, size)
);
-- The fence: every commit moves the head from the size it read to the new one in the same
-- transaction, so a writer whose view is stale fails and writes nothing.
CREATE TABLE ledger_heads (
    origin TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    root BYTEA NOT NULL
);
CREATE TABLE ledger_queue (
    id BIGSERIAL PRIMARY KEY,
    origin TEXT NOT NULL,
    key TEXT NOT NULL,
    entry BYTEA NOT NULL,
    enqueued_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
);
CREATE UNIQUE INDEX ledger_queue_key ON ledger_queue (origin, key);
CREATE INDEX ledger_queue_order ON ledger_queue (origin, id);
-- Every enqueue wakes the sequencers (LISTEN ledger_queue), delivered when the enqueuing
-- transaction commits: a caller's own transaction that enqueues wakes them too.
CREATE FUNCTION ledger_queue_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('ledger_queue', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER ledger_queue_notify AFTER INSERT ON ledger_queue
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_queue_notify();

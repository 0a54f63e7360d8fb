-- The gateway's exchange rows on PostgreSQL (gateway.exchange.store, gateway.exchange.unit):
-- the same tables and constraints as the SQLite file gateway.db, with PostgreSQL types.
-- rowid: SQLite's implicit insertion order, explicit here (WatchStatus and the outbox read
-- in that order).
CREATE TABLE exchanges (
    exchange_id TEXT PRIMARY KEY,
    envelope BYTEA NOT NULL,
    signature BYTEA NOT NULL,
    key_id TEXT NOT NULL,
    envelope_sm3 BYTEA NOT NULL,
    sender TEXT NOT NULL,
    recipient TEXT NOT NULL,
    kind TEXT NOT NULL,
    matter TEXT NOT NULL,
    canonical TEXT NOT NULL,
    leaf_index BIGINT NOT NULL,
    tree_size BIGINT NOT NULL,
    received_at DOUBLE PRECISION NOT NULL,
    in_reply_to TEXT NOT NULL DEFAULT '',
    delivered BYTEA,
    delivered_dialect TEXT,
    delivered_content_type TEXT,
    attestation_statement BYTEA,
    attestation_signature BYTEA,
    attestation_key_id TEXT,
    rowid BIGSERIAL UNIQUE
);
CREATE INDEX exchanges_sender ON exchanges (sender, received_at);
CREATE INDEX exchanges_recipient ON exchanges (recipient, received_at);
CREATE INDEX exchanges_sender_rowid ON exchanges (sender, rowid);
CREATE UNIQUE INDEX exchanges_answer ON exchanges (in_reply_to) WHERE in_reply_to != '';

CREATE TABLE nonces (
    sender TEXT NOT NULL,
    nonce BYTEA NOT NULL,
    seen_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (sender, nonce)
);
CREATE INDEX nonces_seen_at ON nonces (seen_at);

CREATE TABLE outbox (
    exchange_id TEXT PRIMARY KEY,
    recipient TEXT NOT NULL,
    mode TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at DOUBLE PRECISION NOT NULL,
    last_error TEXT,
    response TEXT,
    updated_at DOUBLE PRECISION NOT NULL,
    failure TEXT,
    delivered_at DOUBLE PRECISION,
    rowid BIGSERIAL UNIQUE
);
CREATE INDEX outbox_recipient_due ON outbox (recipient, status, mode, next_attempt_at);
CREATE INDEX outbox_pending ON outbox (status, mode, next_attempt_at);

-- Entries staged by the unit of work and not yet finished (gateway/exchange/unit.py).
CREATE TABLE log_pending (
    exchange_id TEXT PRIMARY KEY,
    entry BYTEA NOT NULL,
    mode TEXT NOT NULL,
    failure TEXT,
    error TEXT,
    staged_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX log_pending_staged_at ON log_pending (staged_at);

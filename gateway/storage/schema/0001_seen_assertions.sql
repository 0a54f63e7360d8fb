-- Replay protection for province assertions (gateway/identity/replay_pg.py): the PRIMARY KEY
-- decides who claims an assertion first; expired claims are purged by expires_at.
CREATE TABLE seen_assertions (
    issuer TEXT NOT NULL,
    assertion_id TEXT NOT NULL,
    recognition_id TEXT NOT NULL,
    first_seen DOUBLE PRECISION NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (issuer, assertion_id)
);
CREATE INDEX seen_assertions_expiry ON seen_assertions (expires_at);

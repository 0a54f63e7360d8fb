-- The case service's tables on PostgreSQL (gateway.cases.store, gateway.cases.evidence): the
-- same tables, columns (in the same order) and constraints as the SQLite file cases.db, with
-- PostgreSQL types (BLOB -> BYTEA, REAL -> DOUBLE PRECISION, sizes and log indexes BIGINT)
-- and the same indexes.
-- rowid: SQLite's implicit insertion order, explicit here for the tables read in that order
-- (the case list's tie-break, system events and accesses); it is the last column, and the
-- store names its columns instead of reading SELECT *.
CREATE TABLE cases (
    case_id TEXT PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    receiving_city TEXT NOT NULL,
    window_region TEXT NOT NULL,
    handling_region TEXT NOT NULL,
    matter_code TEXT NOT NULL,
    matter_name TEXT NOT NULL,
    handling_mode TEXT NOT NULL,
    status TEXT NOT NULL,
    applicant_name_masked TEXT NOT NULL,
    applicant_id_masked TEXT NOT NULL,
    applicant_person_key TEXT NOT NULL,
    applicant_level TEXT NOT NULL,
    applicant_sealed BYTEA NOT NULL,
    promised_limit TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    accepted_on TEXT,
    deadline TEXT NOT NULL,
    deadline_missing_years TEXT,
    finished_on TEXT,
    rating INTEGER,
    rating_comment TEXT,
    clerk TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    rowid BIGSERIAL UNIQUE
);
CREATE INDEX cases_city ON cases (receiving_city, submitted_at);
CREATE INDEX cases_status ON cases (status);
CREATE INDEX cases_provisional_deadlines ON cases (status, deadline_missing_years, case_id)
    WHERE deadline_missing_years IS NOT NULL;

CREATE TABLE events (
    case_id TEXT NOT NULL REFERENCES cases (case_id),
    seq INTEGER NOT NULL,
    transition TEXT NOT NULL,
    status_after TEXT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    note TEXT,
    exchange_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    sender TEXT NOT NULL,
    recipient TEXT NOT NULL,
    leaf_index BIGINT NOT NULL,
    tree_size BIGINT NOT NULL,
    receipt TEXT NOT NULL,
    PRIMARY KEY (case_id, seq)
);

CREATE TABLE system_events (
    case_id TEXT NOT NULL REFERENCES cases (case_id),
    at TEXT NOT NULL,
    transition TEXT NOT NULL,
    actor TEXT NOT NULL,
    note TEXT NOT NULL,
    detail TEXT NOT NULL,
    rowid BIGSERIAL UNIQUE
);
CREATE INDEX system_events_case ON system_events (case_id);

CREATE TABLE materials (
    case_id TEXT NOT NULL REFERENCES cases (case_id),
    material_id TEXT NOT NULL,
    name TEXT NOT NULL,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sm3 TEXT NOT NULL,
    sealed BYTEA NOT NULL,
    PRIMARY KEY (case_id, material_id)
);

-- Staged uploads (sealed with SM4 by gateway.cases.materials) until a case takes them.
CREATE TABLE uploads (
    upload_id TEXT PRIMARY KEY,
    city TEXT NOT NULL,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sm3 TEXT NOT NULL,
    sealed BYTEA NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);

CREATE TABLE intents (
    exchange_id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    change TEXT NOT NULL,
    signed BYTEA NOT NULL,
    caller TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);

CREATE TABLE accounts (
    username TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    city TEXT,
    region TEXT,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);

CREATE TABLE sessions (
    token_sm3 TEXT PRIMARY KEY,
    username TEXT NOT NULL REFERENCES accounts (username),
    expires_at DOUBLE PRECISION NOT NULL
);

CREATE TABLE accesses (
    case_id TEXT NOT NULL REFERENCES cases (case_id),
    at TEXT NOT NULL,
    username TEXT NOT NULL,
    actor TEXT NOT NULL,
    item TEXT NOT NULL,
    item_label TEXT NOT NULL,
    rowid BIGSERIAL UNIQUE
);
CREATE INDEX accesses_case ON accesses (case_id);

CREATE TABLE supplements (
    case_id TEXT NOT NULL REFERENCES cases (case_id),
    round INTEGER NOT NULL,
    from_status TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    requested_on TEXT NOT NULL,
    items TEXT NOT NULL,
    note TEXT,
    deadline_before TEXT NOT NULL,
    resumed_at TEXT,
    resumed_on TEXT,
    deadline_after TEXT,
    PRIMARY KEY (case_id, round)
);

-- Evidence requests of shareable materials (gateway.cases.evidence).
CREATE TABLE evidence_requests (
    case_id TEXT NOT NULL,
    material_id TEXT NOT NULL,
    name TEXT NOT NULL,
    certificate_type TEXT NOT NULL,
    source_region TEXT NOT NULL,
    exchange_id TEXT,
    requested_at DOUBLE PRECISION NOT NULL,
    failure TEXT,
    PRIMARY KEY (case_id, material_id)
);

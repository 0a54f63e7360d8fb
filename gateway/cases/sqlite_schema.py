"""The schema of ``<data_dir>/cases.db``, the case store's SQLite file (``CREATE ... IF NOT
EXISTS``, run when the store opens). PostgreSQL's is the migration
``gateway/storage/schema/0003_cases.sql``: the same tables and columns in the same order; a
change to one is a change to the other (a new migration file there, an ``ALTER`` in
``CaseStore._migrate`` here)."""

from __future__ import annotations

__all__ = ["SCHEMA"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS cases (
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
    applicant_sealed BLOB NOT NULL,
    promised_limit TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    accepted_on TEXT,
    deadline TEXT NOT NULL,
    deadline_missing_years TEXT,
    finished_on TEXT,
    rating INTEGER,
    rating_comment TEXT,
    clerk TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS cases_city ON cases(receiving_city, submitted_at);
CREATE INDEX IF NOT EXISTS cases_status ON cases(status);
CREATE TABLE IF NOT EXISTS events (
    case_id TEXT NOT NULL REFERENCES cases(case_id),
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
    leaf_index INTEGER NOT NULL,
    tree_size INTEGER NOT NULL,
    receipt TEXT NOT NULL,
    PRIMARY KEY (case_id, seq)
);
CREATE TABLE IF NOT EXISTS system_events (
    case_id TEXT NOT NULL REFERENCES cases(case_id),
    at TEXT NOT NULL,
    transition TEXT NOT NULL,
    actor TEXT NOT NULL,
    note TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS system_events_case ON system_events(case_id);
CREATE TABLE IF NOT EXISTS materials (
    case_id TEXT NOT NULL REFERENCES cases(case_id),
    material_id TEXT NOT NULL,
    name TEXT NOT NULL,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sm3 TEXT NOT NULL,
    sealed BLOB NOT NULL,
    PRIMARY KEY (case_id, material_id)
);
CREATE TABLE IF NOT EXISTS uploads (
    upload_id TEXT PRIMARY KEY,
    city TEXT NOT NULL,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sm3 TEXT NOT NULL,
    sealed BLOB NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS intents (
    exchange_id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    change TEXT NOT NULL,
    signed BLOB NOT NULL,
    caller TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS accounts (
    username TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    city TEXT,
    region TEXT,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    token_sm3 TEXT PRIMARY KEY,
    username TEXT NOT NULL REFERENCES accounts(username),
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS accesses (
    case_id TEXT NOT NULL REFERENCES cases(case_id),
    at TEXT NOT NULL,
    username TEXT NOT NULL,
    actor TEXT NOT NULL,
    item TEXT NOT NULL,
    item_label TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS accesses_case ON accesses(case_id);
CREATE TABLE IF NOT EXISTS supplements (
    case_id TEXT NOT NULL REFERENCES cases(case_id),
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
"""

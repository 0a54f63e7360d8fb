-- Witness cosignatures the gateway collected (gateway.witness.store): the same table,
-- columns and indexes as in the SQLite file gateway.db, with PostgreSQL types (sizes
-- BIGINT, times DOUBLE PRECISION). One row per (origin, tree size, witness): the
-- cosignature line the witness returned for the log's checkpoint of that size, verified
-- against the witness's registry key before it was stored.
CREATE TABLE witness_cosignatures (
    origin TEXT NOT NULL,
    tree_size BIGINT NOT NULL,
    witness TEXT NOT NULL,
    line TEXT NOT NULL,
    cosigned_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (origin, tree_size, witness)
);
-- a witness's newest cosigned size (the collector's start, /healthz)
CREATE INDEX witness_cosignatures_witness ON witness_cosignatures (origin, witness, tree_size);

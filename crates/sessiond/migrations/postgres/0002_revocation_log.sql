-- The revocation log and the audit trail.
-- Mirrors migrations/sqlite/ file for file (BIGSERIAL for AUTOINCREMENT).

-- One row per revocation; `seq` orders them. Followers (the in-memory index
-- of every process) read rows by `seq`. A row is deleted once `expires_at`
-- has passed: no token it could affect is still valid.
CREATE TABLE revocations (
    seq        BIGSERIAL PRIMARY KEY,
    kind       TEXT NOT NULL,
    subject    TEXT NOT NULL,
    cutoff     BIGINT,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX revocations_by_expiry ON revocations (expires_at);

-- Who did what, when, from where.
CREATE TABLE audit_events (
    seq        BIGSERIAL PRIMARY KEY,
    at         BIGINT NOT NULL,
    kind       TEXT NOT NULL,
    actor      TEXT,
    user_id    TEXT,
    user_name  TEXT,
    client_id  TEXT,
    session_id TEXT,
    ip         TEXT,
    user_agent TEXT,
    detail     TEXT
);
CREATE INDEX audit_events_by_time ON audit_events (at);
CREATE INDEX audit_events_by_user_name ON audit_events (user_name, at);
CREATE INDEX audit_events_by_user_id ON audit_events (user_id, at);

CREATE INDEX sessions_by_expiry ON sessions (ended_at, idle_expires_at);
CREATE INDEX grants_by_client ON grants (client_id);

-- Users, clients, keys, sessions, grants and refresh tokens.
-- Times are Unix seconds (BIGINT); secrets are SHA-256 hashes (BYTEA).
-- Mirrors migrations/sqlite/ file for file (BYTEA for BLOB).

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    is_admin      BIGINT NOT NULL DEFAULT 0,
    disabled_at   BIGINT,
    created_at    BIGINT NOT NULL,
    -- bumped by every sign-in so that sign-ins of one user serialise
    -- (the per-user session limit is checked inside that lock)
    sign_in_count BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE clients (
    id                        TEXT PRIMARY KEY,
    name                      TEXT NOT NULL,
    kind                      TEXT NOT NULL,
    secret_hash               BYTEA,
    grant_types               TEXT NOT NULL,
    redirect_uris             TEXT NOT NULL,
    post_logout_redirect_uris TEXT NOT NULL,
    backchannel_logout_uri    TEXT,
    scope                     TEXT NOT NULL,
    created_at                BIGINT NOT NULL
);

CREATE TABLE signing_keys (
    kid           TEXT PRIMARY KEY,
    alg           TEXT NOT NULL,
    private_key   BYTEA NOT NULL,
    public_jwk    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    retired_at    BIGINT,
    publish_until BIGINT
);

CREATE TABLE sessions (
    id                  TEXT PRIMARY KEY,
    user_id             TEXT NOT NULL REFERENCES users (id),
    client_id           TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    last_seen_at        BIGINT NOT NULL,
    idle_expires_at     BIGINT NOT NULL,
    absolute_expires_at BIGINT NOT NULL,
    ended_at            BIGINT,
    end_reason          TEXT,
    ip                  TEXT,
    user_agent          TEXT
);
CREATE INDEX sessions_by_user ON sessions (user_id, ended_at);

CREATE TABLE grants (
    id         TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id),
    client_id  TEXT NOT NULL,
    scope      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX grants_by_session ON grants (session_id);

CREATE TABLE refresh_tokens (
    token_hash BYTEA PRIMARY KEY,
    grant_id   TEXT NOT NULL REFERENCES grants (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX refresh_tokens_by_grant ON refresh_tokens (grant_id);

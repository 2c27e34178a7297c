-- Browser sign-in: the SSO cookie of a session, authorization codes,
-- remembered consent, first-party clients.
-- migrations/postgres/ mirrors this folder file for file.

-- SHA-256 of the session's SSO cookie; NULL for sessions opened by an API
-- grant (password), which no browser holds.
ALTER TABLE sessions ADD COLUMN cookie_hash BLOB;
CREATE UNIQUE INDEX sessions_by_cookie ON sessions (cookie_hash);

-- First-party clients skip the consent page.
ALTER TABLE clients ADD COLUMN first_party BIGINT NOT NULL DEFAULT 0;

-- RFC 6749 §4.1.2: single use, short-lived, bound to the client, redirect
-- URI, PKCE challenge, nonce and session. Only the hash of a code is kept.
-- Redeeming one creates a grant in its session; a code presented again
-- revokes that grant, and with it every token issued from the code.
CREATE TABLE authorization_codes (
    code_hash      BLOB PRIMARY KEY,
    client_id      TEXT NOT NULL,
    session_id     TEXT NOT NULL REFERENCES sessions (id),
    redirect_uri   TEXT NOT NULL,
    scope          TEXT NOT NULL,
    nonce          TEXT,
    code_challenge TEXT,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT,
    grant_id       TEXT
);
CREATE INDEX authorization_codes_by_expiry ON authorization_codes (expires_at);
CREATE INDEX authorization_codes_by_session ON authorization_codes (session_id);

-- What a user allowed a third-party client, remembered until revoked.
CREATE TABLE consents (
    user_id    TEXT NOT NULL REFERENCES users (id),
    client_id  TEXT NOT NULL,
    scope      TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);

-- The settings that define tokens, shared by every process on this store,
-- and the flag that lets a client introspect other clients' tokens.
-- migrations/postgres/ mirrors this folder file for file.

-- One row. `serve` (and `init`) write the settings a server issues tokens
-- with; management commands read them instead of trusting their own flags.
-- The two maxima only ever grow: every revocation lives until the latest
-- `exp` a token it covers may carry, whichever process wrote it and
-- whatever the configuration says later.
CREATE TABLE token_settings (
    id                   BIGINT PRIMARY KEY CHECK (id = 1),
    issuer               TEXT NOT NULL,
    audience             TEXT NOT NULL,
    access_token_ttl     BIGINT NOT NULL,
    clock_skew           BIGINT NOT NULL,
    signing_alg          TEXT NOT NULL,
    max_access_token_ttl BIGINT NOT NULL,
    max_clock_skew       BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);

-- RFC 7662 §4: only resource servers may introspect tokens issued to
-- other clients.
ALTER TABLE clients ADD COLUMN resource_server BIGINT NOT NULL DEFAULT 0;

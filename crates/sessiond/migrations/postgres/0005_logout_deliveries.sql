-- OpenID Connect Back-Channel Logout: a durable outbox of logout tokens to
-- deliver, written in the same transaction that ends the session.
-- Mirrors migrations/sqlite/ file for file (BIGSERIAL for AUTOINCREMENT).

ALTER TABLE clients ADD COLUMN backchannel_logout_session_required BIGINT NOT NULL DEFAULT 0;

CREATE TABLE logout_deliveries (
    id              BIGSERIAL PRIMARY KEY,
    client_id       TEXT NOT NULL,
    uri             TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    session_id      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    last_error      TEXT,
    -- a node sending it holds it until then (several nodes share the outbox)
    lease_until     BIGINT,
    delivered_at    BIGINT,
    failed_at       BIGINT
);
CREATE INDEX logout_deliveries_due ON logout_deliveries (delivered_at, failed_at, next_attempt_at);

-- Expired refresh tokens, found by index: the pruner deletes them once a
-- minute, and without this it read the whole table (seconds at a million
-- live sessions, holding SQLite's write lock).
-- migrations/postgres/ mirrors this folder file for file.
CREATE INDEX refresh_tokens_by_expiry ON refresh_tokens (expires_at);

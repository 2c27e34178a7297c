-- Live sessions past their absolute timeout, found by index.
-- Mirrors migrations/sqlite/ file for file.

-- The pruner's `expire_sessions` looks for live sessions past either
-- timeout: `ended_at IS NULL AND (idle_expires_at <= $1 OR
-- absolute_expires_at <= $1)`. sessions_by_expiry (0002) serves the first
-- branch only, so both statements read every live session, once a minute:
-- at a million live sessions ~4 s each on SQLite, holding the write lock,
-- and ~0.25 s each on PostgreSQL. With this index SQLite answers the OR
-- from the two indexes (MULTI-INDEX OR) and PostgreSQL with a BitmapOr,
-- in time proportional to the sessions that did expire.
CREATE INDEX sessions_by_absolute_expiry ON sessions (ended_at, absolute_expires_at);

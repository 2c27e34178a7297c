#!/usr/bin/env python3
"""Bulk rows for bench/growth.sh: live sessions (each with its user, grant
and refresh token) and revocation-log entries, straight into the database of
a stopped server — one transaction, no HTTP.

    growth_load.py load sqlite DB_FILE   SEED FROM TO REV_FROM REV_TO CLIENT_ID SCOPE
    growth_load.py load postgres URL     SEED FROM TO REV_FROM REV_TO CLIENT_ID SCOPE
    growth_load.py tokens SEED MAX COUNT USED_FILE      (prints COUNT refresh tokens)

`load` adds sessions FROM+1..TO and revocations REV_FROM+1..REV_TO, so sizes
grow in steps over the same data. SQLite: prepared inserts (executemany) in
one transaction from Python's sqlite3 module. PostgreSQL: INSERT … SELECT
over generate_series through psql, then ANALYZE (what autovacuum would do
after such a load).

Every value is derived from SEED and the row number, the same way on both
backends, so refresh tokens can be handed to the bench without storing
them: the refresh token of session i is "R" + SEED + i (20 digits), 43
characters like a real one (256 random bits, base64url), and the stored
token_hash is its SHA-256 — 32 random-looking bytes, as for a real token.
Ids (users, sessions, grants, revoked jti) are the first 16 bytes of a
SHA-256, base64url: 22 characters, the shape of `secrets::new_id`.

Rows follow the schema's meaning: ten sessions per user; every session live
(ended_at NULL, seen within the last hour so its idle expiry — 12 h, the
default — is hours away, signed in up to 6 days ago so its absolute expiry —
7 days — is in the future); its grant unrevoked for CLIENT_ID with SCOPE;
its refresh token unused, expiring with the session. Revocations are of
kind `token` (a revoked access token's jti), expiring in a day.
"""
import base64
import hashlib
import random
import sqlite3
import subprocess
import sys
import time

SESSIONS_PER_USER = 10
IDLE = 12 * 3600
ABSOLUTE = 7 * 24 * 3600
REVOCATION_LIFETIME = 24 * 3600


def b64id(text):
    return base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()[:16]).rstrip(b"=").decode()


def refresh_token(seed, i):
    return f"R{seed}{i:020d}"


def users_range(lo, hi):
    """Users of sessions lo+1..hi that sessions 1..lo did not already have."""
    first = lo // SESSIONS_PER_USER + 1 if lo % SESSIONS_PER_USER == 0 else lo // SESSIONS_PER_USER + 2
    last = (hi + SESSIONS_PER_USER - 1) // SESSIONS_PER_USER
    return first, last


# Times as SQL and Python compute them (same arithmetic on both backends).
def session_times(now, i):
    created = now - (i * 7919) % (6 * 86400)
    seen = max(created, now - (i * 104729) % 3600)
    return created, seen, seen + IDLE, created + ABSOLUTE


def load_sqlite(path, seed, lo, hi, rlo, rhi, client, scope):
    now = int(time.time())
    con = sqlite3.connect(path, isolation_level=None)
    # Nothing else has the file open: write it directly, not through the WAL.
    con.execute("PRAGMA journal_mode = DELETE")
    con.execute("PRAGMA synchronous = OFF")
    con.execute("PRAGMA cache_size = -262144")
    phc = con.execute("SELECT password_hash FROM users ORDER BY created_at LIMIT 1").fetchone()
    phc = phc[0] if phc else "$argon2id$v=19$m=19456,t=2,p=1$bm90LWEtcGFzc3dvcmQ$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    con.execute("BEGIN")
    ulo, uhi = users_range(lo, hi)
    con.executemany(
        "INSERT INTO users (id, name, password_hash, created_at) VALUES (?, ?, ?, ?)",
        ((b64id(f"u{seed}{j}"), f"load-{seed[:8]}-{j}", phc, now) for j in range(ulo, uhi + 1)),
    )

    def sessions():
        for i in range(lo + 1, hi + 1):
            created, seen, idle, absolute = session_times(now, i)
            user = b64id(f"u{seed}{(i - 1) // SESSIONS_PER_USER + 1}")
            yield (b64id(f"s{seed}{i}"), user, client, created, seen, idle, absolute, "127.0.0.1", "growth-load")

    con.executemany(
        "INSERT INTO sessions (id, user_id, client_id, created_at, last_seen_at, idle_expires_at,"
        " absolute_expires_at, ip, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        sessions(),
    )
    con.executemany(
        "INSERT INTO grants (id, session_id, client_id, scope, created_at) VALUES (?, ?, ?, ?, ?)",
        ((b64id(f"g{seed}{i}"), b64id(f"s{seed}{i}"), client, scope, session_times(now, i)[0])
         for i in range(lo + 1, hi + 1)),
    )

    def tokens():
        for i in range(lo + 1, hi + 1):
            _, seen, _, absolute = session_times(now, i)
            token_hash = hashlib.sha256(refresh_token(seed, i).encode()).digest()
            yield (token_hash, b64id(f"g{seed}{i}"), seen, absolute)

    con.executemany(
        "INSERT INTO refresh_tokens (token_hash, grant_id, created_at, expires_at) VALUES (?, ?, ?, ?)", tokens()
    )
    con.executemany(
        "INSERT INTO revocations (kind, subject, cutoff, expires_at, created_at) VALUES ('token', ?, NULL, ?, ?)",
        ((b64id(f"j{seed}{k}"), now + REVOCATION_LIFETIME, now) for k in range(rlo + 1, rhi + 1)),
    )
    con.execute("COMMIT")
    con.execute("PRAGMA journal_mode = WAL")
    con.close()


def load_postgres(url, seed, lo, hi, rlo, rhi, client, scope):
    now = int(time.time())
    ulo, uhi = users_range(lo, hi)
    spu = SESSIONS_PER_USER
    # session_times() in SQL
    created = f"({now} - (i * 7919) % {6 * 86400})"
    seen = f"GREATEST({created}, {now} - (i * 104729) % 3600)"
    sql = f"""
\\set ON_ERROR_STOP on
CREATE FUNCTION pg_temp.b64id(t text) RETURNS text LANGUAGE sql IMMUTABLE AS
  $$ SELECT rtrim(translate(encode(substr(sha256(convert_to(t, 'UTF8')), 1, 16), 'base64'), '+/', '-_'), '=') $$;
BEGIN;
INSERT INTO users (id, name, password_hash, created_at)
  SELECT pg_temp.b64id('u{seed}' || j), 'load-{seed[:8]}-' || j,
         COALESCE((SELECT password_hash FROM users ORDER BY created_at LIMIT 1), 'none'), {now}
  FROM generate_series({ulo}::bigint, {uhi}) j;
INSERT INTO sessions (id, user_id, client_id, created_at, last_seen_at, idle_expires_at,
                      absolute_expires_at, ip, user_agent)
  SELECT pg_temp.b64id('s{seed}' || i), pg_temp.b64id('u{seed}' || ((i - 1) / {spu} + 1)), '{client}',
         {created}, {seen}, {seen} + {IDLE}, {created} + {ABSOLUTE}, '127.0.0.1', 'growth-load'
  FROM generate_series({lo + 1}::bigint, {hi}) i;
INSERT INTO grants (id, session_id, client_id, scope, created_at)
  SELECT pg_temp.b64id('g{seed}' || i), pg_temp.b64id('s{seed}' || i), '{client}', '{scope}', {created}
  FROM generate_series({lo + 1}::bigint, {hi}) i;
INSERT INTO refresh_tokens (token_hash, grant_id, created_at, expires_at)
  SELECT sha256(convert_to('R{seed}' || lpad(i::text, 20, '0'), 'UTF8')), pg_temp.b64id('g{seed}' || i),
         {seen}, {created} + {ABSOLUTE}
  FROM generate_series({lo + 1}::bigint, {hi}) i;
INSERT INTO revocations (kind, subject, cutoff, expires_at, created_at)
  SELECT 'token', pg_temp.b64id('j{seed}' || k), NULL, {now + REVOCATION_LIFETIME}, {now}
  FROM generate_series({rlo + 1}::bigint, {rhi}) k;
COMMIT;
ANALYZE;
"""
    subprocess.run(["psql", "-q", "-X", url], input=sql.encode(), check=True, stdout=subprocess.DEVNULL)


def tokens(seed, maximum, count, used_file):
    """COUNT refresh tokens of distinct loaded sessions never handed out before."""
    try:
        used = {int(x) for x in open(used_file).read().split()}
    except FileNotFoundError:
        used = set()
    if maximum - len(used) < count:
        sys.exit(f"only {maximum - len(used)} unused loaded sessions left, {count} wanted")
    picked = set()
    while len(picked) < count:
        i = random.randint(1, maximum)
        if i not in used:
            picked.add(i)
    with open(used_file, "a") as f:
        f.write("".join(f"{i}\n" for i in picked))
    print("\n".join(refresh_token(seed, i) for i in sorted(picked)))


def main(argv):
    if argv[:1] == ["load"] and len(argv) == 10:
        _, backend, target, seed, lo, hi, rlo, rhi, client, scope = argv
        lo, hi, rlo, rhi = int(lo), int(hi), int(rlo), int(rhi)
        loader = {"sqlite": load_sqlite, "postgres": load_postgres}[backend]
        loader(target, seed, lo, hi, rlo, rhi, client, scope)
    elif argv[:1] == ["tokens"] and len(argv) == 5:
        _, seed, maximum, count, used_file = argv
        tokens(seed, int(maximum), int(count), used_file)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
